-- Migration number: 0003 	 2025-03-06T17:40:02.508Z
-- Demo rows for `wrangler dev`; ids are fixed so Profile and Post can point at them.
INSERT INTO "User" ("id", "email", "name", "createdAt") VALUES (1, 'ines@example.test', 'Inès Duarte', '2025-03-06 17:40:00');
INSERT INTO "User" ("id", "email", "name", "createdAt") VALUES (2, 'kwame@example.test', 'Kwame Asante', '2025-03-06 17:41:00');
INSERT INTO "User" ("id", "email", "name", "createdAt") VALUES (3, 'yuki@example.test', NULL, '2025-03-06 17:42:00');

INSERT INTO "Profile" ("bio", "website", "userId") VALUES ('Writes about "edge" databases.', 'https://ines.example.test', 1);
INSERT INTO "Profile" ("bio", "website", "userId") VALUES ('Backend; mostly Rust.', NULL, 2);

INSERT INTO "Post" ("id", "title", "content", "published", "authorId", "createdAt") VALUES (1, 'Prisma meets D1', 'Driver adapters, then migrate diff.', true, 1, '2025-03-06 18:00:00');
INSERT INTO "Post" ("id", "title", "content", "published", "authorId", "createdAt") VALUES (2, 'Draft: RedefineTables', NULL, false, 1, '2025-03-06 18:05:00');
INSERT INTO "Post" ("id", "title", "content", "published", "authorId", "createdAt") VALUES (3, 'Why AUTOINCREMENT', 'sqlite_sequence keeps the high-water mark.', true, 2, '2025-03-06 18:10:00');
INSERT INTO "Post" ("id", "title", "content", "published", "authorId", "createdAt") VALUES (4, 'Untitled', '', false, 3, '2025-03-06 18:15:00');

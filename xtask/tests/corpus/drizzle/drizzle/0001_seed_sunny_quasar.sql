-- Custom SQL migration file, put your code below! --
INSERT INTO `users` (`id`, `name`, `email`, `created_at`) VALUES (1, 'Mira Okafor', 'mira@example.test', 1718000000);--> statement-breakpoint
INSERT INTO `users` (`id`, `name`, `email`, `created_at`) VALUES (2, 'Tomas Lind', 'tomas@example.test', 1718000060);--> statement-breakpoint
INSERT INTO `users` (`id`, `name`, `email`, `created_at`) VALUES (3, 'Priya Raman', 'priya@example.test', 1718000120);--> statement-breakpoint
INSERT INTO `posts` (`id`, `title`, `body`, `author_id`, `created_at`) VALUES (1, 'Hello from the edge', 'First post body.', 1, 1718000200);--> statement-breakpoint
INSERT INTO `posts` (`id`, `title`, `body`, `author_id`, `created_at`) VALUES (2, 'Drizzle on D1', NULL, 1, 1718000300);--> statement-breakpoint
INSERT INTO `posts` (`id`, `title`, `body`, `author_id`, `created_at`) VALUES (3, 'Notes on SQLite', 'It''s all one file.', 2, 1718000400);--> statement-breakpoint
INSERT INTO `posts` (`id`, `title`, `body`, `author_id`, `created_at`) VALUES (4, 'Quiet week', 'Nothing shipped; all good.', 3, 1718000500);

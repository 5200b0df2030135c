-- Schema of AUTH after migrations 2, 4, 5.
-- Written by `cargo migrate up`/`down` on local D1; do not edit. `cargo migrate verify` checks live databases against their migrations.

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    last_used_at INTEGER,
    revoked_at INTEGER
);

CREATE TABLE room_permissions (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    granted_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE rooms (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    owner_user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
);

CREATE INDEX idx_api_keys_user_id ON api_keys(user_id);

CREATE INDEX idx_room_permissions_user_id ON room_permissions(user_id);

CREATE INDEX idx_rooms_owner_user_id ON rooms(owner_user_id);

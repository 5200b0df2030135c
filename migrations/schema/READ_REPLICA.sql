-- Schema of READ_REPLICA after migrations 1, 3, 6.
-- Written by `cargo migrate up`/`down` on local D1; do not edit. `cargo migrate verify` checks live databases against their migrations.

CREATE TABLE task_vectors (
    task_id TEXT PRIMARY KEY NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    dimensions INTEGER NOT NULL,
    embedding BLOB NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
, status TEXT NOT NULL DEFAULT 'pending');

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    priority INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    updated_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
, user_id TEXT);

CREATE INDEX idx_task_vectors_model ON task_vectors(model);

CREATE INDEX idx_task_vectors_status ON task_vectors(status);

CREATE INDEX idx_tasks_created_at ON tasks(created_at);

CREATE INDEX idx_tasks_status ON tasks(status);

CREATE INDEX idx_tasks_user_id ON tasks(user_id);

CREATE TRIGGER trg_tasks_updated_at
AFTER UPDATE ON tasks
FOR EACH ROW
WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE tasks SET updated_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.id;
END;

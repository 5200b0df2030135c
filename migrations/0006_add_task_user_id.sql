-- Migration 0006: record which user owns each task.
-- Nullable: tasks created before this migration have no owner.
ALTER TABLE tasks ADD COLUMN user_id TEXT;

CREATE INDEX IF NOT EXISTS idx_tasks_user_id ON tasks(user_id);

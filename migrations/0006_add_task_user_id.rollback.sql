-- Undo migration 0006: remove the user_id column from tasks.
-- SQLite refuses DROP COLUMN while an index uses the column, so drop the index first.

DROP INDEX IF EXISTS idx_tasks_user_id;
ALTER TABLE tasks DROP COLUMN user_id;

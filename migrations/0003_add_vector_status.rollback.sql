-- Undo migration 0003: remove the status column from task_vectors.
-- SQLite refuses DROP COLUMN while an index uses the column, so drop the index first.

DROP INDEX IF EXISTS idx_task_vectors_status;
ALTER TABLE task_vectors DROP COLUMN status;

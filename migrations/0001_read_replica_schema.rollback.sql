-- Undo migration 0001: drop the read replica base schema.
-- Order: trigger, indexes, then tables (children before parents).

DROP TRIGGER IF EXISTS trg_tasks_updated_at;
DROP INDEX IF EXISTS idx_task_vectors_model;
DROP INDEX IF EXISTS idx_tasks_created_at;
DROP INDEX IF EXISTS idx_tasks_status;
DROP TABLE IF EXISTS task_vectors;
DROP TABLE IF EXISTS tasks;

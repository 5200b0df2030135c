-- Migration 0003: track embedding status on task_vectors.
-- Existing rows start as 'pending' until the indexer processes them.
ALTER TABLE task_vectors ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';

CREATE INDEX IF NOT EXISTS idx_task_vectors_status ON task_vectors(status);

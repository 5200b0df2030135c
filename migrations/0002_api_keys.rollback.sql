-- Undo migration 0002: drop the API keys table from the auth database.
-- The index goes first, then the table.

DROP INDEX IF EXISTS idx_api_keys_user_id;
DROP TABLE IF EXISTS api_keys;

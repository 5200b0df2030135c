-- Undo migration 0004: drop the rooms table from the auth database.
-- Runs after 0005's rollback, so no room_permissions rows reference it any more.

DROP INDEX IF EXISTS idx_rooms_owner_user_id;
DROP TABLE IF EXISTS rooms;

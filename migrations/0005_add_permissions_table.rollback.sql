-- Undo migration 0005: drop the room permissions table from the auth database.
-- The index goes first, then the table.

DROP INDEX IF EXISTS idx_room_permissions_user_id;
DROP TABLE IF EXISTS room_permissions;

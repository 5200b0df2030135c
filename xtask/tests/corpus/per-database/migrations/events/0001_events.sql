-- Migration number: 0001 	 2025-02-03T11:24:40.118Z
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,   -- lives in the USERS database: no FK across databases
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    at INTEGER NOT NULL
);
CREATE INDEX events_account_at_idx ON events (account_id, at);

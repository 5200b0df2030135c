-- Migration number: 0002 	 2025-02-10T08:05:51.936Z
CREATE TABLE sessions (
    token TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

INSERT INTO sessions (token, account_id, expires_at) VALUES
    ('tok_a1', '01JK2F3ZQ7A8B9C0D1E2F3G4H5', 1767225600),
    ('tok_b2', '01JK2F41R2S3T4V5W6X7Y8Z9A0', 1767225600);

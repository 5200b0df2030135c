-- Migration number: 0001 	 2025-02-03T11:20:14.402Z
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,              -- ulid
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX accounts_email_uq ON accounts (lower(email));

INSERT INTO accounts (id, email, display_name, created_at) VALUES
    ('01JK2F3ZQ7A8B9C0D1E2F3G4H5', 'noor@example.test', 'Noor', '2025-02-03T11:30:00.000Z'),
    ('01JK2F41R2S3T4V5W6X7Y8Z9A0', 'felix@example.test', 'Felix', '2025-02-03T11:31:00.000Z'),
    ('01JK2F45B1C2D3E4F5G6H7J8K9', 'aiko@example.test', 'Aiko', '2025-02-03T11:32:00.000Z');

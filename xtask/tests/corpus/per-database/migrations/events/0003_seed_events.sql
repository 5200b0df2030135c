-- Migration number: 0003 	 2025-02-11T10:02:33.250Z
INSERT INTO events (account_id, kind, payload, at) VALUES
    ('01JK2F3ZQ7A8B9C0D1E2F3G4H5', 'login', '{"ip":"192.0.2.10"}', 1738580000),
    ('01JK2F3ZQ7A8B9C0D1E2F3G4H5', 'export', '{"format":"csv"}', 1738580300),
    ('01JK2F41R2S3T4V5W6X7Y8Z9A0', 'login', '{"ip":"198.51.100.7"}', 1738581000),
    ('01JK2F3ZQ7A8B9C0D1E2F3G4H5', 'logout', '{}', 1738583600),
    ('01JK2F45B1C2D3E4F5G6H7J8K9', 'login', '{"ip":"203.0.113.42"}', 1738590000);

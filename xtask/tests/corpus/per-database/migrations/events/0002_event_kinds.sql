-- Migration number: 0002 	 2025-02-04T16:48:09.571Z
CREATE TABLE event_kinds (
    kind TEXT PRIMARY KEY,
    description TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO event_kinds (kind, description) VALUES
    ('login', 'Signed in'),
    ('logout', 'Signed out'),
    ('export', 'Downloaded a copy; see payload.format');

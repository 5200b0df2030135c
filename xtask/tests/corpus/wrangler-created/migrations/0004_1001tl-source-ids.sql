-- Migration number: 0004 	 2025-01-07T10:55:41.802Z
-- Ticket 1001TL: remember which upstream catalogue each book came from,
-- and log every change of that id.
ALTER TABLE books ADD COLUMN source_id TEXT;
create unique index if not exists idx_books_source_id on books(source_id);

create table book_events (
    id integer primary key autoincrement,
    book_id integer not null,
    kind text not null,
    detail text,
    at text not null default (datetime('now'))
);

CREATE TRIGGER books_source_id_changed AFTER UPDATE OF source_id ON books
FOR EACH ROW WHEN old.source_id IS NOT new.source_id
BEGIN
    insert into book_events (book_id, kind, detail)
    values (new.id, 'source_id', coalesce(old.source_id, '(none)') || ' => ' || new.source_id);
END;

-- Backfill; the trigger above logs one event per book.
update books set source_id = 'TL-' || printf('%04d', id);

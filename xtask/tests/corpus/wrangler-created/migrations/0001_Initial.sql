-- Migration number: 0001 	 2024-11-18T14:02:09.331Z
-- Authors and the books they wrote.
create table if not exists authors (
    id integer primary key,
    name text not null,
    country text
);

CREATE TABLE IF NOT EXISTS books (
    id INTEGER PRIMARY KEY,
    author_id integer not null references authors(id) on delete cascade,
    title TEXT NOT NULL,
    published_year Integer,
    created_at text not null default (datetime('now'))
);

/* one index up front; more come with tags */
create index idx_books_author on books(author_id);

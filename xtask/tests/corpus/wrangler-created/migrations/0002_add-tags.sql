-- Migration number: 0002 	 2024-11-20T09:47:55.064Z
create table tags (
    id integer primary key,
    name text not null unique
);

create table book_tags (
    book_id integer not null references books(id) on delete cascade,
    tag_id integer not null references tags(id) on delete cascade,
    primary key (book_id, tag_id)
) without rowid;

Create Index idx_book_tags_tag On book_tags(tag_id);

-- A read-only summary the worker serves at /catalog.
Create View book_catalog As
    select b.id, b.title, a.name as author, count(bt.tag_id) as tag_count
    from books b
    join authors a on a.id = b.author_id
    left join book_tags bt on bt.book_id = b.id
    group by b.id, b.title, a.name;

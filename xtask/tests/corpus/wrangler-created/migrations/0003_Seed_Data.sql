-- Migration number: 0003 	 2024-11-20T10:15:31.870Z
-- Seed rows. Some strings hold ';' and '--' on purpose: a naive splitter breaks them.
insert into authors (id, name, country) values
    (1, 'Odile Marchetti', 'FR'),
    (2, 'Bartek Nowicki', 'PL'),
    (3, 'Adaeze Obi', 'NG');

INSERT INTO books (id, author_id, title, published_year) VALUES (1, 1, 'The Salt Orchard', 1974);
INSERT INTO books (id, author_id, title, published_year) VALUES (2, 2, 'Tidewater; or, The Patient Sea', 1961); -- note the ; inside the title
insert into books (id, author_id, title, published_year) values (3, 2, 'Static -- a novella', 1968);
Insert Into books (id, author_id, title, published_year) Values (4, 3, 'The Lamp-Maker''s Daughter', 1958);

insert into tags (id, name) values (1, 'fiction'), (2, 'classic'), (3, 'sea; ships');
insert into book_tags (book_id, tag_id) values (1, 1), (2, 1), (2, 3), (3, 1), (4, 2);

CREATE TABLE note_tags (
  note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (note_id, tag)
);
CREATE INDEX note_tags_tag_idx ON note_tags(tag);

INSERT INTO note_tags (note_id, tag) VALUES (1, 'home'), (2, 'work'), (4, 'home'), (5, 'travel');

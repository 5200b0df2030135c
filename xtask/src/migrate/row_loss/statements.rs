//! What one statement does to the tables: the foreign keys a `CREATE TABLE`
//! declares, and the tables a statement drops, renames, deletes from or
//! replaces rows in.

use crate::migrate::sql::{self, Lexeme};

/// What a foreign key does to the child when its parent row is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Cascade,
    SetNull,
    SetDefault,
    /// `RESTRICT`, `NO ACTION`: the delete fails instead.
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub parent: String,
    pub on_delete: OnDelete,
}

/// What one statement does to the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create {
        table: String,
        foreign_keys: Vec<ForeignKey>,
    },
    Drop {
        table: String,
    },
    Rename {
        from: String,
        to: String,
    },
    Delete {
        table: String,
    },
    /// `REPLACE INTO`, `INSERT OR REPLACE`, `UPDATE OR REPLACE`: conflicting
    /// rows are deleted.
    Replace {
        table: String,
    },
}

/// Reads `[schema.]name` at `at`: the name and the index after it.
fn qualified(words: &[Lexeme], at: usize) -> Option<(String, usize)> {
    let first = words.get(at)?.name()?.to_owned();
    match (words.get(at + 1), words.get(at + 2).and_then(Lexeme::name)) {
        (Some(Lexeme::Punct('.')), Some(name)) => Some((name.to_owned(), at + 3)),
        _ => Some((first, at + 1)),
    }
}

/// Skips the keywords `words` at `at` when they are all there.
fn skip(lexemes: &[Lexeme], at: usize, words: &[&str]) -> usize {
    let all = words
        .iter()
        .enumerate()
        .all(|(i, w)| lexemes.get(at + i).is_some_and(|l| l.is(w)));
    if all {
        at + words.len()
    } else {
        at
    }
}

/// What `statement` does to the tables, when it is one of the [`Change`]s.
pub fn change(statement: &str) -> Option<Change> {
    let words = sql::lexemes(statement);
    let first = words.first()?;
    if first.is("CREATE") {
        let mut at = 1;
        while words
            .get(at)
            .is_some_and(|w| w.is("TEMP") || w.is("TEMPORARY") || w.is("VIRTUAL"))
        {
            at += 1;
        }
        if !words.get(at)?.is("TABLE") {
            return None;
        }
        let at = skip(&words, at + 1, &["IF", "NOT", "EXISTS"]);
        let (table, at) = qualified(&words, at)?;
        return Some(Change::Create {
            table,
            foreign_keys: foreign_keys(&words[at..]),
        });
    }
    if first.is("DROP") && words.get(1)?.is("TABLE") {
        let at = skip(&words, 2, &["IF", "EXISTS"]);
        let (table, _) = qualified(&words, at)?;
        return Some(Change::Drop { table });
    }
    if first.is("ALTER") && words.get(1)?.is("TABLE") {
        let (from, at) = qualified(&words, 2)?;
        if words.get(at)?.is("RENAME") && words.get(at + 1)?.is("TO") {
            let to = words.get(at + 2)?.name()?.to_owned();
            return Some(Change::Rename { from, to });
        }
        return None;
    }
    if first.is("DELETE") && words.get(1)?.is("FROM") {
        let (table, _) = qualified(&words, 2)?;
        return Some(Change::Delete { table });
    }
    let replace_into = |at: usize| -> Option<Change> {
        let (table, _) = qualified(&words, skip(&words, at, &["INTO"]))?;
        Some(Change::Replace { table })
    };
    if first.is("REPLACE") {
        return replace_into(1);
    }
    if first.is("INSERT") && words.get(1)?.is("OR") && words.get(2)?.is("REPLACE") {
        return replace_into(3);
    }
    if first.is("UPDATE") && words.get(1)?.is("OR") && words.get(2)?.is("REPLACE") {
        let (table, _) = qualified(&words, 3)?;
        return Some(Change::Replace { table });
    }
    None
}

/// The foreign keys of a `CREATE TABLE`'s definition (`words` from its `(`).
fn foreign_keys(words: &[Lexeme]) -> Vec<ForeignKey> {
    if !matches!(words.first(), Some(Lexeme::Punct('('))) {
        return Vec::new(); // CREATE TABLE … AS SELECT
    }
    // The definition's items: split at the commas of depth 1.
    let mut items: Vec<&[Lexeme]> = Vec::new();
    let (mut depth, mut start) = (0usize, 1usize);
    for (i, word) in words.iter().enumerate() {
        match word {
            Lexeme::Punct('(') => depth += 1,
            Lexeme::Punct(')') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    items.push(&words[start..i]);
                    break;
                }
            }
            Lexeme::Punct(',') if depth == 1 => {
                items.push(&words[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.into_iter().filter_map(item_foreign_key).collect()
}

/// The foreign key of one column definition or table constraint, if any.
fn item_foreign_key(item: &[Lexeme]) -> Option<ForeignKey> {
    let references = item.iter().position(|w| w.is("REFERENCES"))?;
    let parent = item.get(references + 1)?.name()?.to_owned();
    let at = skip(item, 0, &["CONSTRAINT"]);
    let at = if at > 0 { at + 1 } else { at };
    let columns = if item.get(at).is_some_and(|w| w.is("FOREIGN")) {
        item[at..references]
            .iter()
            .filter(|w| !w.is("FOREIGN") && !w.is("KEY"))
            .filter_map(Lexeme::name)
            .map(str::to_owned)
            .collect()
    } else {
        vec![item.first()?.name()?.to_owned()]
    };
    let rest = &item[references..];
    let on_delete = (0..rest.len())
        .find(|&i| rest[i].is("ON") && rest.get(i + 1).is_some_and(|w| w.is("DELETE")))
        .map_or(OnDelete::Refuse, |i| {
            let (action, then) = (rest.get(i + 2), rest.get(i + 3));
            match (action, then) {
                (Some(a), _) if a.is("CASCADE") => OnDelete::Cascade,
                (Some(a), Some(b)) if a.is("SET") && b.is("NULL") => OnDelete::SetNull,
                (Some(a), Some(b)) if a.is("SET") && b.is("DEFAULT") => OnDelete::SetDefault,
                _ => OnDelete::Refuse,
            }
        });
    Some(ForeignKey {
        columns,
        parent,
        on_delete,
    })
}

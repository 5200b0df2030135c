//! Losing rows without deleting them: what statements do to tables (the
//! foreign keys a `CREATE TABLE` declares; the tables a statement drops,
//! renames or replaces rows in), and from those, over a batch and the schema
//! it meets, the tables whose rows (or foreign-key values) a migration would
//! remove without a `DELETE` naming them, and the statements that let the
//! batch check it did not.
//!
//! D1 always enforces foreign keys, and `PRAGMA foreign_keys = OFF` is ignored
//! inside its transaction: so the table rebuild Prisma and drizzle-kit write
//! (`CREATE new_T; INSERT … SELECT; DROP TABLE T; ALTER TABLE new_T RENAME TO
//! T`) deletes every row of every table that references `T` with `ON DELETE
//! CASCADE`, and nulls `SET NULL` columns.

use std::collections::BTreeMap;

use crate::migrate::schema::{quote_name, Schema};
use crate::migrate::sql::{self, quote_literal, Lexeme};

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

/// Rows, or one column's values, of a table the batch finds, that the batch
/// may remove without a `DELETE` naming that table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    /// The table, as named before the batch.
    pub table: String,
    /// A column whose values `ON DELETE SET NULL`/`SET DEFAULT` would reset;
    /// `None`: the rows.
    pub column: Option<String>,
    /// Where the table's rows are at the end of the batch (`None`: the table is gone).
    pub at_end: Option<String>,
    /// Why, for a person: `ON DELETE CASCADE from dropping "Post"`.
    pub why: String,
    /// The statement (index into the batch) that puts them at risk.
    pub statement: usize,
}

impl Risk {
    /// The name of the check: the table, or `table.column`.
    pub fn key(&self) -> String {
        match &self.column {
            Some(column) => format!("{}.{column}", self.table),
            None => self.table.clone(),
        }
    }
}

struct Table {
    name: String,
    foreign_keys: Vec<ForeignKey>,
    /// The table it was before the batch (by name, lower case), if it was one.
    original: Option<String>,
}

/// What a batch does to the tables it finds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// What it may remove without deleting it by name.
    pub risks: Vec<Risk>,
    /// Where each table's rows are at the end, by the table's name before
    /// the batch (lower case): the table of that name, or where renames took
    /// it; `None` when it is gone.
    pub ends: BTreeMap<String, Option<String>>,
    /// Tables (lower case) some statement deletes from by name.
    pub deleted: Vec<String>,
}

/// The tables whose rows (or foreign-key values) `statements`, run in order
/// on `schema`, may remove without deleting them by name. `allowed(i)` says
/// whether statement `i`'s migration accepts losing data.
pub fn risks(schema: &Schema, statements: &[&str], allowed: impl Fn(usize) -> bool) -> Vec<Risk> {
    analyse(schema, statements, allowed, &[]).risks
}

/// [`risks`], with where every table's rows end up. The tables `undone`
/// (lower case) may be dropped with their rows: a rollback drops the tables
/// its migration made (what they hold is in the backup `down` takes first);
/// what the drop cascades into still counts.
pub fn analyse(
    schema: &Schema,
    statements: &[&str],
    allowed: impl Fn(usize) -> bool,
    undone: &[String],
) -> Analysis {
    let key = |name: &str| name.to_ascii_lowercase();
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for object in schema.objects.iter().filter(|o| o.kind == "table") {
        let foreign_keys = match change(&object.sql) {
            Some(Change::Create { foreign_keys, .. }) => foreign_keys,
            _ => Vec::new(),
        };
        let table = Table {
            name: object.name.clone(),
            foreign_keys,
            original: Some(key(&object.name)),
        };
        tables.insert(key(&object.name), table);
    }
    let mut found: Vec<Risk> = Vec::new();
    // Originals deleted from by name (their own rows may go), and dropped.
    let mut deleted: Vec<String> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for (i, statement) in statements.iter().enumerate() {
        let Some(change) = change(statement) else {
            continue;
        };
        // The parent whose rows go, and how, when there is one.
        let (parent, how) = match change {
            Change::Create {
                table,
                foreign_keys,
            } => {
                let created = Table {
                    name: table.clone(),
                    foreign_keys,
                    original: None,
                };
                tables.insert(key(&table), created);
                continue;
            }
            Change::Rename { from, to } => {
                if let Some(mut table) = tables.remove(&key(&from)) {
                    table.name = to.clone();
                    tables.insert(key(&to), table);
                }
                // SQLite points the foreign keys that named it at the new name.
                for fk in tables.values_mut().flat_map(|t| t.foreign_keys.iter_mut()) {
                    if key(&fk.parent) == key(&from) {
                        fk.parent = to.clone();
                    }
                }
                continue;
            }
            Change::Delete { table } => {
                deleted.extend(tables.get(&key(&table)).and_then(|t| t.original.clone()));
                continue;
            }
            Change::Drop { table } => {
                let Some(gone) = tables.remove(&key(&table)) else {
                    continue;
                };
                dropped.extend(gone.original.clone());
                let how = format!("dropping {}", quote_name(&table));
                if let (Some(original), false) = (&gone.original, allowed(i)) {
                    if !undone.contains(original) {
                        let why = format!("{how} deletes its rows");
                        push(&mut found, original, None, why, i);
                    }
                }
                (table, how)
            }
            Change::Replace { table } => {
                let how = format!("REPLACE in {}", quote_name(&table));
                let original = tables.get(&key(&table)).and_then(|t| t.original.clone());
                if let (Some(original), false) = (original, allowed(i)) {
                    push(
                        &mut found,
                        &original,
                        None,
                        format!("{how} deletes the rows it conflicts with"),
                        i,
                    );
                }
                (table, how)
            }
        };
        if allowed(i) {
            continue;
        }
        // What deleting the parent's rows does to its children (those that
        // were there before the batch: the others' rows are new).
        for child in tables.values() {
            let Some(original) = &child.original else {
                continue;
            };
            for fk in child
                .foreign_keys
                .iter()
                .filter(|fk| key(&fk.parent) == key(&parent))
            {
                let action = match fk.on_delete {
                    OnDelete::Cascade => {
                        push(
                            &mut found,
                            original,
                            None,
                            format!("ON DELETE CASCADE from {how}"),
                            i,
                        );
                        continue;
                    }
                    OnDelete::SetNull => "SET NULL",
                    OnDelete::SetDefault => "SET DEFAULT",
                    OnDelete::Refuse => continue,
                };
                for column in &fk.columns {
                    let why = format!("ON DELETE {action} from {how}");
                    push(&mut found, original, Some(column.clone()), why, i);
                }
            }
        }
    }
    // Where each table's rows are at the end: the table of that name, else
    // where renames took it. A column is checked only in a table never
    // dropped (a rebuild may have renamed it).
    let end_of = |original: &str| -> Option<String> {
        tables
            .get(original)
            .or_else(|| {
                tables
                    .values()
                    .find(|t| t.original.as_deref() == Some(original))
            })
            .map(|t| t.name.clone())
    };
    let ends = schema
        .objects
        .iter()
        .filter(|o| o.kind == "table")
        .map(|o| (key(&o.name), end_of(&key(&o.name))))
        .collect();
    let risks = found
        .into_iter()
        .filter(|risk| risk.column.is_some() || !deleted.contains(&risk.table))
        .filter(|risk| risk.column.is_none() || !dropped.contains(&risk.table))
        .filter_map(|mut risk| {
            let end = tables.get(&risk.table).or_else(|| {
                tables
                    .values()
                    .find(|t| t.original.as_ref() == Some(&risk.table))
            });
            if risk.column.is_some() && end.is_none() {
                return None;
            }
            risk.at_end = end.map(|t| t.name.clone());
            // Named as the schema names it.
            risk.table = schema
                .objects
                .iter()
                .find(|o| key(&o.name) == risk.table)
                .map_or(risk.table.clone(), |o| o.name.clone());
            Some(risk)
        })
        .collect();
    Analysis {
        risks,
        ends,
        deleted,
    }
}

/// Adds a risk to `original` (lower case) unless it is there already.
fn push(
    found: &mut Vec<Risk>,
    original: &str,
    column: Option<String>,
    why: String,
    statement: usize,
) {
    if !found
        .iter()
        .any(|r| r.table == original && r.column == column)
    {
        found.push(Risk {
            table: original.to_owned(),
            column,
            at_end: None,
            why,
            statement,
        });
    }
}

/// The scratch table the batch counts into before it runs.
pub const COUNTS: &str = "_migrations_rows";
/// The table whose NOT NULL columns, one per [`Risk::key`], refuse a batch
/// that lost rows: D1's error names the column.
pub const CHECK: &str = "_migrations_row_loss";

/// Statements that open a batch (count what is at risk) and close it (fail
/// the whole batch when any count fell; then drop the scratch tables).
pub fn guard(risks: &[Risk]) -> Option<(Vec<String>, Vec<String>)> {
    if risks.is_empty() {
        return None;
    }
    let count = |table: &str, column: Option<&String>| match column {
        Some(column) => format!(
            "(SELECT count({}) FROM {})",
            quote_name(column),
            quote_name(table)
        ),
        None => format!("(SELECT count(*) FROM {})", quote_name(table)),
    };
    let values: Vec<String> = risks
        .iter()
        .map(|r| {
            format!(
                "({}, {})",
                quote_literal(&r.key()),
                count(&r.table, r.column.as_ref())
            )
        })
        .collect();
    let start = vec![
        format!("CREATE TABLE {COUNTS} (name TEXT PRIMARY KEY, n INTEGER NOT NULL)"),
        format!("INSERT INTO {COUNTS} VALUES {}", values.join(", ")),
    ];
    let columns: Vec<String> = risks
        .iter()
        .map(|r| format!("{} INTEGER NOT NULL", quote_name(&r.key())))
        .collect();
    let checks: Vec<String> = risks
        .iter()
        .map(|r| {
            let before = format!(
                "(SELECT n FROM {COUNTS} WHERE name = {})",
                quote_literal(&r.key())
            );
            match &r.at_end {
                Some(table) => format!(
                    "CASE WHEN {} >= {before} THEN 1 END",
                    count(table, r.column.as_ref())
                ),
                None => format!("CASE WHEN {before} = 0 THEN 1 END"),
            }
        })
        .collect();
    let end = vec![
        format!("CREATE TABLE {CHECK} ({})", columns.join(", ")),
        format!("INSERT INTO {CHECK} SELECT {}", checks.join(", ")),
        format!("DROP TABLE {CHECK}"),
        format!("DROP TABLE {COUNTS}"),
    ];
    Some((start, end))
}

/// The risk that refused a batch, from D1's error.
pub fn refused<'a>(error: &str, risks: &'a [Risk]) -> Option<&'a Risk> {
    let needle = format!("NOT NULL constraint failed: {CHECK}.");
    let at = error.find(&needle)? + needle.len();
    let rest = &error[at..];
    risks
        .iter()
        .filter(|r| rest.starts_with(&r.key()))
        .max_by_key(|r| r.key().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::schema::Object;

    fn schema(tables: &[(&str, &str)]) -> Schema {
        Schema {
            objects: tables
                .iter()
                .map(|(name, sql)| Object {
                    kind: "table".into(),
                    name: (*name).into(),
                    table: (*name).into(),
                    sql: (*sql).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn reads_foreign_keys_in_every_shape() {
        let Some(Change::Create { foreign_keys, .. }) = change(
            "CREATE TABLE IF NOT EXISTS \"Post\" (\"id\" INTEGER PRIMARY KEY, \"authorId\" INTEGER NOT NULL, \
             body TEXT DEFAULT (lower('a,b')), tag_id INTEGER REFERENCES tags(id) ON DELETE SET NULL, \
             CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\" (\"id\") ON DELETE CASCADE ON UPDATE CASCADE)",
        ) else {
            panic!("a create");
        };
        assert_eq!(
            foreign_keys,
            [
                ForeignKey {
                    columns: vec!["tag_id".into()],
                    parent: "tags".into(),
                    on_delete: OnDelete::SetNull
                },
                ForeignKey {
                    columns: vec!["authorId".into()],
                    parent: "User".into(),
                    on_delete: OnDelete::Cascade
                },
            ]
        );
        let Some(Change::Create { foreign_keys, .. }) =
            change("create table `posts` (`author_id` integer references `users`(`id`) on update no action on delete cascade)")
        else {
            panic!("a create");
        };
        assert_eq!(foreign_keys[0].on_delete, OnDelete::Cascade);
        assert_eq!(
            change("DROP TABLE IF EXISTS main.\"Post\""),
            Some(Change::Drop {
                table: "Post".into()
            })
        );
        assert_eq!(
            change("ALTER TABLE \"new_Post\" RENAME TO \"Post\""),
            Some(Change::Rename {
                from: "new_Post".into(),
                to: "Post".into()
            })
        );
        assert_eq!(change("ALTER TABLE t RENAME COLUMN a TO b"), None);
        assert_eq!(
            change("INSERT OR REPLACE INTO t VALUES (1)"),
            Some(Change::Replace { table: "t".into() })
        );
        assert_eq!(
            change("replace into t values (1)"),
            Some(Change::Replace { table: "t".into() })
        );
        assert_eq!(
            change("DELETE FROM t WHERE x"),
            Some(Change::Delete { table: "t".into() })
        );
    }

    const USERS: (&str, &str) = (
        "User",
        "CREATE TABLE \"User\" (\"id\" INTEGER PRIMARY KEY, \"email\" TEXT)",
    );
    const POSTS: (&str, &str) = (
        "Post",
        "CREATE TABLE \"Post\" (\"id\" INTEGER PRIMARY KEY, \"authorId\" INTEGER NOT NULL, \
         CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\" (\"id\") ON DELETE CASCADE)",
    );

    /// Prisma's RedefineTables for "User", the parent of "Post".
    const REBUILD_USER: [&str; 6] = [
        "PRAGMA foreign_keys=OFF",
        "CREATE TABLE \"new_User\" (\"id\" INTEGER PRIMARY KEY, \"email\" TEXT NOT NULL)",
        "INSERT INTO \"new_User\" (\"id\", \"email\") SELECT \"id\", \"email\" FROM \"User\"",
        "DROP TABLE \"User\"",
        "ALTER TABLE \"new_User\" RENAME TO \"User\"",
        "PRAGMA foreign_keys=ON",
    ];

    #[test]
    fn a_rebuilt_parent_puts_its_cascading_children_at_risk() {
        let found = risks(&schema(&[USERS, POSTS]), &REBUILD_USER, |_| false);
        let tables: Vec<(&str, Option<&str>)> = found
            .iter()
            .map(|r| (r.table.as_str(), r.at_end.as_deref()))
            .collect();
        // The parent's rows are copied across (checked at the end under its
        // name); the child's are deleted by the cascade.
        assert_eq!(tables, [("User", Some("User")), ("Post", Some("Post"))]);
        assert!(
            found[1]
                .why
                .contains("ON DELETE CASCADE from dropping \"User\""),
            "{found:?}"
        );
        assert_eq!(found[1].statement, 3);
        assert!(risks(&schema(&[USERS, POSTS]), &REBUILD_USER, |_| true).is_empty());
    }

    #[test]
    fn a_leaf_rebuild_is_checked_and_a_plain_drop_is_a_loss() {
        let rebuild = [
            "CREATE TABLE `__new_posts` (`id` integer PRIMARY KEY)",
            "INSERT INTO `__new_posts`(\"id\") SELECT \"id\" FROM `posts`",
            "DROP TABLE `posts`",
            "ALTER TABLE `__new_posts` RENAME TO `posts`",
        ];
        let found = risks(
            &schema(&[("posts", "CREATE TABLE `posts` (`id` integer)")]),
            &rebuild,
            |_| false,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].at_end.as_deref(), Some("posts"));
        let found = risks(&schema(&[USERS, POSTS]), &["DROP TABLE \"Post\""], |_| {
            false
        });
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].table.as_str(), found[0].at_end.as_deref()),
            ("Post", None)
        );
        // Deleted by name first: the drop loses nothing that was not meant.
        assert!(risks(
            &schema(&[USERS, POSTS]),
            &["DELETE FROM \"Post\"", "DROP TABLE \"Post\""],
            |_| false
        )
        .is_empty());
        // A table made by the batch has no rows to lose.
        assert!(risks(
            &schema(&[]),
            &["CREATE TABLE t (x)", "DROP TABLE t"],
            |_| false
        )
        .is_empty());
        // A rollback drops what its migration made; its cascades still count.
        let undone = ["user".to_owned()];
        let statements = ["DROP TABLE \"User\""];
        let found = analyse(&schema(&[USERS, POSTS]), &statements, |_| false, &undone).risks;
        let keys: Vec<String> = found.iter().map(Risk::key).collect();
        assert_eq!(keys, ["Post"]);
    }

    #[test]
    fn set_null_children_and_replace_conflicts_are_at_risk() {
        let tags = ("tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY)");
        let notes = ("notes", "CREATE TABLE notes (id INTEGER, tag_id INTEGER REFERENCES tags(id) ON DELETE SET NULL)");
        let found = risks(
            &schema(&[tags, notes]),
            &["INSERT OR REPLACE INTO tags VALUES (1)"],
            |_| false,
        );
        let keys: Vec<String> = found.iter().map(Risk::key).collect();
        assert_eq!(keys, ["tags", "notes.tag_id"]);
        let (start, end) = guard(&found).unwrap();
        assert!(
            start[1].contains("('notes.tag_id', (SELECT count(\"tag_id\") FROM \"notes\"))"),
            "{start:?}"
        );
        assert!(end[1].contains("CASE WHEN (SELECT count(*) FROM \"tags\") >= (SELECT n FROM _migrations_rows WHERE name = 'tags') THEN 1 END"), "{end:?}");
        let error =
            "NOT NULL constraint failed: _migrations_row_loss.notes.tag_id: SQLITE_CONSTRAINT";
        assert_eq!(
            refused(error, &found).map(Risk::key).as_deref(),
            Some("notes.tag_id")
        );
        for statement in start.iter().chain(&end) {
            assert_eq!(
                crate::migrate::sql::split(statement).unwrap().len(),
                1,
                "{statement}"
            );
        }
    }
}

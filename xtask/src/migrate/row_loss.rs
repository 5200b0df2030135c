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

mod guard;
mod statements;

pub use guard::{guard, refused, CHECK, COUNTS};
pub use statements::{change, Change, ForeignKey, OnDelete};

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
#[cfg(test)]
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

#[cfg(test)]
mod tests;

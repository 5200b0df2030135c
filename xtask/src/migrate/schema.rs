//! A database's schema as `sqlite_master` holds it: rebuilt elsewhere for
//! rehearsals, dropped for restores, written as a snapshot and compared for drift.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::migrate::d1::{text, StatementResult};

// A macro so that `concat!` can build QUERY from it.
macro_rules! objects_filter {
    () => {
        "sql IS NOT NULL AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    };
}
/// Which `sqlite_master` rows make up a schema, as an SQL condition.
pub const OBJECTS_FILTER: &str = objects_filter!();

/// The query that reads a schema: D1's and SQLite's internal tables left out,
/// tables first (then views, indexes, triggers) in creation order.
pub const QUERY: &str = concat!(
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE ",
    objects_filter!(),
    " ORDER BY instr('table view index trigger', type), rowid"
);

/// The suffixes of the shadow tables a virtual table makes for itself
/// (FTS5, FTS3/4 and R*Tree): `CREATE VIRTUAL TABLE` makes them, so a
/// rebuild must not, and a drop goes through the virtual table.
const SHADOW_SUFFIXES: [&str; 11] = [
    "_data",
    "_idx",
    "_content",
    "_docsize",
    "_config",
    "_segments",
    "_segdir",
    "_stat",
    "_node",
    "_rowid",
    "_parent",
];

/// One table, view, index or trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    pub kind: String,
    pub name: String,
    pub table: String,
    pub sql: String,
}

impl Object {
    fn is_tracking(&self, tracking: &[&str]) -> bool {
        tracking.contains(&self.table.as_str())
    }

    /// A `CREATE VIRTUAL TABLE` (FTS5 and the like).
    pub fn is_virtual(&self) -> bool {
        self.kind == "table"
            && self
                .sql
                .split_whitespace()
                .take(2)
                .map(str::to_ascii_uppercase)
                .eq(["CREATE", "VIRTUAL"])
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub objects: Vec<Object>,
}

impl Schema {
    /// Reads the rows of [`QUERY`].
    pub fn from_result(result: &StatementResult) -> Schema {
        let objects = result
            .results
            .iter()
            .filter_map(|row| {
                Some(Object {
                    kind: text(row.get("type"))?,
                    name: text(row.get("name"))?,
                    table: text(row.get("tbl_name")).unwrap_or_default(),
                    sql: text(row.get("sql"))?,
                })
            })
            .collect();
        Schema { objects }
    }

    /// True when it has a virtual table (which `wrangler d1 export` refuses).
    pub fn has_virtual_tables(&self) -> bool {
        self.objects.iter().any(Object::is_virtual)
    }

    /// True for a table a virtual table of this schema made for itself.
    fn is_shadow(&self, object: &Object) -> bool {
        let virtuals: Vec<&str> = self
            .objects
            .iter()
            .filter(|o| o.is_virtual())
            .map(|o| o.name.as_str())
            .collect();
        object.kind == "table" && is_shadow_of(&object.name, &virtuals)
    }

    /// Statements that rebuild it in an empty database: every object but the
    /// shadow tables its virtual tables make themselves.
    pub fn create_statements(&self) -> Vec<String> {
        self.objects
            .iter()
            .filter(|o| !self.is_shadow(o))
            .map(|o| o.sql.clone())
            .collect()
    }

    /// Statements that drop every object: views, then virtual tables (which
    /// take their shadow tables with them), then tables (which take their
    /// indexes and triggers with them).
    pub fn drop_statements(&self) -> Vec<String> {
        let views = self.objects.iter().filter(|o| o.kind == "view");
        let virtuals = self.objects.iter().filter(|o| o.is_virtual());
        let tables = self
            .objects
            .iter()
            .filter(|o| o.kind == "table" && !o.is_virtual() && !self.is_shadow(o));
        views
            .map(|o| format!("DROP VIEW IF EXISTS {}", quote_name(&o.name)))
            .chain(
                virtuals
                    .chain(tables)
                    .map(|o| format!("DROP TABLE IF EXISTS {}", quote_name(&o.name))),
            )
            .collect()
    }

    /// A deterministic text of the app's schema (the `tracking` tables left
    /// out): one statement per object, sorted by kind and name.
    pub fn normalized(&self, tracking: &[&str]) -> String {
        let mut objects: Vec<&Object> = self
            .objects
            .iter()
            .filter(|o| !o.is_tracking(tracking))
            .collect();
        objects.sort_by_key(|o| (kind_order(&o.kind), o.name.clone()));
        objects
            .iter()
            .map(|o| {
                let lines: Vec<&str> = o.sql.lines().map(str::trim_end).collect();
                format!("{};\n", lines.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// What differs between the schema the migrations should produce and the
    /// live one (the `tracking` tables left out), one readable line per
    /// object; empty when they match.
    pub fn diff(expected: &Schema, live: &Schema, tracking: &[&str]) -> Vec<String> {
        let app = |schema: &Schema| -> Vec<Object> {
            let mut objects: Vec<Object> = schema
                .objects
                .iter()
                .filter(|o| !o.is_tracking(tracking))
                .cloned()
                .collect();
            objects.sort_by_key(|o| (kind_order(&o.kind), o.name.clone()));
            objects
        };
        let (expected, live) = (app(expected), app(live));
        let mut lines = Vec::new();
        for want in &expected {
            match live
                .iter()
                .find(|o| o.kind == want.kind && o.name == want.name)
            {
                None => lines.push(format!(
                    "- {} {} is missing (the migrations create it)",
                    want.kind, want.name
                )),
                Some(have)
                    if crate::migrate::sql::canonical(&have.sql)
                        != crate::migrate::sql::canonical(&want.sql) =>
                {
                    lines.push(format!(
                        "~ {} {} differs:\n    migrations: {}\n    database:   {}",
                        want.kind,
                        want.name,
                        squash(&want.sql),
                        squash(&have.sql)
                    ))
                }
                Some(_) => {}
            }
        }
        for have in &live {
            if !expected
                .iter()
                .any(|o| o.kind == have.kind && o.name == have.name)
            {
                lines.push(format!(
                    "+ {} {} is not created by any applied migration: {}",
                    have.kind,
                    have.name,
                    squash(&have.sql)
                ));
            }
        }
        lines
    }
}

/// True when `table` is a shadow table one of the virtual tables `virtuals`
/// made for itself (`notes_fts_data` of `notes_fts`).
pub fn is_shadow_of(table: &str, virtuals: &[&str]) -> bool {
    virtuals.iter().any(|v| {
        table
            .strip_prefix(v)
            .is_some_and(|rest| SHADOW_SUFFIXES.contains(&rest))
    })
}

/// The committed snapshot of a database's schema: `<migrations>/schema/<binding>.sql`.
pub fn snapshot_path(migrations_dir: &Path, binding: &str) -> PathBuf {
    migrations_dir.join("schema").join(format!("{binding}.sql"))
}

const SNAPSHOT_HEAD: &str = "-- Schema of ";
const SNAPSHOT_VERSIONS: &str = " after migrations ";

/// The snapshot file's text: a header naming the migrations, then [`Schema::normalized`].
pub fn snapshot_text(
    binding: &str,
    versions: &[u64],
    schema: &Schema,
    tracking: &[&str],
) -> String {
    let list: Vec<String> = versions.iter().map(u64::to_string).collect();
    let list = if list.is_empty() {
        "(none)".to_owned()
    } else {
        list.join(", ")
    };
    format!(
        "{SNAPSHOT_HEAD}{binding}{SNAPSHOT_VERSIONS}{list}.\n\
         -- Written by `cargo migrate up`/`down` on local D1; do not edit. \
         `cargo migrate verify` checks live databases against their migrations.\n\n{}",
        schema.normalized(tracking)
    )
}

/// True when two schema texts (snapshots, [`Schema::normalized`]) say the
/// same thing, however laid out or commented.
pub fn same_text(a: &str, b: &str) -> bool {
    crate::migrate::sql::canonical(a) == crate::migrate::sql::canonical(b)
}

/// The versions a snapshot was written for, and its schema text.
pub fn parse_snapshot(text: &str) -> Option<(Vec<u64>, &str)> {
    let first = text.lines().next()?;
    let (_, list) = first
        .strip_prefix(SNAPSHOT_HEAD)?
        .split_once(SNAPSHOT_VERSIONS)?;
    let list = list.strip_suffix('.')?;
    let versions = if list == "(none)" {
        Vec::new()
    } else {
        list.split(", ")
            .map(|v| v.parse().ok())
            .collect::<Option<Vec<u64>>>()?
    };
    let body = text.split_once("\n\n").map_or("", |(_, body)| body);
    Some((versions, body))
}

fn kind_order(kind: &str) -> usize {
    ["table", "view", "index", "trigger"]
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(4)
}

/// Whitespace folded to single spaces, for comparing and one-line display.
fn squash(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `name` as an SQL identifier: `"it""s"`.
pub fn quote_name(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str, name: &str, table: &str, sql: &str) -> Object {
        Object {
            kind: kind.into(),
            name: name.into(),
            table: table.into(),
            sql: sql.into(),
        }
    }

    fn schema(objects: Vec<Object>) -> Schema {
        Schema { objects }
    }

    const TRACKING: [&str; 3] = ["_migrations", "_migrations_lock", "d1_migrations"];

    #[test]
    fn normalized_is_sorted_and_leaves_tracking_out() {
        let s = schema(vec![
            object("index", "i_b", "b", "CREATE INDEX i_b ON b(x)   "),
            object("table", "b", "b", "CREATE TABLE b(x)"),
            object(
                "table",
                "_migrations",
                "_migrations",
                "CREATE TABLE _migrations(v)",
            ),
            object("table", "a", "a", "CREATE TABLE a(x)"),
        ]);
        assert_eq!(
            s.normalized(&TRACKING),
            "CREATE TABLE a(x);\n\nCREATE TABLE b(x);\n\nCREATE INDEX i_b ON b(x);\n"
        );
    }

    #[test]
    fn diff_names_added_missing_and_changed_objects() {
        let expected = schema(vec![
            object("table", "a", "a", "CREATE TABLE a(x)"),
            object("index", "i_a", "a", "CREATE INDEX i_a ON a(x)"),
        ]);
        assert!(Schema::diff(&expected, &expected, &TRACKING).is_empty());
        let live = schema(vec![
            object("table", "a", "a", "CREATE TABLE a(x,\n y)"),
            object("table", "hand", "hand", "CREATE TABLE hand(z)"),
            object(
                "table",
                "_migrations",
                "_migrations",
                "CREATE TABLE _migrations(v)",
            ),
        ]);
        let diff = Schema::diff(&expected, &live, &TRACKING).join("\n");
        assert!(diff.contains("- index i_a is missing"), "{diff}");
        assert!(diff.contains("+ table hand is not created"), "{diff}");
        assert!(diff.contains("~ table a differs"), "{diff}");
        assert!(!diff.contains("_migrations"), "{diff}");
    }

    #[test]
    fn snapshots_round_trip_their_versions_and_schema() {
        let s = schema(vec![object("table", "a", "a", "CREATE TABLE a(x)")]);
        let text = snapshot_text("AUTH", &[2, 4], &s, &TRACKING);
        assert!(
            text.starts_with("-- Schema of AUTH after migrations 2, 4.\n"),
            "{text}"
        );
        assert_eq!(
            parse_snapshot(&text),
            Some((vec![2, 4], s.normalized(&TRACKING).as_str()))
        );
        let empty = snapshot_text("AUTH", &[], &Schema::default(), &TRACKING);
        assert_eq!(parse_snapshot(&empty), Some((vec![], "")));
        assert_eq!(parse_snapshot("CREATE TABLE x(y);"), None);
    }

    #[test]
    fn drops_views_before_tables_with_quoted_names() {
        let s = schema(vec![
            object(
                "table",
                "we\"ird",
                "we\"ird",
                "CREATE TABLE \"we\"\"ird\"(x)",
            ),
            object("index", "i", "we\"ird", "CREATE INDEX i ON x(y)"),
            object("view", "v", "v", "CREATE VIEW v AS SELECT 1"),
        ]);
        assert_eq!(
            s.drop_statements(),
            [
                "DROP VIEW IF EXISTS \"v\"",
                "DROP TABLE IF EXISTS \"we\"\"ird\""
            ]
        );
    }

    #[test]
    fn a_virtual_table_makes_its_own_shadow_tables() {
        let s = schema(vec![
            object("table", "notes", "notes", "CREATE TABLE notes(id, body)"),
            object(
                "table",
                "notes_fts",
                "notes_fts",
                "CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes')",
            ),
            object(
                "table",
                "notes_fts_data",
                "notes_fts_data",
                "CREATE TABLE 'notes_fts_data'(id, block)",
            ),
            object(
                "table",
                "notes_fts_idx",
                "notes_fts_idx",
                "CREATE TABLE 'notes_fts_idx'(segid, term)",
            ),
            object(
                "table",
                "notes_fts_config",
                "notes_fts_config",
                "CREATE TABLE 'notes_fts_config'(k, v)",
            ),
            object(
                "table",
                "notes_fts_extra",
                "notes_fts_extra",
                "CREATE TABLE notes_fts_extra(x)",
            ),
        ]);
        assert!(s.has_virtual_tables());
        assert_eq!(
            s.create_statements(),
            [
                "CREATE TABLE notes(id, body)",
                "CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes')",
                "CREATE TABLE notes_fts_extra(x)"
            ]
        );
        assert_eq!(
            s.drop_statements(),
            [
                "DROP TABLE IF EXISTS \"notes_fts\"",
                "DROP TABLE IF EXISTS \"notes\"",
                "DROP TABLE IF EXISTS \"notes_fts_extra\""
            ]
        );
        assert!(!schema(vec![object("table", "t", "t", "CREATE TABLE t(x)")]).has_virtual_tables());
    }
}

//! A database's tables, columns, foreign keys and indexes (for the
//! entity-relationship diagram), and what one migration changes in the
//! schema: the database's migrations rehearsed in an in-memory SQLite
//! database, the schema read before and after it.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::{json, Map, Value};
use xtask::migrate::d1::{Call, D1};
use xtask::migrate::Database;
use xtask::migrate::Migration;
use xtask::migrate::{is_shadow_of, OBJECTS_FILTER};

/// Tables with their columns, from `sqlite_master` and `pragma_table_info`.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Shape {
    /// Table → its columns, in order.
    pub tables: BTreeMap<String, Vec<String>>,
    pub indexes: BTreeSet<String>,
}

/// The statements that read a database's tables, columns, foreign keys,
/// indexes and virtual tables: one call.
pub fn er_query() -> String {
    let tables =
        format!("SELECT name FROM sqlite_master WHERE type = 'table' AND {OBJECTS_FILTER}");
    [
        format!(
            "SELECT m.name AS tbl, p.name, p.type, p.\"notnull\" AS not_null, p.pk \
             FROM ({tables}) m, pragma_table_info(m.name) p ORDER BY m.name, p.cid"
        ),
        format!(
            "SELECT m.name AS tbl, f.\"from\" AS col, f.\"table\" AS parent, f.\"to\" AS parent_col, \
             f.on_delete FROM ({tables}) m, pragma_foreign_key_list(m.name) f ORDER BY m.name, f.id, f.seq"
        ),
        format!("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND {OBJECTS_FILTER} ORDER BY name"),
        VIRTUAL_TABLES.to_owned(),
    ]
    .join("; ")
}

/// The virtual tables (FTS5 and the like): their shadow tables are theirs,
/// not the app's, and are left out.
const VIRTUAL_TABLES: &str =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'";

/// The diagram's data for `db`, read through `d1`.
pub fn er(d1: &dyn D1, db: &Database) -> Result<Value> {
    let results = d1.query(Call::Read, db, &er_query())?;
    let [columns, keys, indexes, virtuals] = &results[..] else {
        anyhow::bail!("the schema query returned {} results, not 4", results.len());
    };
    Ok(er_from(
        &columns.results,
        &keys.results,
        &indexes.results,
        &virtuals.results,
    ))
}

fn er_from(
    columns: &[Map<String, Value>],
    keys: &[Map<String, Value>],
    indexes: &[Map<String, Value>],
    virtuals: &[Map<String, Value>],
) -> Value {
    let text = |row: &Map<String, Value>, key: &str| xtask::migrate::d1::text(row.get(key));
    let virtuals: Vec<String> = virtuals
        .iter()
        .filter_map(|row| text(row, "name"))
        .collect();
    let virtuals: Vec<&str> = virtuals.iter().map(String::as_str).collect();
    let own = |table: &str| !is_shadow_of(table, &virtuals);
    let number = |row: &Map<String, Value>, key: &str| {
        row.get(key)
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(0)
    };
    let mut tables: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for row in columns {
        let Some(table) = text(row, "tbl").filter(|t| own(t)) else {
            continue;
        };
        tables.entry(table).or_default().0.push(json!({
            "name": text(row, "name"),
            "type": text(row, "type").unwrap_or_default(),
            "notnull": number(row, "not_null") != 0,
            "pk": number(row, "pk") != 0,
        }));
    }
    for row in keys {
        let Some(table) = text(row, "tbl").filter(|t| own(t)) else {
            continue;
        };
        tables.entry(table).or_default().1.push(json!({
            "from": text(row, "col"),
            "table": text(row, "parent"),
            // A key naming no column refers to the parent's primary key.
            "to": text(row, "parent_col"),
            "on_delete": text(row, "on_delete"),
        }));
    }
    json!({
        "tables": tables.into_iter().map(|(name, (columns, keys))| json!({
            "virtual": virtuals.contains(&name.as_str()),
            "name": name, "columns": columns, "foreign_keys": keys,
        })).collect::<Vec<_>>(),
        "indexes": indexes.iter().map(|row| json!({
            "name": text(row, "name"), "table": text(row, "tbl_name"),
        })).collect::<Vec<_>>(),
    })
}

/// What `target` changes in the schema its database's earlier migrations
/// (`files`, in version order) build: rehearsed on an empty in-memory
/// database, with foreign keys enforced as D1 does.
pub fn changes(files: &[&Migration], target: &Migration) -> Result<Value> {
    let connection = Connection::open_in_memory()?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    for migration in files.iter().filter(|m| m.version < target.version) {
        apply(&connection, migration)?;
    }
    let before = shape(&connection)?;
    apply(&connection, target)?;
    let after = shape(&connection)?;
    Ok(diff(&before, &after))
}

fn apply(connection: &Connection, migration: &Migration) -> Result<()> {
    let statements = xtask::migrate::sql::split(&migration.sql)
        .map_err(|err| anyhow::anyhow!("{}: {err}", migration.file_name))?;
    for statement in statements {
        connection
            .execute_batch(&statement.sql)
            .with_context(|| format!("{} does not rehearse", migration.file_name))?;
    }
    Ok(())
}

fn shape(connection: &Connection) -> Result<Shape> {
    let mut shape = Shape::default();
    let mut objects = connection.prepare(&format!(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index') AND {OBJECTS_FILTER}"
    ))?;
    let rows: Vec<(String, String)> = objects
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let virtuals: Vec<String> = connection
        .prepare(VIRTUAL_TABLES)?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let virtuals: Vec<&str> = virtuals.iter().map(String::as_str).collect();
    for (kind, name) in rows {
        if is_shadow_of(&name, &virtuals) {
            continue;
        }
        if kind == "index" {
            shape.indexes.insert(name);
            continue;
        }
        let mut columns =
            connection.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
        let names = columns
            .query_map([&name], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        shape.tables.insert(name, names);
    }
    Ok(shape)
}

fn diff(before: &Shape, after: &Shape) -> Value {
    let names = |shape: &Shape| shape.tables.keys().cloned().collect::<BTreeSet<_>>();
    let (old, new) = (names(before), names(after));
    let columns = |from: &Shape, to: &Shape| {
        let mut found = Vec::new();
        for (table, columns) in &to.tables {
            if let Some(known) = from.tables.get(table) {
                for column in columns.iter().filter(|c| !known.contains(c)) {
                    found.push(json!({"table": table, "column": column}));
                }
            }
        }
        found
    };
    json!({
        "tables_added": new.difference(&old).collect::<Vec<_>>(),
        "tables_removed": old.difference(&new).collect::<Vec<_>>(),
        "columns_added": columns(before, after),
        "columns_removed": columns(after, before),
        "indexes_added": after.indexes.difference(&before.indexes).collect::<Vec<_>>(),
        "indexes_removed": before.indexes.difference(&after.indexes).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(version: u64, sql: &str) -> Migration {
        Migration {
            version,
            name: format!("{version:04}_m"),
            file_name: format!("{version:04}_m.sql"),
            path: format!("{version:04}_m.sql").into(),
            sql: sql.to_owned(),
            checksum: String::new(),
            binding: "DB".into(),
            rollback: None,
            stored: false,
        }
    }

    #[test]
    fn a_migration_is_diffed_against_the_schema_before_it() {
        let first = migration(
            1,
            "CREATE TABLE rooms (id TEXT PRIMARY KEY, name TEXT);\nCREATE INDEX idx_name ON rooms(name);",
        );
        let second = migration(
            2,
            "CREATE TABLE perms (room_id TEXT REFERENCES rooms(id) ON DELETE CASCADE);\n\
             ALTER TABLE rooms ADD COLUMN owner TEXT;\nDROP INDEX idx_name;",
        );
        let changes = changes(&[&first, &second], &second).unwrap();
        assert_eq!(changes["tables_added"], json!(["perms"]));
        assert_eq!(changes["tables_removed"], json!([]));
        assert_eq!(
            changes["columns_added"],
            json!([{"table": "rooms", "column": "owner"}])
        );
        assert_eq!(changes["indexes_removed"], json!(["idx_name"]));
        assert_eq!(changes["indexes_added"], json!([]));
    }

    #[test]
    fn a_virtual_table_is_one_change_not_its_shadow_tables() {
        let notes = migration(1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);");
        let fts = migration(
            2,
            "CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes', content_rowid='id');",
        );
        let changes = changes(&[&notes, &fts], &fts).unwrap();
        assert_eq!(changes["tables_added"], json!(["notes_fts"]));
    }

    #[test]
    fn a_migration_that_does_not_run_says_which() {
        let broken = migration(1, "INSERT INTO missing VALUES (1);");
        let err = changes(&[&broken], &broken).unwrap_err();
        assert!(
            format!("{err:#}").contains("0001_m.sql does not rehearse"),
            "{err:#}"
        );
    }

    #[test]
    fn the_er_data_groups_columns_and_keys_by_table() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE rooms (id TEXT PRIMARY KEY NOT NULL, name TEXT);\n\
                 CREATE TABLE perms (room_id TEXT REFERENCES rooms(id) ON DELETE CASCADE, role TEXT);\n\
                 CREATE INDEX idx_perms ON perms(role);\n\
                 CREATE VIRTUAL TABLE rooms_fts USING fts5(name, content='rooms');",
            )
            .unwrap();
        let read = |sql: &str| -> Vec<Map<String, Value>> {
            let mut statement = connection.prepare(sql).unwrap();
            let names: Vec<String> = statement
                .column_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            statement
                .query_map([], |row| {
                    let mut map = Map::new();
                    for (i, name) in names.iter().enumerate() {
                        let value = match row.get_ref(i)? {
                            rusqlite::types::ValueRef::Integer(n) => json!(n),
                            rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                            _ => Value::Null,
                        };
                        map.insert(name.clone(), value);
                    }
                    Ok(map)
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let query = er_query();
        let parts: Vec<&str> = query.split("; ").collect();
        let er = er_from(
            &read(parts[0]),
            &read(parts[1]),
            &read(parts[2]),
            &read(parts[3]),
        );
        let perms = &er["tables"][0];
        assert_eq!(perms["name"], "perms");
        assert_eq!(
            perms["foreign_keys"],
            json!([{"from": "room_id", "table": "rooms", "to": "id", "on_delete": "CASCADE"}])
        );
        // The FTS5 table is there, its shadow tables (rooms_fts_data, …) not.
        let names: Vec<&str> = er["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["perms", "rooms", "rooms_fts"]);
        assert_eq!(er["tables"][2]["virtual"], true);
        let rooms = &er["tables"][1];
        assert_eq!(
            rooms["columns"][0],
            json!({"name": "id", "type": "TEXT", "notnull": true, "pk": true})
        );
        assert_eq!(
            er["indexes"],
            json!([{"name": "idx_perms", "table": "perms"}])
        );
    }
}

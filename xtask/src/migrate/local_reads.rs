//! Local reads without node: the SQL of a read (a state read, the schema,
//! row counts) runs on miniflare's own SQLite file of the database, opened
//! read-only, in one read transaction, instead of in a `wrangler d1 execute`
//! that costs a node start-up. Only reads: anything that would write goes
//! through wrangler, which applies D1's rules.
//!
//! A read never blocks a writer for long or changes the file: the
//! connection is read-only, waits out a writer's lock (a `wrangler dev`
//! serving the database), and holds its own lock only while it reads. When
//! the file cannot be read (a layout this code does not know, a file
//! another process holds), the caller asks wrangler instead, and says so.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};

use crate::migrate::config::Database;
use crate::migrate::d1::{Call, D1Error, StatementResult, D1};
use crate::migrate::local_files;
use crate::migrate::sql;

/// The environment variable that turns local reads off: `wrangler` sends
/// every local read through wrangler, as before.
pub const READS_VAR: &str = "MIGRATE_LOCAL_READS";

/// True unless `MIGRATE_LOCAL_READS=wrangler`.
pub fn enabled() -> bool {
    !matches!(std::env::var(READS_VAR).as_deref(), Ok("wrangler"))
}

/// What reading a local database's file gave.
#[derive(Debug)]
pub enum Read {
    /// Each statement's rows.
    Rows(Vec<StatementResult>),
    /// SQLite refused the SQL as D1 would (a table that does not exist):
    /// the refusal, worded as D1 words it.
    Refused(D1Error),
    /// The SQL writes: it must go through wrangler.
    Writes,
    /// The file could not be read (why): ask wrangler.
    Unreadable(String),
}

/// How a [`D1`] that [reads files](D1::reads_files) answers a query:
/// `Some` answer from `db`'s file when `call` is not a write and the SQL only
/// reads; `None` when the call has to be made (and says why in the log when
/// the file could not be read).
pub fn answer(
    d1: &dyn D1,
    call: Call,
    db: &Database,
    sql: &str,
) -> Option<Result<Vec<StatementResult>>> {
    if call == Call::Write || !d1.reads_files() {
        return None;
    }
    match query(&d1.local_state(), db, sql) {
        Read::Rows(results) => Some(Ok(results)),
        Read::Refused(refusal) => Some(
            Err(anyhow!(refusal)).with_context(|| format!("reading {}'s local file", db.binding)),
        ),
        Read::Writes => None,
        Read::Unreadable(why) => {
            tracing::info!(database = %db.binding, "reading {} through wrangler: {why}", db.binding);
            None
        }
    }
}

/// Runs the read `sql` on the local database `db` of the local state
/// `local_state`. A database local D1 has not created yet (its file is not
/// there, and the files beside it, if any, are named as this tool names
/// them) reads as an empty one; a file missing beside files named some
/// other way is left to wrangler, which knows where it is.
pub fn query(local_state: &Path, db: &Database, sql: &str) -> Read {
    let statements = match sql::split(sql) {
        Ok(statements) => statements,
        Err(err) => return Read::Unreadable(format!("the SQL does not split: {err}")),
    };
    let path = local_files::database_file(local_state, db);
    let connection = if path.is_file() {
        local_files::open(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    } else if !local_files::naming_confirmed(local_state) {
        return Read::Unreadable(format!(
            "{} does not exist, and the files beside it are named some other way",
            path.display()
        ));
    } else {
        Connection::open_in_memory().map_err(anyhow::Error::from)
    };
    let connection = match connection {
        Ok(connection) => connection,
        Err(err) => return Read::Unreadable(format!("{err:#}")),
    };
    let sqls: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
    match run(&connection, &sqls) {
        Ok(Some(results)) => Read::Rows(results),
        Ok(None) => Read::Writes,
        Err(err) => match &err {
            rusqlite::Error::SqliteFailure(failure, _)
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::DatabaseBusy
                        | rusqlite::ErrorCode::DatabaseLocked
                        | rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::NotADatabase
                        | rusqlite::ErrorCode::DatabaseCorrupt
                        | rusqlite::ErrorCode::SystemIoFailure
                        | rusqlite::ErrorCode::PermissionDenied
                ) =>
            {
                Read::Unreadable(format!("{}: {}", path.display(), sqlite_text(&err)))
            }
            _ => Read::Refused(D1Error {
                text: sqlite_text(&err),
            }),
        },
    }
}

/// Runs `statements` in one read transaction; `None`, having run none of
/// them, when one of them would write.
fn run(
    connection: &Connection,
    statements: &[&str],
) -> rusqlite::Result<Option<Vec<StatementResult>>> {
    connection.execute_batch("BEGIN DEFERRED")?;
    let result = (|| {
        // Every statement is looked at before any runs: a write anywhere
        // sends the whole SQL to wrangler, even after a statement SQLite
        // refuses (a table a `CREATE` before it would have made).
        let mut prepared = Vec::new();
        let mut refused = None;
        for sql in statements {
            match connection.prepare(sql) {
                Ok(statement) if !statement.readonly() => return Ok(None),
                Ok(statement) => prepared.push(statement),
                Err(err) => {
                    refused.get_or_insert(err);
                }
            }
        }
        if let Some(err) = refused {
            return Err(err);
        }
        let mut results = Vec::new();
        for mut statement in prepared {
            results.push(StatementResult {
                results: rows(&mut statement)?,
            });
        }
        Ok(Some(results))
    })();
    // A read transaction: ending it changes nothing either way.
    connection.execute_batch("COMMIT").ok();
    result
}

/// A refusal by "D1", in the chain of the error it becomes.
#[cfg(test)]
pub(super) fn refusal(text: String) -> anyhow::Error {
    anyhow!(D1Error { text })
}

/// SQLite's message and result code, as D1 words a refusal.
pub(super) fn sqlite_text(err: &rusqlite::Error) -> String {
    match err {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let code = match failure.code {
                rusqlite::ErrorCode::ConstraintViolation => "SQLITE_CONSTRAINT",
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    "SQLITE_BUSY"
                }
                rusqlite::ErrorCode::ReadOnly => "SQLITE_READONLY",
                rusqlite::ErrorCode::TooBig => "SQLITE_TOOBIG",
                _ => "SQLITE_ERROR",
            };
            let message = message.clone().unwrap_or_else(|| failure.to_string());
            format!("{message}: {code}")
        }
        other => format!("{other}: SQLITE_ERROR"),
    }
}

/// The rows of a prepared statement, each a map of column to JSON value.
pub(super) fn rows(
    statement: &mut rusqlite::Statement<'_>,
) -> rusqlite::Result<Vec<Map<String, Value>>> {
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut rows = statement.query([])?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        let mut map = Map::new();
        for (index, name) in names.iter().enumerate() {
            map.insert(name.clone(), json(row.get_ref(index)?));
        }
        found.push(map);
    }
    Ok(found)
}

fn json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::from(n),
        ValueRef::Real(x) => Value::from(x),
        ValueRef::Text(text) => Value::from(String::from_utf8_lossy(text).into_owned()),
        // As local wrangler prints a blob: its bytes as the text of a list.
        ValueRef::Blob(bytes) => {
            let bytes: Vec<String> = bytes.iter().map(u8::to_string).collect();
            Value::from(format!("[{}]", bytes.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Database {
        Database {
            binding: "AUTH".into(),
            name: "auth".into(),
            id: Some("00000000-0000-4000-8000-000000000001".into()),
            renamed_by: None,
            wrangler_table: "d1_migrations".into(),
            migrations_dir: None,
            migrations_pattern: None,
            local_id: "00000000-0000-4000-8000-000000000001".into(),
        }
    }

    fn live(state: &Path, sql: &str) -> std::path::PathBuf {
        let path = local_files::database_file(state, &db());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        Connection::open(&path).unwrap().execute_batch(sql).unwrap();
        path
    }

    #[test]
    fn reads_each_statement_and_refuses_as_d1_words_it() {
        let dir = tempfile::tempdir().unwrap();
        live(
            dir.path(),
            "PRAGMA journal_mode = WAL; CREATE TABLE t(x, y); INSERT INTO t VALUES (1, 'a'), (2, NULL);",
        );
        let Read::Rows(results) = query(
            dir.path(),
            &db(),
            "SELECT x, y FROM t ORDER BY x; SELECT count(*) AS n FROM t",
        ) else {
            panic!("not read")
        };
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].results[1]["x"], Value::from(2));
        assert_eq!(results[0].results[1]["y"], Value::Null);
        assert_eq!(results[1].results[0]["n"], Value::from(2));
        match query(dir.path(), &db(), "SELECT * FROM missing") {
            Read::Refused(err) => assert_eq!(err.text, "no such table: missing: SQLITE_ERROR"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_write_is_left_to_wrangler_and_the_file_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = live(dir.path(), "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
        let before = std::fs::read(&path).unwrap();
        for sql in [
            "INSERT INTO t VALUES (2)",
            "SELECT x FROM t; DELETE FROM t",
            "CREATE TABLE u(y)",
        ] {
            assert!(
                matches!(query(dir.path(), &db(), sql), Read::Writes),
                "{sql}"
            );
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "nothing written beside the file: {names:?}");
    }

    #[test]
    fn a_database_not_created_yet_reads_as_empty_unless_the_files_beside_it_are_named_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let empty = |dir: &Path| match query(dir, &db(), "SELECT name FROM sqlite_master") {
            Read::Rows(results) => results[0].results.is_empty(),
            other => panic!("{other:?}"),
        };
        // No local state at all.
        assert!(empty(dir.path()));
        // Local D1's folder, with another database's file named as we name them.
        let mut other = db();
        other.local_id = "another-database".into();
        let beside = local_files::database_file(dir.path(), &other);
        std::fs::create_dir_all(beside.parent().unwrap()).unwrap();
        std::fs::write(beside.with_file_name("metadata.sqlite"), "").unwrap();
        assert!(empty(dir.path()));
        std::fs::write(&beside, "").unwrap();
        assert!(empty(dir.path()));
        // Only files named some other way: a layout we do not know.
        std::fs::remove_file(&beside).unwrap();
        std::fs::write(beside.with_file_name("0123abcd.sqlite"), "").unwrap();
        assert!(matches!(
            query(dir.path(), &db(), "SELECT 1"),
            Read::Unreadable(why) if why.contains("named some other way")
        ));
    }

    #[test]
    fn a_reader_beside_an_open_write_sees_only_what_was_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = live(
            dir.path(),
            "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);",
        );
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (2);")
            .unwrap();
        let Read::Rows(results) = query(dir.path(), &db(), "SELECT count(*) AS n FROM t") else {
            panic!("not read beside a writer")
        };
        assert_eq!(results[0].results[0]["n"], Value::from(1));
        writer.execute_batch("COMMIT").unwrap();
        let Read::Rows(results) = query(dir.path(), &db(), "SELECT count(*) AS n FROM t") else {
            panic!("not read")
        };
        assert_eq!(results[0].results[0]["n"], Value::from(2));
    }
}

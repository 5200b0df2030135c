//! Local D1 as miniflare keeps it: one SQLite file per database under
//! `v3/d1/` in wrangler's local state (`.wrangler/state` beside the wrangler
//! config, unless `--persist-to` puts it elsewhere). Backups of it are
//! SQLite's online backup of that file: exact (virtual tables and their
//! indexes included), and milliseconds instead of a wrangler call.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use hmac::{Hmac, Mac};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags, MAIN_DB};
use sha2::{Digest, Sha256};

use crate::migrate::config::Database;

/// miniflare's name for the Durable Object class that holds local D1 databases.
const UNIQUE_KEY: &str = "miniflare-D1DatabaseObject";

/// How long to wait for a writer (a `wrangler dev`, another run) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub use crate::migrate::d1::default_local_state;

/// The folder of local D1 state in wrangler's local state `local_state`.
pub fn state_dir(local_state: &Path) -> PathBuf {
    local_state.join("v3").join("d1")
}

/// The file local D1 keeps `db` in. workerd names a Durable Object by name as
/// HMAC-SHA256 (keyed by SHA-256 of the class's unique key) of the name,
/// then the same of that half: 16 bytes each, in hex.
pub fn database_file(local_state: &Path, db: &Database) -> PathBuf {
    let first = object_mac(db.local_id.as_bytes());
    let second = object_mac(&first);
    let id: String = first
        .iter()
        .chain(&second)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    objects_dir(local_state).join(format!("{id}.sqlite"))
}

/// The folder of local D1's database files.
fn objects_dir(local_state: &Path) -> PathBuf {
    state_dir(local_state).join(UNIQUE_KEY)
}

/// Half of a Durable Object's id: HMAC-SHA256 of `data`, keyed by SHA-256 of
/// the class's unique key, cut to 16 bytes.
fn object_mac(data: &[u8]) -> [u8; 16] {
    let key = Sha256::digest(UNIQUE_KEY.as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(data);
    let mut half = [0u8; 16];
    half.copy_from_slice(&mac.finalize().into_bytes()[..16]);
    half
}

/// Whether the database files local D1 keeps under `local_state` are named
/// as [`database_file`] names them, so that a database whose file is not
/// there has never been created: true when there are none yet, or when one
/// of them carries the naming's own proof (the second half of its id is
/// the MAC of the first). False for files named some other way (a layout
/// this tool does not know).
pub fn naming_confirmed(local_state: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(objects_dir(local_state)) else {
        return true;
    };
    let mut files = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".sqlite")) else {
            continue;
        };
        if stem == "metadata" {
            continue;
        }
        files += 1;
        let bytes: Option<Vec<u8>> = (0..stem.len())
            .step_by(2)
            .map(|at| {
                stem.get(at..at + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        if let Some(bytes) = bytes.filter(|b| b.len() == 32) {
            if object_mac(&bytes[..16])[..] == bytes[16..] {
                return true;
            }
        }
    }
    files == 0
}

pub(super) fn open(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let connection = Connection::open_with_flags(path, flags)
        .with_context(|| format!("cannot open {}", path.display()))?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .with_context(|| format!("cannot configure {}", path.display()))?;
    Ok(connection)
}

/// Opens a database file at rest (a backup) to read it: read-only and
/// `immutable`, so that SQLite takes no lock and writes nothing beside it,
/// not even the `-wal` and `-shm` files a read-only connection to a WAL
/// database leaves behind (a backup copies the live file's WAL header).
pub fn open_at_rest(path: &Path) -> Result<Connection> {
    // A URI, with every byte that could mean something in one escaped.
    let mut uri = String::from("file:");
    for &byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'-' | b'~' => {
                uri.push(char::from(byte))
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", path.display()))
}

/// Copies the live database `live` into the new file `backup` with SQLite's
/// online backup. A database local D1 has not created yet is backed up as an
/// empty one.
pub fn back_up(live: &Path, backup: &Path) -> Result<()> {
    let source = match live.is_file() {
        true => open(live, OpenFlags::SQLITE_OPEN_READ_WRITE)?,
        false => Connection::open_in_memory().context("cannot open an empty database")?,
    };
    source
        .backup(MAIN_DB, backup, None)
        .with_context(|| format!("cannot copy {} into {}", live.display(), backup.display()))
}

/// Replaces the live database `live` with the backup file `backup`, page for
/// page, in one write transaction on `live` (which keeps its own journal
/// mode). The backup is only read ([`open_at_rest`]).
pub fn restore(backup: &Path, live: &Path) -> Result<()> {
    if let Some(dir) = live.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let source = open_at_rest(backup)?;
    let mut target = open(
        live,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    let failed = || {
        format!(
            "cannot restore {} into {}",
            backup.display(),
            live.display()
        )
    };
    // Every page in one step: a writer on `live` gets its busy timeout, and
    // then the restore fails rather than waiting on it for ever.
    let step = Backup::new(&source, &mut target)
        .and_then(|copy| copy.step(-1))
        .with_context(failed)?;
    match step {
        StepResult::Done => Ok(()),
        _ => Err(anyhow::anyhow!(
            "{} is in use (a `wrangler dev`, another run?): try again once it is not",
            live.display()
        ))
        .with_context(failed),
    }
}

/// Runs `sql` (no rows) on a local database file, outside wrangler: for
/// bookkeeping right after a restore.
pub fn execute(path: &Path, sql: &str) -> Result<()> {
    open(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?
        .execute_batch(sql)
        .with_context(|| format!("cannot run `{sql}` on {}", path.display()))
}

/// True when the SQLite file at `path` has a table called `table`.
pub fn has_table(path: &Path, table: &str) -> Result<bool> {
    let connection = open(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    table_in(&connection, table)
        .with_context(|| format!("cannot read the schema of {}", path.display()))
}

/// True when the database of `connection` has a table called `table`.
pub fn table_in(connection: &Connection, table: &str) -> rusqlite::Result<bool> {
    connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |row| row.get::<_, i64>(0),
        )
        .map(|n| n > 0)
}

/// Creates the SQLite file `path` from an export's SQL.
pub fn load_sql(path: &Path, text: &str) -> Result<()> {
    let connection =
        Connection::open(path).with_context(|| format!("cannot create {}", path.display()))?;
    connection
        .execute_batch(text)
        .with_context(|| format!("cannot load an export into {}", path.display()))
}

/// The tables whose rows count: the app's and the tracking tables, not
/// SQLite's, D1's, virtual tables or their shadow tables.
fn counted_tables(connection: &Connection) -> Result<Vec<String>> {
    let mut statement = connection.prepare(
        r"SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE '\_cf\_%' ESCAPE '\'",
    )?;
    let rows: Vec<(String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let schema = crate::migrate::schema::Schema {
        objects: rows
            .iter()
            .map(|(name, sql)| crate::migrate::schema::Object {
                kind: "table".into(),
                name: name.clone(),
                table: name.clone(),
                sql: sql.clone(),
            })
            .collect(),
    };
    // A virtual table's shadow tables are left out of what rebuilds the schema.
    let rebuilt = schema.create_statements();
    Ok(schema
        .objects
        .iter()
        .filter(|o| !o.is_virtual() && rebuilt.contains(&o.sql))
        .map(|o| o.name.clone())
        .collect())
}

/// How many rows each table of the SQLite file `path` has.
pub fn row_counts(path: &Path) -> Result<std::collections::BTreeMap<String, u64>> {
    let connection = open(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut counts = std::collections::BTreeMap::new();
    for table in counted_tables(&connection)
        .with_context(|| format!("cannot list the tables of {}", path.display()))?
    {
        let n: i64 = connection
            .query_row(
                &format!(
                    "SELECT count(*) FROM {}",
                    crate::migrate::schema::quote_name(&table)
                ),
                [],
                |row| row.get(0),
            )
            .with_context(|| format!("cannot count the rows of {table}"))?;
        counts.insert(table, n.max(0) as u64);
    }
    Ok(counts)
}

/// How many non-null values `table.column` has (`None` when either is gone).
pub fn non_null(path: &Path, table: &str, column: &str) -> Result<Option<u64>> {
    let connection = open(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let sql = format!(
        "SELECT count({}) FROM {}",
        crate::migrate::schema::quote_name(column),
        crate::migrate::schema::quote_name(table)
    );
    Ok(connection
        .query_row(&sql, [], |row| row.get::<_, i64>(0))
        .ok()
        .map(|n| n.max(0) as u64))
}

/// True when `path` is an SQLite database file (by its header).
pub fn is_sqlite_file(path: &Path) -> bool {
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut header))
        .is_ok_and(|()| &header == b"SQLite format 3\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_file_as_workerd_does() {
        // Seen on disk after `wrangler d1 execute AUTH --local` with this id.
        let db = Database {
            binding: "AUTH".into(),
            name: "nanotype-auth".into(),
            id: Some("3b9e7f1a-2c4d-4e6f-8a0b-c1d2e3f4a5b6".into()),
            renamed_by: None,
            wrangler_table: "d1_migrations".into(),
            migrations_dir: None,
            migrations_pattern: None,
            local_id: "3b9e7f1a-2c4d-4e6f-8a0b-c1d2e3f4a5b6".into(),
        };
        assert_eq!(
            database_file(&default_local_state(Path::new("/p")), &db),
            Path::new("/p/.wrangler/state/v3/d1/miniflare-D1DatabaseObject/d8271471d1d4b5c3e53550a68a368b304276c260ba200164860180e33d0c57aa.sqlite")
        );
    }

    #[test]
    fn backs_up_and_restores_virtual_tables_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live.sqlite");
        let conn = Connection::open(&live).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);
             CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes', content_rowid='id');
             INSERT INTO notes(body) VALUES ('red fox'), ('blue whale');
             INSERT INTO notes_fts(notes_fts) VALUES ('rebuild');",
        )
        .unwrap();
        let backup = dir.path().join("backup.sqlite");
        back_up(&live, &backup).unwrap();
        assert!(is_sqlite_file(&backup));
        conn.execute_batch(
            "DELETE FROM notes; INSERT INTO notes_fts(notes_fts) VALUES ('rebuild');",
        )
        .unwrap();
        restore(&backup, &live).unwrap();
        let found: i64 = conn
            .query_row(
                "SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'whale'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 2);
        assert!(has_table(&live, "notes").unwrap());
        assert!(!is_sqlite_file(&dir.path().join("nothing")));
    }

    #[test]
    fn a_backup_in_wal_mode_is_read_and_restored_without_files_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live.sqlite");
        Connection::open(&live)
            .unwrap()
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (7);",
            )
            .unwrap();
        // A folder of its own, as `backups/` is; a name a URI must escape.
        let folder = dir.path().join("backups");
        std::fs::create_dir(&folder).unwrap();
        let backup = folder.join("b ?#%.sqlite");
        back_up(&live, &backup).unwrap();
        let header = std::fs::read(&backup).unwrap();
        assert_eq!(header[18..20], [2, 2], "a copy of a WAL database is one");
        let x: i64 = open_at_rest(&backup)
            .unwrap()
            .query_row("SELECT x FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(x, 7);
        restore(&backup, &live).unwrap();
        let names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["b ?#%.sqlite"]);
    }

    #[test]
    fn a_database_not_created_yet_backs_up_as_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join("b.sqlite");
        back_up(&dir.path().join("missing.sqlite"), &backup).unwrap();
        assert!(is_sqlite_file(&backup));
        assert!(!has_table(&backup, "anything").unwrap());
    }
}

//! What identifies a backup, kept in the backup itself, and the checks
//! `restore` makes before it replaces anything: whose backup it is (binding,
//! database, target), and that it is whole.
//!
//! - an export (`.sql`) gets a first line naming it and a last line with the
//!   SHA-256 of everything before it: a file cut short, or edited, fails;
//! - a local file (`.sqlite`) gets a `_migrations_backup` table; SQLite's own
//!   header says how long the file must be, and `PRAGMA quick_check` that its
//!   pages are sound;
//! - a bookmark (`.bookmark`) keeps the bookmark on its first line, then the
//!   same facts as `key: value` lines.

use std::path::Path;

use anyhow::{bail, Context, Result};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a backup is of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub binding: String,
    /// The database's name when the backup was taken.
    pub database: String,
    /// `local` or `remote`.
    pub target: String,
    /// The newest migration it had.
    pub version: u64,
    /// When it was taken (RFC 3339, UTC).
    pub taken_at: String,
}

const SQL_HEAD: &str = "-- cargo migrate backup: ";
const SQL_TAIL: &str = "-- cargo migrate backup ends, sha256 ";

/// The table a local backup file names itself in (dropped after a restore).
pub const TABLE: &str = "_migrations_backup";

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Wraps the export at `path` in its first and last lines.
pub fn stamp_sql(path: &Path, manifest: &Manifest) -> Result<()> {
    let body = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the backup {}", path.display()))?;
    let head = format!("{SQL_HEAD}{}\n", serde_json::to_string(manifest)?);
    let mut text = head + &body;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let tail = format!("{SQL_TAIL}{}\n", sha256(text.as_bytes()));
    std::fs::write(path, text + &tail)
        .with_context(|| format!("cannot write the backup {}", path.display()))
}

/// The manifest of an export, once it is shown whole.
pub fn read_sql(path: &Path, text: &str) -> Result<Manifest> {
    let Some(rest) = text.strip_prefix(SQL_HEAD) else {
        bail!(
            "{} is not a backup made by `cargo migrate` (it does not start with `{}…`): \
             is it a migration, or a plain `wrangler d1 export`?",
            path.display(),
            SQL_HEAD.trim_end()
        );
    };
    let (json, _) = rest.split_once('\n').unwrap_or((rest, ""));
    let manifest: Manifest = serde_json::from_str(json).with_context(|| {
        format!(
            "{} names itself in a way that cannot be read",
            path.display()
        )
    })?;
    let complete = text
        .trim_end_matches('\n')
        .rsplit_once('\n')
        .and_then(|(before, last)| Some((before, last.strip_prefix(SQL_TAIL)?)));
    let Some((before, digest)) = complete else {
        bail!(
            "{} is not whole: its last line is not the backup's closing line (was it cut short?)",
            path.display()
        );
    };
    if sha256(format!("{before}\n").as_bytes()) != digest.trim() {
        bail!(
            "{} is not the backup that was written: its content does not match the digest on its last line",
            path.display()
        );
    }
    Ok(manifest)
}

/// Names the local backup file at `path` inside it, and leaves it in
/// rollback-journal mode: a copy of local D1's file has its WAL header, and a
/// WAL database gets `-wal` and `-shm` files beside it whenever it is opened.
pub fn stamp_sqlite(path: &Path, manifest: &Manifest) -> Result<()> {
    let connection =
        Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let json = serde_json::to_string(manifest)?;
    let mode: String = connection
        .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
        .with_context(|| format!("cannot take {} out of WAL mode", path.display()))?;
    if !mode.eq_ignore_ascii_case("delete") {
        bail!(
            "cannot take {} out of WAL mode (it stays {mode})",
            path.display()
        );
    }
    connection
        .execute_batch(&format!(
            "CREATE TABLE {TABLE} (manifest TEXT NOT NULL); INSERT INTO {TABLE} VALUES ({});",
            crate::migrate::sql::quote_literal(&json)
        ))
        .with_context(|| format!("cannot name the backup {}", path.display()))?;
    connection
        .close()
        .map_err(|(_, err)| err)
        .with_context(|| format!("cannot close {}", path.display()))
}

/// The manifest of a local backup file, once it is shown whole.
pub fn read_sqlite(path: &Path) -> Result<Manifest> {
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let mut header = [0u8; 100];
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut header))
        .with_context(|| format!("cannot read {}", path.display()))?;
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        size => u64::from(size),
    };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    if pages * page_size != bytes {
        bail!(
            "{} is not whole: SQLite's header says {} bytes, the file has {bytes} (was it cut short?)",
            path.display(),
            pages * page_size
        );
    }
    let connection = crate::migrate::local_files::open_at_rest(path)?;
    let check: String = connection
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .with_context(|| format!("cannot check {}", path.display()))?;
    if check != "ok" {
        bail!("{} is damaged: SQLite's check says {check}", path.display());
    }
    let json: String = connection
        .query_row(&format!("SELECT manifest FROM {TABLE}"), [], |row| row.get(0))
        .map_err(|_| {
            anyhow::anyhow!(
                "{} is an SQLite file, but not a backup made by `cargo migrate` (it does not name itself)",
                path.display()
            )
        })?;
    serde_json::from_str(&json).with_context(|| {
        format!(
            "{} names itself in a way that cannot be read",
            path.display()
        )
    })
}

/// Writes a bookmark file: the bookmark, then the manifest's facts.
pub fn write_bookmark(path: &Path, bookmark: &str, manifest: &Manifest) -> Result<()> {
    let text = format!(
        "{bookmark}\n{}{}\n",
        SQL_HEAD.trim_start_matches("-- "),
        serde_json::to_string(manifest)?
    );
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The bookmark of a bookmark file, and its manifest when it has one.
pub fn read_bookmark(path: &Path) -> Result<(String, Option<Manifest>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let bookmark = lines.next().unwrap_or_default().trim().to_owned();
    if bookmark.is_empty() {
        bail!("{} holds no bookmark", path.display());
    }
    let manifest = lines
        .find_map(|line| line.strip_prefix(SQL_HEAD.trim_start_matches("-- ")))
        .and_then(|json| serde_json::from_str(json).ok());
    Ok((bookmark, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            binding: "AUTH".into(),
            database: "nanotype-auth".into(),
            target: "local".into(),
            version: 4,
            taken_at: "2026-11-30T10:00:00Z".into(),
        }
    }

    #[test]
    fn an_export_is_whole_only_with_its_closing_line_and_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("AUTH.sql");
        std::fs::write(
            &path,
            "PRAGMA defer_foreign_keys=TRUE;\nCREATE TABLE t(a);\nINSERT INTO \"t\" VALUES(1);",
        )
        .unwrap();
        stamp_sql(&path, &manifest()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(read_sql(&path, &text).unwrap(), manifest());
        // Cut short at a line break.
        let cut: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        let err = read_sql(&path, &cut).unwrap_err().to_string();
        assert!(err.contains("not whole"), "{err}");
        // Edited.
        let edited = text.replace("VALUES(1)", "VALUES(2)");
        let err = read_sql(&path, &edited).unwrap_err().to_string();
        assert!(err.contains("does not match the digest"), "{err}");
        // A migration, or wrangler's own export.
        let err = read_sql(&path, "CREATE TABLE t(a);\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a backup made by"), "{err}");
        // Comments to SQL: the file still runs as it is.
        assert_eq!(crate::migrate::sql::split(&text).unwrap().len(), 3);
    }

    #[test]
    fn a_local_file_names_itself_and_must_be_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("AUTH.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (1);")
            .unwrap();
        let err = read_sqlite(&path).unwrap_err().to_string();
        assert!(err.contains("does not name itself"), "{err}");
        stamp_sqlite(&path, &manifest()).unwrap();
        assert_eq!(read_sqlite(&path).unwrap(), manifest());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        let err = read_sqlite(&path).unwrap_err().to_string();
        assert!(err.contains("not whole"), "{err}");
    }

    #[test]
    fn a_bookmark_file_keeps_the_bookmark_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("AUTH.bookmark");
        write_bookmark(&path, "00000001-abc", &manifest()).unwrap();
        assert_eq!(
            read_bookmark(&path).unwrap(),
            ("00000001-abc".to_owned(), Some(manifest()))
        );
        std::fs::write(&path, "00000002-def\n").unwrap();
        assert_eq!(
            read_bookmark(&path).unwrap(),
            ("00000002-def".to_owned(), None)
        );
    }
}

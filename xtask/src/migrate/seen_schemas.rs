//! The schemas sets of migrations were seen to make on this machine, so that
//! the check after a run replays a set of migrations (a throwaway local
//! database: a node process per database) only once: `down 3` after `up 3`,
//! `up` then finds what migrations 1 to 3 make remembered.
//!
//! A schema is remembered only once a run's check passed on it (the database
//! held what its migrations make: a committed snapshot, a replay, or a clean
//! schema before an `up`), keyed by the database and each migration's version
//! and checksum: an edited file is another key. They live in
//! `.wrangler/migrate/schemas/` beside the wrangler config, next to the
//! hints ([`super::last_seen`]); deleting the folder only costs replays.
//! Each database keeps the [`KEEP`] it used last. `verify` always replays.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::migrate::config::Database;
use crate::migrate::d1::D1;
use crate::migrate::source::Migration;

/// How many schemas each database keeps: those used last (a schema read
/// counts as a use).
const KEEP: usize = 32;

/// The file that holds what `migrations` make in `db`.
fn path(d1: &dyn D1, db: &Database, migrations: &[&Migration]) -> PathBuf {
    let mut key = Sha256::new();
    key.update(db.binding.as_bytes());
    for migration in migrations {
        key.update(format!("\n{} {}", migration.version, migration.checksum).as_bytes());
    }
    let digest = key.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    d1.config_dir()
        .join(".wrangler")
        .join("migrate")
        .join("schemas")
        .join(format!("{}-{hex}.sql", db.binding))
}

/// The normalized schema `migrations` were seen to make in `db`, if known.
pub fn load(d1: &dyn D1, db: &Database, migrations: &[&Migration]) -> Option<String> {
    let path = path(d1, db, migrations);
    let schema = std::fs::read_to_string(&path).ok()?;
    // Used now: the last to go.
    if let Ok(file) = std::fs::File::options().append(true).open(&path) {
        file.set_modified(SystemTime::now()).ok();
    }
    Some(schema)
}

/// Remembers `normalized` as what `migrations` make in `db`. Best effort:
/// a schema not remembered only costs a replay later.
pub fn store(d1: &dyn D1, db: &Database, migrations: &[&Migration], normalized: &str) {
    let path = path(d1, db, migrations);
    let written = (|| -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(&path);
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut file, normalized.as_bytes())?;
        file.persist(&path)?;
        prune(dir, &db.binding, KEEP);
        Ok(())
    })();
    if let Err(err) = written {
        tracing::debug!(database = %db.binding, "could not remember the schema in {}: {err}", path.display());
    }
}

/// Deletes all but the `keep` schemas of `binding` in `dir` used last.
fn prune(dir: &Path, binding: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let ours = |name: &str| {
        name.strip_prefix(binding)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|rest| rest.strip_suffix(".sql"))
            .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let mut schemas: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_str().is_some_and(ours))
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    schemas.sort_by_key(|(used, _)| std::cmp::Reverse(*used));
    for (_, old) in schemas.iter().skip(keep) {
        std::fs::remove_file(old).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_database_keeps_the_schemas_it_used_last() {
        let dir = tempfile::tempdir().unwrap();
        let at = SystemTime::now() - Duration::from_secs(3600);
        let write = |name: &str, age: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, "CREATE TABLE t (x);").unwrap();
            let file = std::fs::File::options().append(true).open(&path).unwrap();
            file.set_modified(at + Duration::from_secs(age)).unwrap();
        };
        for n in 0..5u64 {
            write(&format!("AUTH-{n:032x}.sql"), n);
        }
        // Another database's, and files that are no schema of AUTH's.
        write(&format!("AUTH_LOG-{:032x}.sql", 0), 0);
        write("AUTH-notes.sql", 0);
        prune(dir.path(), "AUTH", 3);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let expected = [
            format!("AUTH-{:032x}.sql", 2),
            format!("AUTH-{:032x}.sql", 3),
            format!("AUTH-{:032x}.sql", 4),
            "AUTH-notes.sql".to_owned(),
            format!("AUTH_LOG-{:032x}.sql", 0),
        ];
        assert_eq!(left, expected);
    }
}

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
//! `verify` always replays.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::migrate::config::Database;
use crate::migrate::d1::D1;
use crate::migrate::source::Migration;

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
    std::fs::read_to_string(path(d1, db, migrations)).ok()
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
        Ok(())
    })();
    if let Err(err) = written {
        tracing::debug!(database = %db.binding, "could not remember the schema in {}: {err}", path.display());
    }
}

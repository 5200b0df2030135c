//! What this machine last saw of each database, so that `up` and `down` can
//! skip reading the state before they write: their batch then opens with a
//! guard that asserts the database is still exactly so, and D1 refuses the
//! whole batch otherwise (see [`crate::migrate::lock::Request::guard_statements`]). A
//! stale hint costs one call and a fallback to reading the state; it can never
//! make a run apply the wrong thing.
//!
//! Hints live in `.wrangler/migrate/<target>/<binding>.json` beside the
//! wrangler config, next to wrangler's own local state, and are written by
//! every full state read and after every run. A local database whose state
//! folder does not exist yet is known to be empty.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::migrate::config::Database;
use crate::migrate::d1::{Target, D1};
use crate::migrate::tracking::{self, DbState};

/// D1's limit on one SQL statement is 100 000 bytes; a guard longer than this
/// (a very large schema) is not worth trying.
const MAX_CONDITION: usize = 80_000;

#[derive(Serialize, Deserialize)]
struct Stored {
    database_name: String,
    database_id: Option<String>,
    state: DbState,
}

fn path(d1: &dyn D1, db: &Database) -> PathBuf {
    d1.config_dir()
        .join(".wrangler")
        .join("migrate")
        .join(d1.target().to_string())
        .join(format!("{}.json", db.binding))
}

/// What `db` last looked like, if this machine knows.
pub fn load(d1: &dyn D1, db: &Database) -> Option<DbState> {
    if d1.target() == Target::Local
        && !crate::migrate::local_files::state_dir(&d1.local_state()).exists()
    {
        return Some(DbState::empty());
    }
    let text = std::fs::read_to_string(path(d1, db)).ok()?;
    let stored: Stored = serde_json::from_str(&text).ok()?;
    (stored.database_name == db.name && stored.database_id == db.id).then_some(stored.state)
}

/// Remembers what `db` looks like now. Best effort: a hint that cannot be
/// written only makes the next run read the state first.
pub fn store(d1: &dyn D1, db: &Database, state: &DbState) {
    let path = path(d1, db);
    let stored = Stored {
        database_name: db.name.clone(),
        database_id: db.id.clone(),
        state: state.clone(),
    };
    let written = (|| -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(&path);
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut file, &stored)?;
        file.persist(&path)?;
        Ok(())
    })();
    if let Err(err) = written {
        tracing::debug!(database = %db.binding, "could not remember the state in {}: {err}", path.display());
    }
}

/// Forgets what `db` looked like, before something changes it: until the
/// next read, runs read it first.
pub fn forget(d1: &dyn D1, db: &Database) {
    let path = path(d1, db);
    if let Err(err) = std::fs::remove_file(&path) {
        if err.kind() != std::io::ErrorKind::NotFound {
            tracing::debug!(database = %db.binding, "could not forget the state in {}: {err}", path.display());
        }
    }
}

/// The guard's condition for a batch that expects `state`, unless it would
/// be too long for D1.
pub fn condition(state: &DbState, db: &Database) -> Option<String> {
    let condition = tracking::unchanged_condition(state, db);
    (condition.len() <= MAX_CONDITION).then_some(condition)
}

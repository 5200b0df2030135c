//! D1 databases as real SQLite files, with D1's statement rules, error messages and a
//! snapshot history for Time Travel.
//!
//! Every database lives at `<data-dir>/d1/<id>.sqlite`, its metadata (name, history) beside it
//! in `<id>.json`, and the snapshots of its past states in `<data-dir>/d1/history/<id>/`.
//!
//! Here: the [`Store`] of every database; the [`Database`] itself, its SQL execution and its
//! history are in `database`, errors in D1's words in `error`, result shapes in `results`.

mod database;
mod error;
mod results;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

pub use database::{Database, ExportReady, ImportOutcome, PendingImport};
pub use error::ApiError;
pub use results::{Meta, ObjectResult, Row, StatementResult, Timings};

use database::DbMeta;

/// Database ids double as file names: keep them to a safe alphabet.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Default)]
struct Registry {
    dbs: BTreeMap<String, Arc<Mutex<Database>>>,
    /// Databases in the order they were first seen.
    order: Vec<String>,
}

/// All databases of the double.
pub struct Store {
    dir: PathBuf,
    registry: Mutex<Registry>,
}

/// Locks a mutex, recovering it if a panicking thread poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    /// Opens the store in `dir`, loading databases left there by an earlier run.
    pub fn open(dir: PathBuf) -> anyhow::Result<Store> {
        fs::create_dir_all(&dir)?;
        let store = Store {
            dir: dir.clone(),
            registry: Mutex::new(Registry::default()),
        };
        let mut existing: Vec<(u64, String)> = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("json") {
                if let Some(id) = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .filter(|s| valid_id(s))
                {
                    let created = fs::read(&path)
                        .ok()
                        .and_then(|b| serde_json::from_slice::<DbMeta>(&b).ok())
                        .map(|m| m.created_at)
                        .unwrap_or(0);
                    existing.push((created, id.to_string()));
                }
            }
        }
        existing.sort();
        for (_, id) in existing {
            store.get_or_create(&id, None)?;
        }
        Ok(store)
    }

    /// The database with this id, created empty if it is new; `name` (re)names it.
    pub fn get_or_create(
        &self,
        id: &str,
        name: Option<&str>,
    ) -> anyhow::Result<Arc<Mutex<Database>>> {
        anyhow::ensure!(valid_id(id), "invalid database id {id:?}");
        let mut reg = lock(&self.registry);
        if let Some(db) = reg.dbs.get(id) {
            let db = db.clone();
            drop(reg);
            if let Some(name) = name {
                let mut guard = lock(&db);
                guard.meta.name = name.to_string();
                guard.save_meta()?;
            }
            return Ok(db);
        }
        let db = Arc::new(Mutex::new(Database::open(&self.dir, id, name)?));
        reg.dbs.insert(id.to_string(), db.clone());
        reg.order.push(id.to_string());
        Ok(db)
    }

    /// Resolves a path segment: a known id, else a known name, else a new id.
    pub fn resolve(&self, id_or_name: &str) -> Result<Arc<Mutex<Database>>, ApiError> {
        if let Some(db) = lock(&self.registry).dbs.get(id_or_name).cloned() {
            return Ok(db);
        }
        if let Some(db) = self.find_by_name(id_or_name) {
            return Ok(db);
        }
        if !valid_id(id_or_name) {
            return Err(ApiError::new(
                400,
                7400,
                format!("The request is malformed: invalid database id '{id_or_name}'"),
            ));
        }
        self.get_or_create(id_or_name, None)
            .map_err(ApiError::internal)
    }

    pub fn find_by_name(&self, name: &str) -> Option<Arc<Mutex<Database>>> {
        self.all().into_iter().find(|db| lock(db).name() == name)
    }

    /// Every database, oldest first.
    pub fn all(&self) -> Vec<Arc<Mutex<Database>>> {
        let reg = lock(&self.registry);
        reg.order
            .iter()
            .filter_map(|id| reg.dbs.get(id).cloned())
            .collect()
    }

    /// Forgets a database and deletes its files.
    pub fn delete(&self, id: &str) -> bool {
        let mut reg = lock(&self.registry);
        let Some(db) = reg.dbs.remove(id) else {
            return false;
        };
        reg.order.retain(|x| x != id);
        drop(reg);
        drop(db);
        for suffix in ["sqlite", "json", "sqlite-journal"] {
            let _ = fs::remove_file(self.dir.join(format!("{id}.{suffix}")));
        }
        let _ = fs::remove_dir_all(self.dir.join("history").join(id));
        true
    }
}

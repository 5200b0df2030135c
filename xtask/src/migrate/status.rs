//! Where each migration stands in each database: applied, pending,
//! modified, missing, recorded by wrangler alone, or applied from another
//! branch; and the lock a database holds. `status` prints it, `status
//! --json` and the web UI's `/api/status` serialise it.

use anyhow::Result;
use serde::Serialize;

use crate::migrate::calls;
use crate::migrate::d1::D1;
use crate::migrate::plan::{self, State};
use crate::migrate::project::Project;
use crate::migrate::tracking::LockRow;

/// What `status --json` prints (and the web UI's `/api/status` returns).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub databases: Vec<DatabaseReport>,
    /// What is wrong with the folders or the record (empty when nothing).
    pub problems: Vec<String>,
}

/// One database's migrations, in version order.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseReport {
    pub binding: String,
    pub name: String,
    pub migrations: Vec<MigrationReport>,
    /// The migration lock's row, when there is one (read in the same call):
    /// a run in progress, or one that died and left it until it expires.
    pub lock: Option<LockRow>,
}

/// Where one migration stands.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    pub version: u64,
    pub name: String,
    pub state: State,
    /// Milliseconds since the epoch.
    pub applied_at: Option<i64>,
    /// The recorded checksum once applied, the file's while pending.
    pub checksum: Option<String>,
    pub duration_ms: Option<i64>,
    /// `"wrangler"` when only wrangler's ledger records it (the next `up`
    /// records it in `_migrations` too, without running it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<&'static str>,
    /// Applied, but its file is not in this checkout (another branch): the
    /// database keeps its SQL, and `down` to the version below it rolls it back.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_in_checkout: bool,
}

/// Every selected database's migrations and the problems found: one state
/// read per database, in parallel. `folder_problems` come first.
pub fn report(project: &Project, d1: &dyn D1, folder_problems: Vec<String>) -> Result<Report> {
    let states = calls::read_states(d1, &project.selected)?;
    let mut report = Report {
        databases: Vec::new(),
        problems: folder_problems,
    };
    for (db, state) in project.selected.iter().zip(&states) {
        let around = project.surroundings(&db.binding);
        let recorded = state.recorded(&around);
        let files = project.files_recorded(&db.binding, recorded);
        let entries = plan::status(&files, recorded);
        report
            .problems
            .extend(plan::problems(&db.binding, &entries, &files, recorded));
        let migrations = entries
            .into_iter()
            .map(|entry| MigrationReport {
                version: entry.version,
                name: entry.name,
                state: entry.state,
                applied_at: entry
                    .applied
                    .map(|a| a.applied_at)
                    .or_else(|| entry.adopted.and_then(|row| row.applied_at_ms())),
                recorded_by: match (entry.applied, entry.adopted) {
                    (None, Some(_)) => Some("wrangler"),
                    _ => None,
                },
                checksum: match entry.applied {
                    Some(applied) => applied.checksum.clone(),
                    None => entry.file.map(|f| f.checksum.clone()),
                },
                duration_ms: entry.applied.and_then(|a| a.duration_ms),
                not_in_checkout: entry.file.is_some_and(|f| f.stored),
            })
            .collect();
        report.databases.push(DatabaseReport {
            binding: db.binding.clone(),
            name: db.name.clone(),
            migrations,
            lock: state.lock.clone(),
        });
    }
    Ok(report)
}

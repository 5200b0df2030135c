//! `migrate status`: applied, pending, modified and missing migrations per
//! database, in the seed's format or as JSON.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::flags;
use crate::migrate::calls;
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
pub fn report(project: &Project, folder_problems: Vec<String>) -> Result<Report> {
    let d1 = crate::cloudflare::d1_for(project)?;
    let states = calls::read_states(&d1, &project.selected)?;
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

impl flags::Status {
    /// Shows every migration it can, even when the folders have problems
    /// (`folder_problems`), and lists every problem after; fails (for CI)
    /// when there is any, or anything is modified, missing or out of order.
    pub fn run(self, project: &Project, folder_problems: Vec<String>) -> Result<()> {
        let report = report(project, folder_problems)?;
        if self.json {
            crate::out!("{}", serde_json::to_string(&report)?);
        } else {
            self.print(project, &report);
        }
        match report.problems.len() {
            0 => Ok(()),
            n => bail!(
                "{n} problem{} between the migrations and the databases (listed above)",
                if n == 1 { "" } else { "s" }
            ),
        }
    }

    fn print(&self, project: &Project, report: &Report) {
        for (index, (db, database)) in project.selected.iter().zip(&report.databases).enumerate() {
            if index > 0 {
                crate::out!();
            }
            crate::out!("=== {} ===", db.heading());
            if let Some(lock) = &database.lock {
                crate::out!("{}", lock_line(lock, &db.binding));
            }
            if database.migrations.is_empty() {
                crate::out!("(no migrations for this database)");
            }
            for (index, m) in database.migrations.iter().enumerate() {
                if m.not_in_checkout {
                    let below = index
                        .checked_sub(1)
                        .map_or(0, |i| database.migrations[i].version);
                    crate::out!(
                        "📦 Applied, not in this checkout - v{}: {} (from another branch? `cargo migrate down {below} --db {}` rolls it back with the SQL stored in the database)",
                        m.version, m.name, db.binding
                    );
                    continue;
                }
                let label = match m.state {
                    State::Applied => "✅ Applied",
                    State::Pending => "⏳ Pending",
                    State::Modified => "✏️ Modified",
                    State::Missing => "❓ Missing file",
                };
                match (self.verbose, m.applied_at) {
                    (true, Some(at)) => {
                        let when = std::time::UNIX_EPOCH
                            + std::time::Duration::from_millis(at.max(0) as u64);
                        let took = m
                            .duration_ms
                            .map_or("duration not recorded".to_owned(), |ms| {
                                format!("took {ms} ms")
                            });
                        crate::out!(
                            "{label} - v{}: {} (applied {}, {took})",
                            m.version,
                            m.name,
                            humantime::format_rfc3339_seconds(when)
                        );
                    }
                    _ if m.recorded_by.is_some() => crate::out!(
                        "{label} - v{}: {} (recorded by wrangler's {}; `up` records it here too, without running it)",
                        m.version, m.name, db.wrangler_table
                    ),
                    _ => crate::out!("{label} - v{}: {}", m.version, m.name),
                }
            }
        }
        if !report.problems.is_empty() {
            crate::out!();
            crate::out!("Problems:");
            for problem in &report.problems {
                crate::out!("  {problem}");
            }
        }
    }
}

/// How `status` shows a lock row: held until when, or expired (and taken
/// over by the next run).
fn lock_line(lock: &LockRow, binding: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let left = std::time::Duration::from_millis((lock.expires_at - now).max(0) as u64);
    match lock.expires_at > now {
        true => format!(
            "🔒 Locked by {} for {} more (if that run died: cargo migrate unlock --db {binding})",
            lock.owner,
            crate::text::human_duration(left)
        ),
        false => format!(
            "🔓 An expired lock of {} (the next run takes it over)",
            lock.owner
        ),
    }
}

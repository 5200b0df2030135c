//! `migrate status`: the engine's [`StatusReport`] in the seed's format, or
//! as JSON; fails (for CI) when it lists a problem.

use anyhow::{bail, Result};

use crate::flags;
use crate::migrate::{LockRow, MigrationState as State, Project, StatusReport as Report};

impl flags::Status {
    /// Shows every migration it can, even when the folders have problems
    /// (`folder_problems`), and lists every problem after; fails (for CI)
    /// when there is any, or anything is modified, missing or out of order.
    pub fn run(self, project: &Project, folder_problems: Vec<String>) -> Result<()> {
        let d1 = crate::cloudflare::d1_for(project)?;
        let report = crate::migrate::status_report(project, d1.as_ref(), folder_problems)?;
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
                crate::out!("{}", lock_line(lock, &db.binding, &project.hint_flags()));
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
                        "📦 Applied, not in this checkout - v{}: {} (from another branch? `cargo migrate down {below}{} --db {}` rolls it back with the SQL stored in the database)",
                        m.version,
                        m.name,
                        project.hint_flags(),
                        db.binding
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
/// `flags` reach the same database again in the `unlock` it suggests.
fn lock_line(lock: &LockRow, binding: &str, flags: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let left = std::time::Duration::from_millis((lock.expires_at - now).max(0) as u64);
    match lock.expires_at > now {
        true => format!(
            "🔒 Locked by {} for {} more (if that run died: cargo migrate unlock{flags} --db {binding})",
            lock.owner,
            crate::text::human_duration(left)
        ),
        false => format!(
            "🔓 An expired lock of {} (the next run takes it over)",
            lock.owner
        ),
    }
}

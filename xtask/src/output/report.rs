//! The command line's two listeners to a run ([`Event`]s): [`Human`], the
//! report on stdout, and [`Log`], the structured log lines on stderr (JSON
//! with `--log-format json`).

use std::time::Duration;

use crate::migrate::events::{BackupRef, Event, Holds, Observer, Ran, Rehearsed};
use crate::migrate::FolderCheck;
use crate::out;
use crate::text::human_duration;

/// The report people read on stdout.
pub struct Human;

impl Observer for Human {
    fn event(&self, event: &Event) {
        for line in Human::lines(event) {
            out!("{line}");
        }
    }
}

impl Human {
    /// The lines `cargo migrate` prints for `event` (often none).
    pub fn lines(event: &Event) -> Vec<String> {
        let mut lines = Vec::new();
        macro_rules! say {
            ($($arg:tt)*) => {
                lines.push(format!($($arg)*))
            };
        }
        match event {
            Event::Planned {
                binding,
                name,
                target,
                direction,
                steps,
                adopt,
                ledger_only,
                ledger_table,
                dry_run,
                ..
            } => {
                if !adopt.is_empty() {
                    let versions: Vec<String> =
                        adopt.iter().map(|(v, n)| format!("v{v} {n}")).collect();
                    say!(
                        "{binding} ({name}, {target}): wrangler's ledger {ledger_table} records {}: recording {} as applied here too (not run again)",
                        them(versions.len()),
                        versions.join(", "),
                    );
                }
                if *ledger_only {
                    say!(
                        "{binding} ({name}, {target}): nothing to {}; bringing wrangler's ledger {ledger_table} up to date",
                        direction.verb(),
                    );
                }
                if steps.is_empty() {
                    return lines;
                }
                say!(
                    "{binding} ({name}, {target}): {} to {}{}",
                    count(steps.len(), "migration"),
                    direction.verb(),
                    if *dry_run { " (dry run)" } else { "" },
                );
                for step in steps {
                    match step.stored {
                        true => say!(
                            "  v{} {} (its file is not in this checkout: the copy its database stored runs)",
                            step.version,
                            step.name
                        ),
                        false => say!("  v{} {}", step.version, step.name),
                    }
                    if *dry_run {
                        say!("  ---- {} ----", step.path.display());
                        for line in step.sql.lines() {
                            say!("  | {line}");
                        }
                    }
                }
            }
            Event::NothingToDo {
                binding,
                direction,
                at,
            } => match at {
                Some(at) => say!(
                    "{binding}: nothing to {} (at version {at})",
                    direction.verb()
                ),
                None => say!("{binding}: nothing to {}", direction.verb()),
            },
            Event::Succeeded {
                binding,
                direction,
                done,
                adopted,
                ledger_table,
                elapsed,
                backup,
                ..
            } => {
                let adopted: Vec<String> = adopted.iter().map(|v| format!("v{v}")).collect();
                if done.is_empty() {
                    let what = match adopted.is_empty() {
                        true => format!("wrangler's ledger {ledger_table} brought up to date"),
                        false => format!(
                            "recorded {} as applied, as wrangler's ledger has {}",
                            adopted.join(", "),
                            them(adopted.len())
                        ),
                    };
                    say!(
                        "✅ {binding}: {what}; nothing else to {} ({})",
                        direction.verb(),
                        human_duration(*elapsed)
                    );
                } else {
                    say!(
                        "✅ {binding}: {} {} in {}",
                        direction.past(),
                        count(done.len(), "migration"),
                        human_duration(*elapsed)
                    );
                    if !adopted.is_empty() {
                        say!(
                            "   first recorded {} as applied, as wrangler's ledger has {} (not run again)",
                            adopted.join(", "),
                            them(adopted.len())
                        );
                    }
                    for ran in done {
                        say!("   {}", ran_line(ran));
                    }
                }
                if let Some(backup) = backup {
                    say!("   backup: {}", backup_text(backup));
                }
            }
            Event::Failed {
                binding,
                direction,
                error,
                holds,
                done,
                not_done,
                backup,
                ..
            } => {
                say!("❌ {binding}: {error}");
                let kept = match holds {
                    Holds::Unknown => format!(
                        "what {binding} holds now is unknown: run `cargo migrate status` before anything else"
                    ),
                    Holds::Untouched => format!(
                        "nothing was {}: {binding} is exactly as it was before this run",
                        direction.past()
                    ),
                    Holds::Kept(_) => format!(
                        "{} before the failure and kept: {}",
                        direction.past(),
                        done.iter().map(ran_line).collect::<Vec<_>>().join(", ")
                    ),
                };
                say!("   {kept}");
                let rest: Vec<String> = not_done.iter().map(|v| format!("v{v}")).collect();
                say!("   not {}: {}", direction.past(), rest.join(", "));
                if let Some(backup) = backup {
                    say!("   backup: {}", backup_text(backup));
                }
            }
            Event::Problem { binding, error } => say!("❌ {binding}: {error}"),
            Event::PlanningAgain { binding, why } => {
                say!("{binding}: {why}: reading it and planning again")
            }
            Event::Rehearsal { binding, rehearsed } => match rehearsed {
                Rehearsed::Passed { on, report } => {
                    say!("✅ {binding}: rehearsal passed on {on}; nothing was written");
                    for line in report {
                        say!("   {line}");
                    }
                }
                Rehearsed::Failed { why, report } => {
                    say!("❌ {binding}: rehearsal failed: {why}");
                    for line in report {
                        say!("   {line}");
                    }
                }
                Rehearsed::NotRun { error } => say!("❌ {binding}: could not rehearse: {error}"),
            },
            Event::Finished { dry_run: true, .. } => say!("Dry run: nothing was written."),
            Event::Finished { .. }
            | Event::Waiting { .. }
            | Event::LockTaken { .. }
            | Event::BackupWritten { .. }
            | Event::BatchSent { .. }
            | Event::MigrationApplied { .. }
            | Event::SnapshotWritten { .. }
            | Event::LockReleased { .. } => {}
        }
        lines
    }
}

/// The log lines (stderr; JSON with `--log-format json`) a run's events make.
pub struct Log;

impl Observer for Log {
    fn event(&self, event: &Event) {
        match event {
            Event::Waiting { busy } => {
                tracing::info!("waiting for another run's lock: {}", busy.join("; "))
            }
            Event::LockTaken {
                binding,
                took_over: Some((owner, age)),
            } => tracing::warn!(
                database = %binding,
                "took over an expired migration lock held by {owner} since {} s ago",
                age.as_secs()
            ),
            Event::BackupWritten { binding, backup } => tracing::info!(
                database = %binding,
                backup = %backup.path.display(),
                bookmark = backup.bookmark.as_deref(),
                exported_ms = backup.exported_ms,
                "backed up"
            ),
            Event::BatchSent {
                binding,
                direction,
                versions,
            } => match versions.is_empty() {
                true => tracing::info!(database = %binding, "recording in one call"),
                false => {
                    let versions: Vec<String> = versions.iter().map(|v| format!("v{v}")).collect();
                    tracing::info!(database = %binding, "{} {} in one call", direction.verb(), versions.join(", "))
                }
            },
            Event::MigrationApplied {
                binding,
                direction,
                migration,
            } => tracing::info!(
                database = %binding,
                version = migration.version,
                name = %migration.name,
                duration_ms = migration.duration_ms,
                "{} migration",
                direction.past()
            ),
            Event::Failed {
                binding,
                at: Some(at),
                ..
            } => tracing::info!(
                database = %binding,
                version = at.version,
                file = %at.path.display(),
                line = at.line,
                "the batch broke at {}:{}",
                at.path.display(),
                at.line
            ),
            Event::SnapshotWritten { binding, path } => {
                tracing::info!(database = %binding, snapshot = %path.display(), "wrote the schema snapshot")
            }
            Event::LockReleased { binding } => {
                tracing::debug!(database = %binding, "gave the migration lock back")
            }
            _ => {}
        }
    }
}

/// `v3 add_users (12 ms)`.
fn ran_line(ran: &Ran) -> String {
    match ran.duration_ms {
        Some(ms) => format!("v{} {} ({ms} ms)", ran.version, ran.name),
        None => format!("v{} {}", ran.version, ran.name),
    }
}

/// `backups/AUTH-…-v4.sql, exported in 1.20 s (Time Travel bookmark …)`.
pub fn backup_text(backup: &BackupRef) -> String {
    let mut text = backup.path.display().to_string();
    if let Some(ms) = backup.exported_ms {
        text.push_str(&format!(
            ", exported in {}",
            human_duration(Duration::from_millis(ms))
        ));
    }
    if let Some(bookmark) = &backup.bookmark {
        text.push_str(&format!(" (Time Travel bookmark {bookmark})"));
    }
    text
}

/// `1 migration`, `3 migrations`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn them(n: usize) -> &'static str {
    if n == 1 {
        "it"
    } else {
        "them"
    }
}

/// Prints each finding of the offline check and its summary; fails (with
/// the summary) when there is an error. `migrate check` and the release's
/// check step.
pub fn folder_check(checked: &FolderCheck) -> anyhow::Result<()> {
    for finding in &checked.findings {
        out!("{}", finding.line());
    }
    if checked.errors > 0 {
        anyhow::bail!("{}", checked.summary);
    }
    out!("{}", checked.summary);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::Direction;

    #[test]
    fn a_failure_says_what_the_database_holds_and_where_its_backup_is() {
        let event = Event::Failed {
            binding: "AUTH".into(),
            direction: Direction::Up,
            now: Some(4),
            error: "no such table: missing".into(),
            at: None,
            holds: Holds::Kept(vec![4]),
            done: vec![Ran {
                version: 4,
                name: "0004_rooms_table".into(),
                duration_ms: Some(3),
            }],
            not_done: vec![5],
            backup: Some(BackupRef {
                path: "backups/AUTH-v2.sql".into(),
                bookmark: Some("0000-bm".into()),
                exported_ms: Some(1200),
            }),
        };
        assert_eq!(
            Human::lines(&event),
            [
                "❌ AUTH: no such table: missing",
                "   applied before the failure and kept: v4 0004_rooms_table (3 ms)",
                "   not applied: v5",
                "   backup: backups/AUTH-v2.sql, exported in 1.20 s (Time Travel bookmark 0000-bm)",
            ]
        );
        // A bookmark alone took no export.
        let bookmark = BackupRef {
            path: "backups/AUTH-v2.bookmark".into(),
            bookmark: Some("0000-bm".into()),
            exported_ms: None,
        };
        assert_eq!(
            backup_text(&bookmark),
            "backups/AUTH-v2.bookmark (Time Travel bookmark 0000-bm)"
        );
        // Events the report leaves to the log print nothing.
        let quiet = Event::LockReleased {
            binding: "AUTH".into(),
        };
        assert!(Human::lines(&quiet).is_empty());
        // And each is also a typed JSON document, for the web UI.
        let typed = serde_json::to_value(&event).unwrap();
        assert_eq!(typed["kind"], "failed");
        assert_eq!(typed["holds"], serde_json::json!({"kept": [4]}));
        assert_eq!(typed["backup"]["bookmark"], "0000-bm");
        assert_eq!(typed["backup"]["exported_ms"], 1200);
    }
}

//! What a notification says, as one value: the JSON webhook's body (a stable
//! schema, documented in docs/notifications.md) and what the email and Slack texts are
//! written from. [`Collector`] fills it from a run's events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;

use crate::migrate::events::{BackupRef, Event, FailedAt, Holds, Observer, Ran};
use crate::migrate::Direction;

/// The schema of [`Notice`]: its name and version, in every payload.
pub const SCHEMA: &str = "cargo-migrate.notification.v1";

/// Everything a notification says.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Notice {
    pub schema: &'static str,
    /// Unique per notification: `migrate_<time>_<pid>` (a webhook's `webhook-id`).
    pub id: String,
    /// `migrate.up`, `migrate.down`, `migrate.restore`, `release`, `test`.
    pub event: String,
    /// `failed` or `succeeded`.
    pub outcome: Outcome,
    /// The command line that ran, as it was typed (without secrets).
    pub command: String,
    /// `local` or `remote`.
    pub target: String,
    /// wrangler's `--env`, when one was named.
    pub environment: Option<String>,
    /// What went wrong, for the run as a whole.
    pub error: Option<String>,
    pub host: String,
    pub user: Option<String>,
    /// The CI run's id (`GITHUB_RUN_ID`), or this process's.
    pub run_id: String,
    /// The CI run's page, in GitHub Actions.
    pub run_url: Option<String>,
    /// When it was sent (UTC, RFC 3339).
    pub at: String,
    pub databases: Vec<DatabaseNotice>,
    /// A release's steps, in order, with what happened to each.
    pub steps: Vec<StepNotice>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Failed,
    Succeeded,
}

/// One database's part.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct DatabaseNotice {
    pub binding: String,
    pub name: String,
    /// `up` or `down`.
    pub direction: Option<&'static str>,
    /// `succeeded`, `failed`, `untouched` (nothing to do, or stopped before it ran).
    pub outcome: &'static str,
    pub version_before: Option<u64>,
    /// `None` when what it holds is not known.
    pub version_now: Option<u64>,
    /// What ran (applied, or rolled back going down), with durations.
    pub migrations: Vec<MigrationNotice>,
    /// Where it broke, when a replay found the statement.
    pub failure: Option<FailureNotice>,
    pub error: Option<String>,
    /// `untouched`, `kept` (the migrations before the failure) or `unknown`.
    pub holds: Option<&'static str>,
    pub backup: Option<BackupNotice>,
    /// What to run next, most useful first.
    pub next: Vec<NextStep>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MigrationNotice {
    pub version: u64,
    pub name: String,
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FailureNotice {
    pub version: u64,
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
    pub statement: String,
    /// What D1 said.
    pub error: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupNotice {
    pub file: PathBuf,
    pub bookmark: Option<String>,
    /// How long its export took (D1 blocked the database meanwhile); none
    /// for a bookmark alone or a local copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_ms: Option<u64>,
}

impl From<&BackupRef> for BackupNotice {
    fn from(backup: &BackupRef) -> BackupNotice {
        BackupNotice {
            file: backup.path.clone(),
            bookmark: backup.bookmark.clone(),
            exported_ms: backup.exported_ms,
        }
    }
}

/// A command to run next, and what it does.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NextStep {
    pub what: String,
    pub command: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StepNotice {
    pub name: String,
    /// `done`, `failed`, `skipped` or `not run`.
    pub status: String,
    pub duration_ms: u64,
}

/// The run a notice is about, beside its events.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub event: String,
    pub command: String,
    pub target: String,
    pub environment: Option<String>,
    /// The flags that reach the same databases again, for the commands in
    /// `next` (`--remote`, `--env staging`, `--config PATH`, …).
    pub target_flags: String,
    /// The command that does it again, without its flags: `cargo migrate up`,
    /// `cargo migrate down 3`.
    pub again: String,
}

impl Context {
    /// The run of this process: its command line as typed (`cargo migrate
    /// up 5 --remote`); `again` runs it again (`cargo migrate up 5`), and
    /// `target_flags` reach the same databases again.
    pub fn from_args(
        event: &str,
        again: &str,
        target: &str,
        environment: Option<&str>,
        target_flags: String,
    ) -> Context {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let shown = match args.first().map(String::as_str) {
            Some("migrate") => format!("cargo {}", args.join(" ")),
            _ => format!("cargo xtask {}", args.join(" ")),
        };
        Context {
            event: event.to_owned(),
            command: crate::process::redact(&shown),
            target: target.to_owned(),
            environment: environment.map(str::to_owned),
            target_flags,
            again: again.to_owned(),
        }
    }
}

/// Keeps what a run's events say about each database, for its notice.
#[derive(Default)]
pub struct Collector {
    databases: Mutex<BTreeMap<String, DatabaseNotice>>,
    order: Mutex<Vec<String>>,
}

impl Observer for Collector {
    fn event(&self, event: &Event) {
        let (Ok(mut databases), Ok(mut order)) = (self.databases.lock(), self.order.lock()) else {
            return;
        };
        let binding = match event {
            Event::Planned { binding, .. }
            | Event::NothingToDo { binding, .. }
            | Event::BackupWritten { binding, .. }
            | Event::Succeeded { binding, .. }
            | Event::Failed { binding, .. }
            | Event::Problem { binding, .. } => binding,
            _ => return,
        };
        if !order.iter().any(|b| b == binding) {
            order.push(binding.clone());
        }
        let db = databases
            .entry(binding.clone())
            .or_insert_with(|| DatabaseNotice {
                binding: binding.clone(),
                outcome: "untouched",
                ..DatabaseNotice::default()
            });
        match event {
            Event::Planned {
                name,
                direction,
                at,
                ..
            } => {
                db.name = name.clone();
                db.direction = Some(direction_name(*direction));
                db.version_before = Some(*at);
            }
            Event::NothingToDo { direction, at, .. } => {
                db.direction = Some(direction_name(*direction));
                db.version_before = db.version_before.or(*at);
                db.version_now = *at;
            }
            Event::BackupWritten { backup, .. } => {
                db.backup = Some(BackupNotice::from(backup));
            }
            Event::Succeeded {
                direction,
                now,
                done,
                ..
            } => {
                db.direction = Some(direction_name(*direction));
                db.outcome = "succeeded";
                db.version_now = Some(*now);
                db.migrations = done.iter().map(migration).collect();
            }
            Event::Failed {
                direction,
                now,
                error,
                at,
                holds,
                done,
                ..
            } => {
                db.direction = Some(direction_name(*direction));
                db.outcome = "failed";
                db.version_now = *now;
                db.error = Some(error.clone());
                db.failure = at.as_ref().map(failure);
                db.holds = Some(match holds {
                    Holds::Untouched => "untouched",
                    Holds::Kept(_) => "kept",
                    Holds::Unknown => "unknown",
                });
                db.migrations = done.iter().map(migration).collect();
            }
            Event::Problem { error, .. } => {
                db.outcome = "failed";
                db.error = Some(error.clone());
            }
            _ => {}
        }
    }
}

impl Collector {
    /// The databases' parts, in the order the run first named them, each
    /// with its next steps.
    pub fn databases(&self, context: &Context) -> Vec<DatabaseNotice> {
        let databases = self.databases.lock().map(|d| d.clone()).unwrap_or_default();
        let order = self.order.lock().map(|o| o.clone()).unwrap_or_default();
        order
            .iter()
            .filter_map(|binding| databases.get(binding).cloned())
            .map(|mut db| {
                db.next = next_steps(&db, context);
                db
            })
            .collect()
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

fn migration(ran: &Ran) -> MigrationNotice {
    MigrationNotice {
        version: ran.version,
        name: ran.name.clone(),
        duration_ms: ran.duration_ms,
    }
}

fn failure(at: &FailedAt) -> FailureNotice {
    FailureNotice {
        version: at.version,
        name: at.name.clone(),
        file: at.path.clone(),
        line: at.line,
        statement: at.statement.clone(),
        error: at.error.clone(),
    }
}

/// The command that takes `db` back to the version it had before an `up`
/// (`None` for anything else).
pub fn undo_up(db: &DatabaseNotice, context: &Context) -> Option<String> {
    match (db.version_before, db.direction) {
        (Some(before), Some("up")) => Some(format!(
            "cargo migrate down {before}{} --db {}",
            context.target_flags, db.binding
        )),
        _ => None,
    }
}

/// What to run next for `db`: see what it holds, put it back, try again.
pub fn next_steps(db: &DatabaseNotice, context: &Context) -> Vec<NextStep> {
    let flags = format!("{} --db {}", context.target_flags, db.binding);
    let mut next = Vec::new();
    let restore = db.backup.as_ref().map(|backup| NextStep {
        what: format!(
            "put {} back as it was before the run (from its backup)",
            db.binding
        ),
        command: match &backup.bookmark {
            Some(bookmark) if context.target == "remote" => {
                format!("cargo migrate restore --bookmark {bookmark}{flags} --yes")
            }
            _ => format!(
                "cargo migrate restore {}{flags} --yes",
                backup.file.display()
            ),
        },
    });
    let roll_back = || {
        undo_up(db, context).map(|command| NextStep {
            what: format!(
                "roll {} back to version {}",
                db.binding,
                db.version_before.unwrap_or(0)
            ),
            command,
        })
    };
    match (db.outcome, db.holds) {
        ("failed", Some("untouched")) => {
            next.push(NextStep {
                what: format!(
                    "fix the migration, then run it again ({} is as it was)",
                    db.binding
                ),
                command: format!("{}{flags}", context.again),
            });
        }
        ("failed", _) => {
            next.push(NextStep {
                what: format!("see what {} holds now", db.binding),
                command: format!("cargo migrate status{flags}"),
            });
            next.extend(restore);
            next.extend(roll_back());
            next.push(NextStep {
                what: "run it again once the cause is fixed".into(),
                command: format!("{}{flags}", context.again),
            });
        }
        ("succeeded", _) => {
            next.extend(roll_back());
            next.extend(restore);
        }
        _ => {}
    }
    next
}

impl Notice {
    /// The notice of a run: `context`, how it ended, and its parts. Every
    /// text in it is scrubbed of the channels' secrets and the API token.
    pub fn new(
        context: &Context,
        outcome: Outcome,
        error: Option<String>,
        mut databases: Vec<DatabaseNotice>,
        steps: Vec<StepNotice>,
    ) -> Notice {
        let scrub = super::scrub;
        for db in &mut databases {
            db.error = db.error.as_deref().map(scrub);
            if let Some(failure) = &mut db.failure {
                failure.error = scrub(&failure.error);
                failure.statement = scrub(&failure.statement);
            }
        }
        let now = std::time::SystemTime::now();
        let millis = now
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let run_url = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repository), Some(run)) => {
                Some(format!("{server}/{repository}/actions/runs/{run}"))
            }
            _ => None,
        };
        Notice {
            schema: SCHEMA,
            id: format!("msg_{millis}_{}", std::process::id()),
            event: context.event.clone(),
            outcome,
            command: scrub(&context.command),
            target: context.target.clone(),
            environment: context.environment.clone(),
            error: error.as_deref().map(scrub),
            host: crate::text::hostname(),
            user: crate::text::username(),
            run_id: var("GITHUB_RUN_ID")
                .unwrap_or_else(|| format!("{millis}-{}", std::process::id())),
            run_url,
            at: humantime::format_rfc3339_seconds(now).to_string(),
            databases,
            steps,
        }
    }
}

#[cfg(test)]
pub(super) mod tests;

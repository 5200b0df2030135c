//! What a run reports as it goes: typed events, for whoever listens. The
//! command line's human output and its logs are two [`Observer`]s; a web page
//! or a notification is another. The engine itself prints nothing.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::migrate::d1::Target;
use crate::migrate::plan::Direction;

/// One migration as a plan or a report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub version: u64,
    pub name: String,
    /// The file that runs: the migration, or its rollback going down.
    pub path: PathBuf,
    /// That file's SQL.
    pub sql: String,
    /// Its file is not in this checkout: the SQL is the copy its database
    /// stored when the migration was applied.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stored: bool,
}

/// Where a failed batch broke, when a replay found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedAt {
    pub version: u64,
    pub name: String,
    pub path: PathBuf,
    pub line: usize,
    pub statement: String,
    /// What D1 said.
    pub error: String,
}

/// What a database holds after its run failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holds {
    /// Exactly what it held before the run.
    Untouched,
    /// The migrations before the failure (the versions), kept.
    Kept(Vec<u64>),
    /// Not known: the call failed in a way that does not say.
    Unknown,
}

/// A backup, as a report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupRef {
    pub path: PathBuf,
    pub bookmark: Option<String>,
    /// How long its export took (D1 blocked the database meanwhile); none
    /// for a bookmark alone or a local copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_ms: Option<u64>,
}

/// A migration that ran, with how long it took (as the database recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ran {
    pub version: u64,
    pub name: String,
    pub duration_ms: Option<i64>,
}

/// How one database's rehearsal went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Rehearsed {
    /// It ran on `on` (what the copy held); `report` counts rows before and after.
    Passed { on: String, report: Vec<String> },
    /// It would fail, or lose rows: `why`.
    Failed { why: String, report: Vec<String> },
    /// It could not be rehearsed.
    NotRun { error: String },
}

/// Something that happened in a run (as JSON: its fields and a snake_case `kind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// What will run in a database: `steps` (none when it only records), the
    /// versions wrangler's ledger has and that are recorded without running
    /// (`adopt`), and whether only wrangler's ledger is brought up to date.
    Planned {
        binding: String,
        name: String,
        target: Target,
        direction: Direction,
        /// The newest version applied before the run.
        at: u64,
        steps: Vec<Step>,
        adopt: Vec<(u64, String)>,
        ledger_only: bool,
        ledger_table: String,
        dry_run: bool,
    },
    /// A database has nothing to do (at version `at`, when known).
    NothingToDo {
        binding: String,
        direction: Direction,
        at: Option<u64>,
    },
    /// Other runs hold locks this run waits for.
    Waiting { busy: Vec<String> },
    /// The run holds a database's migration lock; `took_over` names the owner
    /// of an expired lock it replaced, and how old that lock was.
    LockTaken {
        binding: String,
        #[serde(serialize_with = "took_over_ms")]
        took_over: Option<(String, Duration)>,
    },
    /// A database was backed up before it changes.
    BackupWritten { binding: String, backup: BackupRef },
    /// A batch went to D1: these versions (none: bookkeeping alone).
    BatchSent {
        binding: String,
        direction: Direction,
        versions: Vec<u64>,
    },
    /// A migration ran (or was rolled back) and is recorded.
    MigrationApplied {
        binding: String,
        direction: Direction,
        migration: Ran,
    },
    /// A database's run succeeded: `done` ran, `adopted` were recorded as
    /// wrangler's ledger has them, in `elapsed`.
    Succeeded {
        binding: String,
        direction: Direction,
        /// The newest version applied now.
        now: u64,
        done: Vec<Ran>,
        adopted: Vec<u64>,
        ledger_table: String,
        #[serde(serialize_with = "millis")]
        elapsed: Duration,
        backup: Option<BackupRef>,
    },
    /// A database's run failed: why, where (when a replay found the
    /// statement), what it holds now and what did not run.
    Failed {
        binding: String,
        direction: Direction,
        /// The newest version applied now, when known.
        now: Option<u64>,
        error: String,
        at: Option<FailedAt>,
        holds: Holds,
        done: Vec<Ran>,
        not_done: Vec<u64>,
        backup: Option<BackupRef>,
    },
    /// A database ran, but the result did not check out (schema, foreign
    /// keys), or could not be planned or read: `error`.
    Problem { binding: String, error: String },
    /// A schema snapshot was written.
    SnapshotWritten { binding: String, path: PathBuf },
    /// A database changed since this machine last saw it (or its batch was
    /// refused for that): it is read and planned again.
    PlanningAgain { binding: String, why: String },
    /// A dry run's rehearsal of a database.
    Rehearsal {
        binding: String,
        rehearsed: Rehearsed,
    },
    /// The run gave a database's lock back.
    LockReleased { binding: String },
    /// The run is over: how many databases had work, and which failed.
    Finished {
        direction: Direction,
        dry_run: bool,
        total: usize,
        failed: Vec<String>,
    },
}

/// Whoever listens to a run.
pub trait Observer: Send + Sync {
    fn event(&self, event: &Event);
}

/// Every event to each of several observers, in order.
pub struct Fanout<'a>(pub Vec<&'a dyn Observer>);

impl Observer for Fanout<'_> {
    fn event(&self, event: &Event) {
        for observer in &self.0 {
            observer.event(event);
        }
    }
}

/// Keeps every event, for tests and for reports written at the end.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<Event>>);

impl Recorder {
    /// The events so far, in the order they came.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Observer for Recorder {
    fn event(&self, event: &Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event.clone());
        }
    }
}

/// Listens to nothing.
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: &Event) {}
}

/// A duration as whole milliseconds.
fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u128(duration.as_millis())
}

/// The owner of a lock taken over, and its age in milliseconds.
fn took_over_ms<S: Serializer>(
    took_over: &Option<(String, Duration)>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    took_over
        .as_ref()
        .map(|(owner, age)| (owner, age.as_millis()))
        .serialize(serializer)
}

//! A run of `up` or `down`: read every database's state (taking its lock in
//! the same call), plan, lint, back up, then either rehearse the plan (a dry
//! run) or run it, one all-or-nothing call per database (or per migration),
//! databases in parallel, and check the resulting schema against what the
//! migrations produce. It reports through [`crate::migrate::events`].
//!
//! When local reads need no call (they read miniflare's files, see
//! [`crate::migrate::local_reads`]), or this machine knows every database's
//! state ([`last_seen`]), the locking read is skipped: the plan is made from the
//! files (or what this machine knows), and each database's one call opens
//! with a guard that refuses the whole call unless the database is still
//! so. A refused database is then read, planned and run as above. A local
//! run with nothing to do so calls nothing at all.
//!
//! The parts: [`plans`] (what runs where), [`acquire`] (locks), [`batch`]
//! (one database's calls and what a failure means), [`dry_run`] and
//! [`row_loss_count`] (dry runs and the row check), [`check`] (the schema after).

mod acquire;
mod batch;
mod check;
mod dry_run;
mod plans;
mod row_loss_count;
mod session;
mod tally;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::interrupt;
use crate::migrate::backup::{Backups, Policy};
use crate::migrate::d1::D1;
use crate::migrate::events::{Event, Observer};
pub use crate::migrate::plan::Direction;
use crate::migrate::project::Project;
pub use session::Session;

/// Whether a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run the plan.
    Apply,
    /// Rehearse it on a throwaway copy of each database, writing nothing.
    DryRun(Seeding),
}

/// What a dry run rehearses on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeding {
    /// A copy of the data that blocks nothing: locally SQLite's online copy;
    /// remotely the export this run just took, else the newest export of the
    /// database in the backup folder, else its schema alone.
    Data,
    /// Remotely, a fresh export (D1 blocks the database's other requests
    /// while it runs); locally the same as [`Seeding::Data`].
    FreshExport,
    /// The schema alone, for databases too large to copy.
    SchemaOnly,
}

/// How many calls a database's migrations take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    /// All of them in one all-or-nothing call.
    PerDatabase,
    /// One call each: a failure keeps those before it.
    PerMigration,
}

/// Whether a batch may remove rows it does not delete by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataLoss {
    Refuse,
    Allow,
}

/// What is backed up before a database changes.
#[derive(Debug, Clone)]
pub enum Backing {
    /// A backup into the run's folder before any change; remotely the
    /// restore point the policy gives each database.
    Up(Policy),
    /// None (logged as a warning).
    Skip,
}

/// How a run treats other runs' locks.
#[derive(Debug, Clone, Copy)]
pub struct Locking {
    /// How long to wait for another run's lock (zero: fail at once).
    pub wait: Duration,
    /// How long this run's lock lasts before another run may take it over.
    pub ttl: Duration,
}

/// Everything a run is told besides what to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub batching: Batching,
    /// The backup folder: where backups go, and where a remote rehearsal
    /// looks for an export of the data.
    pub backups: Backups,
    pub backing: Backing,
    pub data_loss: DataLoss,
    pub locking: Locking,
}

/// How many backups a database keeps unless told otherwise.
pub const DEFAULT_KEEP_BACKUPS: usize = 10;

/// How long a run's lock lasts unless told otherwise, in seconds.
pub const DEFAULT_LOCK_TTL_SECS: u64 = 900;

impl Options {
    /// A run's options when nothing says otherwise (the command line's
    /// defaults): one call per database, backups into the project's folder,
    /// remotely the restore point `migrate.toml` asks for, no row loss, no
    /// waiting for another run's lock.
    pub fn defaults(project: &Project, mode: Mode) -> Options {
        Options {
            mode,
            batching: Batching::PerDatabase,
            backups: Backups::new(&project.config, None, DEFAULT_KEEP_BACKUPS),
            backing: Backing::Up(Policy::for_project(project, None)),
            data_loss: DataLoss::Refuse,
            locking: Locking {
                wait: Duration::ZERO,
                ttl: Duration::from_secs(DEFAULT_LOCK_TTL_SECS),
            },
        }
    }
}

impl Mode {
    /// True for a dry run, which writes nothing.
    pub fn is_dry_run(self) -> bool {
        matches!(self, Mode::DryRun(_))
    }
}

/// A run's context: the project and its D1, what to run and how, and who
/// hears of it.
#[derive(Clone)]
pub struct RunContext<'p> {
    pub project: &'p Project,
    pub d1: Arc<dyn D1>,
    pub direction: Direction,
    /// `up` to this version (all, without one), or `down` to it.
    pub version: Option<u64>,
    pub options: &'p Options,
    pub observer: &'p dyn Observer,
}

/// `up` to `version` (all, without one) or `down` to `version`: the whole
/// run, from reading the databases to checking them afterwards.
pub fn run(context: &RunContext) -> Result<()> {
    let RunContext {
        direction,
        options,
        observer,
        ..
    } = *context;
    if options.mode == Mode::Apply && options.batching == Batching::PerDatabase {
        let hinted = Session::open_hinted(context)?;
        if let Some(session) = hinted {
            if !session.has_work() {
                session.report_nothing_to_do();
                return Ok(());
            }
            return session.apply_hinted();
        }
    }
    let mut session = Session::open(context)?;
    if !session.has_work() {
        session.report_nothing_to_do();
        return Ok(());
    }
    session.report_plan();
    if let Mode::DryRun(_) = options.mode {
        session.rehearse()?;
        observer.event(&Event::Finished {
            direction,
            dry_run: true,
            total: session.work().len(),
            failed: Vec::new(),
        });
        return Ok(());
    }
    interrupt::check().map_err(|err| session.untouched(err))?;
    session.back_up()?;
    interrupt::check().map_err(|err| session.untouched(err))?;
    session.apply()
}

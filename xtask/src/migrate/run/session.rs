//! A run's phases: [`Session::open`] (read, lock, plan), then back up,
//! rehearse or apply; and a run planned on what this machine last saw,
//! tried again the careful way where its guard refuses it.

use std::sync::Arc;

use anyhow::Result;

use super::acquire::{acquire, Held};
use super::plans::{self, make_plans, DbPlan};
use super::tally::Tally;
use super::{batch, check, dry_run};
use super::{Backing, Batching, Direction, Mode, Options, RunContext, Seeding};
use crate::migrate::backup::Backup;
use crate::migrate::calls;
use crate::migrate::config::Database;
use crate::migrate::d1::D1;
use crate::migrate::error::{Error, Failure};
use crate::migrate::events::{BackupRef, Event, Observer};
use crate::migrate::last_seen;
use crate::migrate::lock;
use crate::migrate::project::Project;

/// A run of `up` or `down` in phases that a caller can time and stop between:
/// [`Session::open`] reads every database's state (taking locks unless it is a
/// dry run) and plans; then [`Session::back_up`], [`Session::rehearse`] and
/// [`Session::apply`]. Locks still held when it is dropped are released.
pub struct Session<'p> {
    project: &'p Project,
    d1: Arc<dyn D1>,
    direction: Direction,
    /// The version asked for: `up`'s target, or `down`'s.
    version: Option<u64>,
    /// Planned on what this machine last saw of each database ([`last_seen`]),
    /// not on a read: a database planned idle is read to confirm it.
    on_hints: bool,
    options: Options,
    request: lock::Request,
    plans: Vec<DbPlan<'p>>,
    held: Held<'p>,
    /// One per plan, once [`Session::back_up`] ran.
    backups: Vec<Option<Backup>>,
    observer: &'p dyn Observer,
}

impl<'p> Session<'p> {
    /// Reads (and, unless it is a dry run, locks) every selected database
    /// and plans the run.
    pub fn open(context: &RunContext<'p>) -> Result<Session<'p>> {
        let databases: Vec<&Database> = context.project.selected.iter().collect();
        let opening = Opening::new(context);
        opening.open(&databases, true)
    }

    /// A session planned without a call first: on the databases' files when
    /// local reads need no call ([`D1::reads_files`]), else on what this
    /// machine last saw of each database ([`last_seen`]); its batches assert those
    /// states. Planned on the files, it may have no work (nothing to do, and
    /// nothing was called), and a plan refused on them is the run's error.
    /// `None` when a database has no usable hint or cannot be read, or the
    /// plan made from hints has a problem or no work: then the state has to
    /// be read, and locked.
    pub(super) fn open_hinted(context: &RunContext<'p>) -> Result<Option<Session<'p>>> {
        let RunContext {
            project,
            ref d1,
            direction,
            version,
            ..
        } = *context;
        let fresh = d1.reads_files();
        let states = match fresh {
            true => match calls::read_states(d1.as_ref(), &project.selected) {
                Ok(states) => states,
                Err(err) => {
                    tracing::debug!("the careful way, as reading failed: {err:#}");
                    return Ok(None);
                }
            },
            false => {
                let mut states = Vec::new();
                for db in &project.selected {
                    let Some(state) = last_seen::load(d1.as_ref(), db) else {
                        return Ok(None);
                    };
                    states.push(state);
                }
                states
            }
        };
        let databases: Vec<&Database> = project.selected.iter().collect();
        let mut plans = match make_plans(project, &databases, direction, version, states, true) {
            Ok(plans) => plans,
            // Planned on the files as they are now, a refusal (a statement
            // D1 refuses, a missing rollback, a changed file) is the run's:
            // locking and reading the same state again would only refuse
            // the same, a node process later.
            Err(err) if fresh => return Err(err),
            Err(_) => return Ok(None),
        };
        let opening = Opening::new(context);
        if !plans.iter().any(DbPlan::has_work) {
            if !fresh {
                return Ok(None);
            }
            let held = opening.held();
            return Ok(Some(opening.session(plans, held)));
        }
        // Databases with nothing to do are read instead, to confirm that.
        for plan in plans.iter_mut().filter(|p| p.has_work()) {
            let Some(guard) = last_seen::condition(&plan.state, plan.db) else {
                return Ok(None);
            };
            plan.guard = Some(guard);
        }
        match fresh {
            true => tracing::info!(
                "planned on the databases' files as they are now; each batch checks they still hold"
            ),
            false => tracing::info!(
                "planned on the state this machine last saw; each batch checks it still holds"
            ),
        }
        let held = opening.held();
        let mut session = opening.session(plans, held);
        session.on_hints = !fresh;
        Ok(Some(session))
    }

    /// Runs a [`Session::open_hinted`] session; a database whose batch was
    /// refused is read (and locked) and planned again, then run as usual.
    pub(super) fn apply_hinted(mut self) -> Result<()> {
        self.report_plan();
        self.back_up()?;
        self.apply()
    }

    /// Runs the plan. A database whose batch was refused by its guard, or
    /// failed for a passing reason before it ran, is read (and locked) and
    /// planned again, then run once more.
    pub fn apply(self) -> Result<()> {
        let opening = Opening {
            project: self.project,
            d1: self.d1.clone(),
            direction: self.direction,
            version: self.version,
            options: &self.options.clone(),
            observer: self.observer,
            // The databases planned again are locked by the same run.
            request: self.request.clone(),
        };
        let first: Vec<(String, Vec<u64>)> = self
            .work()
            .iter()
            .map(|p| (p.db.binding.clone(), p.versions()))
            .collect();
        let mut tally = self.run();
        if tally.retry.is_empty() {
            return tally.finish(opening.direction, opening.observer);
        }
        let retry = std::mem::take(&mut tally.retry);
        let databases: Vec<&Database> = opening
            .project
            .selected
            .iter()
            .filter(|db| retry.contains(&db.binding))
            .collect();
        let (direction, observer) = (opening.direction, opening.observer);
        let mut again = match opening.open(&databases, false) {
            Ok(again) => again,
            Err(err) => {
                for binding in &retry {
                    tally.problem(observer, binding, &err);
                }
                return tally.finish(direction, observer);
            }
        };
        for plan in again.work() {
            let before = first.iter().find(|(b, _)| *b == plan.db.binding);
            if before.is_none_or(|(_, v)| *v != plan.versions()) {
                again.report(plan);
            }
        }
        if !again.has_work() {
            again.report_nothing_to_do();
            return tally.finish(direction, observer);
        }
        if let Err(err) = again.back_up() {
            for plan in again.work() {
                tally.problem(observer, &plan.db.binding, &err);
            }
            return tally.finish(direction, observer);
        }
        let mut last = again.run();
        // Asked to try a second time again: that is a failure now.
        for binding in std::mem::take(&mut last.retry) {
            last.problem(
                observer,
                &binding,
                &anyhow::anyhow!("it failed again when planned a second time (see above)"),
            );
        }
        tally.merge(last);
        tally.finish(direction, observer)
    }

    /// True when some database has something to do.
    pub fn has_work(&self) -> bool {
        self.plans.iter().any(DbPlan::has_work)
    }

    /// `err` (the run was stopped before anything was applied), saying what
    /// every database holds: what it held before. The locks are given back
    /// when the session is dropped.
    pub fn untouched(&self, err: anyhow::Error) -> anyhow::Error {
        let bindings: Vec<&str> = self.work().iter().map(|p| p.db.binding.as_str()).collect();
        err.context(format!(
            "nothing was {}: {} {} exactly as before this run",
            self.direction.past(),
            bindings.join(", "),
            if bindings.len() == 1 { "is" } else { "are" }
        ))
    }

    /// Each database's newest applied version when the session opened.
    pub fn versions_before(&self) -> Vec<(String, u64)> {
        self.plans
            .iter()
            .map(|p| (p.db.binding.clone(), p.newest_applied()))
            .collect()
    }

    pub(super) fn work(&self) -> Vec<&DbPlan<'p>> {
        self.plans.iter().filter(|p| p.has_work()).collect()
    }

    /// Reports each database as having nothing to do.
    pub fn report_nothing_to_do(&self) {
        for plan in &self.plans {
            self.observer.event(&Event::NothingToDo {
                binding: plan.db.binding.clone(),
                direction: self.direction,
                at: Some(plan.newest_applied()),
            });
        }
    }

    /// Reports what will run in each database with work.
    pub fn report_plan(&self) {
        for plan in self.work() {
            self.report(plan);
        }
    }

    fn report(&self, plan: &DbPlan) {
        let dry_run = matches!(self.options.mode, Mode::DryRun(_));
        self.observer
            .event(&plan.planned(self.project.target, self.direction, dry_run));
    }

    /// Backs up every database about to change, in parallel, just before
    /// it changes (remotely a Time Travel bookmark, or an export where the
    /// policy asks for one); any failure stops before anything is applied.
    pub fn back_up(&mut self) -> Result<()> {
        let Backing::Up(policy) = &self.options.backing else {
            tracing::warn!("--no-backup: the databases are changed without a backup first");
            return Ok(());
        };
        let (d1, backups) = (self.d1.as_ref(), &self.options.backups);
        let results = calls::in_parallel(&self.plans, |plan| -> Result<Option<Backup>> {
            if !plan.has_work() || plan.records_only() {
                return Ok(None);
            }
            let version = plan.newest_applied();
            let virtual_tables = plan.state.schema.has_virtual_tables();
            let point = policy.for_database(&plan.db.binding);
            let backup = backups.take(d1, plan.db, Some(version), Some(virtual_tables), point)?;
            self.observer.event(&Event::BackupWritten {
                binding: plan.db.binding.clone(),
                backup: BackupRef::from(&backup),
            });
            Ok(Some(backup))
        });
        let mut errors = Vec::new();
        let mut failures = Vec::new();
        for ((slot, result), plan) in self.backups.iter_mut().zip(results).zip(&self.plans) {
            match result {
                Ok(backup) => *slot = backup,
                Err(err) => {
                    let error = format!("{err:#}");
                    failures.push(Failure::BackupRefused {
                        binding: plan.db.binding.clone(),
                        error: error.clone(),
                    });
                    errors.push(error);
                }
            }
        }
        if !errors.is_empty() {
            return Err(Error::from_failures(
                format!(
                    "nothing was applied: the backup before the change failed:\n{}\n(use --no-backup to go ahead without one)",
                    errors.join("\n")
                ),
                failures,
            ));
        }
        Ok(())
    }

    /// Runs each database's plan on a throwaway copy of its data (or, with
    /// [`Seeding::SchemaOnly`], its schema), using the backups
    /// [`Session::back_up`] took when they are exports (a remote release
    /// rehearses on them), else (remotely) the newest export in the backup
    /// folder. Writes nothing to the target.
    pub fn rehearse(&self) -> Result<()> {
        let work: Vec<(&DbPlan, Option<&Backup>)> = self
            .plans
            .iter()
            .zip(&self.backups)
            .filter(|(p, _)| p.has_work())
            .map(|(p, b)| (p, b.as_ref()))
            .collect();
        let seeding = match self.options.mode {
            Mode::DryRun(seeding) => seeding,
            Mode::Apply => Seeding::Data,
        };
        dry_run::rehearse_all(
            self.d1.as_ref(),
            self.direction,
            &work,
            seeding,
            &self.options.backups,
            self.observer,
        )
    }

    /// Runs the plan and reports per database, except those whose guard
    /// refused the batch: they are left for a second, careful attempt.
    fn run(self) -> Tally {
        let (project, d1, direction) = (self.project, self.d1.as_ref(), self.direction);
        let work = self.work();
        // A database the hints say has nothing to do is read meanwhile, to
        // confirm that (not one planned on a read just now).
        let idle: Vec<&DbPlan> = self.plans.iter().filter(|p| !p.has_work()).collect();
        let mut confirmed = Vec::new();
        let steps = self.options.batching == Batching::PerMigration;
        // The expected schema is worked out after the run, not beside it: two
        // wrangler processes per database at once only slow each other down.
        let outcomes = std::thread::scope(|scope| {
            let confirming = scope.spawn(|| {
                calls::in_parallel(&idle, |plan| match self.on_hints {
                    false => Ok(true),
                    true => plans::still_idle(project, d1, direction, self.version, plan),
                })
            });
            let outcomes = calls::in_parallel(&work, |plan| {
                let outcome = batch::run_database(
                    d1,
                    direction,
                    plan,
                    steps,
                    &self.request,
                    &self.held,
                    self.observer,
                );
                let expected = match (&outcome.error, &outcome.retry) {
                    (None, None) => check::expected_after(
                        project,
                        d1,
                        direction,
                        plan,
                        outcome.state.as_ref().map(|s| &s.schema),
                    ),
                    _ => Err(anyhow::anyhow!("the run did not finish")),
                };
                (outcome, expected)
            });
            confirmed = match confirming.join() {
                Ok(confirmed) => confirmed,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            outcomes
        });
        let backups: Vec<&Option<Backup>> = self
            .plans
            .iter()
            .zip(&self.backups)
            .filter(|(p, _)| p.has_work())
            .map(|(_, b)| b)
            .collect();
        let mut tally = Tally::default();
        let observer = self.observer;
        for ((plan, (outcome, expected)), backup) in work.iter().zip(&outcomes).zip(backups) {
            let binding = plan.db.binding.clone();
            if let Some(why) = &outcome.retry {
                observer.event(&Event::PlanningAgain {
                    binding: binding.clone(),
                    why: why.clone(),
                });
                if let Some(backup) = backup {
                    backup.discard();
                }
                tally.retry.push(binding);
                continue;
            }
            tally.total += 1;
            let event = outcome.event(direction, plan, backup.as_ref().map(BackupRef::from));
            observer.event(&event);
            if let Event::Failed {
                error, at, holds, ..
            } = event
            {
                tally.failures.push(Failure::MigrationFailed {
                    binding: binding.clone(),
                    version: at.as_ref().map(|at| at.version),
                    line: at.as_ref().map(|at| at.line),
                    statement: at.map(|at| at.statement),
                    error,
                    holds,
                });
                tally.failed.push(binding);
                continue;
            }
            match check::validate(project, d1, direction, plan, outcome, expected) {
                Ok(Some(path)) => observer.event(&Event::SnapshotWritten { binding, path }),
                Ok(None) => {}
                Err(err) => {
                    let error = format!("{err:#}");
                    observer.event(&Event::Problem {
                        binding: binding.clone(),
                        error: error.clone(),
                    });
                    tally.failures.push(Failure::SchemaDrift {
                        binding: binding.clone(),
                        problems: vec![error],
                    });
                    tally.failed.push(binding);
                }
            }
        }
        for (plan, confirmed) in idle.iter().zip(confirmed) {
            let binding = plan.db.binding.clone();
            match confirmed {
                Ok(true) => observer.event(&Event::NothingToDo {
                    binding,
                    direction,
                    at: None,
                }),
                Ok(false) => {
                    observer.event(&Event::PlanningAgain {
                        binding: binding.clone(),
                        why: "it changed since this machine last read it".into(),
                    });
                    tally.retry.push(binding);
                }
                Err(err) => tally.problem(observer, &binding, &err),
            }
        }
        tally
    }
}

/// What opens a session: the project, its D1, and what the run is told.
struct Opening<'p> {
    project: &'p Project,
    d1: Arc<dyn D1>,
    direction: Direction,
    version: Option<u64>,
    options: &'p Options,
    observer: &'p dyn Observer,
    /// The run's lock request: one owner for the whole run.
    request: lock::Request,
}

impl<'p> Opening<'p> {
    /// The opening of a new run: its own lock owner.
    fn new(context: &RunContext<'p>) -> Opening<'p> {
        Opening {
            project: context.project,
            d1: context.d1.clone(),
            direction: context.direction,
            version: context.version,
            options: context.options,
            observer: context.observer,
            request: lock::Request::new(context.direction.command(), context.options.locking.ttl),
        }
    }

    /// The locks this run will hold (none yet).
    fn held(&self) -> Held<'p> {
        Held::new(
            self.d1.clone(),
            self.request.clone(),
            self.observer,
            self.project.hint_flags(),
        )
    }

    /// Reads (and locks, unless it is a dry run) `databases`, and plans;
    /// lint warnings are logged when `warn` (not again after a hinted attempt).
    fn open(self, databases: &[&'p Database], warn: bool) -> Result<Session<'p>> {
        let (states, held) = match self.options.mode {
            Mode::DryRun(_) => {
                let owned: Vec<Database> = databases.iter().map(|db| (*db).clone()).collect();
                let states = calls::read_states(self.d1.as_ref(), &owned)?;
                (states, self.held())
            }
            Mode::Apply => acquire(
                self.project,
                databases,
                self.held(),
                self.direction,
                self.version,
                self.options.locking.wait,
            )?,
        };
        let plans = make_plans(
            self.project,
            databases,
            self.direction,
            self.version,
            states,
            warn,
        )?;
        Ok(self.session(plans, held))
    }

    fn session(self, mut plans: Vec<DbPlan<'p>>, held: Held<'p>) -> Session<'p> {
        for plan in &mut plans {
            plan.data_loss = self.options.data_loss;
        }
        Session {
            project: self.project,
            d1: self.d1,
            direction: self.direction,
            version: self.version,
            on_hints: false,
            options: self.options.clone(),
            request: held.request().clone(),
            backups: vec![None; plans.len()],
            plans,
            held,
            observer: self.observer,
        }
    }
}

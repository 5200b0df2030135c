//! `migrate up` and `migrate down`: read every database's state (taking its
//! lock in the same call), plan, lint, back up, then either rehearse the plan
//! (`--dry-run`) or run it, one all-or-nothing call per database (or per
//! migration with `--step`), databases in parallel, and check the resulting
//! schema against what the migrations produce.
//!
//! When this machine knows every database's state ([`hint`]), the read is
//! skipped: the plan is made from what it knows, and each database's one call
//! opens with a guard that refuses the whole call unless the database is
//! still so. A refused database is then read, planned and run as above.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::backup::{Backup, Backups};
use crate::config::Database;
use crate::flags::{self, RunOptions};
use crate::hint;
use crate::interrupt::{self, Interrupted};
use crate::lock;
use crate::migrator::{self, human_duration};
use crate::plan;
use crate::project::Project;
use crate::rehearsal::{self, describe, Culprit, Seed};
use crate::schema::{self, Schema};
use crate::source;
use crate::source::Migration;
use crate::sql::{self, Severity};
use crate::tables::{self, Analysis, Risk};
use crate::tracking::{self, Batch, DbState, LedgerChange, Reads, Tracking};
use crate::wrangler::{Call, D1Error, StatementResult, Target, Wrangler};
/// Which way a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    fn verb(self) -> &'static str {
        match self {
            Direction::Up => "apply",
            Direction::Down => "roll back",
        }
    }
    fn past(self) -> &'static str {
        match self {
            Direction::Up => "applied",
            Direction::Down => "rolled back",
        }
    }
    fn command(self) -> &'static str {
        match self {
            Direction::Up => "migrate up",
            Direction::Down => "migrate down",
        }
    }
    fn script(self, migration: &Migration) -> &str {
        match (self, &migration.rollback) {
            (Direction::Down, Some(rollback)) => &rollback.sql,
            _ => &migration.sql,
        }
    }
    fn path(self, migration: &Migration) -> String {
        match (self, &migration.rollback) {
            (Direction::Down, Some(rollback)) => rollback.path.display().to_string(),
            _ => migration.path.display().to_string(),
        }
    }
}

impl flags::Up {
    pub fn run(self, project: &Project) -> Result<()> {
        if let Some(version) = self.version {
            let last = project.newest_version();
            if version > last {
                bail!("there is no migration {version}: the newest is {last}");
            }
        }
        execute(project, Direction::Up, self.version, &self.run)
    }
}

impl flags::Down {
    pub fn run(self, project: &Project) -> Result<()> {
        execute(project, Direction::Down, Some(self.version), &self.run)
    }
}

/// One database's part of the run.
struct DbPlan<'a> {
    db: &'a Database,
    state: DbState,
    /// What runs: migrations to apply (oldest first) or roll back (newest first).
    migrations: Vec<&'a Migration>,
    /// `up` only: migrations wrangler's ledger records and `_migrations` does
    /// not, recorded (with wrangler's `applied_at`), never run.
    adopt: Vec<(&'a Migration, Option<i64>)>,
    /// Names wrangler's ledger must hold after the run besides those of
    /// `migrations`: every other applied migration, and the files it must
    /// never run here ([`Project::foreign_sql`]).
    ledger_base: Vec<String>,
    /// Set when `state` is what this machine last saw rather than what was
    /// just read: the condition the first batch asserts before it writes.
    guard: Option<String>,
    /// `--allow-data-loss`: no check that rows stay.
    allow_data_loss: bool,
}

impl<'a> DbPlan<'a> {
    /// True when the run writes to this database: migrations to run, or
    /// bookkeeping (adoptions; names missing from wrangler's ledger).
    fn has_work(&self) -> bool {
        !self.migrations.is_empty() || !self.adopt.is_empty() || self.ledger_behind()
    }

    /// True when wrangler's ledger lacks names it must have.
    fn ledger_behind(&self) -> bool {
        self.ledger_base
            .iter()
            .any(|name| !self.state.ledger.iter().any(|row| row.name == *name))
    }

    /// Only bookkeeping: nothing runs, so no backup is needed.
    fn records_only(&self) -> bool {
        self.migrations.is_empty()
    }

    /// What the batch of `group` (the `index`th of the run) does to
    /// wrangler's ledger: in every batch the base names, and the group's own.
    fn ledger_change(&self, direction: Direction, group: &[&Migration]) -> LedgerChange {
        let names: Vec<String> = group.iter().map(|m| m.file_name.clone()).collect();
        match direction {
            Direction::Up => LedgerChange {
                present: self.ledger_base.iter().cloned().chain(names).collect(),
                absent: Vec::new(),
            },
            Direction::Down => LedgerChange {
                present: self.ledger_base.clone(),
                absent: names,
            },
        }
    }

    /// The batch for `group`, the `index`th of the run, without the row
    /// check; adoptions ride in the first.
    fn unchecked_batch(
        &self,
        direction: Direction,
        tracking: Tracking,
        index: usize,
        group: &[&'a Migration],
    ) -> Result<Batch> {
        let ledger = self.ledger_change(direction, group);
        match direction {
            Direction::Up => {
                let adopt = match index {
                    0 => &self.adopt[..],
                    _ => &[],
                };
                tracking::up_batch(tracking, self.db, adopt, group, &ledger)
            }
            Direction::Down => tracking::down_batch(self.db, group, &ledger),
        }
    }

    /// The batch for `group`: [`DbPlan::unchecked_batch`], opened by counting
    /// the rows it puts at risk and closed by failing as a whole when any
    /// fell ([`tables::guard`]), unless `--allow-data-loss`.
    fn batch(
        &self,
        direction: Direction,
        tracking: Tracking,
        index: usize,
        group: &[&'a Migration],
    ) -> Result<Batch> {
        let batch = self.unchecked_batch(direction, tracking, index, group)?;
        let analysis = self.analysis(direction, group, &batch);
        match tables::guard(&analysis.risks).filter(|_| !self.allow_data_loss) {
            None => Ok(batch),
            Some((start, end)) => {
                let mut checked = Batch::default();
                for statement in start {
                    checked.push_bookkeeping(statement);
                }
                checked.statements.extend(batch.statements);
                for statement in end {
                    checked.push_bookkeeping(statement);
                }
                Ok(checked)
            }
        }
    }

    /// What `batch` (of `group`) does to the tables it meets: those as the
    /// migrations before `group` leave the schema the plan was made on.
    fn analysis(&self, direction: Direction, group: &[&'a Migration], batch: &Batch) -> Analysis {
        let first = group
            .first()
            .and_then(|m| self.migrations.iter().position(|p| p.version == m.version))
            .unwrap_or(0);
        let prior: Vec<String> = self.migrations[..first]
            .iter()
            .flat_map(|m| sql::split(direction.script(m)).unwrap_or_default())
            .map(|s| s.sql)
            .collect();
        let statements: Vec<&str> = prior
            .iter()
            .map(String::as_str)
            .chain(batch.statements.iter().map(|s| s.sql.as_str()))
            .collect();
        let allows = |i: usize| -> bool {
            i < prior.len()
                || batch.statements[i - prior.len()]
                    .origin
                    .and_then(|(index, _)| group.get(index))
                    .is_some_and(|m| source::allows_data_loss(direction.script(m)).is_some())
        };
        // A rollback may drop the tables its own migration makes.
        let undone: Vec<String> = match direction {
            Direction::Up => Vec::new(),
            Direction::Down => group
                .iter()
                .flat_map(|m| sql::split(&m.sql).unwrap_or_default())
                .filter_map(|s| match tables::change(&s.sql) {
                    Some(tables::Change::Create { table, .. }) => Some(table.to_ascii_lowercase()),
                    _ => None,
                })
                .collect(),
        };
        let mut analysis = tables::analyse(&self.state.schema, &statements, allows, &undone);
        for risk in &mut analysis.risks {
            risk.statement -= prior.len().min(risk.statement);
        }
        analysis
    }

    /// The newest version recorded when the state was read (0 for none).
    fn newest_applied(&self) -> u64 {
        self.state
            .applied
            .iter()
            .map(|a| a.version)
            .max()
            .unwrap_or(0)
    }

    /// The versions recorded once this plan has run.
    fn versions_after(&self, direction: Direction) -> Vec<u64> {
        let planned = |v: u64| self.migrations.iter().any(|m| m.version == v);
        let mut versions: Vec<u64> = self.state.applied.iter().map(|a| a.version).collect();
        versions.extend(self.adopt.iter().map(|(m, _)| m.version));
        match direction {
            Direction::Up => versions.extend(self.migrations.iter().map(|m| m.version)),
            Direction::Down => versions.retain(|v| !planned(*v)),
        }
        versions.sort_unstable();
        versions.dedup();
        versions
    }
}

fn execute(
    project: &Project,
    direction: Direction,
    version: Option<u64>,
    options: &RunOptions,
) -> Result<()> {
    if !options.dry_run && !options.step {
        if let Some(session) = Session::open_hinted(project, direction, version, options)? {
            return session.apply_hinted();
        }
    }
    let mut session = Session::open(project, direction, version, options)?;
    if !session.has_work() {
        session.print_nothing_to_do();
        return Ok(());
    }
    session.print_plan();
    if options.dry_run {
        session.rehearse()?;
        crate::out!("Dry run: nothing was written.");
        return Ok(());
    }
    interrupt::check().map_err(|err| session.untouched(err))?;
    session.back_up()?;
    interrupt::check().map_err(|err| session.untouched(err))?;
    session.apply()
}

/// A run of `up` or `down` in phases that a caller can time and stop between:
/// [`Session::open`] reads every database's state (taking locks unless it is a
/// dry run) and plans; then [`Session::back_up`], [`Session::rehearse`] and
/// [`Session::apply`]. Locks still held when it is dropped are released.
pub struct Session<'p> {
    project: &'p Project,
    wrangler: Wrangler,
    direction: Direction,
    /// The version asked for: `up`'s target, or `down`'s.
    version: Option<u64>,
    /// Planned on what this machine last saw ([`Session::open_hinted`]).
    hinted: bool,
    options: RunOptions,
    request: lock::Request,
    plans: Vec<DbPlan<'p>>,
    held: Held,
    /// One per plan, once [`Session::back_up`] ran.
    backups: Vec<Option<Backup>>,
}

impl<'p> Session<'p> {
    pub fn open(
        project: &'p Project,
        direction: Direction,
        version: Option<u64>,
        options: &RunOptions,
    ) -> Result<Session<'p>> {
        let databases: Vec<&Database> = project.selected.iter().collect();
        Self::open_for(project, &databases, direction, version, options, true)
    }

    /// [`Session::open`] for some of the selected databases; lint warnings
    /// are logged when `warn` (not again after a hinted attempt).
    fn open_for(
        project: &'p Project,
        databases: &[&'p Database],
        direction: Direction,
        version: Option<u64>,
        options: &RunOptions,
        warn: bool,
    ) -> Result<Session<'p>> {
        let wrangler = project.wrangler()?;
        let request = lock::Request::new(
            direction.command(),
            Duration::from_secs(options.lock.lock_ttl),
        );
        let (states, held) = if options.dry_run {
            let owned: Vec<Database> = databases.iter().map(|db| (*db).clone()).collect();
            let states = migrator::read_states(&wrangler, &owned)?;
            (states, Held::new(&wrangler, &request))
        } else {
            acquire(
                project,
                databases,
                &wrangler,
                &request,
                direction,
                version,
                options.lock.wait,
            )?
        };
        let plans = make_plans(project, databases, direction, version, states, warn)?;
        Ok(Session::new(
            project, direction, version, options, plans, held,
        ))
    }

    fn new(
        project: &'p Project,
        direction: Direction,
        version: Option<u64>,
        options: &RunOptions,
        mut plans: Vec<DbPlan<'p>>,
        held: Held,
    ) -> Session<'p> {
        for plan in &mut plans {
            plan.allow_data_loss = options.allow_data_loss;
        }
        Session {
            project,
            wrangler: held.wrangler.clone(),
            direction,
            version,
            hinted: false,
            options: options.clone(),
            request: held.request.clone(),
            backups: vec![None; plans.len()],
            plans,
            held,
        }
    }

    /// A session planned on what this machine last saw of each database
    /// ([`hint`]), without reading them first; its batches assert those states.
    /// `None` when a database has no usable hint, or the plan made from the
    /// hints has no work or a problem: then the state has to be read.
    fn open_hinted(
        project: &'p Project,
        direction: Direction,
        version: Option<u64>,
        options: &RunOptions,
    ) -> Result<Option<Session<'p>>> {
        let wrangler = project.wrangler()?;
        let mut states = Vec::new();
        for db in &project.selected {
            let Some(state) = hint::load(&wrangler, db) else {
                return Ok(None);
            };
            states.push(state);
        }
        let databases: Vec<&Database> = project.selected.iter().collect();
        let Ok(mut plans) = make_plans(project, &databases, direction, version, states, true)
        else {
            return Ok(None);
        };
        if !plans.iter().any(DbPlan::has_work) {
            return Ok(None);
        }
        // Databases with nothing to do are read instead, to confirm that.
        for plan in plans.iter_mut().filter(|p| p.has_work()) {
            let Some(guard) = hint::condition(&plan.state, plan.db) else {
                return Ok(None);
            };
            plan.guard = Some(guard);
        }
        tracing::info!(
            "planned on the state this machine last saw; each batch checks it still holds"
        );
        let request = lock::Request::new(
            direction.command(),
            Duration::from_secs(options.lock.lock_ttl),
        );
        let held = Held::new(&wrangler, &request);
        let mut session = Session::new(project, direction, version, options, plans, held);
        session.hinted = true;
        Ok(Some(session))
    }

    /// Runs a [`Session::open_hinted`] session; a database whose batch was
    /// refused is read (and locked) and planned again, then run as usual.
    fn apply_hinted(mut self) -> Result<()> {
        let (project, direction, version) = (self.project, self.direction, self.version);
        let options = self.options.clone();
        self.print_plan();
        self.back_up()?;
        let first: Vec<(String, Vec<u64>)> = self
            .work()
            .iter()
            .map(|p| (p.db.binding.clone(), versions(&p.migrations)))
            .collect();
        let mut ran = self.run();
        if ran.retry.is_empty() {
            return ran.finish();
        }
        let retry = std::mem::take(&mut ran.retry);
        let databases: Vec<&Database> = project
            .selected
            .iter()
            .filter(|db| retry.contains(&db.binding))
            .collect();
        let mut again =
            match Session::open_for(project, &databases, direction, version, &options, false) {
                Ok(again) => again,
                Err(err) => {
                    crate::out!("❌ {}: {err:#}", retry.join(", "));
                    ran.total += retry.len();
                    ran.failed.extend(retry);
                    return ran.finish();
                }
            };
        for plan in again.work() {
            let before = first.iter().find(|(b, _)| *b == plan.db.binding);
            if before.is_none_or(|(_, v)| *v != versions(&plan.migrations)) {
                print_plan(project, direction, plan, false);
            }
        }
        if !again.has_work() {
            again.print_nothing_to_do();
            return ran.finish();
        }
        if let Err(err) = again.back_up() {
            for plan in again.work() {
                crate::out!("❌ {}: {err:#}", plan.db.binding);
                ran.total += 1;
                ran.failed.push(plan.db.binding.clone());
            }
            return ran.finish();
        }
        ran.merge(again.run());
        ran.finish()
    }

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

    fn work(&self) -> Vec<&DbPlan<'p>> {
        self.plans.iter().filter(|p| p.has_work()).collect()
    }

    pub fn print_nothing_to_do(&self) {
        for plan in &self.plans {
            let newest = plan.newest_applied();
            crate::out!(
                "{}: nothing to {} (at version {newest})",
                plan.db.binding,
                self.direction.verb()
            );
        }
    }

    pub fn print_plan(&self) {
        for plan in self.work() {
            print_plan(self.project, self.direction, plan, self.options.dry_run);
        }
    }

    /// Backs up every database about to change, in parallel; any failure
    /// stops before anything is applied.
    pub fn back_up(&mut self) -> Result<()> {
        if self.options.no_backup {
            tracing::warn!("--no-backup: the databases are changed without a backup first");
            return Ok(());
        }
        let backups = Backups::new(&self.project.config, &self.options.backup);
        let wrangler = &self.wrangler;
        let results = migrator::in_parallel(&self.plans, |plan| -> Result<Option<Backup>> {
            if !plan.has_work() || plan.records_only() {
                return Ok(None);
            }
            let version = plan.newest_applied();
            let virtual_tables = plan.state.schema.has_virtual_tables();
            backups
                .take(wrangler, plan.db, Some(version), Some(virtual_tables))
                .map(Some)
        });
        let mut errors = Vec::new();
        for (slot, result) in self.backups.iter_mut().zip(results) {
            match result {
                Ok(backup) => *slot = backup,
                Err(err) => errors.push(format!("{err:#}")),
            }
        }
        if !errors.is_empty() {
            bail!(
                "nothing was applied: the backup before the change failed:\n{}\n(use --no-backup to go ahead without one)",
                errors.join("\n")
            );
        }
        Ok(())
    }

    /// Runs each database's plan on a throwaway local copy of its schema.
    /// Runs each database's plan on a throwaway copy of its data (or, with
    /// `--schema-only`, its schema), using the backups [`Session::back_up`]
    /// took when they are exports (a remote release rehearses on them).
    pub fn rehearse(&self) -> Result<()> {
        let work: Vec<(&DbPlan, Option<&Backup>)> = self
            .plans
            .iter()
            .zip(&self.backups)
            .filter(|(p, _)| p.has_work())
            .map(|(p, b)| (p, b.as_ref()))
            .collect();
        rehearse_all(
            &self.wrangler,
            self.direction,
            &work,
            self.options.schema_only,
        )
    }

    /// Runs the plan, checks the result and reports per database.
    pub fn apply(self) -> Result<()> {
        self.run().finish()
    }

    /// Runs the plan and reports per database, except those whose guard
    /// refused the batch: they are left for a second, careful attempt.
    fn run(self) -> Ran {
        let (project, wrangler, direction) = (self.project, &self.wrangler, self.direction);
        let work = self.work();
        // A database the hints say has nothing to do is read meanwhile, to
        // confirm that.
        let idle: Vec<&DbPlan> = self.plans.iter().filter(|p| !p.has_work()).collect();
        let mut confirmed = Vec::new();
        // The expected schema is worked out after the run, not beside it: two
        // wrangler processes per database at once only slow each other down.
        let outcomes = std::thread::scope(|scope| {
            let confirming = scope.spawn(|| {
                migrator::in_parallel(&idle, |plan| match self.hinted {
                    false => Ok(true),
                    true => still_idle(project, wrangler, direction, self.version, plan),
                })
            });
            let outcomes = migrator::in_parallel(&work, |plan| {
                let outcome = run_database(
                    wrangler,
                    direction,
                    plan,
                    self.options.step,
                    &self.request,
                    &self.held,
                );
                let expected = match (&outcome.error, &outcome.retry) {
                    (None, None) => expected_after(project, wrangler, direction, plan),
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
        let mut ran = Ran {
            total: 0,
            failed: Vec::new(),
            retry: Vec::new(),
        };
        let failed = &mut ran.failed;
        for ((plan, (outcome, expected)), backup) in work.iter().zip(&outcomes).zip(backups) {
            if let Some(why) = &outcome.retry {
                crate::out!("{}: {why}: reading it and planning again", plan.db.binding);
                if let Some(backup) = backup {
                    backup.discard();
                }
                ran.retry.push(plan.db.binding.clone());
                continue;
            }
            ran.total += 1;
            report(direction, plan, outcome, backup.as_ref());
            if outcome.error.is_some() {
                failed.push(plan.db.binding.clone());
                continue;
            }
            if let Err(err) = validate(project, direction, plan, outcome, expected) {
                crate::out!("❌ {}: {err:#}", plan.db.binding);
                failed.push(plan.db.binding.clone());
            }
        }
        for (plan, confirmed) in idle.iter().zip(confirmed) {
            match confirmed {
                Ok(true) => crate::out!("{}: nothing to {}", plan.db.binding, direction.verb()),
                Ok(false) => {
                    crate::out!(
                        "{}: it changed since this machine last read it: planning again",
                        plan.db.binding
                    );
                    ran.retry.push(plan.db.binding.clone());
                }
                Err(err) => {
                    crate::out!("❌ {}: {err:#}", plan.db.binding);
                    ran.total += 1;
                    ran.failed.push(plan.db.binding.clone());
                }
            }
        }
        ran
    }
}

/// Reads a database the hints said has nothing to do: true when it indeed has not.
fn still_idle(
    project: &Project,
    wrangler: &Wrangler,
    direction: Direction,
    version: Option<u64>,
    plan: &DbPlan,
) -> Result<bool> {
    let state = migrator::read_state(wrangler, plan.db)?;
    let planned = plan_one(project, direction, plan.db, state, version);
    Ok(planned.is_ok_and(|p| !p.has_work()))
}

/// What a run did, across its attempts.
struct Ran {
    /// Databases with work that were reported, failed or not.
    total: usize,
    failed: Vec<String>,
    /// Databases whose hinted batch was refused, by binding.
    retry: Vec<String>,
}

impl Ran {
    fn merge(&mut self, other: Ran) {
        self.total += other.total;
        self.failed.extend(other.failed);
        self.retry.extend(other.retry);
    }

    fn finish(self) -> Result<()> {
        if self.failed.is_empty() {
            return Ok(());
        }
        let total = self.total;
        bail!(
            "{} of {} database{} failed: {} (see above for what each one now holds)",
            self.failed.len(),
            total,
            if total == 1 { "" } else { "s" },
            self.failed.join(", ")
        )
    }
}

fn versions(migrations: &[&Migration]) -> Vec<u64> {
    migrations.iter().map(|m| m.version).collect()
}

/// Plans every database; any refusal (or lint error) stops the whole run.
fn make_plans<'a>(
    project: &'a Project,
    databases: &[&'a Database],
    direction: Direction,
    version: Option<u64>,
    states: Vec<DbState>,
    warn: bool,
) -> Result<Vec<DbPlan<'a>>> {
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for (db, state) in databases.iter().copied().zip(states) {
        match plan_one(project, direction, db, state, version) {
            Ok(plan) => plans.push(plan),
            Err(err) => problems.push(format!("{err:#}")),
        }
    }
    problems.extend(lint_errors(project, direction, &plans, warn));
    if !problems.is_empty() {
        bail!("nothing was {}:\n{}", direction.past(), problems.join("\n"));
    }
    Ok(plans)
}

/// What `direction` does in `db`, given its files and state.
fn plan_one<'a>(
    project: &'a Project,
    direction: Direction,
    db: &'a Database,
    state: DbState,
    version: Option<u64>,
) -> Result<DbPlan<'a>> {
    let files = project.files_for(&db.binding);
    let around = project.surroundings(&db.binding);
    let recorded = state.recorded(&around);
    let (migrations, adopt): (Vec<&'a Migration>, Vec<(&'a Migration, Option<i64>)>) =
        match direction {
            Direction::Up => {
                let up = plan::plan_up(&db.binding, &files, recorded, version)?;
                let adopt = up
                    .adopt
                    .iter()
                    .map(|(m, row)| (*m, row.applied_at_ms()))
                    .collect();
                (up.run, adopt)
            }
            Direction::Down => {
                let down = plan::plan_down(&db.binding, &files, recorded, version.unwrap_or(0))?;
                (down, Vec::new())
            }
        };
    // Every migration that stays applied is named in wrangler's ledger, then
    // the files it must not run here.
    let staying: Vec<u64> = state
        .applied
        .iter()
        .map(|a| a.version)
        .chain(adopt.iter().map(|(m, _)| m.version))
        .filter(|v| !migrations.iter().any(|m| m.version == *v))
        .collect();
    let ledger_base = project.ledger_names(&db.binding, &staying);
    Ok(DbPlan {
        db,
        state,
        migrations,
        adopt,
        ledger_base,
        guard: None,
        allow_data_loss: false,
    })
}

/// Locks this run holds, released in a call of their own when the run ends
/// without having released them in its last batch.
struct Held {
    wrangler: Wrangler,
    request: lock::Request,
    databases: Mutex<Vec<Database>>,
}

impl Held {
    fn new(wrangler: &Wrangler, request: &lock::Request) -> Held {
        Held {
            wrangler: wrangler.clone(),
            request: request.clone(),
            databases: Mutex::new(Vec::new()),
        }
    }

    fn hold(&self, db: &Database) {
        if let Ok(mut databases) = self.databases.lock() {
            if !databases.iter().any(|d| d.binding == db.binding) {
                databases.push(db.clone());
            }
        }
    }

    fn holds_any(&self) -> bool {
        self.databases
            .lock()
            .map(|d| !d.is_empty())
            .unwrap_or(false)
    }

    /// Releases, now, the locks held on any of `databases`.
    fn give_back_after(&self, databases: &[&Database]) {
        let giving: Vec<Database> = match self.databases.lock() {
            Ok(mut held) => {
                let (give, keep) = held
                    .drain(..)
                    .partition(|db| databases.iter().any(|d| d.binding == db.binding));
                *held = keep;
                give
            }
            Err(_) => Vec::new(),
        };
        migrator::in_parallel(&giving, |db| {
            migrator::release(&self.wrangler, db, &self.request)
        });
    }

    fn released(&self, binding: &str) {
        if let Ok(mut databases) = self.databases.lock() {
            databases.retain(|db| db.binding != binding);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let databases = self
            .databases
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        migrator::in_parallel(&databases, |db| {
            migrator::release(&self.wrangler, db, &self.request)
        });
    }
}

/// Reads every database's state, taking its lock where there is work; waits
/// up to `wait` seconds for locks other runs hold.
fn acquire<'a>(
    project: &Project,
    databases: &[&Database],
    wrangler: &'a Wrangler,
    request: &'a lock::Request,
    direction: Direction,
    version: Option<u64>,
    wait: u64,
) -> Result<(Vec<DbState>, Held)> {
    let deadline = Instant::now() + Duration::from_secs(wait);
    let work = |db: &Database| match direction {
        Direction::Up => {
            let versions: Vec<u64> = project
                .files_for(&db.binding)
                .iter()
                .map(|m| m.version)
                .filter(|v| version.is_none_or(|t| *v <= t))
                .collect();
            let files: Vec<(u64, String)> = project
                .files_for(&db.binding)
                .iter()
                .map(|m| (m.version, m.file_name.clone()))
                .collect();
            let foreign = project.foreign_sql(&db.binding);
            format!(
                "{} OR {}",
                tracking::pending_condition(&versions),
                tracking::ledger_behind_condition(db, &files, &foreign)
            )
        }
        Direction::Down => tracking::applied_above_condition(version.unwrap_or(0)),
    };
    // Locks are ordered by the config's database order: a run that finds a
    // database busy keeps the locks before it and gives back those after it,
    // so of two runs started together the one holding the first contested
    // database always wins and neither can block the other.
    let held = Held::new(wrangler, request);
    // A run that still holds locks is winning: the run it contends with gives
    // its later locks back, so it waits for that even without --wait (each
    // look costs a wrangler call per database, seconds on a busy machine).
    let grace = Instant::now() + Duration::from_secs(wait) + Duration::from_secs(20);
    loop {
        let results = migrator::in_parallel(databases, |db| {
            migrator::read_state_locking(wrangler, db, request, &work(db))
        });
        let (mut states, mut busy, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        let mut first_busy = None;
        for (index, (db, result)) in databases.iter().copied().zip(results).enumerate() {
            match result {
                Ok((state, outcome)) => {
                    match outcome {
                        lock::Outcome::NotNeeded => {}
                        lock::Outcome::Held { took_over } => {
                            if let Some(old) = took_over {
                                tracing::warn!(
                                    database = %db.binding,
                                    "took over an expired migration lock held by {} since {} s ago",
                                    old.owner,
                                    old.age().as_secs()
                                );
                            }
                            held.hold(db);
                        }
                        lock::Outcome::Busy(holder) => {
                            first_busy.get_or_insert(index);
                            busy.push(lock::describe_busy(&db.binding, &holder));
                        }
                    }
                    states.push(state);
                }
                Err(err) => {
                    // Stopped during its locking read, which may have taken the
                    // lock: give it back (releasing a lock not held does nothing).
                    if err.chain().any(|c| c.is::<Interrupted>()) {
                        held.hold(db);
                    }
                    errors.push(format!("{err:#}"));
                }
            }
        }
        if !errors.is_empty() {
            bail!("{}", errors.join("\n"));
        }
        let Some(first_busy) = first_busy else {
            return Ok((states, held));
        };
        held.give_back_after(&databases[first_busy..]);
        let now = Instant::now();
        let holding = held.holds_any();
        if now >= deadline && !(holding && now < grace) {
            drop(held);
            bail!("nothing was {}: {}", direction.past(), busy.join("\n"));
        }
        let pause = if now < deadline {
            tracing::info!("waiting for another run's lock: {}", busy.join("; "));
            Duration::from_secs(2).min(deadline - now)
        } else {
            Duration::from_millis(500)
        };
        std::thread::sleep(pause);
    }
}

/// The schema the migrations should leave in `plan`'s database, found as
/// cheaply as possible:
/// - the committed snapshot, when it was written for exactly those versions;
/// - for `up`, nothing to compare when the schema before the run was already
///   what its applied migrations make (no migrations yet, or the snapshot of
///   them matches): applying the plan to it gives what the migrations make;
/// - otherwise a replay of the migrations on a throwaway local database.
fn expected_after(
    project: &Project,
    wrangler: &Wrangler,
    direction: Direction,
    plan: &DbPlan,
) -> Result<Expected> {
    let snapshot = |versions: &[u64]| -> Option<String> {
        let text = std::fs::read_to_string(schema::snapshot_path(
            project.folder_of(&plan.db.binding),
            &plan.db.binding,
        ))
        .ok()?;
        let (written_for, body) = schema::parse_snapshot(&text)?;
        (written_for == versions).then(|| body.to_owned())
    };
    let after = plan.versions_after(direction);
    if let Some(body) = snapshot(&after) {
        return Ok(Expected::Snapshot(body));
    }
    if direction == Direction::Up {
        let before: Vec<u64> = plan.state.applied.iter().map(|a| a.version).collect();
        let live = plan.state.schema.normalized(&plan.db.tracking_tables());
        let clean_before = match before.is_empty() {
            true => live.is_empty(),
            false => snapshot(&before).is_some_and(|body| schema::same_text(&body, &live)),
        };
        if clean_before {
            return Ok(Expected::FollowsFromBefore);
        }
    }
    let files = project.files_for(&plan.db.binding);
    let migrations: Vec<&Migration> = files
        .into_iter()
        .filter(|m| after.contains(&m.version))
        .collect();
    crate::rehearsal::expected_schema(wrangler, plan.db, &migrations).map(Expected::Replayed)
}

/// What the schema should be after the run.
enum Expected {
    /// The normalized text of a committed snapshot.
    Snapshot(String),
    /// The schema before the run was checked clean, so the run's result is
    /// by construction what the migrations make.
    FollowsFromBefore,
    Replayed(Schema),
}

/// Checks the schema a successful run left against what its migrations
/// produce, reports foreign-key violations, and (locally) writes the snapshot.
fn validate(
    project: &Project,
    direction: Direction,
    plan: &DbPlan,
    outcome: &Outcome,
    expected: &Result<Expected>,
) -> Result<()> {
    let binding = &plan.db.binding;
    let tracking = plan.db.tracking_tables();
    let Some(live) = outcome.state.as_ref().map(|s| &s.schema) else {
        bail!("the run did not return {binding}'s schema, so it could not be checked");
    };
    if !outcome.foreign_key_violations.is_empty() {
        bail!(
            "{} {} but `PRAGMA foreign_key_check` reports {} violation(s): {}",
            binding,
            direction.past(),
            outcome.foreign_key_violations.len(),
            outcome.foreign_key_violations.join("; ")
        );
    }
    let expected = match expected {
        Ok(expected) => expected,
        Err(err) => bail!("could not work out the schema its migrations produce: {err:#}"),
    };
    let drift = match expected {
        Expected::FollowsFromBefore => Vec::new(),
        Expected::Snapshot(text) if schema::same_text(text, &live.normalized(&tracking)) => {
            Vec::new()
        }
        Expected::Snapshot(_) => vec![format!(
            "the schema differs from the committed snapshot {}; run `cargo migrate verify{}` for the details",
            schema::snapshot_path(project.folder_of(binding), binding).display(),
            if project.target == Target::Remote { " --remote" } else { "" },
        )],
        Expected::Replayed(schema) => Schema::diff(schema, live, &tracking),
    };
    if !drift.is_empty() {
        bail!(
            "the migrations ran, but the schema is not what they produce (someone changed it by hand?):\n  {}",
            drift.join("\n  ")
        );
    }
    if project.target == Target::Local {
        match expected {
            Expected::Replayed(schema) => {
                write_snapshot(project, plan.db, &plan.versions_after(direction), schema)?
            }
            Expected::FollowsFromBefore => {
                write_snapshot(project, plan.db, &plan.versions_after(direction), live)?
            }
            Expected::Snapshot(_) => {}
        }
    }
    Ok(())
}

fn write_snapshot(
    project: &Project,
    db: &Database,
    versions: &[u64],
    schema: &Schema,
) -> Result<()> {
    let binding = &db.binding;
    let path = schema::snapshot_path(project.folder_of(binding), binding);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(
        &path,
        schema::snapshot_text(binding, versions, schema, &db.tracking_tables()),
    )
    .with_context(|| format!("cannot write the schema snapshot {}", path.display()))?;
    tracing::info!(database = %binding, snapshot = %path.display(), "wrote the schema snapshot");
    Ok(())
}

/// Lint errors stop a run before anything is written; warnings are logged
/// when `warn`, one line per file.
fn lint_errors(
    project: &Project,
    direction: Direction,
    plans: &[DbPlan],
    warn: bool,
) -> Vec<String> {
    let options = project.lint_options();
    let mut errors = Vec::new();
    for migration in plans.iter().flat_map(|p| &p.migrations) {
        let mut warnings = Vec::new();
        for finding in sql::lint(direction.script(migration), options) {
            match finding.severity {
                Severity::Error => errors.push(format!(
                    "{}:{}: {}",
                    direction.path(migration),
                    finding.line,
                    finding.message
                )),
                Severity::Warning => {
                    warnings.push(format!("line {}: {}", finding.line, finding.message))
                }
            }
        }
        if warn && !warnings.is_empty() {
            tracing::warn!(file = %direction.path(migration), "{}", warnings.join("; "));
        }
    }
    errors
}

fn print_plan(project: &Project, direction: Direction, plan: &DbPlan, dry_run: bool) {
    let count = plan.migrations.len();
    if !plan.adopt.is_empty() {
        let versions: Vec<String> = plan
            .adopt
            .iter()
            .map(|(m, _)| format!("v{} {}", m.version, m.name))
            .collect();
        crate::out!(
            "{} ({}, {}): wrangler's ledger {} records {}: recording {} as applied here too (not run again)",
            plan.db.binding,
            plan.db.name,
            project.target,
            plan.db.wrangler_table,
            if versions.len() == 1 { "it" } else { "them" },
            versions.join(", "),
        );
    }
    if count == 0 {
        if plan.ledger_behind() && plan.adopt.is_empty() {
            crate::out!(
                "{} ({}, {}): nothing to {}; bringing wrangler's ledger {} up to date",
                plan.db.binding,
                plan.db.name,
                project.target,
                direction.verb(),
                plan.db.wrangler_table
            );
        }
        return;
    }
    crate::out!(
        "{} ({}, {}): {count} migration{} to {}{}",
        plan.db.binding,
        plan.db.name,
        project.target,
        if count == 1 { "" } else { "s" },
        direction.verb(),
        if dry_run { " (dry run)" } else { "" },
    );
    for migration in &plan.migrations {
        crate::out!("  v{} {}", migration.version, migration.name);
        if dry_run {
            crate::out!("  ---- {} ----", direction.path(migration));
            for line in direction.script(migration).lines() {
                crate::out!("  | {line}");
            }
        }
    }
}

/// Rows a rehearsal saw go that no statement deleted by name.
struct Loss {
    /// The table (or `table.column`, values set to NULL or a default).
    what: String,
    before: u64,
    after: u64,
    /// Why, with where: from the static analysis when it saw it coming.
    why: Option<String>,
    /// Its migration says `-- allow-data-loss`, or the run `--allow-data-loss`.
    allowed: bool,
}

/// The losses between two counts of a rehearsal of `batch`.
fn losses(
    plan: &DbPlan,
    direction: Direction,
    group: &[&Migration],
    batch: &Batch,
    (before, after): &(rehearsal::Counts, rehearsal::Counts),
) -> Vec<Loss> {
    let analysis = plan.analysis(direction, group, batch);
    // Every statement allowed: the risks that remain are the disallowed ones.
    let statements: Vec<&str> = batch.statements.iter().map(|s| s.sql.as_str()).collect();
    let all = tables::analyse(&plan.state.schema, &statements, |_| false, &[]);
    let tracking = plan.db.tracking_tables();
    let mut found = Vec::new();
    for (what, &was) in before {
        let (table, column) = what
            .split_once('.')
            .map_or((what.as_str(), None), |(t, c)| (t, Some(c)));
        let key = table.to_ascii_lowercase();
        if tracking.contains(&table) || (column.is_none() && analysis.deleted.contains(&key)) {
            continue;
        }
        let end = analysis
            .ends
            .get(&key)
            .cloned()
            .unwrap_or(Some(table.to_owned()));
        let now = end
            .and_then(|end| {
                after
                    .get(&column.map_or(end.clone(), |c| format!("{end}.{c}")))
                    .copied()
            })
            .unwrap_or(0);
        if now >= was {
            continue;
        }
        let risk_of = |risks: &[Risk]| {
            risks
                .iter()
                .find(|r| r.table.eq_ignore_ascii_case(table) && r.column.as_deref() == column)
                .cloned()
        };
        let seen = risk_of(&all.risks);
        let why = seen.as_ref().map(|r| {
            let at = batch.statements[r.statement.min(batch.statements.len() - 1)]
                .origin
                .map(|(index, line)| format!(" at {}:{line}", direction.path(group[index])))
                .unwrap_or_default();
            format!("{}{at}", r.why)
        });
        let allowed =
            plan.allow_data_loss || (seen.is_some() && risk_of(&analysis.risks).is_none());
        found.push(Loss {
            what: what.clone(),
            before: was,
            after: now,
            why,
            allowed,
        });
    }
    found
}

/// What to do instead of losing rows, for a person.
const LOSS_ADVICE: &str = "D1 enforces foreign keys inside its transaction (PRAGMA foreign_keys = OFF is ignored), \
     so dropping or rebuilding a parent table deletes (ON DELETE CASCADE) or resets (SET NULL) its children's rows: \
     in the same migration, rebuild the child tables too, or copy their rows aside (CREATE TABLE x_copy AS SELECT …) \
     and back after the parent is rebuilt. If the rows are meant to go, delete them by name (DELETE FROM …), \
     or say so with a `-- allow-data-loss: why` line at the top of the file, or `--allow-data-loss`";

fn describe_losses(losses: &[&Loss]) -> String {
    losses
        .iter()
        .map(|l| {
            let what = match l.what.split_once('.') {
                Some((table, column)) => format!(
                    "{} of {table}.{column}'s values ({} → {} non-null)",
                    l.before - l.after,
                    l.before,
                    l.after
                ),
                None => format!(
                    "{} rows of {} ({} → {})",
                    l.before - l.after,
                    l.what,
                    l.before,
                    l.after
                ),
            };
            match &l.why {
                Some(why) => format!("{what}, by {why}"),
                None => what,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What one database's rehearsal found.
enum Rehearsal {
    Passed { on: String, report: Vec<String> },
    Failed { why: String, report: Vec<String> },
}

/// Runs each database's whole plan on a throwaway copy (of its data when it
/// can: see [`Seed::of`]), counting rows before and after.
fn rehearse_all(
    wrangler: &Wrangler,
    direction: Direction,
    work: &[(&DbPlan, Option<&Backup>)],
    schema_only: bool,
) -> Result<()> {
    let results = migrator::in_parallel(work, |(plan, backup)| -> Result<Rehearsal> {
        let (seed, on) = Seed::of(wrangler, plan.db, &plan.state.schema, schema_only, *backup)?;
        // Unchecked: the counts say what the row check would refuse, and how much.
        let batch = plan.unchecked_batch(direction, plan.state.tracking, 0, &plan.migrations)?;
        let analysis = plan.analysis(direction, &plan.migrations, &batch);
        let columns: Vec<(String, String)> = analysis
            .risks
            .iter()
            .filter_map(|r| Some((r.table.clone(), r.column.clone()?)))
            .collect();
        match rehearsal::run(wrangler, plan.db, &seed, &batch, &columns) {
            Ok(rehearsed) => {
                let Some(counts) = rehearsed.counts else {
                    let report = analysis
                        .risks
                        .iter()
                        .map(|r| format!("would lose the rows of {} it has, if any ({}): rehearsed without data, so not counted", r.key(), r.why))
                        .collect();
                    return Ok(Rehearsal::Passed { on, report });
                };
                let found = losses(plan, direction, &plan.migrations, &batch, &counts);
                let mut report: Vec<String> = counts
                    .0
                    .iter()
                    .filter(|(t, _)| {
                        !t.contains('.') && !plan.db.tracking_tables().contains(&t.as_str())
                    })
                    .map(|(t, n)| {
                        format!(
                            "{t} {n} → {}",
                            counts.1.get(t).map_or("gone".to_owned(), u64::to_string)
                        )
                    })
                    .collect();
                report.extend(
                    counts
                        .1
                        .iter()
                        .filter(|(t, _)| {
                            !counts.0.contains_key(*t)
                                && !t.contains('.')
                                && !plan.db.tracking_tables().contains(&t.as_str())
                        })
                        .map(|(t, n)| format!("{t} (new) {n}")),
                );
                let refused: Vec<&Loss> = found.iter().filter(|l| !l.allowed).collect();
                let allowed: Vec<&Loss> = found.iter().filter(|l| l.allowed).collect();
                if !allowed.is_empty() {
                    report.push(format!("allowed to lose {}", describe_losses(&allowed)));
                }
                match refused.is_empty() {
                    true => Ok(Rehearsal::Passed { on, report }),
                    false => Ok(Rehearsal::Failed {
                        why: format!(
                            "it would remove rows that no statement deletes by name: {}. {LOSS_ADVICE}",
                            describe_losses(&refused)
                        ),
                        report,
                    }),
                }
            }
            Err(err) if err.downcast_ref::<D1Error>().is_some() => {
                let culprit = rehearsal::locate_failure(wrangler, plan.db, &seed, &batch, true)?;
                Ok(Rehearsal::Failed {
                    why: format!(
                        "on {on}: {}",
                        describe(&culprit, &plan.migrations, direction == Direction::Down)
                    ),
                    report: Vec::new(),
                })
            }
            Err(err) => Err(err),
        }
    });
    let mut failed = Vec::new();
    for ((plan, _), result) in work.iter().zip(results) {
        let binding = &plan.db.binding;
        match result {
            Ok(Rehearsal::Passed { on, report }) => {
                crate::out!("✅ {binding}: rehearsal passed on {on}; nothing was written");
                for line in report {
                    crate::out!("   {line}");
                }
            }
            Ok(Rehearsal::Failed { why, report }) => {
                crate::out!("❌ {binding}: rehearsal failed: {why}");
                for line in report {
                    crate::out!("   {line}");
                }
                failed.push(binding.clone());
            }
            Err(err) => {
                crate::out!("❌ {binding}: could not rehearse: {err:#}");
                failed.push(binding.clone());
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "the plan would fail on {} (nothing was written)",
            failed.join(", ")
        );
    }
    Ok(())
}

/// What happened to one database.
struct Outcome<'a> {
    /// Migrations that now count as done, with their recorded durations.
    done: Vec<(&'a Migration, Option<i64>)>,
    elapsed: Duration,
    error: Option<String>,
    /// The database's state after the last batch, read in that batch.
    state: Option<DbState>,
    /// The guard refused the hinted batch, for this reason: nothing ran.
    retry: Option<String>,
    /// Rows of `PRAGMA foreign_key_check` after the last batch.
    foreign_key_violations: Vec<String>,
    /// The run failed in a way that leaves the database's state unknown.
    uncertain: bool,
}

/// Runs a database's plan: one batch, or one per migration with `--step`. The
/// last batch also releases the lock, checks foreign keys and reads the schema.
fn run_database<'a>(
    wrangler: &Wrangler,
    direction: Direction,
    plan: &DbPlan<'a>,
    step: bool,
    request: &lock::Request,
    held: &Held,
) -> Outcome<'a> {
    let started = Instant::now();
    let groups: Vec<Vec<&'a Migration>> = if step && !plan.migrations.is_empty() {
        plan.migrations.iter().map(|m| vec![*m]).collect()
    } else {
        vec![plan.migrations.clone()]
    };
    let last = groups.len() - 1;
    let mut outcome = Outcome {
        done: Vec::new(),
        elapsed: Duration::ZERO,
        error: None,
        state: None,
        retry: None,
        foreign_key_violations: Vec::new(),
        uncertain: false,
    };
    let mut tracking = plan.state.tracking;
    for (index, group) in groups.iter().enumerate() {
        let versions: Vec<String> = group.iter().map(|m| format!("v{}", m.version)).collect();
        match versions.is_empty() {
            true => tracing::info!(database = %plan.db.binding, "recording in one call"),
            false => {
                tracing::info!(database = %plan.db.binding, "{} {} in one call", direction.verb(), versions.join(", "))
            }
        }
        // What the batch records, to tell afterwards whether it ran.
        let adopted = plan
            .adopt
            .iter()
            .map(|(m, _)| m.version)
            .filter(|_| index == 0);
        let group_versions: Vec<u64> = group.iter().map(|m| m.version).chain(adopted).collect();
        // The last batch reads the state back (durations included): locally
        // in the batch, remotely in one query after it (an import returns no rows).
        let reads: Vec<String> = match index == last {
            true => std::iter::once("PRAGMA foreign_key_check".to_owned())
                .chain(tracking::state_statements(plan.db, Reads::ALL))
                .collect(),
            false => Vec::new(),
        };
        let guard = plan.guard.as_ref().filter(|_| index == 0);
        let result = match plan.batch(direction, tracking, index, group) {
            Err(err) => Err(Failure::RolledBack(err)),
            Ok(mut batch) => {
                if index == last {
                    batch.push_bookkeeping(request.release_statement());
                }
                let sent = match guard {
                    Some(condition) => {
                        tracking::guarded(request.guard_statements(condition), &batch, plan.db)
                    }
                    None => batch.clone(),
                };
                match migrator::run_batch_then_read(wrangler, plan.db, &sent, &reads) {
                    Ok(results) => Ok(results),
                    Err(err) if err.downcast_ref::<D1Error>().is_some_and(D1Error::is_sql) => {
                        // Until something was applied, the schema known at the start is still current.
                        let schema = outcome.done.is_empty().then_some(&plan.state.schema);
                        let guarded = guard.is_some();
                        Err(explain(
                            wrangler, plan, schema, &batch, group, direction, guarded, err,
                        ))
                    }
                    // The run was stopped before this call started: nothing ran.
                    Err(err) if err.chain().any(|c| c.is::<Interrupted>()) => {
                        Err(Failure::RolledBack(err))
                    }
                    Err(err) => Err(settle(wrangler, plan.db, direction, &group_versions, err)),
                }
            }
        };
        let results = match result {
            Ok(results) => results,
            Err(Failure::RolledBack(err)) => {
                outcome.error = Some(format!("{err:#}"));
                break;
            }
            Err(Failure::Committed(err)) => {
                outcome.done.extend(group.iter().map(|m| (*m, None)));
                outcome.error = Some(format!("{err:#}"));
                if index == last {
                    held.released(&plan.db.binding);
                }
                break;
            }
            Err(Failure::Unknown(err)) => {
                outcome.error = Some(format!("{err:#}"));
                outcome.uncertain = true;
                break;
            }
            Err(Failure::Retry(why)) => {
                outcome.retry = Some(why);
                break;
            }
        };
        outcome.done.extend(group.iter().map(|m| (*m, None)));
        if index == last {
            held.released(&plan.db.binding);
            outcome.foreign_key_violations = results
                .first()
                .map(foreign_key_violations)
                .unwrap_or_default();
            outcome.state = results
                .get(1..)
                .and_then(|r| tracking::parse_state(r, Reads::ALL).ok());
            if let Some(state) = &outcome.state {
                hint::store(wrangler, plan.db, state);
            }
        }
        tracking = Tracking::Current;
    }
    // Durations come from the rows the last batch read back.
    for (migration, duration_ms) in &mut outcome.done {
        *duration_ms = outcome
            .state
            .iter()
            .flat_map(|s| &s.applied)
            .find(|a| a.version == migration.version)
            .and_then(|a| a.duration_ms);
        tracing::info!(
            database = %plan.db.binding,
            version = migration.version,
            name = %migration.name,
            duration_ms = *duration_ms,
            "{} migration",
            direction.past()
        );
    }
    outcome.elapsed = started.elapsed();
    outcome
}

/// `PRAGMA foreign_key_check` rows, described.
fn foreign_key_violations(result: &StatementResult) -> Vec<String> {
    result
        .results
        .iter()
        .map(|row| {
            let field = |key: &str| {
                row.get(key)
                    .map(|v| v.to_string().trim_matches('"').to_owned())
                    .unwrap_or_default()
            };
            format!(
                "{} row {} references {}",
                field("table"),
                field("rowid"),
                field("parent")
            )
        })
        .collect()
}

/// What to make of a batch D1 refused. A hinted (`guarded`) batch whose
/// guard refused it is tried again the careful way. Any other failure is
/// traced back to the migration and line that broke it, by replaying the
/// batch on throwaway copies of the database's schema (`None`: read it
/// again, as earlier steps changed it); for a hinted batch that also shows
/// the guard had passed, and when it does not, that batch too is tried again.
#[allow(clippy::too_many_arguments)]
fn explain(
    wrangler: &Wrangler,
    plan: &DbPlan,
    schema: Option<&Schema>,
    batch: &Batch,
    group: &[&Migration],
    direction: Direction,
    guarded: bool,
    err: anyhow::Error,
) -> Failure {
    let db = plan.db;
    let Some(d1) = err.downcast_ref::<D1Error>() else {
        return Failure::RolledBack(err);
    };
    match lock::refusal(&d1.text) {
        Some(lock::Refusal::Changed) if guarded => {
            return Failure::Retry("it changed since this machine last read it".into())
        }
        Some(lock::Refusal::Locked) if guarded => {
            return Failure::Retry("another run holds its migration lock".into())
        }
        _ => {}
    }
    let analysis = plan.analysis(direction, group, batch);
    if let Some(risk) = tables::refused(&d1.text, &analysis.risks) {
        return Failure::RolledBack(row_loss(wrangler, plan, direction, group, batch, risk));
    }
    // Locally the data is at hand (a copy costs milliseconds): replay on it,
    // so that a failure that depends on the data is found too.
    let seed = |schema: &Schema| match wrangler.target {
        Target::Local => Seed::of(wrangler, db, schema, false, None).map(|(seed, _)| seed),
        Target::Remote => Ok(Seed::Schema(schema.clone())),
    };
    tracing::info!(
        database = %db.binding,
        "the batch failed; replaying it on throwaway copies to find the statement that broke it"
    );
    let located = match schema {
        Some(schema) => seed(schema)
            .and_then(|seed| rehearsal::locate_failure(wrangler, db, &seed, batch, false)),
        None => migrator::read_state(wrangler, db)
            .and_then(|state| seed(&state.schema))
            .and_then(|seed| rehearsal::locate_failure(wrangler, db, &seed, batch, false)),
    };
    let unclear = |err: anyhow::Error| match guarded {
        true => Failure::Retry(format!(
            "the batch failed ({}) and replaying it on a copy did not say why",
            d1.text.lines().next().unwrap_or_default()
        )),
        false => Failure::RolledBack(err),
    };
    match located {
        Ok(Culprit::NotReproduced) => {
            let names: Vec<_> = group.iter().map(|m| m.name.as_str()).collect();
            unclear(anyhow::anyhow!(
                "{d1}\n    while running {}; {}",
                names.join(", "),
                describe(&Culprit::NotReproduced, group, false),
            ))
        }
        Ok(culprit @ Culprit::Statement { .. }) => Failure::RolledBack(anyhow::anyhow!(
            "{}",
            describe(&culprit, group, direction == Direction::Down)
        )),
        Ok(culprit) => unclear(anyhow::anyhow!(
            "{}",
            describe(&culprit, group, direction == Direction::Down)
        )),
        Err(locating) => {
            tracing::warn!(database = %db.binding, "could not find the failing statement: {locating:#}");
            unclear(anyhow::anyhow!("{d1}"))
        }
    }
}

/// The error for a batch the row check refused: which rows it would have
/// removed and why; locally, counted on a copy of the data.
fn row_loss(
    wrangler: &Wrangler,
    plan: &DbPlan,
    direction: Direction,
    group: &[&Migration],
    batch: &Batch,
    risk: &Risk,
) -> anyhow::Error {
    let unchecked = Batch {
        statements: batch
            .statements
            .iter()
            .filter(|s| {
                s.origin.is_some()
                    || !(s.sql.contains(tables::COUNTS) || s.sql.contains(tables::CHECK))
            })
            .cloned()
            .collect(),
    };
    let counted = match wrangler.target {
        Target::Local => Seed::of(wrangler, plan.db, &plan.state.schema, false, None)
            .and_then(|(seed, _)| rehearsal::run(wrangler, plan.db, &seed, &unchecked, &[]))
            .ok()
            .and_then(|r| r.counts)
            .map(|counts| losses(plan, direction, group, &unchecked, &counts)),
        Target::Remote => None,
    };
    let lost = match counted.as_deref() {
        Some(found) if !found.is_empty() => describe_losses(&found.iter().collect::<Vec<_>>()),
        _ => {
            let at = batch
                .statements
                .get(risk.statement)
                .and_then(|s| s.origin)
                .map(|(index, line)| format!(" at {}:{line}", direction.path(group[index])))
                .unwrap_or_default();
            format!(
                "the rows of {}, by {}{at}; `--dry-run` counts them on a copy of the data",
                risk.key(),
                risk.why
            )
        }
    };
    anyhow::anyhow!(
        "nothing was {}: the batch would have removed rows that no statement deletes by name ({lost}), \
         so it was refused as a whole. {LOSS_ADVICE}",
        direction.past()
    )
}

/// How a batch failed: undone, done despite the error, or not known; or
/// refused by its guard (or failed) on a hinted state, to be tried again
/// the careful way.
enum Failure {
    RolledBack(anyhow::Error),
    Committed(anyhow::Error),
    Unknown(anyhow::Error),
    Retry(String),
}

/// After wrangler failed without D1 refusing the SQL (killed, timed out, an
/// API error, unreadable output), reads the database again to tell whether
/// the batch committed.
fn settle(
    wrangler: &Wrangler,
    db: &Database,
    direction: Direction,
    versions: &[u64],
    err: anyhow::Error,
) -> Failure {
    tracing::warn!(database = %db.binding, "wrangler failed without saying whether the batch ran: reading the database to find out");
    // Run even when the run is being stopped: what the database holds must be known.
    let state = match migrator::read_state_as(Call::Cleanup, wrangler, db) {
        Ok(state) => state,
        Err(read) => {
            return Failure::Unknown(anyhow::anyhow!(
                "{err:#}; reading {} afterwards failed too ({read:#})",
                db.binding
            ))
        }
    };
    let recorded = versions
        .iter()
        .filter(|v| state.applied.iter().any(|a| a.version == **v))
        .count();
    let all_done = match direction {
        Direction::Up => recorded == versions.len(),
        Direction::Down => recorded == 0,
    };
    if all_done {
        return Failure::Committed(anyhow::anyhow!(
            "{err:#}; but reading {} again showed the batch did run",
            db.binding
        ));
    }
    let caveat = match wrangler.target {
        Target::Remote => " (an import D1 had already accepted could still finish: check `cargo migrate status --remote` before running again)",
        Target::Local => "",
    };
    Failure::RolledBack(anyhow::anyhow!(
        "{err:#}; reading {} again showed the batch did not run{caveat}",
        db.binding
    ))
}

fn report(direction: Direction, plan: &DbPlan, outcome: &Outcome, backup: Option<&Backup>) {
    let binding = &plan.db.binding;
    let done: Vec<String> = outcome
        .done
        .iter()
        .map(|(m, ms)| match ms {
            Some(ms) => format!("v{} {} ({ms} ms)", m.version, m.name),
            None => format!("v{} {}", m.version, m.name),
        })
        .collect();
    let adopted: Vec<String> = plan
        .adopt
        .iter()
        .map(|(m, _)| format!("v{}", m.version))
        .collect();
    match &outcome.error {
        None if done.is_empty() => {
            let what = match adopted.is_empty() {
                true => format!(
                    "wrangler's ledger {} brought up to date",
                    plan.db.wrangler_table
                ),
                false => format!(
                    "recorded {} as applied, as wrangler's ledger has {}",
                    adopted.join(", "),
                    if adopted.len() == 1 { "it" } else { "them" }
                ),
            };
            crate::out!(
                "✅ {binding}: {what}; nothing else to {} ({})",
                direction.verb(),
                human_duration(outcome.elapsed)
            );
        }
        None => {
            crate::out!(
                "✅ {binding}: {} {} migration{} in {}",
                direction.past(),
                done.len(),
                if done.len() == 1 { "" } else { "s" },
                human_duration(outcome.elapsed)
            );
            if !adopted.is_empty() {
                crate::out!(
                    "   first recorded {} as applied, as wrangler's ledger has {} (not run again)",
                    adopted.join(", "),
                    if adopted.len() == 1 { "it" } else { "them" }
                );
            }
            for line in &done {
                crate::out!("   {line}");
            }
        }
        Some(error) => {
            crate::out!("❌ {binding}: {error}");
            let kept = if outcome.uncertain {
                format!("what {binding} holds now is unknown: run `cargo migrate status` before anything else")
            } else if done.is_empty() {
                format!(
                    "nothing was {}: {binding} is exactly as it was before this run",
                    direction.past()
                )
            } else {
                format!(
                    "{} before the failure and kept: {}",
                    direction.past(),
                    done.join(", ")
                )
            };
            crate::out!("   {kept}");
            let rest: Vec<String> = plan
                .migrations
                .iter()
                .filter(|m| !outcome.done.iter().any(|(d, _)| d.version == m.version))
                .map(|m| format!("v{}", m.version))
                .collect();
            crate::out!("   not {}: {}", direction.past(), rest.join(", "));
        }
    }
    if let Some(backup) = backup {
        match &backup.bookmark {
            Some(bookmark) => crate::out!(
                "   backup: {} (Time Travel bookmark {bookmark})",
                backup.path.display()
            ),
            None => crate::out!("   backup: {}", backup.path.display()),
        }
    }
}

//! `migrate up` and `migrate down`: read every database's state, plan, lint,
//! then either rehearse the plan (`--dry-run`) or run it, one all-or-nothing
//! call per database (or per migration with `--step`), databases in parallel.

use std::time::Instant;

use anyhow::{bail, Result};

use crate::config::Database;
use crate::flags::{self, RunOptions};
use crate::migrator::{self, describe, human_duration, Culprit};
use crate::plan;
use crate::project::Project;
use crate::source::Migration;
use crate::sql::{self, Severity};
use crate::tracking::{self, Batch, DbState, Tracking};
use crate::wrangler::Wrangler;

/// Which way a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
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
            let last = project.migrations.last().map_or(0, |m| m.version);
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
    migrations: Vec<&'a Migration>,
}

fn execute(
    project: &Project,
    direction: Direction,
    version: Option<u64>,
    options: &RunOptions,
) -> Result<()> {
    let wrangler = project.wrangler()?;
    let states = migrator::read_states(&wrangler, &project.selected, options.dry_run)?;

    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for (db, state) in project.selected.iter().zip(states) {
        let files = project.files_for(&db.binding);
        let planned = match direction {
            Direction::Up => plan::plan_up(&db.binding, &files, &state.applied, version),
            Direction::Down => {
                plan::plan_down(&db.binding, &files, &state.applied, version.unwrap_or(0))
            }
        };
        match planned {
            Ok(migrations) => plans.push(DbPlan {
                db,
                state,
                migrations,
            }),
            Err(err) => problems.push(format!("{err:#}")),
        }
    }
    problems.extend(lint_errors(direction, &plans));
    if !problems.is_empty() {
        bail!("nothing was {}:\n{}", direction.past(), problems.join("\n"));
    }

    let work: Vec<&DbPlan> = plans.iter().filter(|p| !p.migrations.is_empty()).collect();
    if work.is_empty() {
        for plan in &plans {
            let newest = plan
                .state
                .applied
                .iter()
                .map(|a| a.version)
                .max()
                .unwrap_or(0);
            println!(
                "{}: nothing to {} (at version {newest})",
                plan.db.binding,
                direction.verb()
            );
        }
        return Ok(());
    }

    for plan in &work {
        print_plan(project, direction, plan, options.dry_run);
    }
    if options.dry_run {
        return rehearse_all(&wrangler, direction, &work);
    }

    let outcomes = migrator::in_parallel(&work, |plan| {
        run_database(&wrangler, direction, plan, options.step)
    });
    let mut failed = Vec::new();
    for (plan, outcome) in work.iter().zip(&outcomes) {
        report(direction, plan, outcome);
        if outcome.error.is_some() {
            failed.push(plan.db.binding.clone());
        }
    }
    for plan in plans.iter().filter(|p| p.migrations.is_empty()) {
        println!("{}: nothing to {}", plan.db.binding, direction.verb());
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} database{} failed: {} (see above for what each one now holds)",
            failed.len(),
            work.len(),
            if work.len() == 1 { "" } else { "s" },
            failed.join(", ")
        );
    }
    Ok(())
}

/// Lint errors stop a run before anything is written; warnings are logged.
fn lint_errors(direction: Direction, plans: &[DbPlan]) -> Vec<String> {
    let mut errors = Vec::new();
    for migration in plans.iter().flat_map(|p| &p.migrations) {
        for finding in sql::lint(direction.script(migration)) {
            let at = format!("{}:{}", direction.path(migration), finding.line);
            match finding.severity {
                Severity::Error => errors.push(format!("{at}: {}", finding.message)),
                Severity::Warning => tracing::warn!(file = %at, "{}", finding.message),
            }
        }
    }
    errors
}

fn print_plan(project: &Project, direction: Direction, plan: &DbPlan, dry_run: bool) {
    let count = plan.migrations.len();
    println!(
        "{} ({}, {}): {count} migration{} to {}{}",
        plan.db.binding,
        plan.db.name,
        project.target,
        if count == 1 { "" } else { "s" },
        direction.verb(),
        if dry_run { " (dry run)" } else { "" },
    );
    for migration in &plan.migrations {
        println!("  v{} {}", migration.version, migration.name);
        if dry_run {
            println!("  ---- {} ----", direction.path(migration));
            for line in direction.script(migration).lines() {
                println!("  | {line}");
            }
        }
    }
}

fn batch_for(direction: Direction, tracking: Tracking, migrations: &[&Migration]) -> Result<Batch> {
    match direction {
        Direction::Up => tracking::up_batch(tracking, migrations),
        Direction::Down => tracking::down_batch(migrations),
    }
}

/// Runs each database's whole plan on a throwaway local copy of its schema.
fn rehearse_all(wrangler: &Wrangler, direction: Direction, work: &[&DbPlan]) -> Result<()> {
    let results = migrator::in_parallel(work, |plan| -> Result<Option<String>> {
        let batch = batch_for(direction, plan.state.tracking, &plan.migrations)?;
        match migrator::rehearse(wrangler, plan.db, &plan.state.schema, &batch) {
            Ok(()) => Ok(None),
            Err(err) if err.downcast_ref::<crate::wrangler::D1Error>().is_some() => {
                let culprit =
                    migrator::locate_failure(wrangler, plan.db, &plan.state.schema, &batch, true)?;
                Ok(Some(describe(
                    &culprit,
                    &plan.migrations,
                    direction == Direction::Down,
                )))
            }
            Err(err) => Err(err),
        }
    });
    let mut failed = Vec::new();
    for (plan, result) in work.iter().zip(results) {
        match result {
            Ok(None) => println!(
                "✅ {}: rehearsal passed on a copy of its schema; nothing was written",
                plan.db.binding
            ),
            Ok(Some(why)) => {
                println!("❌ {}: rehearsal failed: {why}", plan.db.binding);
                failed.push(plan.db.binding.clone());
            }
            Err(err) => {
                println!("❌ {}: could not rehearse: {err:#}", plan.db.binding);
                failed.push(plan.db.binding.clone());
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "dry run: the plan would fail on {} (nothing was written)",
            failed.join(", ")
        );
    }
    println!("Dry run: nothing was written.");
    Ok(())
}

/// What happened to one database.
struct Outcome<'a> {
    /// Migrations that now count as done, with their recorded durations.
    done: Vec<(&'a Migration, Option<i64>)>,
    elapsed: std::time::Duration,
    error: Option<String>,
}

fn run_database<'a>(
    wrangler: &Wrangler,
    direction: Direction,
    plan: &DbPlan<'a>,
    step: bool,
) -> Outcome<'a> {
    let started = Instant::now();
    let groups: Vec<Vec<&'a Migration>> = if step {
        plan.migrations.iter().map(|m| vec![*m]).collect()
    } else {
        vec![plan.migrations.clone()]
    };
    let mut done = Vec::new();
    let mut tracking = plan.state.tracking;
    for group in groups {
        let versions: Vec<String> = group.iter().map(|m| format!("v{}", m.version)).collect();
        tracing::info!(database = %plan.db.binding, "{} {} in one call", direction.verb(), versions.join(", "));
        let result = batch_for(direction, tracking, &group).and_then(|batch| {
            migrator::run_batch(wrangler, plan.db, &batch)
                .map(|results| tracking::durations(&results))
                .map_err(|err| {
                    // Until something was applied, the schema read at the start is still current.
                    let schema = done.is_empty().then_some(&plan.state.schema[..]);
                    explain(wrangler, plan.db, schema, &batch, &group, direction, err)
                })
        });
        match result {
            Ok(durations) => {
                for migration in &group {
                    let duration_ms = durations
                        .iter()
                        .find(|(v, _)| *v == migration.version)
                        .and_then(|(_, d)| *d);
                    tracing::info!(
                        database = %plan.db.binding,
                        version = migration.version,
                        name = %migration.name,
                        duration_ms,
                        "{} migration",
                        direction.past()
                    );
                    done.push((*migration, duration_ms));
                }
                tracking = Tracking::Current;
            }
            Err(err) => {
                return Outcome {
                    done,
                    elapsed: started.elapsed(),
                    error: Some(format!("{err:#}")),
                }
            }
        }
    }
    Outcome {
        done,
        elapsed: started.elapsed(),
        error: None,
    }
}

/// Turns a failed batch into an error that names the migration and line, by
/// replaying it on throwaway copies of the database's schema (`None`: read it
/// again, as earlier steps changed it).
fn explain(
    wrangler: &Wrangler,
    db: &Database,
    schema: Option<&[String]>,
    batch: &Batch,
    group: &[&Migration],
    direction: Direction,
    err: anyhow::Error,
) -> anyhow::Error {
    let Some(d1) = err.downcast_ref::<crate::wrangler::D1Error>() else {
        return err;
    };
    tracing::info!(
        database = %db.binding,
        "the batch failed; replaying it on throwaway copies of the schema to find the statement that broke it"
    );
    let located = match schema {
        Some(schema) => migrator::locate_failure(wrangler, db, schema, batch, false),
        None => migrator::read_state(wrangler, db, true)
            .and_then(|state| migrator::locate_failure(wrangler, db, &state.schema, batch, false)),
    };
    match located {
        Ok(Culprit::NotReproduced) => {
            let names: Vec<_> = group.iter().map(|m| m.name.as_str()).collect();
            anyhow::anyhow!(
                "{d1}\n    while running {}; {}",
                names.join(", "),
                describe(&Culprit::NotReproduced, group, false),
            )
        }
        Ok(culprit) => anyhow::anyhow!(
            "{}",
            describe(&culprit, group, direction == Direction::Down)
        ),
        Err(locating) => {
            tracing::warn!(database = %db.binding, "could not find the failing statement: {locating:#}");
            err
        }
    }
}

fn report(direction: Direction, plan: &DbPlan, outcome: &Outcome) {
    let binding = &plan.db.binding;
    let done: Vec<String> = outcome
        .done
        .iter()
        .map(|(m, ms)| match ms {
            Some(ms) => format!("v{} {} ({ms} ms)", m.version, m.name),
            None => format!("v{} {}", m.version, m.name),
        })
        .collect();
    match &outcome.error {
        None => {
            println!(
                "✅ {binding}: {} {} migration{} in {}",
                direction.past(),
                done.len(),
                if done.len() == 1 { "" } else { "s" },
                human_duration(outcome.elapsed)
            );
            for line in &done {
                println!("   {line}");
            }
        }
        Some(error) => {
            println!("❌ {binding}: {error}");
            let kept = if done.is_empty() {
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
            println!("   {kept}");
            let rest: Vec<String> = plan
                .migrations
                .iter()
                .filter(|m| !outcome.done.iter().any(|(d, _)| d.version == m.version))
                .map(|m| format!("v{}", m.version))
                .collect();
            println!("   not {}: {}", direction.past(), rest.join(", "));
        }
    }
}

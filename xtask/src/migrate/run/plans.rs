//! What a run does in each database: its plan, the batches that carry it
//! out, and what those do to the tables they touch.

use anyhow::Result;

use super::{DataLoss, Direction};
use crate::migrate::calls;
use crate::migrate::config::Database;
use crate::migrate::d1::{Target, D1};
use crate::migrate::error::{self, Error, Failure};
use crate::migrate::events::{Event, Step};
use crate::migrate::plan;
use crate::migrate::project::Project;
use crate::migrate::row_loss::{self, Analysis};
use crate::migrate::source::{self, Migration};
use crate::migrate::sql::{self, Severity};
use crate::migrate::tracking::{self, Batch, DbState, LedgerChange, Tracking};

/// One database's part of the run.
pub(super) struct DbPlan<'a> {
    pub(super) db: &'a Database,
    pub(super) state: DbState,
    /// What runs: migrations to apply (oldest first) or roll back (newest first).
    pub(super) migrations: Vec<&'a Migration>,
    /// `up` only: migrations wrangler's ledger records and `_migrations` does
    /// not, recorded (with wrangler's `applied_at`), never run.
    pub(super) adopt: Vec<(&'a Migration, Option<i64>)>,
    /// What wrangler's ledger must hold after the run besides the names of
    /// `migrations`: every other applied migration, and guard rows for the
    /// files it must never run here ([`Project::foreign_sql`]).
    pub(super) ledger_base: LedgerChange,
    /// Set when `state` is what this machine last saw rather than what was
    /// just read: the condition the first batch asserts before it writes.
    pub(super) guard: Option<String>,
    /// Whether the batches check that rows stay.
    pub(super) data_loss: DataLoss,
}

impl<'a> DbPlan<'a> {
    /// True when the run writes to this database: migrations to run, or
    /// bookkeeping (adoptions; names missing from wrangler's ledger).
    pub(super) fn has_work(&self) -> bool {
        !self.migrations.is_empty() || !self.adopt.is_empty() || self.ledger_behind()
    }

    /// True when wrangler's ledger lacks names it must have.
    pub(super) fn ledger_behind(&self) -> bool {
        self.ledger_base.changes(&self.state.ledger)
    }

    /// Only bookkeeping: nothing runs, so no backup is needed.
    pub(super) fn records_only(&self) -> bool {
        self.migrations.is_empty()
    }

    /// What the batch of `group` (the `index`th of the run) does to
    /// wrangler's ledger: in every batch the base names, and the group's own.
    pub(super) fn ledger_change(&self, direction: Direction, group: &[&Migration]) -> LedgerChange {
        let names = group.iter().map(|m| m.file_name.clone());
        let mut change = self.ledger_base.clone();
        match direction {
            Direction::Up => change.present.extend(names),
            Direction::Down => change.absent.extend(names),
        }
        change
    }

    /// The batch for `group`, the `index`th of the run, without the row
    /// check; adoptions ride in the first.
    pub(super) fn unchecked_batch(
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
    /// fell ([`row_loss::guard`]), unless `--allow-data-loss`.
    pub(super) fn batch(
        &self,
        direction: Direction,
        tracking: Tracking,
        index: usize,
        group: &[&'a Migration],
    ) -> Result<Batch> {
        let batch = self.unchecked_batch(direction, tracking, index, group)?;
        let analysis = self.analysis(direction, group, &batch);
        match row_loss::guard(&analysis.risks).filter(|_| self.data_loss == DataLoss::Refuse) {
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
    pub(super) fn analysis(
        &self,
        direction: Direction,
        group: &[&'a Migration],
        batch: &Batch,
    ) -> Analysis {
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
                .filter_map(|s| match row_loss::change(&s.sql) {
                    Some(row_loss::Change::Create { table, .. }) => {
                        Some(table.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect(),
        };
        let mut analysis = row_loss::analyse(&self.state.schema, &statements, allows, &undone);
        for risk in &mut analysis.risks {
            risk.statement -= prior.len().min(risk.statement);
        }
        analysis
    }

    /// The newest version recorded when the state was read (0 for none).
    pub(super) fn newest_applied(&self) -> u64 {
        self.state
            .applied
            .iter()
            .map(|a| a.version)
            .max()
            .unwrap_or(0)
    }

    /// The versions that run, in order.
    pub(super) fn versions(&self) -> Vec<u64> {
        self.migrations.iter().map(|m| m.version).collect()
    }

    /// The event that says what this plan runs.
    pub(super) fn planned(&self, target: Target, direction: Direction, dry_run: bool) -> Event {
        Event::Planned {
            binding: self.db.binding.clone(),
            name: self.db.name.clone(),
            target,
            direction,
            at: self.newest_applied(),
            steps: self
                .migrations
                .iter()
                .map(|m| Step {
                    version: m.version,
                    name: m.name.clone(),
                    path: direction.path(m),
                    sql: direction.script(m).to_owned(),
                    stored: m.stored,
                })
                .collect(),
            adopt: self
                .adopt
                .iter()
                .map(|(m, _)| (m.version, m.name.clone()))
                .collect(),
            ledger_only: self.migrations.is_empty()
                && self.adopt.is_empty()
                && self.ledger_behind(),
            ledger_table: self.db.wrangler_table.clone(),
            dry_run,
        }
    }

    /// The versions recorded once this plan has run.
    pub(super) fn versions_after(&self, direction: Direction) -> Vec<u64> {
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

/// Plans every database; any refusal (or lint error) stops the whole run.
pub(super) fn make_plans<'a>(
    project: &'a Project,
    databases: &[&'a Database],
    direction: Direction,
    version: Option<u64>,
    states: Vec<DbState>,
    warn: bool,
) -> Result<Vec<DbPlan<'a>>> {
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    let mut failures = Vec::new();
    for (db, state) in databases.iter().copied().zip(states) {
        match plan_one(project, direction, db, state, version) {
            Ok(plan) => plans.push(plan),
            Err(err) => {
                failures.extend(error::failures_in(Some(&db.binding), &err));
                problems.push(format!("{err:#}"));
            }
        }
    }
    for problem in lint_errors(project, direction, &plans, warn) {
        failures.push(Failure::PlanRefused {
            binding: None,
            problem: problem.clone(),
        });
        problems.push(problem);
    }
    if !problems.is_empty() {
        return Err(Error::from_failures(
            format!("nothing was {}:\n{}", direction.past(), problems.join("\n")),
            failures,
        ));
    }
    Ok(plans)
}

/// What `direction` does in `db`, given its files and state.
pub(super) fn plan_one<'a>(
    project: &'a Project,
    direction: Direction,
    db: &'a Database,
    state: DbState,
    version: Option<u64>,
) -> Result<DbPlan<'a>> {
    let around = project.surroundings(&db.binding);
    let recorded = state.recorded(&around);
    let files = project.files_recorded(&db.binding, recorded);
    let stale: Vec<String> = plan::stale_guards(recorded)
        .into_iter()
        .map(|guard| {
            tracing::info!(database = %db.binding, "{} no longer names a file that wrangler must not run here: its row in {} goes", guard.name, db.wrangler_table);
            guard.name.clone()
        })
        .collect();
    // A refusal says which applied files changed since, and what it refused.
    let refused = |err: anyhow::Error| {
        let mut failures: Vec<Failure> = plan::status(&files, recorded)
            .into_iter()
            .filter(|entry| entry.state == plan::State::Modified)
            .map(|entry| Failure::ChecksumChanged {
                binding: db.binding.clone(),
                version: entry.version,
            })
            .collect();
        failures.push(Failure::PlanRefused {
            binding: Some(db.binding.clone()),
            problem: format!("{err:#}"),
        });
        Error::from_failures(format!("{err:#}"), failures)
    };
    let (migrations, adopt): (Vec<&'a Migration>, Vec<(&'a Migration, Option<i64>)>) =
        match direction {
            Direction::Up => {
                let up = plan::plan_up(&db.binding, &files, recorded, version).map_err(refused)?;
                let adopt = up
                    .adopt
                    .iter()
                    .map(|(m, row)| (*m, row.applied_at_ms()))
                    .collect();
                (up.run, adopt)
            }
            Direction::Down => {
                let down = plan::plan_down(&db.binding, &files, recorded, version.unwrap_or(0))
                    .map_err(refused)?;
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
    let mut ledger_base = project.ledger_change(&db.binding, &staying);
    ledger_base.absent.extend(stale);
    // Applied migrations this checkout lacks keep their rows.
    ledger_base.present.extend(
        files
            .iter()
            .filter(|m| m.stored && staying.contains(&m.version))
            .map(|m| m.file_name.clone()),
    );
    Ok(DbPlan {
        db,
        state,
        migrations,
        adopt,
        ledger_base,
        guard: None,
        data_loss: DataLoss::Refuse,
    })
}

/// Reads a database the hints said has nothing to do: true when it indeed has not.
pub(super) fn still_idle(
    project: &Project,
    d1: &dyn D1,
    direction: Direction,
    version: Option<u64>,
    plan: &DbPlan,
) -> Result<bool> {
    let state = calls::read_state(d1, plan.db)?;
    let planned = plan_one(project, direction, plan.db, state, version);
    Ok(planned.is_ok_and(|p| !p.has_work()))
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
                    direction.path(migration).display(),
                    finding.line,
                    finding.message
                )),
                Severity::Warning => {
                    warnings.push(format!("line {}: {}", finding.line, finding.message))
                }
            }
        }
        if warn && !warnings.is_empty() {
            tracing::warn!(file = %direction.path(migration).display(), "{}", warnings.join("; "));
        }
    }
    errors
}

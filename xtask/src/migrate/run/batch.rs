//! One database's run: its batches (one, or one per migration), and what a
//! failed batch means: rolled back (with the statement that broke it, found
//! by a replay), committed despite the error, or unknown until read again.

use std::time::{Duration, Instant};

use super::acquire::Held;
use super::plans::DbPlan;
use super::row_loss_count::row_loss;
use super::Direction;
use crate::interrupt::Interrupted;
use crate::migrate::calls;
use crate::migrate::config::Database;
use crate::migrate::d1::{Call, D1Error, StatementResult, Target, Transient, D1};
use crate::migrate::events::{BackupRef, Event, FailedAt, Holds, Observer, Ran};
use crate::migrate::last_seen;
use crate::migrate::lock;
use crate::migrate::row_loss;
use crate::migrate::schema::Schema;
use crate::migrate::source::Migration;
use crate::migrate::throwaway_copy::{self, describe, Culprit, Seed};
use crate::migrate::tracking::{self, Batch, DbState, Reads, Tracking};

/// What happened to one database.
pub(super) struct Outcome<'a> {
    /// Migrations that now count as done, with their recorded durations.
    pub(super) done: Vec<(&'a Migration, Option<i64>)>,
    pub(super) elapsed: Duration,
    pub(super) error: Option<String>,
    /// The database's state after the last batch, read in that batch.
    pub(super) state: Option<DbState>,
    /// The guard refused the hinted batch, for this reason: nothing ran.
    pub(super) retry: Option<String>,
    /// Rows of `PRAGMA foreign_key_check` after the last batch.
    pub(super) foreign_key_violations: Vec<String>,
    /// The run failed in a way that leaves the database's state unknown.
    pub(super) uncertain: bool,
    /// Where the batch broke, when a replay found it.
    pub(super) at: Option<FailedAt>,
}

/// Runs a database's plan: one batch, or one per migration with `--step`. The
/// last batch also releases the lock, checks foreign keys and reads the schema.
pub(super) fn run_database<'a>(
    d1: &dyn D1,
    direction: Direction,
    plan: &DbPlan<'a>,
    step: bool,
    request: &lock::Request,
    held: &Held,
    observer: &dyn Observer,
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
        at: None,
    };
    let mut tracking = plan.state.tracking;
    for (index, group) in groups.iter().enumerate() {
        observer.event(&Event::BatchSent {
            binding: plan.db.binding.clone(),
            direction,
            versions: group.iter().map(|m| m.version).collect(),
        });
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
                match calls::run_batch_then_read(d1, plan.db, &sent, &reads) {
                    Ok(results) => {
                        // A guarded batch took the lock for itself, in the call.
                        if guard.is_some() {
                            observer.event(&Event::LockTaken {
                                binding: plan.db.binding.clone(),
                                took_over: None,
                            });
                        }
                        Ok(results)
                    }
                    Err(err) if err.downcast_ref::<D1Error>().is_some_and(D1Error::is_sql) => {
                        // Until something was applied, the schema known at the start is still current.
                        let schema = outcome.done.is_empty().then_some(&plan.state.schema);
                        let guarded = guard.is_some();
                        Err(explain(
                            d1, plan, schema, &batch, group, direction, guarded, err,
                        ))
                    }
                    // The run was stopped before this call started: nothing ran.
                    Err(err) if err.chain().any(|c| c.is::<Interrupted>()) => {
                        Err(Failure::RolledBack(err))
                    }
                    Err(err) => Err(settle(d1, plan.db, direction, &group_versions, err)),
                }
            }
        };
        let results = match result {
            Ok(results) => results,
            Err(Failure::RolledBack(err)) => {
                outcome.error = Some(format!("{err:#}"));
                break;
            }
            Err(Failure::Broke(at, err)) => {
                outcome.error = Some(format!("{err:#}"));
                outcome.at = Some(at);
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
                last_seen::store(d1, plan.db, state);
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
        observer.event(&Event::MigrationApplied {
            binding: plan.db.binding.clone(),
            direction,
            migration: Ran {
                version: migration.version,
                name: migration.name.clone(),
                duration_ms: *duration_ms,
            },
        });
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
    d1: &dyn D1,
    plan: &DbPlan,
    schema: Option<&Schema>,
    batch: &Batch,
    group: &[&Migration],
    direction: Direction,
    guarded: bool,
    err: anyhow::Error,
) -> Failure {
    let db = plan.db;
    let Some(refused) = err.downcast_ref::<D1Error>() else {
        return Failure::RolledBack(err);
    };
    match lock::refusal(&refused.text) {
        Some(lock::Refusal::Changed) if guarded => {
            return Failure::Retry("it changed since this machine last read it".into())
        }
        Some(lock::Refusal::Locked) if guarded => {
            return Failure::Retry("another run holds its migration lock".into())
        }
        _ => {}
    }
    let analysis = plan.analysis(direction, group, batch);
    if let Some(risk) = row_loss::refused(&refused.text, &analysis.risks) {
        return Failure::RolledBack(row_loss(d1, plan, direction, group, batch, risk));
    }
    // Locally the data is at hand (a copy costs milliseconds): replay on it,
    // so that a failure that depends on the data is found too.
    let seed = |schema: &Schema| match d1.target() {
        Target::Local => Seed::local(d1, db, schema).map(|(seed, _)| seed),
        Target::Remote => Ok(Seed::Schema(schema.clone())),
    };
    tracing::info!(
        database = %db.binding,
        "the batch failed; replaying it on throwaway copies to find the statement that broke it"
    );
    let located = match schema {
        Some(schema) => seed(schema)
            .and_then(|seed| throwaway_copy::locate_failure(d1, db, &seed, batch, false)),
        None => calls::read_state(d1, db)
            .and_then(|state| seed(&state.schema))
            .and_then(|seed| throwaway_copy::locate_failure(d1, db, &seed, batch, false)),
    };
    let unclear = |err: anyhow::Error| match guarded {
        true => Failure::Retry(format!(
            "the batch failed ({}) and replaying it on a copy did not say why",
            refused.text.lines().next().unwrap_or_default()
        )),
        false => Failure::RolledBack(err),
    };
    match located {
        Ok(Culprit::NotReproduced) => {
            let names: Vec<_> = group.iter().map(|m| m.name.as_str()).collect();
            unclear(anyhow::anyhow!(
                "{refused}\n    while running {}; {}",
                names.join(", "),
                describe(&Culprit::NotReproduced, group, direction),
            ))
        }
        Ok(culprit @ Culprit::Statement { .. }) => {
            let error = anyhow::anyhow!("{}", describe(&culprit, group, direction));
            match culprit {
                Culprit::Statement {
                    index,
                    line,
                    sql,
                    error: said,
                } => Failure::Broke(
                    FailedAt {
                        version: group[index].version,
                        name: group[index].name.clone(),
                        path: direction.path(group[index]),
                        line,
                        statement: sql,
                        error: said,
                    },
                    error,
                ),
                _ => Failure::RolledBack(error),
            }
        }
        Ok(culprit) => unclear(anyhow::anyhow!("{}", describe(&culprit, group, direction))),
        Err(locating) => {
            tracing::warn!(database = %db.binding, "could not find the failing statement: {locating:#}");
            unclear(anyhow::anyhow!("{refused}"))
        }
    }
}

/// How a batch failed: undone, done despite the error, or not known; or
/// refused by its guard (or failed) on a hinted state, to be tried again
/// the careful way.
enum Failure {
    RolledBack(anyhow::Error),
    /// Rolled back, and a replay found the statement that broke it.
    Broke(FailedAt, anyhow::Error),
    Committed(anyhow::Error),
    Unknown(anyhow::Error),
    Retry(String),
}

/// After wrangler failed without D1 refusing the SQL (killed, timed out, an
/// API error, unreadable output), reads the database again to tell whether
/// the batch committed.
fn settle(
    d1: &dyn D1,
    db: &Database,
    direction: Direction,
    versions: &[u64],
    err: anyhow::Error,
) -> Failure {
    tracing::warn!(database = %db.binding, "wrangler failed without saying whether the batch ran: reading the database to find out");
    // Run even when the run is being stopped: what the database holds must be known.
    let state = match calls::read_state_as(Call::Cleanup, d1, db) {
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
    // A passing failure (no answer, an overloaded D1) of a batch that did
    // not run: the database is read and planned again, and the batch sent
    // once more. Should a lost import still finish, the batch sent again is
    // refused as a whole by the ledger's keys: nothing runs twice.
    if let Some(transient) = err.chain().find_map(|c| c.downcast_ref::<Transient>()) {
        return Failure::Retry(format!(
            "the call failed ({transient}) and reading {} again showed the batch did not run",
            db.binding
        ));
    }
    let caveat = match d1.target() {
        Target::Remote => " (an import D1 had already accepted could still finish: check `cargo migrate status --remote` before running again)",
        Target::Local => "",
    };
    Failure::RolledBack(anyhow::anyhow!(
        "{err:#}; reading {} again showed the batch did not run{caveat}",
        db.binding
    ))
}

impl Outcome<'_> {
    /// The event that reports this outcome.
    pub(super) fn event(
        &self,
        direction: Direction,
        plan: &DbPlan,
        backup: Option<BackupRef>,
    ) -> Event {
        let binding = plan.db.binding.clone();
        let done: Vec<Ran> = self
            .done
            .iter()
            .map(|(m, ms)| Ran {
                version: m.version,
                name: m.name.clone(),
                duration_ms: *ms,
            })
            .collect();
        // What the database now has: read back by the last batch, or worked
        // out from what ran when that read did not happen.
        let before = plan.newest_applied();
        let worked_out = match direction {
            Direction::Up => done.iter().map(|r| r.version).chain([before]).max(),
            Direction::Down => plan
                .state
                .applied
                .iter()
                .map(|a| a.version)
                .filter(|v| !done.iter().any(|r| r.version == *v))
                .max()
                .or(Some(0)),
        };
        let now = match &self.state {
            Some(state) => state.applied.iter().map(|a| a.version).max().or(Some(0)),
            None if self.uncertain => None,
            None => worked_out,
        };
        let Some(error) = &self.error else {
            return Event::Succeeded {
                binding,
                direction,
                now: now.unwrap_or(before),
                done,
                adopted: plan.adopt.iter().map(|(m, _)| m.version).collect(),
                ledger_table: plan.db.wrangler_table.clone(),
                elapsed: self.elapsed,
                backup,
            };
        };
        let holds = match (self.uncertain, done.is_empty()) {
            (true, _) => Holds::Unknown,
            (false, true) => Holds::Untouched,
            (false, false) => Holds::Kept(done.iter().map(|r| r.version).collect()),
        };
        Event::Failed {
            binding,
            direction,
            now,
            error: error.clone(),
            at: self.at.clone(),
            holds,
            not_done: plan
                .migrations
                .iter()
                .filter(|m| !self.done.iter().any(|(d, _)| d.version == m.version))
                .map(|m| m.version)
                .collect(),
            done,
            backup,
        }
    }
}

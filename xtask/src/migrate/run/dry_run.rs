//! Dry runs: each database's whole plan on a throwaway copy (of its data
//! when it can without blocking it: see [`seed_for`]), with its rows counted
//! before and after.

use std::time::SystemTime;

use anyhow::{bail, Result};

use super::plans::DbPlan;
use super::row_loss_count::{describe_losses, losses, Loss, LOSS_ADVICE};
use super::{Direction, Seeding};
use crate::migrate::backup::{Backup, Backups};
use crate::migrate::calls;
use crate::migrate::d1::{D1Error, Target, D1};
use crate::migrate::events::{Event, Observer, Rehearsed};
use crate::migrate::throwaway_copy::{self, describe, Seed};
use crate::text::{human_age, utc_minute};

/// Runs each database's whole plan on a throwaway copy (of its data when it
/// can: see [`seed_for`]), counting rows before and after.
pub(super) fn rehearse_all(
    d1: &dyn D1,
    direction: Direction,
    work: &[(&DbPlan, Option<&Backup>)],
    seeding: Seeding,
    backups: &Backups,
    observer: &dyn Observer,
) -> Result<()> {
    let results = calls::in_parallel(work, |(plan, backup)| -> Result<Rehearsed> {
        let (seed, on) = seed_for(d1, plan, seeding, *backup, backups)?;
        // Unchecked: the counts say what the row check would refuse, and how much.
        let batch = plan.unchecked_batch(direction, plan.state.tracking, 0, &plan.migrations)?;
        let analysis = plan.analysis(direction, &plan.migrations, &batch);
        let columns: Vec<(String, String)> = analysis
            .risks
            .iter()
            .filter_map(|r| Some((r.table.clone(), r.column.clone()?)))
            .collect();
        match throwaway_copy::run(d1, plan.db, &seed, &batch, &columns) {
            Ok(rehearsed) => {
                let Some(counts) = rehearsed.counts else {
                    let report = analysis
                        .risks
                        .iter()
                        .map(|r| format!("would lose the rows of {} it has, if any ({}): rehearsed without data, so not counted", r.key(), r.why))
                        .collect();
                    return Ok(Rehearsed::Passed { on, report });
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
                    true => Ok(Rehearsed::Passed { on, report }),
                    false => Ok(Rehearsed::Failed {
                        why: format!(
                            "on {on}: it would remove rows that no statement deletes by name: {}. {LOSS_ADVICE}",
                            describe_losses(&refused)
                        ),
                        report,
                    }),
                }
            }
            Err(err) if err.downcast_ref::<D1Error>().is_some() => {
                let culprit = throwaway_copy::locate_failure(d1, plan.db, &seed, &batch, true)?;
                Ok(Rehearsed::Failed {
                    why: format!(
                        "on {on}: {}",
                        describe(&culprit, &plan.migrations, direction)
                    ),
                    report: Vec::new(),
                })
            }
            Err(err) => Err(err),
        }
    });
    let mut failed = Vec::new();
    for ((plan, _), result) in work.iter().zip(results) {
        let rehearsed = result.unwrap_or_else(|err| Rehearsed::NotRun {
            error: format!("{err:#}"),
        });
        if !matches!(rehearsed, Rehearsed::Passed { .. }) {
            failed.push(plan.db.binding.clone());
        }
        observer.event(&Event::Rehearsal {
            binding: plan.db.binding.clone(),
            rehearsed,
        });
    }
    if !failed.is_empty() {
        bail!(
            "the plan would fail on {} (nothing was written)",
            failed.join(", ")
        );
    }
    Ok(())
}

/// What a database's rehearsal starts from, and a description of it for the
/// report. Nothing here blocks a remote database unless `seeding` asks for
/// a fresh export: remotely the data is the export this run just took
/// (`backup`), else the newest export in the backup folder taken at the
/// version the database is at now, else the schema alone.
fn seed_for(
    d1: &dyn D1,
    plan: &DbPlan,
    seeding: Seeding,
    backup: Option<&Backup>,
    backups: &Backups,
) -> Result<(Seed, String)> {
    let (db, schema) = (plan.db, &plan.state.schema);
    if seeding == Seeding::SchemaOnly {
        return Ok(Seed::schema(schema, "its schema alone (--schema-only)"));
    }
    if d1.target() == Target::Local {
        return Seed::local(d1, db, schema);
    }
    if plan.records_only() {
        // Nothing runs but bookkeeping: no data is worth blocking it for.
        return Ok(Seed::schema(
            schema,
            "its schema alone: only its ledgers change",
        ));
    }
    if let Some(taken) = backup.filter(|b| b.path.extension().is_some_and(|e| e == "sql")) {
        let (seed, rows) = Seed::export(&taken.path)?;
        return Ok((seed, format!("the export this run just took ({rows} rows)")));
    }
    if seeding == Seeding::FreshExport {
        return Seed::fresh_export(d1, db, schema);
    }
    let binding = &db.binding;
    let version = plan.newest_applied();
    let exports = backups.exports(db);
    let taken_at = |at: &str| humantime::parse_rfc3339(at).ok();
    let current = exports
        .iter()
        .rev()
        .find(|(_, m)| m.version == version)
        .and_then(|(path, m)| Some((path, taken_at(&m.taken_at)?)));
    if let Some((path, at)) = current {
        let (seed, rows) = Seed::export(path)?;
        let age = SystemTime::now().duration_since(at).unwrap_or_default();
        return Ok((
            seed,
            format!(
                "{binding}'s export of {} ({} old; {rows} rows)",
                utc_minute(at),
                human_age(age)
            ),
        ));
    }
    let fresh = format!("`--with-data` exports it first, which blocks {binding} while it runs");
    let why = match exports.last() {
        Some((_, newest)) => format!(
            "its schema alone: {binding}'s newest export in {} (of {}) is at v{}, and {binding} is at v{version} now ({fresh})",
            backups.dir.display(),
            taken_at(&newest.taken_at).map_or(newest.taken_at.clone(), utc_minute),
            newest.version,
        ),
        None => format!(
            "its schema alone: {} has no export of {binding} ({fresh})",
            backups.dir.display()
        ),
    };
    Ok(Seed::schema(schema, why))
}

//! Dry runs: each database's whole plan on a throwaway copy (of its data
//! when it can), with its rows counted before and after.

use anyhow::{bail, Result};

use super::losses::{describe_losses, losses, Loss, LOSS_ADVICE};
use super::plans::DbPlan;
use super::{Direction, Seeding};
use crate::migrate::backup::Backup;
use crate::migrate::calls;
use crate::migrate::d1::{D1Error, D1};
use crate::migrate::events::{Event, Observer, Rehearsed};
use crate::migrate::rehearsal::{self, describe, Seed};

/// Runs each database's whole plan on a throwaway copy (of its data when it
/// can: see [`Seed::of`]), counting rows before and after.
pub(super) fn rehearse_all(
    d1: &dyn D1,
    direction: Direction,
    work: &[(&DbPlan, Option<&Backup>)],
    seeding: Seeding,
    observer: &dyn Observer,
) -> Result<()> {
    let schema_only = seeding == Seeding::SchemaOnly;
    let results = calls::in_parallel(work, |(plan, backup)| -> Result<Rehearsed> {
        let (seed, on) = Seed::of(d1, plan.db, &plan.state.schema, schema_only, *backup)?;
        // Unchecked: the counts say what the row check would refuse, and how much.
        let batch = plan.unchecked_batch(direction, plan.state.tracking, 0, &plan.migrations)?;
        let analysis = plan.analysis(direction, &plan.migrations, &batch);
        let columns: Vec<(String, String)> = analysis
            .risks
            .iter()
            .filter_map(|r| Some((r.table.clone(), r.column.clone()?)))
            .collect();
        match rehearsal::run(d1, plan.db, &seed, &batch, &columns) {
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
                            "it would remove rows that no statement deletes by name: {}. {LOSS_ADVICE}",
                            describe_losses(&refused)
                        ),
                        report,
                    }),
                }
            }
            Err(err) if err.downcast_ref::<D1Error>().is_some() => {
                let culprit = rehearsal::locate_failure(d1, plan.db, &seed, &batch, true)?;
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

//! Rows a batch removes without deleting them by name: counted on a copy,
//! described for a person, with what to do instead.

use super::plans::DbPlan;
use super::{DataLoss, Direction};
use crate::migrate::d1::{Target, D1};
use crate::migrate::row_loss::{self, Risk};
use crate::migrate::source::Migration;
use crate::migrate::throwaway_copy::{self, Seed};
use crate::migrate::tracking::Batch;

/// Rows a rehearsal saw go that no statement deleted by name.
pub(super) struct Loss {
    /// The table (or `table.column`, values set to NULL or a default).
    pub(super) what: String,
    pub(super) before: u64,
    pub(super) after: u64,
    /// Why, with where: from the static analysis when it saw it coming.
    pub(super) why: Option<String>,
    /// Its migration says `-- allow-data-loss`, or the run `--allow-data-loss`.
    pub(super) allowed: bool,
}

/// The losses between two counts of a rehearsal of `batch`.
pub(super) fn losses(
    plan: &DbPlan,
    direction: Direction,
    group: &[&Migration],
    batch: &Batch,
    (before, after): &(throwaway_copy::Counts, throwaway_copy::Counts),
) -> Vec<Loss> {
    let analysis = plan.analysis(direction, group, batch);
    // Every statement allowed: the risks that remain are the disallowed ones.
    let statements: Vec<&str> = batch.statements.iter().map(|s| s.sql.as_str()).collect();
    let all = row_loss::analyse(&plan.state.schema, &statements, |_| false, &[]);
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
                .map(|(index, line)| {
                    format!(" at {}:{line}", direction.path(group[index]).display())
                })
                .unwrap_or_default();
            format!("{}{at}", r.why)
        });
        let allowed = plan.data_loss == DataLoss::Allow
            || (seen.is_some() && risk_of(&analysis.risks).is_none());
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
pub(super) const LOSS_ADVICE: &str = "D1 enforces foreign keys inside its transaction (PRAGMA foreign_keys = OFF is ignored), \
     so dropping or rebuilding a parent table deletes (ON DELETE CASCADE) or resets (SET NULL) its children's rows: \
     in the same migration, rebuild the child tables too, or copy their rows aside (CREATE TABLE x_copy AS SELECT …) \
     and back after the parent is rebuilt. If the rows are meant to go, delete them by name (DELETE FROM …), \
     or say so with a `-- allow-data-loss: why` line at the top of the file, or `--allow-data-loss`";

pub(super) fn describe_losses(losses: &[&Loss]) -> String {
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

/// The error for a batch the row check refused: which rows it would have
/// removed and why; locally, counted on a copy of the data.
pub(super) fn row_loss(
    d1: &dyn D1,
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
                    || !(s.sql.contains(row_loss::COUNTS) || s.sql.contains(row_loss::CHECK))
            })
            .cloned()
            .collect(),
    };
    let counted = match d1.target() {
        Target::Local => Seed::local(d1, plan.db, &plan.state.schema)
            .and_then(|(seed, _)| throwaway_copy::run(d1, plan.db, &seed, &unchecked, &[]))
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
                .map(|(index, line)| {
                    format!(" at {}:{line}", direction.path(group[index]).display())
                })
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

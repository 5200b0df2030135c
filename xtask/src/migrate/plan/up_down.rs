//! What `up [VERSION]` and `down VERSION` run in one database, once the
//! record and the files agree.

use anyhow::{bail, Result};

use super::disagreements::verify;
use super::entries::status;
use super::{Recorded, State, UpPlan};
use crate::migrate::source::Migration;

/// What `up [VERSION]` does in one database: see [`UpPlan`].
pub fn plan_up<'a>(
    binding: &str,
    files: &[&'a Migration],
    recorded: Recorded<'_>,
    target: Option<u64>,
) -> Result<UpPlan<'a>> {
    let entries = status(files, recorded);
    verify(binding, &entries, files, recorded)?;
    let mut plan = UpPlan::default();
    for (file, entry) in files.iter().copied().filter_map(|file| {
        let entry = entries.iter().find(|e| e.version == file.version)?;
        Some((file, entry))
    }) {
        match (entry.state, entry.adopted) {
            (State::Applied, Some(row)) => plan.adopt.push((file, row.clone())),
            (State::Pending, _) if target.is_none_or(|t| entry.version <= t) => plan.run.push(file),
            _ => {}
        }
    }
    Ok(plan)
}

/// What `down VERSION` runs in one database: every applied migration above
/// `target`, newest first. Each needs a rollback file.
pub fn plan_down<'a>(
    binding: &str,
    files: &[&'a Migration],
    recorded: Recorded<'_>,
    target: u64,
) -> Result<Vec<&'a Migration>> {
    let entries = status(files, recorded);
    verify(binding, &entries, files, recorded)?;
    let plan: Vec<&'a Migration> = files
        .iter()
        .rev()
        .copied()
        .filter(|file| {
            file.version > target
                && entries
                    .iter()
                    .any(|e| e.version == file.version && e.state == State::Applied)
        })
        .collect();
    let without: Vec<String> = plan
        .iter()
        .filter(|m| m.rollback.is_none())
        .map(|m| m.rollback_name())
        .collect();
    if !without.is_empty() {
        bail!(
            "cannot roll back {binding} to version {target}: missing rollback file{} {} \
             (nothing was rolled back; write {} first)",
            if without.len() == 1 { "" } else { "s" },
            without.join(", "),
            if without.len() == 1 { "it" } else { "them" },
        );
    }
    Ok(plan)
}

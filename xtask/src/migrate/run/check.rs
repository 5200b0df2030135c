//! The schema after a run: what the migrations should leave (a committed
//! snapshot, or a replay), checked against what the database holds.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::batch::Outcome;
use super::plans::DbPlan;
use super::Direction;
use crate::migrate::config::Database;
use crate::migrate::d1::{Target, D1};
use crate::migrate::project::Project;
use crate::migrate::schema::{self, Schema};
use crate::migrate::seen_schemas;
use crate::migrate::source::Migration;

/// The schema the migrations should leave in `plan`'s database, found as
/// cheaply as possible:
/// - the committed snapshot, when it was written for exactly those versions;
/// - for `up`, nothing to compare when the schema before the run was already
///   what its applied migrations make (no migrations yet, or the snapshot of
///   them matches): applying the plan to it gives what the migrations make;
/// - what these very migrations were seen to make on this machine
///   ([`seen_schemas`]), when `live` (the schema the run left) is that;
/// - otherwise a replay of the migrations on a throwaway local database.
pub(super) fn expected_after(
    project: &Project,
    d1: &dyn D1,
    direction: Direction,
    plan: &DbPlan,
    live: Option<&Schema>,
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
    let migrations = migrations_after(project, direction, plan);
    if let (Some(seen), Some(live)) = (seen_schemas::load(d1, plan.db, &migrations), live) {
        if schema::same_text(&seen, &live.normalized(&plan.db.tracking_tables())) {
            return Ok(Expected::Seen);
        }
    }
    crate::migrate::throwaway_copy::expected_schema(d1, plan.db, &migrations)
        .map(Expected::Replayed)
}

/// The migrations of `plan`'s database that make its schema after the run:
/// its files of the versions it then holds.
fn migrations_after<'p>(
    project: &'p Project,
    direction: Direction,
    plan: &DbPlan,
) -> Vec<&'p Migration> {
    let after = plan.versions_after(direction);
    project
        .files_for(&plan.db.binding)
        .into_iter()
        .filter(|m| after.contains(&m.version))
        .collect()
}

/// What the schema should be after the run.
pub(super) enum Expected {
    /// The normalized text of a committed snapshot.
    Snapshot(String),
    /// The schema before the run was checked clean, so the run's result is
    /// by construction what the migrations make.
    FollowsFromBefore,
    /// The schema the run left is what these migrations were seen to make.
    Seen,
    Replayed(Schema),
}

/// Checks the schema a successful run left against what its migrations
/// produce, reports foreign-key violations, and (locally) writes the
/// snapshot: returns its path when it wrote one.
pub(super) fn validate(
    project: &Project,
    d1: &dyn D1,
    direction: Direction,
    plan: &DbPlan,
    outcome: &Outcome<'_>,
    expected: &Result<Expected>,
) -> Result<Option<PathBuf>> {
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
        Expected::FollowsFromBefore | Expected::Seen => Vec::new(),
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
    if !matches!(expected, Expected::Seen) {
        let migrations = migrations_after(project, direction, plan);
        seen_schemas::store(d1, plan.db, &migrations, &live.normalized(&tracking));
    }
    if project.target == Target::Remote {
        return Ok(None);
    }
    let written = match expected {
        Expected::Replayed(schema) => schema,
        Expected::FollowsFromBefore | Expected::Seen => live,
        Expected::Snapshot(_) => return Ok(None),
    };
    write_snapshot(project, plan.db, &plan.versions_after(direction), written).map(Some)
}

fn write_snapshot(
    project: &Project,
    db: &Database,
    versions: &[u64],
    schema: &Schema,
) -> Result<PathBuf> {
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
    Ok(path)
}

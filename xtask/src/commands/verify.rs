//! `migrate verify`: does each database still hold what its applied migrations made?

use anyhow::{bail, Result};

use crate::flags;
use crate::migrator;
use crate::plan::{self, State};
use crate::project::Project;
use crate::schema::Schema;
use crate::source::Migration;

impl flags::Verify {
    pub fn run(self, project: &Project) -> Result<()> {
        let wrangler = project.wrangler()?;
        let results = migrator::in_parallel(&project.selected, |db| -> Result<String> {
            let state = migrator::read_state(&wrangler, db)?;
            let files = project.files_for(&db.binding);
            let foreign = project.foreign_sql(&db.binding);
            let recorded = state.recorded(&foreign);
            let mut problems = Vec::new();
            let mut applied: Vec<&Migration> = Vec::new();
            for entry in plan::status(&files, recorded) {
                match (entry.state, entry.file) {
                    (State::Applied, Some(file)) => applied.push(file),
                    (State::Modified, file) => {
                        problems.push(format!(
                            "migration {} ({}) was applied but its file has changed since",
                            entry.version, entry.name
                        ));
                        // Replayed as it is now, so the diff shows what the edit changed.
                        applied.extend(file);
                    }
                    (State::Missing, _) => problems.push(format!(
                        "migration {} ({}) is recorded as applied but its file is gone",
                        entry.version, entry.name
                    )),
                    _ => {}
                }
            }
            match migrator::expected_schema(&wrangler, db, &applied) {
                Ok(expected) => problems.extend(Schema::diff(
                    &expected,
                    &state.schema,
                    &db.tracking_tables(),
                )),
                Err(err) if !problems.is_empty() => problems.push(format!(
                    "(the applied migrations, as their files are now, do not replay: {err:#})"
                )),
                Err(err) => return Err(err),
            }
            match problems.is_empty() {
                true => Ok(format!(
                    "✅ {}: the schema is what its applied migrations produce",
                    db.binding
                )),
                false => bail!(
                    "the database does not match its migrations:\n  {}",
                    problems.join("\n  ")
                ),
            }
        });
        migrator::report_each(&project.selected, results, |failed| {
            format!("{failed} drifted from the migrations (see above); fix the database by hand or with a new migration")
        })
    }
}

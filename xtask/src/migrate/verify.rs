//! Does each database still hold what its applied migrations made, and
//! when not, did the database change or the files? (`migrate verify`, the
//! web UI's schema page, and the checks after a run.)

use anyhow::Result;
use serde::Serialize;

use crate::migrate::calls;
use crate::migrate::config::Database;
use crate::migrate::d1::D1;
use crate::migrate::error::{Error, Failure};
use crate::migrate::file_history as history;
use crate::migrate::plan::{self, State};
use crate::migrate::project::Project;
use crate::migrate::schema::Schema;
use crate::migrate::source::Migration;

/// What verifying one database found.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub binding: String,
    /// What does not match, each with what to do (empty: all is well).
    pub problems: Vec<String>,
}

impl Verdict {
    /// True when the schema is what the applied migrations produce.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// The line `verify` prints for a clean database, or its problems as
    /// an error ([`Failure::SchemaDrift`]).
    pub fn into_result(self) -> Result<String> {
        let message = match self.problems.len() {
            0 => {
                return Ok(format!(
                    "✅ {}: the schema is what its applied migrations produce",
                    self.binding
                ))
            }
            1 => self.problems[0].clone(),
            n => format!("{n} problems:\n  - {}", self.problems.join("\n  - ")),
        };
        Err(Error::from_failures(
            message,
            vec![Failure::SchemaDrift {
                binding: self.binding,
                problems: self.problems,
            }],
        ))
    }
}

/// Verifies every selected database, in parallel, in their order.
pub fn verify_all(project: &Project, d1: &dyn D1) -> Vec<Result<Verdict>> {
    calls::in_parallel(&project.selected, |db| verify(project, d1, db))
}

/// One applied migration whose file changed since, with what it was.
struct Edited<'a> {
    file: &'a Migration,
    /// Its text when it was applied, as its database stored it or git has it.
    then: Option<String>,
}

/// Verifies one database: one state read, one read of what it stored of the
/// migrations this checkout lacks or changed, and a replay in memory.
pub fn verify(project: &Project, d1: &dyn D1, db: &Database) -> Result<Verdict> {
    let state = calls::read_state(d1, db)?;
    let mut files = project.files_for(&db.binding);
    let around = project.surroundings(&db.binding);
    let recorded = state.recorded(&around);
    let mut stored = plan::stored_migrations(&db.binding, &files, recorded);
    let entries = plan::status(&files, recorded);
    // What the database stored of the migrations this checkout lacks and of
    // those whose files changed since: one read.
    let wanted: Vec<u64> = stored
        .iter()
        .map(|m| m.version)
        .chain(
            entries
                .iter()
                .filter(|e| e.state == State::Modified && e.applied.is_some_and(|a| a.has_sql))
                .map(|e| e.version),
        )
        .collect();
    let kept = calls::stored_sql(d1, db, &wanted)?;
    let kept_sql = |version: u64| {
        kept.iter()
            .find(|(v, _)| *v == version)
            .map(|(_, sql)| sql.clone())
    };
    for migration in &mut stored {
        migration.sql = kept_sql(migration.version).unwrap_or_default();
    }
    files.extend(&stored);
    files.sort_by_key(|m| m.version);
    let entries = plan::status(&files, recorded);
    let mut problems: Vec<String> = plan::problems(&db.binding, &entries, &files, recorded)
        .into_iter()
        .filter(|p| !p.contains("has changed since"))
        .collect();
    let applied: Vec<&Migration> = entries
        .iter()
        .filter(|e| matches!(e.state, State::Applied | State::Modified))
        .filter_map(|e| e.file)
        .collect();
    let edited: Vec<Edited> = entries
        .iter()
        .filter(|e| e.state == State::Modified)
        .filter_map(|e| {
            let file = e.file?;
            let then = kept_sql(e.version).or_else(|| {
                e.applied
                    .and_then(|a| a.checksum.as_deref())
                    .and_then(|sum| history::text_with_checksum(&file.path, sum))
            });
            Some(Edited { file, then })
        })
        .collect();
    let tracking = db.tracking_tables();
    let replay = |migrations: &[&Migration]| -> Result<Vec<String>> {
        let expected = crate::migrate::throwaway_copy::expected_schema(d1, db, migrations)?;
        Ok(Schema::diff(&expected, &state.schema, &tracking))
    };
    // As the files are now.
    let now = replay(&applied);
    for edit in &edited {
        let name = format!("migration {} ({})", edit.file.version, edit.file.name);
        problems.push(match &edit.then {
            Some(then) => match history::same_statements(then, &edit.file.sql) {
                Ok(()) => format!(
                    "{name}: its file was edited since it was applied, but only in comments or layout: \
                     record its new checksum with `cargo migrate mark {} --checksum{} --db {}`",
                    edit.file.version,
                    project.hint_flags(),
                    db.binding
                ),
                Err(statement) => format!(
                    "{name}: its file's statements changed since it was applied ({}): the database ran \
                     the old ones. Restore the file and write the change as a new migration. What was applied \
                     (-) against the file now (+):\n{}",
                    statement.map_or("statements were removed".to_owned(), |s| format!("now: {s}")),
                    crate::text::line_diff(then, &edit.file.sql).trim_end()
                ),
            },
            None => format!(
                "{name}: its file changed since it was applied, and git has no version of it with the \
                 recorded checksum to compare with: restore it, or if you are sure the edit was cosmetic, \
                 `cargo migrate mark {} --checksum --force{} --db {}`",
                edit.file.version,
                project.hint_flags(),
                db.binding
            ),
        });
    }
    match now {
        Ok(drift) if drift.is_empty() => {}
        Ok(drift) => {
            // As they were when applied, where git knows: was it the files that changed?
            let knows_all = !edited.is_empty() && edited.iter().all(|e| e.then.is_some());
            let then_matches = knows_all && {
                let originals: Vec<Migration> = applied
                    .iter()
                    .map(|m| {
                        let mut original = (*m).clone();
                        if let Some(edit) = edited.iter().find(|e| e.file.version == m.version) {
                            original.sql = edit.then.clone().unwrap_or_default();
                        }
                        original
                    })
                    .collect();
                let refs: Vec<&Migration> = originals.iter().collect();
                replay(&refs).is_ok_and(|drift| drift.is_empty())
            };
            if then_matches {
                problems.push(
                    "the database is exactly what the migrations made as they were applied: only the files changed"
                        .to_owned(),
                );
            } else {
                problems.push(format!(
                    "the database changed by hand (or by SQL no migration records): fix it by hand, or write \
                     the change as a new migration:\n    {}",
                    drift.join("\n    ")
                ));
            }
        }
        Err(err) if !edited.is_empty() => problems.push(format!(
            "(the applied migrations, as their files are now, do not replay: {err:#})"
        )),
        Err(err) => return Err(err),
    }
    Ok(Verdict {
        binding: db.binding.clone(),
        problems,
    })
}

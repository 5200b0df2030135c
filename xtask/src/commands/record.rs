//! `migrate mark`, `baseline` and `adopt`: change what `_migrations` records
//! without running any migration, refusing whatever would make the record lie
//! about the files.

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::config::Database;
use crate::flags;
use crate::hint;
use crate::migrator;
use crate::plan::{self, State};
use crate::project::Project;
use crate::schema::{quote_name, Schema};
use crate::source::Migration;
use crate::tracking::{self, DbState};
use crate::wrangler::{D1Error, Wrangler};

impl flags::Mark {
    pub fn run(self, project: &Project) -> Result<()> {
        let wrangler = project.wrangler()?;
        let file = project
            .migrations
            .iter()
            .find(|m| m.version == self.version);
        if self.applied {
            let Some(file) = file else {
                bail!("there is no migration {} in {}: only a migration with a file can be marked applied", self.version, project.migrations_dir.display());
            };
            let db = database_of(project, file)?;
            let state = migrator::read_state(&wrangler, db, false)?;
            let files = project.files_for(&db.binding);
            let entries = plan::status(&files, &state.applied);
            if let Some(entry) = entries
                .iter()
                .find(|e| e.version == file.version && e.state != State::Pending)
            {
                bail!(
                    "migration {} ({}) is already recorded in {} ({:?})",
                    entry.version,
                    entry.name,
                    db.binding,
                    entry.state
                );
            }
            if let Some(below) = entries
                .iter()
                .find(|e| e.state == State::Pending && e.version < file.version)
            {
                bail!(
                    "migration {} ({}) is still pending in {}: marking {} applied would put them out of order (use `baseline {}` to record everything up to it)",
                    below.version, below.name, db.binding, file.version, file.version
                );
            }
            migrator::run_batch(
                &wrangler,
                db,
                &tracking::record_batch(state.tracking, &[(file, None)]),
            )?;
            println!(
                "✅ {}: recorded v{} {} as applied (its SQL was not run)",
                db.binding, file.version, file.name
            );
            return Ok(());
        }
        // --pending: the database its file is routed to; when the file is
        // gone, whichever databases record it.
        let candidates: Vec<Database> = match file {
            Some(file) => vec![database_of(project, file)?.clone()],
            None => project.selected.clone(),
        };
        let states = migrator::read_states(&wrangler, &candidates, false)?;
        let holders: Vec<(&Database, &DbState)> = candidates
            .iter()
            .zip(&states)
            .filter(|(_, state)| state.applied.iter().any(|a| a.version == self.version))
            .collect();
        let [(db, state)] = holders[..] else {
            bail!(
                "migration {} is not recorded as applied in {}",
                self.version,
                if project.selected.len() == 1 {
                    "that database"
                } else {
                    "any database"
                }
            );
        };
        if let Some(later) = state.applied.iter().find(|a| a.version > self.version) {
            bail!(
                "migration {} ({}) is applied after it in {}: roll that back first (`cargo migrate down {}`), or mark it pending first",
                later.version, later.name, db.binding, self.version
            );
        }
        hint::forget(&wrangler, db);
        wrangler.query(
            db,
            &format!("DELETE FROM _migrations WHERE version = {}", self.version),
        )?;
        let name = file.map_or("(file gone)", |f| &f.name[..]);
        println!("✅ {}: v{} {name} is recorded as pending (its rollback was not run); `up` will run it again", db.binding, self.version);
        Ok(())
    }
}

impl flags::Baseline {
    pub fn run(self, project: &Project) -> Result<()> {
        let last = project.migrations.last().map_or(0, |m| m.version);
        if self.version > last {
            bail!(
                "cannot baseline at {}: the newest migration is {last}",
                self.version
            );
        }
        let wrangler = project.wrangler()?;
        let states = migrator::read_states(&wrangler, &project.selected, false)?;
        let mut work = Vec::new();
        for (db, state) in project.selected.iter().zip(states) {
            let files = project.files_for(&db.binding);
            let entries = plan::status(&files, &state.applied);
            if let Some(bad) = entries
                .iter()
                .find(|e| matches!(e.state, State::Modified | State::Missing))
            {
                bail!("{}: migration {} ({}) is {:?}; fix that before baselining (nothing was recorded)", db.binding, bad.version, bad.name, bad.state);
            }
            let rows: Vec<(&Migration, Option<i64>)> = files
                .iter()
                .filter(|m| {
                    m.version <= self.version
                        && !state.applied.iter().any(|a| a.version == m.version)
                })
                .map(|m| (*m, None))
                .collect();
            if !rows.is_empty() {
                work.push((db, state.tracking, rows));
            }
        }
        if work.is_empty() {
            println!(
                "Nothing to record: every migration up to {} is already recorded.",
                self.version
            );
            return Ok(());
        }
        let results = migrator::in_parallel(&work, |(db, tracking, rows)| {
            migrator::run_batch(&wrangler, db, &tracking::record_batch(*tracking, rows))?;
            let versions: Vec<String> = rows
                .iter()
                .map(|(m, _)| format!("v{}", m.version))
                .collect();
            Ok(format!(
                "✅ {}: recorded {} as applied (not run)",
                db.binding,
                versions.join(", ")
            ))
        });
        let databases: Vec<Database> = work.iter().map(|(db, _, _)| (*db).clone()).collect();
        migrator::report_each(&databases, results, |failed| {
            format!("could not record the baseline in {failed} (nothing was recorded there)")
        })
    }
}

impl flags::Adopt {
    pub fn run(self, project: &Project) -> Result<()> {
        let wrangler = project.wrangler()?;
        let results = migrator::in_parallel(&project.selected, |db| adopt(project, &wrangler, db));
        migrator::report_each(&project.selected, results, |failed| {
            format!("could not adopt {failed} (nothing was recorded there)")
        })
    }
}

/// Maps one database's wrangler migration rows to our files, checks its
/// schema is what they produce, and records them.
fn adopt(project: &Project, wrangler: &Wrangler, db: &Database) -> Result<String> {
    let table = &db.wrangler_table;
    let rows = match wrangler.query(
        db,
        &format!(
            "SELECT name, applied_at FROM {} ORDER BY id",
            quote_name(table)
        ),
    ) {
        Ok(results) => results
            .into_iter()
            .last()
            .map(|r| r.results)
            .unwrap_or_default(),
        Err(err)
            if err
                .downcast_ref::<D1Error>()
                .is_some_and(|e| e.text.contains("no such table")) =>
        {
            return Ok(format!(
                "{}: has no {table} table: nothing to adopt",
                db.binding
            ));
        }
        Err(err) => return Err(err),
    };
    let state = migrator::read_state(wrangler, db, true)?;
    let mut adopted: Vec<(&Migration, Option<i64>)> = Vec::new();
    for row in &rows {
        let name = row.get("name").and_then(Value::as_str).unwrap_or_default();
        let stem = name.strip_suffix(".sql").unwrap_or(name);
        let Some(file) = project.migrations.iter().find(|m| m.name == stem) else {
            bail!("{table} records {name}, which is not in {}: add the file (as NNNN_description.sql) first", project.migrations_dir.display());
        };
        if file.binding != db.binding {
            bail!(
                "{table} records {name}, but the routing sends {} to {}",
                file.name,
                file.binding
            );
        }
        let applied_at = row
            .get("applied_at")
            .and_then(Value::as_str)
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64);
        adopted.push((file, applied_at));
    }
    let files = project.files_for(&db.binding);
    let prefix: Vec<u64> = files
        .iter()
        .take(adopted.len())
        .map(|m| m.version)
        .collect();
    let mut versions: Vec<u64> = adopted.iter().map(|(m, _)| m.version).collect();
    versions.sort_unstable();
    if versions != prefix {
        bail!("{table} records migrations {versions:?}, which are not the first ones of {} ({prefix:?}): they must be applied in order", db.binding);
    }
    let applied: Vec<&Migration> = adopted.iter().map(|(m, _)| *m).collect();
    let expected = migrator::expected_schema(wrangler, db, &applied)?;
    let drift = Schema::diff(&expected, &state.schema);
    if !drift.is_empty() {
        bail!(
            "its schema is not what {} migrations produce:\n  {}",
            applied.len(),
            drift.join("\n  ")
        );
    }
    let new: Vec<(&Migration, Option<i64>)> = adopted
        .into_iter()
        .filter(|(m, _)| !state.applied.iter().any(|a| a.version == m.version))
        .collect();
    if new.is_empty() {
        return Ok(format!(
            "{}: already adopted ({} migrations recorded)",
            db.binding,
            applied.len()
        ));
    }
    migrator::run_batch(wrangler, db, &tracking::record_batch(state.tracking, &new))?;
    let names: Vec<String> = new.iter().map(|(m, _)| format!("v{}", m.version)).collect();
    Ok(format!(
        "✅ {}: adopted {} from {table}: recorded {}",
        db.binding,
        applied.len(),
        names.join(", ")
    ))
}

fn database_of<'a>(project: &'a Project, file: &Migration) -> Result<&'a Database> {
    project
        .selected
        .iter()
        .find(|db| db.binding == file.binding)
        .with_context(|| {
            format!(
                "migration {} belongs to {}, which --db leaves out",
                file.name, file.binding
            )
        })
}

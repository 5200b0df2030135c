//! Edits of the two ledgers (`_migrations` and wrangler's) that run no
//! migration: `mark`, `baseline` and `adopt`. Each refuses whatever would
//! make the record lie about the files, and returns the line that says what
//! it recorded.

use anyhow::{bail, Context, Result};

use crate::migrate::calls;
use crate::migrate::config::Database;
use crate::migrate::d1::{Call, D1};
use crate::migrate::file_history as history;
use crate::migrate::last_seen;
use crate::migrate::plan::{self, State};
use crate::migrate::project::Project;
use crate::migrate::schema::{quote_name, Schema};
use crate::migrate::source::Migration;
use crate::migrate::sql::quote_literal;
use crate::migrate::tracking::{self, DbState};

/// The versions applied in `db` by either ledger, as `entries` say.
fn applied_versions(entries: &[plan::Entry<'_>]) -> Vec<u64> {
    entries
        .iter()
        .filter(|e| e.state != State::Pending)
        .map(|e| e.version)
        .collect()
}

/// What `mark` records of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Applied, without running it.
    Applied,
    /// Not applied, without running its rollback: `up` runs it again.
    Pending,
    /// Its file's checksum as it is now, after a cosmetic edit (`force`:
    /// even when neither the database nor git has the applied text).
    Checksum { force: bool },
    /// Its file's new name, after a rename.
    Renamed,
}

/// Records `mark` of migration `version` in the selected database it
/// belongs to; returns what was recorded.
pub fn mark(project: &Project, d1: &dyn D1, version: u64, mark: Mark) -> Result<String> {
    let files: Vec<&Migration> = project
        .selected
        .iter()
        .flat_map(|db| project.files_for(&db.binding))
        .filter(|m| m.version == version)
        .collect();
    if files.len() > 1 {
        let owners: Vec<&str> = files.iter().map(|m| m.binding.as_str()).collect();
        bail!(
            "version {} is a migration of {}, whose folders number their migrations each on their own: \
             say which with --db BINDING",
            version,
            owners.join(" and ")
        );
    }
    let file = files.first().copied();
    if let Mark::Checksum { force } = mark {
        let Some(file) = file else {
            bail!(
                "there is no migration {} in {}",
                version,
                project.migrations_dir.display()
            );
        };
        return record_checksum(project, d1, file, force);
    }
    if mark == Mark::Renamed {
        let Some(file) = file else {
            bail!(
                "there is no migration {} in {}: --renamed records the name of a file that exists",
                version,
                project
                    .folder_of(project.selected.first().map_or("", |db| &db.binding))
                    .display()
            );
        };
        return record_rename(project, d1, file);
    }
    if mark == Mark::Applied {
        let Some(file) = file else {
            bail!("there is no migration {} in {}: only a migration with a file can be marked applied", version, project.migrations_dir.display());
        };
        let db = database_of(project, file)?;
        let state = calls::read_state(d1, db)?;
        let around = project.surroundings(&db.binding);
        let files = project.files_recorded(&db.binding, state.recorded(&around));
        let entries = plan::status(&files, state.recorded(&around));
        if let Some(entry) = entries
            .iter()
            .find(|e| e.version == file.version && e.state != State::Pending && e.adopted.is_none())
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
        let mut versions = applied_versions(&entries);
        versions.push(file.version);
        let ledger = project.ledger_change(&db.binding, &versions);
        let applied_at = entries
            .iter()
            .find(|e| e.version == file.version)
            .and_then(|e| e.adopted)
            .and_then(|row| row.applied_at_ms());
        calls::run_batch(
            d1,
            db,
            &tracking::record_batch(state.tracking, db, &[(file, applied_at)], &ledger),
        )?;
        return Ok(format!(
            "✅ {}: recorded v{} {} as applied (its SQL was not run)",
            db.binding, file.version, file.name
        ));
    }
    // --pending: the database its file is routed to; when the file is
    // gone, whichever databases record it.
    let candidates: Vec<Database> = match file {
        Some(file) => vec![database_of(project, file)?.clone()],
        None => project.selected.clone(),
    };
    let states = calls::read_states(d1, &candidates)?;
    let file_name = |state: &DbState| -> String {
        match file {
            Some(file) => file.file_name.clone(),
            None => state
                .applied
                .iter()
                .find(|a| a.version == version)
                .map_or(String::new(), |a| format!("{}.sql", a.name)),
        }
    };
    let holders: Vec<(&Database, &DbState)> = candidates
        .iter()
        .zip(&states)
        .filter(|(_, state)| {
            let name = file_name(state);
            state.applied.iter().any(|a| a.version == version)
                || state.ledger.iter().any(|row| row.name == name)
        })
        .collect();
    let [(db, state)] = holders[..] else {
        bail!(
            "migration {} is not recorded as applied in {}",
            version,
            if project.selected.len() == 1 {
                "that database"
            } else {
                "any database"
            }
        );
    };
    if let Some(later) = state.applied.iter().find(|a| a.version > version) {
        bail!(
            "migration {} ({}) is applied after it in {}: roll that back first (`cargo migrate down {}{} --db {}`), or mark it pending first",
            later.version,
            later.name,
            db.binding,
            version,
            project.hint_flags(),
            db.binding
        );
    }
    last_seen::forget(d1, db);
    let name = file_name(state);
    let mut sql = format!("DELETE FROM _migrations WHERE version = {}", version);
    if state.ledger.iter().any(|row| row.name == name) {
        sql.push_str(&format!(
            "; DELETE FROM {} WHERE name = {}",
            quote_name(&db.wrangler_table),
            quote_literal(&name)
        ));
    }
    match d1.query(Call::Write, db, &sql) {
        Err(err) if tracking::is_missing_table(&err) => {
            let ledger_only = format!(
                "DELETE FROM {} WHERE name = {}",
                quote_name(&db.wrangler_table),
                quote_literal(&name)
            );
            d1.query(Call::Write, db, &ledger_only)?;
        }
        other => {
            other?;
        }
    }
    let shown = file.map_or("(file gone)", |f| &f.name[..]);
    Ok(format!("✅ {}: v{} {shown} is recorded as pending in both ledgers (its rollback was not run); `up` will run it again", db.binding, version))
}

/// `mark VERSION --renamed`: the file of an applied migration was renamed;
/// both ledgers take its new name (our row keeps when and how long it ran).
fn record_rename(project: &Project, d1: &dyn D1, file: &Migration) -> Result<String> {
    let db = database_of(project, file)?;
    let state = calls::read_state(d1, db)?;
    let around = project.surroundings(&db.binding);
    let files = project.files_for(&db.binding);
    let recorded = state.recorded(&around);
    let row = state.applied.iter().find(|a| a.version == file.version);
    let old_name = match row {
        Some(row) => row.name.clone(),
        None => match plan::unknown_ledger_rows(&files, recorded)
            .into_iter()
            .find(|l| l.version() == Some(file.version))
        {
            Some(ledger) => ledger.name.trim_end_matches(".sql").to_owned(),
            None => bail!(
                "migration {} is not recorded as applied in {} under another name: nothing to rename",
                file.version,
                db.binding
            ),
        },
    };
    if old_name == file.name {
        return Ok(format!(
            "{}: v{} is already recorded as {}",
            db.binding, file.version, file.name
        ));
    }
    if let Some(sum) = row.and_then(|r| r.checksum.as_ref()) {
        if *sum != file.checksum {
            bail!(
                "migration {} was applied to {} as {old_name}, and {} differs from it in more than its name \
                 (recorded checksum {sum}, file {}): give the file back what was applied, then run this again",
                file.version,
                db.binding,
                file.path.display(),
                file.checksum
            );
        }
    }
    let ledger = quote_name(&db.wrangler_table);
    let old_ledger: Vec<String> = state
        .ledger
        .iter()
        .filter(|l| !l.is_guard() && plan::names_match(&old_name, &l.name))
        .map(|l| quote_literal(&l.name))
        .collect();
    let mut batch = tracking::Batch::default();
    if !old_ledger.is_empty() {
        batch.push_bookkeeping(format!(
            "UPDATE {ledger} SET name = {} WHERE name IN ({})",
            quote_literal(&file.file_name),
            old_ledger.join(", ")
        ));
    }
    match row {
        Some(_) => {
            batch.push_bookkeeping(format!(
                "UPDATE _migrations SET name = {} WHERE version = {}",
                quote_literal(&file.name),
                file.version
            ));
        }
        None => {
            let applied_at = state
                .ledger
                .iter()
                .find(|l| plan::names_match(&old_name, &l.name))
                .and_then(|l| l.applied_at_ms());
            let record = tracking::record_batch(
                state.tracking,
                db,
                &[(file, applied_at)],
                &tracking::LedgerChange::default(),
            );
            batch.statements.extend(record.statements);
        }
    }
    last_seen::forget(d1, db);
    calls::run_batch(d1, db, &batch)?;
    Ok(format!(
        "✅ {}: v{} is now recorded as {} (was {old_name}) in _migrations and {}; nothing ran",
        db.binding, file.version, file.name, db.wrangler_table
    ))
}

/// `mark VERSION --checksum`: records the file's checksum as it is now,
/// when the edit since it was applied changed no statement (compared with
/// the text its database stored, or git's).
fn record_checksum(
    project: &Project,
    d1: &dyn D1,
    file: &Migration,
    force: bool,
) -> Result<String> {
    let db = database_of(project, file)?;
    let state = calls::read_state(d1, db)?;
    let Some(row) = state.applied.iter().find(|a| a.version == file.version) else {
        bail!(
            "migration {} ({}) is not recorded as applied in {}: nothing to re-record",
            file.version,
            file.name,
            db.binding
        );
    };
    match &row.checksum {
        Some(sum) if *sum == file.checksum => {
            return Ok(format!(
                "{}: v{} {} already has this checksum",
                db.binding, file.version, file.name
            ));
        }
        Some(sum) => match calls::stored_sql(d1, db, &[file.version])?
            .pop()
            .map(|(_, sql)| sql)
            .or_else(|| history::text_with_checksum(&file.path, sum))
        {
            Some(then) => {
                if let Err(statement) = history::same_statements(&then, &file.sql) {
                    bail!(
                        "{} changed more than comments or layout since it was applied ({}): the database ran the \
                         old statements. Restore the file and write the change as a new migration",
                        file.path.display(),
                        statement.map_or("statements were removed".to_owned(), |s| format!("now: {s}"))
                    );
                }
            }
            None if force => {
                tracing::warn!("git has no version of {} with the recorded checksum: recording the new one anyway (--force)", file.path.display());
            }
            None => bail!(
                "git has no version of {} with the checksum recorded when it was applied ({sum}), so the edit \
                 cannot be checked: compare it by hand, then pass --force",
                file.path.display()
            ),
        },
        // A row an older runner wrote: no checksum to compare, only to record.
        None => {}
    }
    last_seen::forget(d1, db);
    d1.query(
        crate::migrate::d1::Call::Write,
        db,
        &format!(
            "UPDATE _migrations SET checksum = {} WHERE version = {}",
            quote_literal(&file.checksum),
            file.version
        ),
    )?;
    Ok(format!(
        "✅ {}: v{} {} now records the checksum of its file as it is ({}); nothing else changed",
        db.binding,
        file.version,
        file.name,
        &file.checksum[..12]
    ))
}

/// What `baseline` did: per database it had work in, the line saying what
/// it recorded or why it could not (none: everything was recorded already).
pub struct Baselined {
    pub databases: Vec<Database>,
    pub results: Vec<Result<String>>,
}

/// Records migrations 1..=`version` as applied in every selected database
/// that lacks them, without running them (databases in parallel).
pub fn baseline(project: &Project, d1: &dyn D1, version: u64) -> Result<Baselined> {
    let last = project.newest_version();
    if version > last {
        bail!(
            "cannot baseline at {}: the newest migration is {last}",
            version
        );
    }
    let states = calls::read_states(d1, &project.selected)?;
    let mut work = Vec::new();
    let surroundings: Vec<_> = project
        .selected
        .iter()
        .map(|db| project.surroundings(&db.binding))
        .collect();
    for ((db, state), around) in project.selected.iter().zip(&states).zip(&surroundings) {
        let recorded = state.recorded(around);
        let files = project.files_recorded(&db.binding, recorded);
        let entries = plan::status(&files, recorded);
        if let Some(bad) = entries
            .iter()
            .find(|e| matches!(e.state, State::Modified | State::Missing))
        {
            bail!(
                "{}: migration {} ({}) is {:?}; fix that before baselining (nothing was recorded)",
                db.binding,
                bad.version,
                bad.name,
                bad.state
            );
        }
        let rows: Vec<(&Migration, Option<i64>)> = entries
            .iter()
            .filter(|e| e.version <= version && e.applied.is_none())
            .filter_map(|e| Some((e.file?, e.adopted.and_then(|r| r.applied_at_ms()))))
            .collect();
        let mut versions = applied_versions(&entries);
        versions.extend(rows.iter().map(|(m, _)| m.version));
        let ledger = project.ledger_change(&db.binding, &versions);
        if !rows.is_empty() || ledger.changes(&state.ledger) {
            work.push((db, state.tracking, rows, ledger));
        }
    }
    let results = calls::in_parallel(&work, |(db, tracking, rows, ledger)| {
        calls::run_batch(d1, db, &tracking::record_batch(*tracking, db, rows, ledger))?;
        let versions: Vec<String> = rows
            .iter()
            .map(|(m, _)| format!("v{}", m.version))
            .collect();
        let mut line = match versions.is_empty() {
            true => format!(
                "✅ {}: both ledgers already recorded everything up to {}",
                db.binding, version
            ),
            false => format!(
                "✅ {}: recorded {} as applied (not run)",
                db.binding,
                versions.join(", ")
            ),
        };
        if !ledger.absent.is_empty() {
            line.push_str(&format!(
                "; removed from {}: {} (no file has those names)",
                db.wrangler_table,
                ledger.absent.join(", ")
            ));
        }
        Ok(line)
    });
    let databases: Vec<Database> = work.iter().map(|(db, _, _, _)| (*db).clone()).collect();
    Ok(Baselined { databases, results })
}

/// Adopts every selected database ([`adopt`]), in parallel, in their order.
pub fn adopt_all(project: &Project, d1: &dyn D1) -> Vec<Result<String>> {
    calls::in_parallel(&project.selected, |db| adopt(project, d1, db))
}

/// Records in `_migrations` what wrangler's ledger of one database records,
/// after checking its schema is what those migrations produce. (`up` does the
/// same in its own call, without the schema check, which it runs afterwards.)
pub fn adopt(project: &Project, d1: &dyn D1, db: &Database) -> Result<String> {
    let table = &db.wrangler_table;
    let state = calls::read_state(d1, db)?;
    if state.ledger.is_empty() {
        return Ok(format!(
            "{}: {table} records nothing: nothing to adopt",
            db.binding
        ));
    }
    let files = project.files_for(&db.binding);
    let around = project.surroundings(&db.binding);
    let up = plan::plan_up(&db.binding, &files, state.recorded(&around), None)
        .with_context(|| format!("cannot adopt what {table} records"))?;
    let entries = plan::status(&files, state.recorded(&around));
    let applied: Vec<&Migration> = entries
        .iter()
        .filter(|e| e.state == State::Applied)
        .filter_map(|e| e.file)
        .collect();
    if up.adopt.is_empty() {
        return Ok(format!(
            "{}: already adopted ({} migrations recorded)",
            db.binding,
            applied.len()
        ));
    }
    let expected = crate::migrate::throwaway_copy::expected_schema(d1, db, &applied)?;
    let drift = Schema::diff(&expected, &state.schema, &db.tracking_tables());
    if !drift.is_empty() {
        bail!(
            "its schema is not what {} migrations produce:\n  {}",
            applied.len(),
            drift.join("\n  ")
        );
    }
    let rows: Vec<(&Migration, Option<i64>)> = up
        .adopt
        .iter()
        .map(|(m, row)| (*m, row.applied_at_ms()))
        .collect();
    let versions: Vec<u64> = applied.iter().map(|m| m.version).collect();
    let ledger = project.ledger_change(&db.binding, &versions);
    calls::run_batch(
        d1,
        db,
        &tracking::record_batch(state.tracking, db, &rows, &ledger),
    )?;
    let names: Vec<String> = rows
        .iter()
        .map(|(m, _)| format!("v{}", m.version))
        .collect();
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

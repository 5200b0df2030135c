//! The record against the files: applied migrations this checkout lacks
//! (moved elsewhere, or rebuilt from the SQL stored with them), and every
//! disagreement that stops a run.

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::entries::{names_match, unknown_ledger_rows};
use super::{Applied, Entry, Recorded, State};
use crate::migrate::source::Migration;

/// The migrations our record holds with their SQL (or at least their
/// rollback's: a very long migration keeps only that) but this checkout
/// lacks (applied on another branch): rebuilt from what is stored, so
/// `down` can roll them back and `status` can say what they are.
pub fn stored_migrations(
    binding: &str,
    files: &[&Migration],
    recorded: Recorded<'_>,
) -> Vec<Migration> {
    recorded
        .applied
        .iter()
        .filter(|row| row.has_sql || row.rollback_sql.is_some())
        .filter(|row| !files.iter().any(|f| f.version == row.version))
        // A file renumbered or routed elsewhere is no other branch's: it is named for what it is.
        .filter(|row| moved(binding, row, files, recorded).is_none())
        .map(|row| {
            let path = PathBuf::from(format!("{} (stored in {binding})", row.name));
            let file_name = recorded
                .ledger
                .iter()
                .find(|l| !l.is_guard() && names_match(&row.name, &l.name))
                .map_or_else(|| format!("{}.sql", row.name), |l| l.name.clone());
            Migration {
                version: row.version,
                name: row.name.clone(),
                file_name,
                sql: String::new(),
                checksum: row.checksum.clone().unwrap_or_default(),
                binding: binding.to_owned(),
                rollback: row
                    .rollback_sql
                    .as_ref()
                    .map(|sql| crate::migrate::source::Script {
                        path: PathBuf::from(format!("{} rollback (stored in {binding})", row.name)),
                        sql: sql.clone(),
                        checksum: crate::migrate::source::checksum(sql),
                        ledger_name: None,
                    }),
                stored: true,
                path,
            }
        })
        .collect()
}

/// Refuses to go on when the record and the files disagree (see [`problems`]).
pub(super) fn verify(
    binding: &str,
    entries: &[Entry<'_>],
    files: &[&Migration],
    recorded: Recorded<'_>,
) -> Result<()> {
    let problems = problems(binding, entries, files, recorded);
    match problems.len() {
        0 => Ok(()),
        _ => bail!("{}", problems.join("\n")),
    }
}

/// Where the file of a migration recorded as applied went, when it did not
/// simply vanish: renumbered in its folder, or routed to another database.
fn moved(
    binding: &str,
    row: &Applied,
    files: &[&Migration],
    recorded: Recorded<'_>,
) -> Option<String> {
    let description = |name: &str| {
        name.trim_start_matches(|c: char| c.is_ascii_digit())
            .to_owned()
    };
    let same = |file: &&&Migration| {
        row.checksum.as_ref() == Some(&file.checksum)
            || (description(&file.name) == description(&row.name)
                && !description(&row.name).is_empty())
    };
    if let Some(file) = files.iter().find(|f| f.version != row.version && same(f)) {
        return Some(format!(
            "migration {} ({}) was applied to {binding} as version {}, but it was renumbered: its file is now {} \
             (version {}). Give it back its number (applied migrations keep theirs), and number new ones after it",
            row.version,
            row.name,
            row.version,
            file.path.display(),
            file.version
        ));
    }
    let file = recorded
        .elsewhere
        .iter()
        .find(|f| f.name == row.name || same(f))?;
    Some(format!(
        "migration {} ({}) was applied to {binding}, but {} now goes to {}: it was mis-routed. \
         Route it back to {binding} (a `-- database: {binding}` line at its top, or the routing in migrate.toml)",
        row.version,
        row.name,
        file.path.display(),
        file.binding
    ))
}

/// Every way the record and the files disagree: a modified or missing
/// applied migration (named for what happened to it when its file was
/// renumbered or routed elsewhere), a pending one below an applied one, or a
/// row of wrangler's ledger that names no file.
pub fn problems(
    binding: &str,
    entries: &[Entry<'_>],
    files: &[&Migration],
    recorded: Recorded<'_>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in entries {
        if let (State::Missing, Some(row)) = (entry.state, entry.applied) {
            if let Some(why) = moved(binding, row, files, recorded) {
                problems.push(why);
                continue;
            }
        }
        let renamed = entry.file.zip(entry.applied).filter(|(file, row)| {
            file.name != row.name
                && row
                    .checksum
                    .as_ref()
                    .is_none_or(|sum| *sum == file.checksum)
        });
        if let (State::Modified, Some((file, row))) = (entry.state, renamed) {
            problems.push(format!(
                "migration {} was applied to {binding} as {}, and its file is now called {}: give it back its \
                 name, or record the new one with `cargo migrate mark {} --renamed{} --db {binding}`",
                entry.version,
                row.name,
                file.path.display(),
                entry.version,
                recorded.hints
            ));
            continue;
        }
        match entry.state {
            State::Modified => problems.push(format!(
                "migration {} ({}) was applied to {binding} but its file has changed since \
                 (recorded checksum {}, file {}): restore the file, or add a new migration for the change",
                entry.version,
                entry.name,
                entry.applied.and_then(|a| a.checksum.as_deref()).unwrap_or("none"),
                entry.file.map_or("none", |f| &f.checksum[..]),
            )),
            State::Missing => problems.push(format!(
                "migration {} ({}) is recorded as applied in {binding} but its file is not in this checkout, and \
                 the database holds no copy of its SQL (it was applied before copies were kept): switch to the \
                 branch that has {}.sql, or restore the file",
                entry.version, entry.name, entry.name
            )),
            _ => {}
        }
    }
    for row in unknown_ledger_rows(files, recorded) {
        let renamed = row.version().and_then(|v| {
            files
                .iter()
                .find(|f| f.version == v && !recorded.applied.iter().any(|a| a.version == v))
        });
        let why = match renamed {
            Some(file) => format!(
                "if {} is that migration renamed, give it back its name, or record the new one with \
                 `cargo migrate mark {} --renamed{} --db {binding}` (until then it would run a second time)",
                file.path.display(),
                file.version,
                recorded.hints
            ),
            None => format!(
                "switch to the branch that has it, or restore the file (its SQL ran in {binding}; nothing \
                 here can roll it back without it)"
            ),
        };
        problems.push(format!(
            "wrangler applied {} to {binding} (at {}), but no migration file of {binding} is called that: {why}",
            row.name, row.applied_at
        ));
    }
    let newest_applied = entries
        .iter()
        .filter(|e| e.state != State::Pending)
        .map(|e| e.version)
        .max();
    if let Some(newest) = newest_applied {
        for entry in entries
            .iter()
            .filter(|e| e.state == State::Pending && e.version < newest)
        {
            problems.push(format!(
                "migration {} ({}) is pending in {binding} but the later migration {newest} is already applied: \
                 migrations must be applied in order; renumber it after {newest}",
                entry.version, entry.name
            ));
        }
    }
    problems
}

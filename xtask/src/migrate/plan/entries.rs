//! `status`'s entries: where each migration stands in one database, and the
//! rows of wrangler's ledger that no file or record of ours accounts for.

use super::{Applied, Entry, LedgerRow, Recorded, State};
use crate::migrate::source::Migration;

/// True when the recorded row no longer matches the file.
fn is_modified(migration: &Migration, applied: &Applied) -> bool {
    applied.name != migration.name
        || applied
            .checksum
            .as_ref()
            .is_some_and(|sum| *sum != migration.checksum)
}

/// The state of every migration of one database (`files` are those routed to
/// it), in version order.
pub fn status<'a>(files: &[&'a Migration], recorded: Recorded<'a>) -> Vec<Entry<'a>> {
    let mut entries: Vec<Entry<'a>> = files
        .iter()
        .map(|&file| {
            let row = recorded
                .applied
                .iter()
                .find(|row| row.version == file.version);
            let adopted = match row {
                Some(_) => None,
                None => recorded
                    .ledger
                    .iter()
                    .find(|l| l.name == file.file_name && !l.is_guard()),
            };
            let state = match (row, adopted) {
                (Some(row), _) if is_modified(file, row) => State::Modified,
                (Some(_), _) | (None, Some(_)) => State::Applied,
                (None, None) => State::Pending,
            };
            Entry {
                version: file.version,
                name: file.name.clone(),
                state,
                file: Some(file),
                applied: row,
                adopted,
            }
        })
        .collect();
    entries.extend(
        recorded
            .applied
            .iter()
            .filter(|row| !files.iter().any(|file| file.version == row.version))
            .map(|row| Entry {
                version: row.version,
                name: row.name.clone(),
                state: State::Missing,
                file: None,
                applied: Some(row),
                adopted: None,
            }),
    );
    entries.sort_by_key(|entry| entry.version);
    entries
}

/// True when wrangler's ledger name `ledger_name` is the migration our
/// record calls `name` (`0001_a` is `0001_a.sql`, and in a folder per
/// migration `0001_a/migration.sql`).
pub fn names_match(name: &str, ledger_name: &str) -> bool {
    ledger_name
        .strip_prefix(name)
        .is_some_and(|rest| rest == ".sql" || rest.starts_with('/'))
}

/// True when `_migrations` records the migration `row` names.
fn recorded_by_us(row: &LedgerRow, recorded: Recorded<'_>) -> bool {
    recorded
        .applied
        .iter()
        .any(|a| names_match(&a.name, &row.name))
}

/// True for a row an older run wrote to keep wrangler away from a file,
/// before guard rows were dated: known by its name (a rollback file; a
/// version another database's file holds in one routed folder).
fn older_guard(row: &LedgerRow, recorded: Recorded<'_>) -> bool {
    row.name.ends_with(".rollback.sql")
        || (row.version().is_some_and(|v| recorded.taken.contains(&v))
            && !recorded_by_us(row, recorded))
}

/// Rows of wrangler's ledger that say a migration was applied to this
/// database which neither a file nor our own record accounts for: wrangler
/// applied a file this checkout lacks (another branch), or one renamed
/// since. Guard rows are not among them, dated or older.
pub fn unknown_ledger_rows<'a>(files: &[&Migration], recorded: Recorded<'a>) -> Vec<&'a LedgerRow> {
    recorded
        .ledger
        .iter()
        .filter(|row| {
            !row.is_guard()
                && !files.iter().any(|f| f.file_name == row.name)
                && !recorded.foreign.contains(&row.name)
                && !older_guard(row, recorded)
                && !recorded_by_us(row, recorded)
        })
        .collect()
}

/// Guard rows (dated, or [older](older_guard)) that no longer name a file
/// wrangler must not run here: the next write removes them.
pub fn stale_guards<'a>(recorded: Recorded<'a>) -> Vec<&'a LedgerRow> {
    recorded
        .ledger
        .iter()
        .filter(|row| !recorded.foreign.contains(&row.name))
        .filter(|row| row.is_guard() || older_guard(row, recorded))
        .collect()
}

//! Pure planning: from (migrations on disk, rows in `_migrations`) to what to
//! run, or why not. No I/O happens here, so every rule has a unit test.

use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::migrate::source::Migration;

/// Which way a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    /// `apply` or `roll back`.
    pub fn verb(self) -> &'static str {
        match self {
            Direction::Up => "apply",
            Direction::Down => "roll back",
        }
    }

    /// `applied` or `rolled back`.
    pub fn past(self) -> &'static str {
        match self {
            Direction::Up => "applied",
            Direction::Down => "rolled back",
        }
    }

    /// The command that runs this way, as a lock names it.
    pub fn command(self) -> &'static str {
        match self {
            Direction::Up => "migrate up",
            Direction::Down => "migrate down",
        }
    }

    /// The SQL that runs for `migration`: it, or its rollback going down.
    pub fn script(self, migration: &Migration) -> &str {
        match (self, &migration.rollback) {
            (Direction::Down, Some(rollback)) => &rollback.sql,
            _ => &migration.sql,
        }
    }

    /// The file that runs for `migration`.
    pub fn path(self, migration: &Migration) -> PathBuf {
        match (self, &migration.rollback) {
            (Direction::Down, Some(rollback)) => rollback.path.clone(),
            _ => migration.path.clone(),
        }
    }
}

/// One row of a database's `_migrations` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub version: u64,
    pub name: String,
    pub applied_at: i64,
    /// `None` for rows written by the seed's runner, which kept no checksum.
    pub checksum: Option<String>,
    pub duration_ms: Option<i64>,
    /// Whether the row stores the migration's SQL (rows written before it
    /// was stored do not).
    #[serde(default)]
    pub has_sql: bool,
    /// The rollback's SQL, stored with the row when it was applied.
    #[serde(default)]
    pub rollback_sql: Option<String>,
}

/// The `applied_at` of the rows a run writes into wrangler's ledger for
/// files that are not migrations of that database (rollback files, other
/// databases' migrations): wrangler then never runs them there. The date
/// marks them as ours, never applied, so a run can add and remove them as
/// the files come and go; a row with any other date is a migration applied.
pub const GUARD_APPLIED_AT: &str = "1970-01-01 00:00:00";

/// One row of wrangler's own ledger (`d1_migrations`, or the config's
/// `migrations_table`): the file name it ran, and when (`YYYY-MM-DD HH:MM:SS`, UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRow {
    pub name: String,
    pub applied_at: String,
}

impl LedgerRow {
    /// True for a row a run wrote to keep wrangler away from a file that is
    /// not a migration of this database (see [`GUARD_APPLIED_AT`]).
    pub fn is_guard(&self) -> bool {
        self.applied_at == GUARD_APPLIED_AT
    }

    /// The version its name starts with, as wrangler's file names do.
    pub fn version(&self) -> Option<u64> {
        let digits = self.name.bytes().take_while(u8::is_ascii_digit).count();
        self.name[..digits].parse().ok()
    }

    /// `applied_at` as Unix milliseconds, when it reads as wrangler writes it.
    pub fn applied_at_ms(&self) -> Option<i64> {
        humantime::parse_rfc3339_weak(&self.applied_at)
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis() as i64)
    }
}

/// What a database's record is read against besides its own files: the
/// names in wrangler's ledger that are not migrations of it (rollback files,
/// files routed elsewhere: see `Project::foreign_sql`), and the other
/// databases' migrations (to name a file that moved there).
#[derive(Debug, Clone, Default)]
pub struct Surroundings<'a> {
    pub foreign: Vec<String>,
    pub elsewhere: Vec<&'a Migration>,
    /// Versions that files routed to other databases hold in this
    /// database's (shared, routed) folder: one sequence for all, so a ledger
    /// row with one of them was never a migration of this database.
    pub taken: Vec<u64>,
}

/// What a database records about its migrations: our rows and wrangler's
/// rows, with its [`Surroundings`].
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    pub applied: &'a [Applied],
    pub ledger: &'a [LedgerRow],
    pub foreign: &'a [String],
    pub elsewhere: &'a [&'a Migration],
    pub taken: &'a [u64],
}

/// Where a migration stands in one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Applied,
    Pending,
    /// Applied, but the file changed since.
    Modified,
    /// Recorded as applied, but its file is gone.
    Missing,
}

/// One line of `status`.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub version: u64,
    pub name: String,
    pub state: State,
    pub file: Option<&'a Migration>,
    pub applied: Option<&'a Applied>,
    /// Applied, recorded by wrangler's ledger alone: the next write records it
    /// in `_migrations` too (it is adopted, never run again).
    pub adopted: Option<&'a LedgerRow>,
}

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
fn verify(
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
                 name, or record the new one with `cargo migrate mark {} --renamed --db {binding}`",
                entry.version,
                row.name,
                file.path.display(),
                entry.version
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
                 `cargo migrate mark {} --renamed --db {binding}` (until then it would run a second time)",
                file.path.display(),
                file.version
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

/// What `up [VERSION]` does in one database.
#[derive(Debug, Clone, Default)]
pub struct UpPlan<'a> {
    /// Its pending migrations up to the target, oldest first.
    pub run: Vec<&'a Migration>,
    /// Migrations wrangler's ledger records and `_migrations` does not, with
    /// wrangler's row: recorded in `_migrations` too, never run.
    pub adopt: Vec<(&'a Migration, LedgerRow)>,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(version: u64, rollback: bool) -> Migration {
        let name = format!("{version:04}_m{version}");
        Migration {
            version,
            path: PathBuf::from(format!("{name}.sql")),
            file_name: format!("{name}.sql"),
            name,
            sql: String::new(),
            checksum: format!("sum{version}"),
            binding: "DB".into(),
            rollback: rollback.then(|| crate::migrate::source::Script {
                path: PathBuf::new(),
                sql: String::new(),
                checksum: String::new(),
                ledger_name: None,
            }),
            stored: false,
        }
    }

    fn row(m: &Migration) -> Applied {
        Applied {
            version: m.version,
            name: m.name.clone(),
            applied_at: 1,
            checksum: Some(m.checksum.clone()),
            duration_ms: Some(1),
            has_sql: false,
            rollback_sql: None,
        }
    }

    fn ledger(name: &str) -> LedgerRow {
        LedgerRow {
            name: name.into(),
            applied_at: "2026-11-30 10:00:00".into(),
        }
    }

    fn ours(applied: &[Applied]) -> Recorded<'_> {
        Recorded {
            applied,
            ledger: &[],
            foreign: &[],
            elsewhere: &[],
            taken: &[],
        }
    }

    fn versions(plan: &[&Migration]) -> Vec<u64> {
        plan.iter().map(|m| m.version).collect()
    }

    #[test]
    fn up_plans_pending_in_order_up_to_target() {
        let files: Vec<_> = (1..=4).map(|v| file(v, true)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied = vec![row(&files[0])];
        let plan = |target| plan_up("DB", &refs, ours(&applied), target).unwrap().run;
        assert_eq!(versions(&plan(None)), [2, 3, 4]);
        assert_eq!(versions(&plan(Some(3))), [2, 3]);
        assert!(plan(Some(1)).is_empty());
    }

    #[test]
    fn up_fails_on_modified_applied_migration() {
        let files = [file(1, true)];
        let mut applied = row(&files[0]);
        applied.checksum = Some("other".into());
        let err = plan_up("DB", &[&files[0]], ours(&[applied]), None).unwrap_err();
        assert!(err
            .to_string()
            .contains("migration 1 (0001_m1) was applied to DB but its file has changed"));
    }

    #[test]
    fn legacy_rows_without_checksum_count_as_applied() {
        let files = [file(1, true)];
        let mut applied = row(&files[0]);
        applied.checksum = None;
        let entries = status(&[&files[0]], ours(std::slice::from_ref(&applied)));
        assert_eq!(entries[0].state, State::Applied);
    }

    #[test]
    fn renamed_file_is_modified() {
        let files = [file(1, true)];
        let mut applied = row(&files[0]);
        applied.name = "0001_old".into();
        assert_eq!(
            status(&[&files[0]], ours(std::slice::from_ref(&applied)))[0].state,
            State::Modified
        );
    }

    #[test]
    fn up_fails_on_applied_version_without_file() {
        let files = [file(1, true)];
        let mut gone = row(&files[0]);
        gone.version = 2;
        gone.name = "0002_gone".into();
        let applied = vec![row(&files[0]), gone];
        let entries = status(&[&files[0]], ours(&applied));
        assert_eq!(entries[1].state, State::Missing);
        let err = plan_up("DB", &[&files[0]], ours(&applied), None).unwrap_err();
        assert!(err.to_string().contains("0002_gone"), "{err}");
    }

    #[test]
    fn up_fails_on_pending_below_applied() {
        let files: Vec<_> = (1..=3).map(|v| file(v, true)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied = vec![row(&files[0]), row(&files[2])];
        let err = plan_up("DB", &refs, ours(&applied), None).unwrap_err();
        assert!(
            err.to_string().contains("migration 2 (0002_m2) is pending"),
            "{err}"
        );
    }

    #[test]
    fn down_plans_newest_first_and_needs_every_rollback() {
        let files: Vec<_> = (1..=4).map(|v| file(v, v != 2)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied: Vec<_> = files.iter().map(row).collect();
        assert_eq!(
            versions(&plan_down("DB", &refs, ours(&applied), 2).unwrap()),
            [4, 3]
        );
        let err = plan_down("DB", &refs, ours(&applied), 1).unwrap_err();
        assert!(err.to_string().contains("0002_m2.rollback.sql"), "{err}");
        assert!(err.to_string().contains("nothing was rolled back"), "{err}");
        assert!(plan_down("DB", &refs, ours(&applied), 4)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn down_skips_pending() {
        let files: Vec<_> = (1..=3).map(|v| file(v, true)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied = vec![row(&files[0])];
        assert_eq!(
            versions(&plan_down("DB", &refs, ours(&applied), 0).unwrap()),
            [1]
        );
    }

    #[test]
    fn what_wranglers_ledger_records_is_applied_and_adopted_never_run() {
        let files: Vec<_> = (0..=3).map(|v| file(v, false)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied = vec![row(&files[0])];
        let rows = vec![
            ledger("0000_m0.sql"),
            ledger("0001_m1.sql"),
            ledger("0002_m2.sql"),
        ];
        let recorded = Recorded {
            applied: &applied,
            ledger: &rows,
            foreign: &[],
            elsewhere: &[],
            taken: &[],
        };
        let entries = status(&refs, recorded);
        let states: Vec<_> = entries.iter().map(|e| e.state).collect();
        assert_eq!(
            states,
            [
                State::Applied,
                State::Applied,
                State::Applied,
                State::Pending
            ]
        );
        assert!(entries[0].adopted.is_none() && entries[1].adopted.is_some());
        let plan = plan_up("DB", &refs, recorded, None).unwrap();
        assert_eq!(versions(&plan.run), [3]);
        let adopted: Vec<u64> = plan.adopt.iter().map(|(m, _)| m.version).collect();
        assert_eq!(adopted, [1, 2]);
        // `down` rolls back what either ledger records.
        let files: Vec<_> = (0..=3).map(|v| file(v, true)).collect();
        let refs: Vec<_> = files.iter().collect();
        assert_eq!(
            versions(&plan_down("DB", &refs, recorded, 0).unwrap()),
            [2, 1]
        );
    }

    #[test]
    fn a_migration_wrangler_applied_under_another_name_stops_the_run_and_says_which_case() {
        let files: Vec<_> = (1..=2).map(|v| file(v, false)).collect();
        let refs: Vec<_> = files.iter().collect();
        let rows = vec![
            ledger("0001_old_name.sql"),
            ledger("0001_m1.rollback.sql"),
            ledger("0002_other_db.sql"),
            ledger("0009_other_branch.sql"),
        ];
        let foreign = vec!["0002_other_db.sql".to_owned()];
        let recorded = Recorded {
            applied: &[],
            ledger: &rows,
            foreign: &foreign,
            elsewhere: &[],
            taken: &[],
        };
        let err = plan_up("DB", &refs, recorded, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("wrangler applied 0001_old_name.sql")
                && err.contains("mark 1 --renamed --db DB"),
            "{err}"
        );
        assert!(
            err.contains("0009_other_branch.sql") && err.contains("switch to the branch"),
            "{err}"
        );
        // Nothing that would delete what wrangler applied is advised.
        assert!(
            !err.contains("baseline") && !err.contains("DELETE"),
            "{err}"
        );
        assert!(
            !err.contains("rollback") && !err.contains("other_db"),
            "{err}"
        );
    }

    fn guard(name: &str) -> LedgerRow {
        LedgerRow {
            name: name.into(),
            applied_at: GUARD_APPLIED_AT.into(),
        }
    }

    #[test]
    fn guard_rows_are_never_applied_migrations_and_stale_ones_go_quietly() {
        // 0002 was another database's file (so it has a guard row here), and
        // is now routed to this one: it is pending, not adopted.
        let files: Vec<_> = (1..=2).map(|v| file(v, false)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied = vec![row(&files[0])];
        let rows = vec![
            ledger("0001_m1.sql"),
            guard("0002_m2.sql"),
            guard("0007_renamed_before_it_ran.sql"),
            guard("0003_elsewhere.sql"),
        ];
        let foreign = vec!["0003_elsewhere.sql".to_owned()];
        let recorded = Recorded {
            applied: &applied,
            ledger: &rows,
            foreign: &foreign,
            elsewhere: &[],
            taken: &[],
        };
        let plan = plan_up("DB", &refs, recorded, None).unwrap();
        assert_eq!(versions(&plan.run), [2]);
        assert!(plan.adopt.is_empty());
        let stale: Vec<&str> = stale_guards(recorded)
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(stale, ["0002_m2.sql", "0007_renamed_before_it_ran.sql"]);
    }

    #[test]
    fn an_undated_guard_of_an_older_run_is_known_by_a_version_another_database_holds() {
        let files = [file(1, false)];
        let rows = vec![ledger("0001_m1.sql"), ledger("0007_add_user_tier.sql")];
        let applied = vec![row(&files[0])];
        let mut recorded = Recorded {
            applied: &applied,
            ledger: &rows,
            foreign: &[],
            elsewhere: &[],
            taken: &[7],
        };
        assert!(plan_up("DB", &[&files[0]], recorded, None).is_ok());
        recorded.taken = &[];
        assert!(plan_up("DB", &[&files[0]], recorded, None).is_err());
    }

    #[test]
    fn a_migration_applied_on_another_branch_is_rebuilt_from_its_stored_sql() {
        let files: Vec<_> = (1..=2).map(|v| file(v, true)).collect();
        let mut applied: Vec<_> = files.iter().map(row).collect();
        applied.push(Applied {
            version: 3,
            name: "0003_feature".into(),
            applied_at: 1,
            checksum: Some("sum3".into()),
            duration_ms: Some(1),
            has_sql: true,
            rollback_sql: Some("DROP TABLE feature;".into()),
        });
        let rows = vec![ledger("0003_feature/migration.sql")];
        let mut refs: Vec<&Migration> = files.iter().collect();
        let recorded = Recorded {
            applied: &applied,
            ledger: &rows,
            foreign: &[],
            elsewhere: &[],
            taken: &[],
        };
        // Without it, the record names a missing file.
        assert!(plan_up("DB", &refs, recorded, None).is_err());
        let stored = stored_migrations("DB", &refs, recorded);
        assert_eq!(stored.len(), 1);
        assert!(stored[0].stored);
        assert_eq!(stored[0].file_name, "0003_feature/migration.sql");
        refs.extend(&stored);
        assert!(plan_up("DB", &refs, recorded, None).unwrap().run.is_empty());
        let down = plan_down("DB", &refs, recorded, 2).unwrap();
        assert_eq!(versions(&down), [3]);
        assert_eq!(
            down[0].rollback.as_ref().unwrap().sql,
            "DROP TABLE feature;"
        );
        // A migration applied without a rollback file cannot be rolled back.
        let mut without = applied.clone();
        without[2].rollback_sql = None;
        let recorded = Recorded {
            applied: &without,
            ..recorded
        };
        let stored = stored_migrations("DB", &files.iter().collect::<Vec<_>>(), recorded);
        let refs: Vec<&Migration> = files.iter().chain(&stored).collect();
        assert!(plan_down("DB", &refs, recorded, 2).is_err());
    }

    #[test]
    fn an_applied_file_renamed_is_named_with_the_command_that_records_the_new_name() {
        let files = [file(1, false)];
        let mut applied = row(&files[0]);
        applied.name = "0001_old".into();
        let err = plan_up("DB", &[&files[0]], ours(&[applied]), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("applied to DB as 0001_old") && err.contains("mark 1 --renamed"),
            "{err}"
        );
    }

    #[test]
    fn ledger_times_read_as_wrangler_writes_them() {
        assert_eq!(ledger("x").applied_at_ms(), Some(1_796_032_800_000));
        assert_eq!(
            LedgerRow {
                name: "x".into(),
                applied_at: "soon".into()
            }
            .applied_at_ms(),
            None
        );
    }

    #[test]
    fn a_renumbered_file_and_a_mis_routed_one_are_named_for_what_they_are() {
        let mut renumbered = file(4, false);
        renumbered.name = "0004_m3".into();
        renumbered.path = "0004_m3.sql".into();
        renumbered.checksum = "sum3".into();
        let files = [file(1, false), file(2, false), renumbered];
        let refs: Vec<_> = files.iter().collect();
        let mut three = row(&file(3, false));
        three.checksum = Some("sum3".into());
        let applied = vec![row(&files[0]), row(&files[1]), three];
        let err = plan_up("DB", &refs, ours(&applied), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("renumbered") && err.contains("0004_m3.sql (version 4)"),
            "{err}"
        );

        let mut moved = file(3, false);
        moved.binding = "OTHER".into();
        let elsewhere = [&moved];
        let recorded = Recorded {
            applied: &applied,
            ledger: &[],
            foreign: &[],
            elsewhere: &elsewhere,
            taken: &[],
        };
        let err = plan_up("DB", &refs[..2], recorded, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mis-routed") && err.contains("now goes to OTHER"),
            "{err}"
        );
        assert!(err.contains("-- database: DB"), "{err}");
    }
}

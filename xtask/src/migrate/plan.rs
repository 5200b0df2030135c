//! Pure planning: from (migrations on disk, rows in `_migrations`) to what to
//! run, or why not. No I/O happens here, so every rule has a unit test.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::migrate::source::Migration;

mod disagreements;
mod entries;
mod up_down;

pub use disagreements::{problems, stored_migrations};
pub use entries::{names_match, stale_guards, status, unknown_ledger_rows};
pub use up_down::{plan_down, plan_up};

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
    /// The options a suggested command needs to reach this database again
    /// ([`crate::migrate::Project::hint_flags`]).
    pub hints: String,
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
    /// [`Surroundings::hints`].
    pub hints: &'a str,
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

/// What `up [VERSION]` does in one database.
#[derive(Debug, Clone, Default)]
pub struct UpPlan<'a> {
    /// Its pending migrations up to the target, oldest first.
    pub run: Vec<&'a Migration>,
    /// Migrations wrangler's ledger records and `_migrations` does not, with
    /// wrangler's row: recorded in `_migrations` too, never run.
    pub adopt: Vec<(&'a Migration, LedgerRow)>,
}

#[cfg(test)]
mod tests;

//! The tracking tables: `_migrations` and wrangler's own ledger (`d1_migrations`
//! or the config's `migrations_table`), kept in step. Reading a database's
//! state in one call, and the SQL batches that apply or roll back migrations
//! together with their rows in both ledgers.

mod batch;

pub use batch::{down_batch, guarded, record_batch, schema_batch, up_batch, Batch, LedgerChange};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::migrate::config::Database;
use crate::migrate::d1::{text, D1Error, StatementResult};
use crate::migrate::lock;
use crate::migrate::plan::{Applied, LedgerRow, Recorded, Surroundings};
use crate::migrate::schema::{self, quote_name, Schema};
use crate::migrate::sql::quote_literal;

pub const TABLE: &str = "_migrations";

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _migrations (\
version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL, \
checksum TEXT, duration_ms INTEGER, sql TEXT, rollback_sql TEXT)";

/// wrangler's ledger, with the columns `wrangler d1 migrations apply` gives
/// it (on one line: it also goes into `--command` arguments).
pub fn create_ledger(db: &Database) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {}(id INTEGER PRIMARY KEY AUTOINCREMENT, \
         name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
        quote_name(&db.wrangler_table)
    )
}

pub use crate::migrate::plan::GUARD_APPLIED_AT;
pub use crate::migrate::sql::NOW_MS;

/// The shape of the tracking table in a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tracking {
    /// No `_migrations` table yet.
    Absent,
    /// An older shape (the seed's three columns, or ours before the SQL was
    /// stored): the columns it lacks get added on the next write.
    Legacy {
        checksum: bool,
        duration_ms: bool,
        /// `sql` and `rollback_sql`: each applied migration's text.
        sql: bool,
    },
    Current,
}

/// What one state read learns about a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbState {
    pub tracking: Tracking,
    pub applied: Vec<Applied>,
    /// wrangler's ledger, in its own order (empty when it has no table).
    #[serde(default)]
    pub ledger: Vec<LedgerRow>,
    /// Its schema (D1's internal tables left out): enough to rebuild it elsewhere.
    pub schema: Schema,
    /// The migration lock's row when the read saw one (a run holds it, or
    /// one that died left it); not part of what a plan or guard compares.
    #[serde(default)]
    pub lock: Option<LockRow>,
}

/// A `_migrations_lock` row, as a state read sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRow {
    pub owner: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
}

impl DbState {
    /// What it records, as [`crate::migrate::plan`] reads it, amid `around`.
    pub fn recorded<'a>(&'a self, around: &'a Surroundings<'a>) -> Recorded<'a> {
        Recorded {
            applied: &self.applied,
            ledger: &self.ledger,
            foreign: &around.foreign,
            elsewhere: &around.elsewhere,
            taken: &around.taken,
            hints: &around.hints,
        }
    }

    /// A database with nothing in it.
    pub fn empty() -> DbState {
        DbState {
            tracking: Tracking::Absent,
            applied: Vec::new(),
            ledger: Vec::new(),
            schema: Schema::default(),
            lock: None,
        }
    }
}

/// The columns and rows of `_migrations`: two statements, after the schema's.
/// The rows come without the migrations' own SQL (large: only `verify`
/// reads it), but with their rollbacks (small, and what `down` needs when
/// the file is not in this checkout). The natural join with a row of NULLs
/// lets one query read every shape of the table: a column the table lacks
/// is read as NULL, one it has as itself.
const TRACKING_QUERIES: [&str; 2] = [
    "SELECT name FROM pragma_table_info('_migrations')",
    "SELECT version, name, applied_at, checksum, duration_ms, sql IS NOT NULL AS has_sql, rollback_sql \
     FROM _migrations NATURAL LEFT JOIN (SELECT NULL AS checksum, NULL AS duration_ms, NULL AS sql, \
     NULL AS rollback_sql) ORDER BY version",
];

/// Which tracking tables a state read reads: a query naming a table that
/// does not exist fails as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    pub ours: bool,
    pub ledger: bool,
    /// `_migrations_lock` (every run since the lock came creates it).
    pub lock: bool,
}

impl Reads {
    pub const ALL: Reads = Reads {
        ours: true,
        ledger: true,
        lock: true,
    };

    /// The schema alone.
    pub const NONE: Reads = Reads {
        ours: false,
        ledger: false,
        lock: false,
    };

    /// How many results a state read of these tables returns.
    pub fn results(self) -> usize {
        1 + 2 * usize::from(self.ours) + usize::from(self.ledger) + usize::from(self.lock)
    }

    /// The tracking tables `schema` has.
    pub fn present_in(schema: &Schema, db: &Database) -> Reads {
        let has = |table: &str| {
            schema
                .objects
                .iter()
                .any(|o| o.kind == "table" && o.name == table)
        };
        Reads {
            ours: has(TABLE),
            ledger: has(&db.wrangler_table),
            lock: has(lock::TABLE),
        }
    }
}

/// The statements of a state read: the schema, then `_migrations`' columns
/// and rows, then wrangler's ledger, then the lock's row (each when `reads`
/// says); see [`parse_state`].
pub fn state_statements(db: &Database, reads: Reads) -> Vec<String> {
    let mut statements = vec![schema::QUERY.to_owned()];
    if reads.ours {
        statements.extend(TRACKING_QUERIES.map(str::to_owned));
    }
    if reads.ledger {
        statements.push(format!(
            "SELECT name, applied_at FROM {} ORDER BY id",
            quote_name(&db.wrangler_table)
        ));
    }
    if reads.lock {
        statements.push(format!("SELECT owner, expires_at FROM {}", lock::TABLE));
    }
    statements
}

/// The schema and both ledgers: one call.
pub fn state_query(db: &Database) -> String {
    state_statements(db, Reads::ALL).join("; ")
}

/// The state read of a run that will write when there is work: creates both
/// tracking tables, takes the lock when `work` (an SQL condition) holds, then
/// reads the state. One call; see [`parse_locking_state`].
pub fn locking_state_query(db: &Database, lock: &lock::Request, work: &str) -> String {
    let mut statements = vec![CREATE_TABLE.to_owned(), create_ledger(db)];
    statements.extend(lock.acquire_statements(work));
    statements.push(state_query(db));
    statements.join("; ")
}

/// Splits the results of [`locking_state_query`].
pub fn parse_locking_state(
    request: &lock::Request,
    results: &[StatementResult],
) -> Result<(DbState, lock::Outcome)> {
    let lock_end = 2 + lock::ACQUIRE_RESULTS;
    if results.len() != lock_end + Reads::ALL.results() {
        bail!(
            "the state query returned {} results where {} were expected: wrangler split it differently",
            results.len(),
            lock_end + Reads::ALL.results()
        );
    }
    let outcome = lock::parse(request, &results[2..lock_end])?;
    Ok((parse_state(&results[lock_end..], Reads::ALL)?, outcome))
}

/// The condition under which `up` has work in a database: one of `versions`
/// (its files, up to the target) is not recorded yet.
pub fn pending_condition(versions: &[u64]) -> String {
    if versions.is_empty() {
        return "0".to_owned();
    }
    let values: Vec<String> = versions.iter().map(|v| format!("({v})")).collect();
    format!(
        "EXISTS (SELECT 1 FROM (VALUES {}) WHERE column1 NOT IN (SELECT version FROM _migrations))",
        values.join(", ")
    )
}

/// The condition under which wrangler's ledger is not as a run leaves it:
/// it lacks the file name of a migration `_migrations` records (of `files`,
/// by version), or a guard row for one of `foreign` (the files wrangler must
/// never run here), or it holds a guard row no file needs any more: dated as
/// one, a rollback file's, or one older runs wrote for a version of
/// `taken` (see [`crate::migrate::plan::stale_guards`]).
pub fn ledger_behind_condition(
    db: &Database,
    files: &[(u64, String)],
    foreign: &[String],
    taken: &[u64],
) -> String {
    let ledger = quote_name(&db.wrangler_table);
    let guard_at = quote_literal(GUARD_APPLIED_AT);
    let mut parts = Vec::new();
    if !files.is_empty() {
        let values: Vec<String> = files
            .iter()
            .map(|(version, name)| format!("({version}, {})", quote_literal(name)))
            .collect();
        parts.push(format!(
            "EXISTS (SELECT 1 FROM (VALUES {}) AS f JOIN _migrations AS m ON m.version = f.column1 \
             WHERE NOT EXISTS (SELECT 1 FROM {ledger} AS w WHERE w.name = f.column2))",
            values.join(", ")
        ));
    }
    let not_foreign = match foreign.is_empty() {
        true => String::new(),
        false => {
            let values: Vec<String> = foreign
                .iter()
                .map(|n| format!("({})", quote_literal(n)))
                .collect();
            parts.push(format!(
                "EXISTS (SELECT 1 FROM (VALUES {}) AS f WHERE NOT EXISTS \
                 (SELECT 1 FROM {ledger} AS w WHERE w.name = f.column1 AND w.applied_at = {guard_at}))",
                values.join(", ")
            ));
            let list: Vec<String> = foreign.iter().map(|n| quote_literal(n)).collect();
            format!(" AND w.name NOT IN ({})", list.join(", "))
        }
    };
    let mut stale = vec![
        format!("w.applied_at = {guard_at}"),
        "w.name LIKE '%.rollback.sql'".to_owned(),
    ];
    if !taken.is_empty() {
        let versions: Vec<String> = taken.iter().map(u64::to_string).collect();
        stale.push(format!(
            "(CAST(w.name AS INTEGER) IN ({}) AND NOT EXISTS (SELECT 1 FROM _migrations AS m \
             WHERE w.name = m.name || '.sql' OR substr(w.name, 1, length(m.name) + 1) = m.name || '/'))",
            versions.join(", ")
        ));
    }
    parts.push(format!(
        "EXISTS (SELECT 1 FROM {ledger} AS w WHERE ({}){not_foreign})",
        stale.join(" OR ")
    ));
    format!("({})", parts.join(" OR "))
}

/// The condition under which `down TARGET` has work in a database.
pub fn applied_above_condition(target: u64) -> String {
    format!("EXISTS (SELECT 1 FROM _migrations WHERE version > {target})")
}

/// An SQL condition that holds exactly when a database is still as `state`
/// describes it: the same tracking-table columns and rows (version, name and
/// checksum), the same rows in wrangler's ledger, and the same app schema,
/// object for object. It is checked after both tracking tables are created
/// (see [`guarded`]), so a missing table counts as an empty one.
pub fn unchanged_condition(state: &DbState, db: &Database) -> String {
    let mut parts = Vec::new();
    let (checksum, duration_ms, sql) = match state.tracking {
        Tracking::Absent | Tracking::Current => (true, true, true),
        Tracking::Legacy {
            checksum,
            duration_ms,
            sql,
        } => (checksum, duration_ms, sql),
    };
    for (column, present) in [
        ("checksum", checksum),
        ("duration_ms", duration_ms),
        ("rollback_sql", sql),
    ] {
        parts.push(format!(
            "(SELECT count(*) FROM pragma_table_info('_migrations') WHERE name = '{column}') = {}",
            u8::from(present)
        ));
    }
    let count = state.applied.len();
    parts.push(format!("(SELECT count(*) FROM _migrations) = {count}"));
    if count > 0 {
        let rows: Vec<String> = state
            .applied
            .iter()
            .map(|a| {
                let sum = a.checksum.as_deref().map_or("NULL".into(), quote_literal);
                format!("({}, {}, {sum})", a.version, quote_literal(&a.name))
            })
            .collect();
        let checksum = if checksum {
            " AND m.checksum IS v.column3"
        } else {
            ""
        };
        parts.push(format!(
            "(SELECT count(*) FROM _migrations AS m JOIN (VALUES {}) AS v \
             ON m.version = v.column1 AND m.name IS v.column2{checksum}) = {count}",
            rows.join(", ")
        ));
    }
    let ledger = quote_name(&db.wrangler_table);
    let count = state.ledger.len();
    parts.push(format!("(SELECT count(*) FROM {ledger}) = {count}"));
    if count > 0 {
        let names: Vec<String> = state
            .ledger
            .iter()
            .map(|row| format!("({})", quote_literal(&row.name)))
            .collect();
        parts.push(format!(
            "(SELECT count(*) FROM {ledger} AS w JOIN (VALUES {}) AS v ON w.name = v.column1) = {count}",
            names.join(", ")
        ));
    }
    let tracking_tables = db.tracking_tables();
    let tracking: Vec<String> = tracking_tables.iter().map(|t| quote_literal(t)).collect();
    let app = format!(
        "{} AND tbl_name NOT IN ({})",
        schema::OBJECTS_FILTER,
        tracking.join(", ")
    );
    let objects: Vec<String> = state
        .schema
        .objects
        .iter()
        .filter(|o| !tracking_tables.contains(&o.table.as_str()))
        .map(|o| {
            format!(
                "({}, {}, {}, {})",
                quote_literal(&o.kind),
                quote_literal(&o.name),
                quote_literal(&o.table),
                quote_literal(&o.sql)
            )
        })
        .collect();
    parts.push(format!(
        "(SELECT count(*) FROM sqlite_master WHERE {app}) = {}",
        objects.len()
    ));
    if !objects.is_empty() {
        parts.push(format!(
            "(SELECT count(*) FROM sqlite_master AS m JOIN (VALUES {}) AS v ON m.type = v.column1 \
             AND m.name = v.column2 AND m.tbl_name = v.column3 AND m.sql = v.column4) = {}",
            objects.join(", "),
            objects.len()
        ));
    }
    parts.join(" AND ")
}

/// True when D1 refused a query because `_migrations` does not exist.
pub fn is_missing_table(err: &anyhow::Error) -> bool {
    is_missing_table_named(err, TABLE)
}

/// True when D1 refused a query because `table` does not exist.
pub fn is_missing_table_named(err: &anyhow::Error, table: &str) -> bool {
    let needle = format!("no such table: {table}");
    err.downcast_ref::<D1Error>().is_some_and(|e| {
        e.text.match_indices(&needle).any(|(at, _)| {
            !e.text[at + needle.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        })
    })
}

fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Parses the results of [`state_statements`] for `reads`.
pub fn parse_state(results: &[StatementResult], reads: Reads) -> Result<DbState> {
    let expected = reads.results();
    if results.len() != expected {
        bail!(
            "the state query returned {} results where {expected} were expected: wrangler split it differently",
            results.len()
        );
    }
    let mut state = DbState {
        schema: Schema::from_result(&results[0]),
        ..DbState::empty()
    };
    if reads.ours {
        let [columns, rows] = [&results[1], &results[2]];
        let has = |column: &str| {
            columns
                .results
                .iter()
                .any(|row| text(row.get("name")).as_deref() == Some(column))
        };
        state.tracking = match (has("checksum"), has("duration_ms"), has("rollback_sql")) {
            (true, true, true) => Tracking::Current,
            (checksum, duration_ms, sql) => Tracking::Legacy {
                checksum,
                duration_ms,
                sql,
            },
        };
        for row in &rows.results {
            let version = integer(row.get("version"))
                .and_then(|v| u64::try_from(v).ok())
                .with_context(|| format!("_migrations has a row with a bad version: {row:?}"))?;
            state.applied.push(Applied {
                version,
                name: text(row.get("name")).unwrap_or_default(),
                applied_at: integer(row.get("applied_at")).unwrap_or_default(),
                checksum: text(row.get("checksum")),
                duration_ms: integer(row.get("duration_ms")),
                has_sql: integer(row.get("has_sql")).is_some_and(|n| n != 0),
                rollback_sql: text(row.get("rollback_sql")),
            });
        }
    }
    if reads.lock {
        state.lock = results[expected - 1].results.first().and_then(|row| {
            Some(LockRow {
                owner: text(row.get("owner"))?,
                expires_at: integer(row.get("expires_at"))?,
            })
        });
    }
    if reads.ledger {
        let rows = &results[1 + 2 * usize::from(reads.ours)];
        state.ledger = rows
            .results
            .iter()
            .filter_map(|row| {
                Some(LedgerRow {
                    name: text(row.get("name"))?,
                    applied_at: text(row.get("applied_at")).unwrap_or_default(),
                })
            })
            .collect();
    }
    Ok(state)
}

#[cfg(test)]
mod tests;

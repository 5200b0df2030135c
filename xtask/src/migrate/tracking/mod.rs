//! The tracking tables: `_migrations` and wrangler's own ledger (`d1_migrations`
//! or the config's `migrations_table`), kept in step. Reading a database's
//! state in one call, and the SQL batches that apply or roll back migrations
//! together with their rows in both ledgers.

mod batch;

pub use batch::{
    down_batch, guarded, record_batch, schema_batch, up_batch, Batch, BatchStatement, LedgerChange,
};

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
mod tests {
    use super::*;
    use crate::migrate::source::Migration;
    use serde_json::json;

    fn results(value: Value) -> Vec<StatementResult> {
        serde_json::from_value(value).unwrap()
    }

    fn db(ledger: &str) -> Database {
        Database {
            binding: "DB".into(),
            name: "db".into(),
            id: None,
            renamed_by: None,
            wrangler_table: ledger.into(),
            migrations_dir: None,
            migrations_pattern: None,
            local_id: "DB".into(),
        }
    }

    #[test]
    fn parses_both_ledgers_and_null_strings() {
        let state = parse_state(
            &results(json!([
                {"results": [{"type": "table", "name": "t", "tbl_name": "t", "sql": "CREATE TABLE t(a)"}]},
                {"results": [{"name": "version"}, {"name": "name"}, {"name": "applied_at"}, {"name": "checksum"}, {"name": "duration_ms"}, {"name": "sql"}, {"name": "rollback_sql"}]},
                {"results": [{"version": 1, "name": "0001_a", "applied_at": 5, "checksum": "null", "duration_ms": 3, "has_sql": 1, "rollback_sql": "DROP TABLE a"}]},
                {"results": [{"name": "0001_a.sql", "applied_at": "2026-11-30 10:00:00"}]},
                {"results": [{"owner": "ci-7:42 migrate up", "expires_at": 1_764_500_000_000_i64}]}
            ])),
            Reads::ALL,
        )
        .unwrap();
        assert_eq!(state.tracking, Tracking::Current);
        assert_eq!(state.schema.create_statements(), ["CREATE TABLE t(a)"]);
        assert_eq!(state.applied[0].checksum, None);
        assert_eq!(state.applied[0].duration_ms, Some(3));
        assert!(state.applied[0].has_sql);
        assert_eq!(
            state.applied[0].rollback_sql.as_deref(),
            Some("DROP TABLE a")
        );
        assert_eq!(state.ledger[0].name, "0001_a.sql");
        assert_eq!(
            state.lock,
            Some(LockRow {
                owner: "ci-7:42 migrate up".into(),
                expires_at: 1_764_500_000_000
            })
        );
    }

    #[test]
    fn recognises_the_seed_table_and_a_ledger_read_alone() {
        let only_ours = Reads {
            ours: true,
            ..Reads::NONE
        };
        let state = parse_state(
            &results(json!([
                {"results": []},
                {"results": [{"name": "version"}, {"name": "name"}, {"name": "applied_at"}]},
                {"results": [{"version": 2, "name": "0002_b", "applied_at": 7}]}
            ])),
            only_ours,
        )
        .unwrap();
        assert_eq!(
            state.tracking,
            Tracking::Legacy {
                checksum: false,
                duration_ms: false,
                sql: false
            }
        );
        assert_eq!(state.applied[0].version, 2);
        assert_eq!(state.applied[0].duration_ms, None);
        let only_wranglers = Reads {
            ledger: true,
            ..Reads::NONE
        };
        let state = parse_state(
            &results(json!([
                {"results": []},
                {"results": [{"name": "0000_init.sql", "applied_at": "2026-01-01 00:00:00"}]}
            ])),
            only_wranglers,
        )
        .unwrap();
        assert_eq!(state.tracking, Tracking::Absent);
        assert_eq!(state.ledger.len(), 1);
        assert_eq!(
            state_statements(&db("d1_migrations"), only_wranglers).len(),
            2
        );
    }

    #[test]
    fn state_queries_survive_wranglers_splitter_and_name_the_configured_ledger() {
        let request = lock::Request {
            owner: "host:1 migrate up".into(),
            ttl: std::time::Duration::from_secs(1),
        };
        let db = db("schema history");
        let locking = locking_state_query(&db, &request, &pending_condition(&[1, 3]));
        for (query, count) in [(state_query(&db), 5), (locking, 11)] {
            let statements = crate::migrate::sql::split(&query).unwrap();
            assert_eq!(statements.len(), count, "{query}");
            assert!(query.contains("\"schema history\""), "{query}");
            let findings =
                crate::migrate::sql::lint(&query, crate::migrate::sql::LintOptions::default());
            assert!(
                findings.iter().all(|f| !f.message.contains("wrangler")),
                "{findings:?}"
            );
        }
    }

    fn state() -> DbState {
        DbState {
            tracking: Tracking::Current,
            applied: vec![Applied {
                version: 7,
                name: "0007_it's".into(),
                applied_at: 1,
                checksum: Some("abc".into()),
                duration_ms: None,
                has_sql: false,
                rollback_sql: None,
            }],
            ledger: vec![LedgerRow {
                name: "0007_it's.sql".into(),
                applied_at: "2026-11-30 10:00:00".into(),
            }],
            schema: Schema {
                objects: vec![
                    schema::Object {
                        kind: "trigger".into(),
                        name: "trg".into(),
                        table: "t".into(),
                        sql: "CREATE TRIGGER trg AFTER UPDATE ON t BEGIN UPDATE t SET a = 1; END"
                            .into(),
                    },
                    schema::Object {
                        kind: "table".into(),
                        name: "_migrations".into(),
                        table: "_migrations".into(),
                        sql: "CREATE TABLE _migrations (version INTEGER)".into(),
                    },
                    schema::Object {
                        kind: "table".into(),
                        name: "history".into(),
                        table: "history".into(),
                        sql: "CREATE TABLE history (id)".into(),
                    },
                ],
            },
            lock: None,
        }
    }

    #[test]
    fn the_guard_survives_wranglers_splitter_and_names_every_row_and_object() {
        let state = state();
        let condition = unchanged_condition(&state, &db("history"));
        assert!(
            condition.contains("(7, '0007_it''s', 'abc')"),
            "{condition}"
        );
        assert!(condition.contains("('0007_it''s.sql')"), "{condition}");
        assert!(condition.contains("FROM \"history\") = 1"), "{condition}");
        assert!(
            condition.contains("'trigger', 'trg', 't', 'CREATE TRIGGER trg"),
            "{condition}"
        );
        assert!(
            condition.contains("AND m.checksum IS v.column3"),
            "{condition}"
        );
        // The tracking tables (wrangler's under its configured name) are
        // checked by their rows, not as schema objects.
        assert!(
            !condition.contains("'CREATE TABLE _migrations")
                && !condition.contains("'CREATE TABLE history"),
            "{condition}"
        );
        let request = lock::Request {
            owner: "host:1 migrate up".into(),
            ttl: std::time::Duration::from_secs(1),
        };
        let guard = request.guard_statements(&condition).join(";\n");
        assert_eq!(
            crate::migrate::sql::split(&guard).unwrap().len(),
            2,
            "{guard}"
        );
        let findings =
            crate::migrate::sql::lint(&guard, crate::migrate::sql::LintOptions::default());
        assert!(
            findings.iter().all(|f| !f.message.contains("wrangler")),
            "{findings:?}"
        );

        let legacy = DbState {
            tracking: Tracking::Legacy {
                checksum: false,
                duration_ms: false,
                sql: false,
            },
            ..state
        };
        let condition = unchanged_condition(&legacy, &db("d1_migrations"));
        assert!(
            condition.contains("WHERE name = 'checksum') = 0"),
            "{condition}"
        );
        assert!(!condition.contains("m.checksum"), "{condition}");
    }

    #[test]
    fn unexpected_result_count_is_an_error() {
        assert!(parse_state(
            &results(json!([{"results": []}, {"results": []}])),
            Reads::ALL
        )
        .is_err());
    }

    #[test]
    fn schema_only_means_no_table() {
        let state = parse_state(&results(json!([{"results": []}])), Reads::NONE).unwrap();
        assert_eq!(state.tracking, Tracking::Absent);
    }

    fn migration(name: &str, sql: &str) -> Migration {
        Migration {
            version: 1,
            name: name.into(),
            file_name: format!("{name}.sql"),
            path: "x.sql".into(),
            sql: sql.into(),
            checksum: "abc".into(),
            binding: "DB".into(),
            rollback: Some(crate::migrate::source::Script {
                path: "x.rollback.sql".into(),
                sql: "DROP TABLE IF EXISTS t;".into(),
                checksum: "def".into(),
                ledger_name: None,
            }),
            stored: false,
        }
    }

    #[test]
    fn up_batch_escapes_names_upgrades_seed_table_and_writes_wranglers_ledger() {
        let m = migration(
            "0001_it's",
            "CREATE TABLE t(a);\n\nINSERT INTO t VALUES ('x;y');",
        );
        let ledger = LedgerChange {
            present: vec!["0000_done.sql".into(), "0001_it's.sql".into()],
            absent: Vec::new(),
            guards: None,
        };
        let batch = up_batch(
            Tracking::Legacy {
                checksum: false,
                duration_ms: false,
                sql: false,
            },
            &db("d1_migrations"),
            &[],
            &[&m],
            &ledger,
        )
        .unwrap();
        let text = batch.to_sql(crate::migrate::sql::Splitter::UpperCaseEnd);
        assert!(text.contains("ADD COLUMN checksum TEXT"));
        assert!(text.contains("ADD COLUMN duration_ms INTEGER"));
        assert!(text.contains("'0001_it''s'"), "{text}");
        assert!(
            text.contains("CREATE TABLE IF NOT EXISTS \"d1_migrations\"(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE"),
            "{text}"
        );
        let origins: Vec<_> = batch.statements.iter().filter_map(|s| s.origin).collect();
        assert_eq!(origins, [(0, 1), (0, 3)]);
        let last = &batch.statements.last().unwrap().sql;
        assert!(
            last.starts_with("INSERT INTO \"d1_migrations\" (name) SELECT v.column1 FROM (VALUES ('0000_done.sql'), ('0001_it''s.sql'))"),
            "{last}"
        );
        let statements: Vec<&str> = batch.statements.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            crate::migrate::sql::check_batch(
                &statements,
                crate::migrate::sql::Splitter::UpperCaseEnd
            ),
            Ok(())
        );
    }

    #[test]
    fn up_batch_records_adopted_migrations_with_wranglers_time_without_running_them() {
        let m = migration("0001_a", "CREATE TABLE t(a);");
        let batch = up_batch(
            Tracking::Current,
            &db("d1_migrations"),
            &[(&m, Some(1_796_032_800_000))],
            &[],
            &LedgerChange::default(),
        )
        .unwrap();
        let text = batch.to_sql(crate::migrate::sql::Splitter::UpperCaseEnd);
        // Recorded with its SQL and rollback, which are not run.
        assert!(
            text.contains("VALUES (1, '0001_a', 1796032800000, 'abc', NULL, 'CREATE TABLE t(a);', 'DROP TABLE IF EXISTS t;')"),
            "{text}"
        );
        assert!(!text.contains("\nCREATE TABLE t(a)"), "{text}");
    }

    #[test]
    fn a_migration_too_long_for_one_statement_is_stored_whole_in_pieces() {
        // 250 000 bytes of seed rows (D1 takes at most 100 000 a statement),
        // with quotes that double when quoted and the words wrangler rewrites.
        let row = "INSERT INTO t VALUES ('it''s ünïcödé');\n";
        let sql = format!(
            "-- BEGIN TRANSACTION is only a comment\nCREATE TABLE t(a);\n{}",
            row.repeat(250_000 / row.len())
        );
        let mut m = migration("0001_seed", &sql);
        m.rollback.as_mut().unwrap().sql = "DROP TABLE t; -- BEGIN TRANSACTION".into();
        let batch = up_batch(
            Tracking::Current,
            &db("d1_migrations"),
            &[],
            &[&m],
            &LedgerChange::default(),
        )
        .unwrap();
        let bookkeeping: Vec<&str> = batch
            .statements
            .iter()
            .filter(|s| s.origin.is_none())
            .map(|s| s.sql.as_str())
            .collect();
        assert!(bookkeeping.iter().all(|s| s.len() < 100_000));
        assert!(bookkeeping.iter().all(|s| !s.contains("BEGIN TRANSACTION")));
        // wrangler's splitter (both of them) cuts the batch where SQLite does.
        let all: Vec<&str> = batch.statements.iter().map(|s| s.sql.as_str()).collect();
        for splitter in [
            crate::migrate::sql::Splitter::UpperCaseEnd,
            crate::migrate::sql::Splitter::AnyCaseEnd,
        ] {
            assert_eq!(crate::migrate::sql::check_batch(&all, splitter), Ok(()));
        }
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        for statement in &bookkeeping {
            connection.execute_batch(statement).unwrap();
        }
        let (stored, rollback): (String, String) = connection
            .query_row(
                "SELECT sql, rollback_sql FROM _migrations WHERE version = 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(stored, sql);
        assert_eq!(rollback, "DROP TABLE t; -- BEGIN TRANSACTION");

        // Over a mebibyte (a data load), the migration's own text is not
        // kept (each piece rewrites all before it); its rollback still is.
        m.version = 2;
        m.sql = format!("CREATE TABLE u(a);\n{}", row.repeat(1_200_000 / row.len()));
        let batch = up_batch(
            Tracking::Current,
            &db("d1_migrations"),
            &[],
            &[&m],
            &LedgerChange::default(),
        )
        .unwrap();
        let bookkeeping: Vec<&str> = batch
            .statements
            .iter()
            .filter(|s| s.origin.is_none())
            .map(|s| s.sql.as_str())
            .collect();
        for statement in &bookkeeping {
            connection.execute_batch(statement).unwrap();
        }
        let (stored, rollback): (Option<String>, String) = connection
            .query_row(
                "SELECT sql, rollback_sql FROM _migrations WHERE version = 2",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(stored, None);
        assert_eq!(rollback, "DROP TABLE t; -- BEGIN TRANSACTION");
    }

    #[test]
    fn down_batch_deletes_rows_in_both_ledgers() {
        let m = migration("0001_a", "");
        let ledger = LedgerChange {
            present: Vec::new(),
            absent: vec!["0001_a.sql".into()],
            guards: None,
        };
        let text = down_batch(&db("d1_migrations"), &[&m], &ledger)
            .unwrap()
            .to_sql(crate::migrate::sql::Splitter::UpperCaseEnd);
        assert!(
            text.ends_with(
                "DROP TABLE IF EXISTS t;\nDELETE FROM _migrations WHERE version = 1;\n\
                 DELETE FROM \"d1_migrations\" WHERE name IN ('0001_a.sql');\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_ledger_is_behind_when_an_applied_migration_or_a_guard_row_is_missing_or_stale() {
        let db = db("d1_migrations");
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        connection
            .execute_batch(&format!(
                "{CREATE_TABLE}; {}; INSERT INTO _migrations (version, name, applied_at) VALUES (1, '0001_a', 1)",
                create_ledger(&db)
            ))
            .unwrap();
        let behind = |foreign: &[&str], taken: &[u64]| -> bool {
            let foreign: Vec<String> = foreign.iter().map(|n| n.to_string()).collect();
            let condition =
                ledger_behind_condition(&db, &[(1, "0001_a.sql".into())], &foreign, taken);
            connection
                .query_row(&format!("SELECT {condition}"), [], |row| row.get(0))
                .unwrap()
        };
        let run = |sql: &str| connection.execute_batch(sql).unwrap();
        assert!(behind(&[], &[]), "0001_a.sql is missing");
        run("INSERT INTO d1_migrations (name) VALUES ('0001_a.sql')");
        assert!(!behind(&[], &[]));
        assert!(behind(&["0002_b.sql"], &[]), "a guard row is missing");
        run("INSERT INTO d1_migrations (name) VALUES ('0002_b.sql')");
        assert!(behind(&["0002_b.sql"], &[]), "a guard row is not dated");
        run(
            "UPDATE d1_migrations SET applied_at = '1970-01-01 00:00:00' WHERE name = '0002_b.sql'",
        );
        assert!(!behind(&["0002_b.sql"], &[]));
        assert!(behind(&[], &[]), "a dated guard row no file needs");
        run("DELETE FROM d1_migrations WHERE name = '0002_b.sql'");
        run("INSERT INTO d1_migrations (name) VALUES ('0001_a.rollback.sql'), ('0007_old.sql')");
        assert!(behind(&[], &[]), "an old rollback row no file needs");
        assert!(
            behind(&["0001_a.rollback.sql"], &[]),
            "an old guard row, not dated"
        );
        run("UPDATE d1_migrations SET applied_at = '1970-01-01 00:00:00' WHERE name = '0001_a.rollback.sql'");
        assert!(!behind(&["0001_a.rollback.sql"], &[]));
        assert!(
            behind(&["0001_a.rollback.sql"], &[7]),
            "an older run's row for a version another database's file holds"
        );
        assert!(
            !behind(&["0001_a.rollback.sql"], &[1]),
            "0001_a.sql is applied here"
        );
    }
}

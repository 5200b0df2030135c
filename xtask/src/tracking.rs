//! The `_migrations` table: reading a database's state in one call, and the
//! SQL batches that apply or roll back migrations together with their rows.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lock;
use crate::plan::Applied;
use crate::schema::{self, Schema};
use crate::source::Migration;
use crate::sql::{self, quote_literal};
use crate::wrangler::{text, D1Error, StatementResult};

pub const TABLE: &str = "_migrations";

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _migrations (\
version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL, \
checksum TEXT, duration_ms INTEGER)";

/// Unix time in milliseconds, as D1 sees it while running the statement.
pub const NOW_MS: &str = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

/// The shape of the tracking table in a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tracking {
    /// No `_migrations` table yet.
    Absent,
    /// The seed's three columns: checksum and duration_ms get added on the next write.
    Legacy {
        checksum: bool,
        duration_ms: bool,
    },
    Current,
}

/// What one state read learns about a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbState {
    pub tracking: Tracking,
    pub applied: Vec<Applied>,
    /// Its schema (D1's internal tables left out): enough to rebuild it elsewhere.
    pub schema: Schema,
}

/// The rows and columns of the tracking table: two statements, after the schema's.
const TRACKING_QUERIES: [&str; 2] = [
    "SELECT name FROM pragma_table_info('_migrations')",
    "SELECT * FROM _migrations ORDER BY version",
];

/// The schema, the tracking table's columns and its rows: one call.
pub fn state_query() -> String {
    state_statements().join("; ")
}

/// [`state_query`]'s three statements; see [`parse_state`].
pub fn state_statements() -> [&'static str; 3] {
    [schema::QUERY, TRACKING_QUERIES[0], TRACKING_QUERIES[1]]
}

/// The state read of a run that will write when there is work: creates the
/// tracking table, takes the lock when `work` (an SQL condition) holds, then
/// reads the state. One call; see [`parse_locking_state`].
pub fn locking_state_query(lock: &lock::Request, work: &str) -> String {
    let mut statements = vec![CREATE_TABLE.to_owned()];
    statements.extend(lock.acquire_statements(work));
    statements.push(state_query());
    statements.join("; ")
}

/// Splits the results of [`locking_state_query`].
pub fn parse_locking_state(
    request: &lock::Request,
    results: &[StatementResult],
) -> Result<(DbState, lock::Outcome)> {
    let lock_end = 1 + lock::ACQUIRE_RESULTS;
    if results.len() != lock_end + 3 {
        bail!(
            "the state query returned {} results where {} were expected: wrangler split it differently",
            results.len(),
            lock_end + 3
        );
    }
    let outcome = lock::parse(request, &results[1..lock_end])?;
    Ok((parse_state(&results[lock_end..])?, outcome))
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

/// The condition under which `down TARGET` has work in a database.
pub fn applied_above_condition(target: u64) -> String {
    format!("EXISTS (SELECT 1 FROM _migrations WHERE version > {target})")
}

/// An SQL condition that holds exactly when a database is still as `state`
/// describes it: the same tracking-table columns and rows (version, name and
/// checksum) and the same app schema, object for object. It is checked after
/// the tracking table is created (see [`guarded`]), so a database without the table counts as one
/// with an empty table.
pub fn unchanged_condition(state: &DbState) -> String {
    let mut parts = Vec::new();
    let (checksum, duration_ms) = match state.tracking {
        Tracking::Absent | Tracking::Current => (true, true),
        Tracking::Legacy {
            checksum,
            duration_ms,
        } => (checksum, duration_ms),
    };
    for (column, present) in [("checksum", checksum), ("duration_ms", duration_ms)] {
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
    let tracking: Vec<String> = schema::TRACKING_TABLES
        .iter()
        .map(|t| quote_literal(t))
        .collect();
    let app = format!(
        "{} AND tbl_name NOT IN ({})",
        schema::OBJECTS_FILTER,
        tracking.join(", ")
    );
    let objects: Vec<String> = state
        .schema
        .objects
        .iter()
        .filter(|o| !schema::TRACKING_TABLES.contains(&o.table.as_str()))
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

/// Parses the results of [`state_query`] (or of [`schema::QUERY`] alone, for
/// a database without the table).
pub fn parse_state(results: &[StatementResult]) -> Result<DbState> {
    let schema = Schema::from_result(
        results
            .first()
            .context("the state query returned no results")?,
    );
    let [columns, rows] = match results {
        [_] => {
            return Ok(DbState {
                tracking: Tracking::Absent,
                applied: Vec::new(),
                schema,
            })
        }
        [_, columns, rows] => [columns, rows],
        _ => bail!(
            "the state query returned {} results where 3 were expected: wrangler split it differently",
            results.len()
        ),
    };
    let has = |column: &str| {
        columns
            .results
            .iter()
            .any(|row| text(row.get("name")).as_deref() == Some(column))
    };
    let tracking = match (has("checksum"), has("duration_ms")) {
        (true, true) => Tracking::Current,
        (checksum, duration_ms) => Tracking::Legacy {
            checksum,
            duration_ms,
        },
    };
    let mut applied = Vec::new();
    for row in &rows.results {
        let version = integer(row.get("version"))
            .and_then(|v| u64::try_from(v).ok())
            .with_context(|| format!("_migrations has a row with a bad version: {row:?}"))?;
        applied.push(Applied {
            version,
            name: text(row.get("name")).unwrap_or_default(),
            applied_at: integer(row.get("applied_at")).unwrap_or_default(),
            checksum: text(row.get("checksum")),
            duration_ms: integer(row.get("duration_ms")),
        });
    }
    Ok(DbState {
        tracking,
        applied,
        schema,
    })
}

/// A batch for one `wrangler d1 execute --file` call, with the place each
/// statement came from so a failure can be traced back.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub statements: Vec<BatchStatement>,
}

#[derive(Debug, Clone)]
pub struct BatchStatement {
    pub sql: String,
    /// The migration (index into the plan) and line it came from; `None` for bookkeeping.
    pub origin: Option<(usize, usize)>,
}

impl Batch {
    fn push(&mut self, sql: impl Into<String>, origin: Option<(usize, usize)>) {
        self.statements.push(BatchStatement {
            sql: sql.into(),
            origin,
        });
    }

    /// Appends one of our own statements and returns the index of its result.
    pub fn push_bookkeeping(&mut self, sql: impl Into<String>) -> usize {
        self.push(sql, None);
        self.statements.len() - 1
    }

    /// The file text: one statement a line, each ended by `;`.
    pub fn to_sql(&self) -> String {
        self.statements
            .iter()
            .map(|s| format!("{};\n", s.sql))
            .collect()
    }

    /// The first `n` statements, for tracing a failure back.
    pub fn prefix(&self, n: usize) -> Batch {
        Batch {
            statements: self.statements[..n].to_vec(),
        }
    }
}

/// Statements that rebuild a schema.
pub fn schema_batch(schema: &Schema) -> Batch {
    let mut batch = Batch::default();
    for statement in schema.create_statements() {
        batch.push(statement, None);
    }
    batch
}

fn statements_of(sql_text: &str, file: &std::path::Path) -> Result<Vec<sql::Statement>> {
    sql::split(sql_text).with_context(|| format!("cannot split {} into statements", file.display()))
}

/// `batch`, opened by `guard` (see [`crate::lock::Request::guard_statements`])
/// after creating the tracking table, in the order a state read creates the
/// tables, so that [`unchanged_condition`] sees it.
pub fn guarded(guard: Vec<String>, batch: &Batch) -> Batch {
    let mut guarded = Batch::default();
    guarded.push(CREATE_TABLE, None);
    for statement in guard {
        guarded.push(statement, None);
    }
    guarded.statements.extend(batch.statements.iter().cloned());
    guarded
}

/// Creates the tracking table, or brings the seed's up to date.
fn prelude(tracking: Tracking) -> Batch {
    let mut batch = Batch::default();
    batch.push(CREATE_TABLE, None);
    if let Tracking::Legacy {
        checksum,
        duration_ms,
    } = tracking
    {
        if !checksum {
            batch.push("ALTER TABLE _migrations ADD COLUMN checksum TEXT", None);
        }
        if !duration_ms {
            batch.push(
                "ALTER TABLE _migrations ADD COLUMN duration_ms INTEGER",
                None,
            );
        }
    }
    batch
}

/// The `_migrations` row of `migration`, applied at `applied_at` (SQL).
fn insert_row(migration: &Migration, applied_at: &str) -> String {
    format!(
        "INSERT INTO _migrations (version, name, applied_at, checksum, duration_ms) VALUES ({}, {}, {applied_at}, {}, NULL)",
        migration.version,
        quote_literal(&migration.name),
        quote_literal(&migration.checksum)
    )
}

/// Records migrations as applied without running them: each with its
/// `applied_at` (Unix ms), or now.
pub fn record_batch(tracking: Tracking, rows: &[(&Migration, Option<i64>)]) -> Batch {
    let mut batch = prelude(tracking);
    for (migration, applied_at) in rows {
        let applied_at = applied_at.map_or(NOW_MS.to_owned(), |ms| ms.to_string());
        batch.push(insert_row(migration, &applied_at), None);
    }
    batch
}

/// Applies `plan` (oldest first): each migration's statements, bracketed by
/// its `_migrations` row so the row carries when it started and how long it took.
pub fn up_batch(tracking: Tracking, plan: &[&Migration]) -> Result<Batch> {
    let mut batch = prelude(tracking);
    for (index, migration) in plan.iter().enumerate() {
        batch.push(insert_row(migration, NOW_MS), None);
        for statement in statements_of(&migration.sql, &migration.path)? {
            batch.push(statement.sql, Some((index, statement.line)));
        }
    }
    if !plan.is_empty() {
        // Each migration ran from its row's applied_at until the next one's
        // row went in (the last one until now): one statement for the batch.
        let versions: Vec<String> = plan.iter().map(|m| m.version.to_string()).collect();
        let versions = versions.join(", ");
        batch.push(
            format!(
                "UPDATE _migrations SET duration_ms = coalesce((SELECT min(later.applied_at) FROM _migrations AS later \
                 WHERE later.version > _migrations.version AND later.version IN ({versions})), {NOW_MS}) - applied_at \
                 WHERE version IN ({versions})"
            ),
            None,
        );
    }
    Ok(batch)
}

/// Rolls back `plan` (newest first), deleting each row with its rollback.
pub fn down_batch(plan: &[&Migration]) -> Result<Batch> {
    let mut batch = Batch::default();
    for (index, migration) in plan.iter().enumerate() {
        let rollback = migration
            .rollback
            .as_ref()
            .with_context(|| format!("{} has no rollback file", migration.name))?;
        for statement in statements_of(&rollback.sql, &rollback.path)? {
            batch.push(statement.sql, Some((index, statement.line)));
        }
        batch.push(
            format!(
                "DELETE FROM _migrations WHERE version = {}",
                migration.version
            ),
            None,
        );
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn results(value: Value) -> Vec<StatementResult> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn parses_current_table_and_null_strings() {
        let state = parse_state(&results(json!([
            {"results": [{"type": "table", "name": "t", "tbl_name": "t", "sql": "CREATE TABLE t(a)"}]},
            {"results": [{"name": "version"}, {"name": "name"}, {"name": "applied_at"}, {"name": "checksum"}, {"name": "duration_ms"}]},
            {"results": [{"version": 1, "name": "0001_a", "applied_at": 5, "checksum": "null", "duration_ms": 3}]}
        ])))
        .unwrap();
        assert_eq!(state.tracking, Tracking::Current);
        assert_eq!(state.schema.create_statements(), ["CREATE TABLE t(a)"]);
        assert_eq!(state.applied[0].checksum, None);
        assert_eq!(state.applied[0].duration_ms, Some(3));
    }

    #[test]
    fn recognises_the_seed_table() {
        let state = parse_state(&results(json!([
            {"results": []},
            {"results": [{"name": "version"}, {"name": "name"}, {"name": "applied_at"}]},
            {"results": [{"version": 2, "name": "0002_b", "applied_at": 7}]}
        ])))
        .unwrap();
        assert_eq!(
            state.tracking,
            Tracking::Legacy {
                checksum: false,
                duration_ms: false
            }
        );
        assert_eq!(state.applied[0].version, 2);
        assert_eq!(state.applied[0].duration_ms, None);
    }

    #[test]
    fn state_query_survives_wranglers_splitter() {
        let request = lock::Request {
            owner: "host:1 migrate up".into(),
            ttl: std::time::Duration::from_secs(1),
        };
        let locking = locking_state_query(&request, &pending_condition(&[1, 3]));
        for (query, count) in [(state_query(), 3), (locking, 8)] {
            let statements = crate::sql::split(&query).unwrap();
            assert_eq!(statements.len(), count, "{query}");
            let findings = crate::sql::lint(&query);
            assert!(
                findings.iter().all(|f| !f.message.contains("wrangler")),
                "{findings:?}"
            );
        }
    }

    #[test]
    fn the_guard_survives_wranglers_splitter_and_names_every_row_and_object() {
        let state = DbState {
            tracking: Tracking::Current,
            applied: vec![Applied {
                version: 7,
                name: "0007_it's".into(),
                applied_at: 1,
                checksum: Some("abc".into()),
                duration_ms: None,
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
                ],
            },
        };
        let condition = unchanged_condition(&state);
        assert!(
            condition.contains("(7, '0007_it''s', 'abc')"),
            "{condition}"
        );
        assert!(
            condition.contains("'trigger', 'trg', 't', 'CREATE TRIGGER trg"),
            "{condition}"
        );
        assert!(
            condition.contains("AND m.checksum IS v.column3"),
            "{condition}"
        );
        // The tracking tables are checked by their rows, not as schema objects.
        assert!(
            !condition.contains("'CREATE TABLE _migrations"),
            "{condition}"
        );
        let request = lock::Request {
            owner: "host:1 migrate up".into(),
            ttl: std::time::Duration::from_secs(1),
        };
        let guard = request.guard_statements(&condition).join(";\n");
        assert_eq!(crate::sql::split(&guard).unwrap().len(), 2, "{guard}");
        let findings = crate::sql::lint(&guard);
        assert!(
            findings.iter().all(|f| !f.message.contains("wrangler")),
            "{findings:?}"
        );

        let legacy = DbState {
            tracking: Tracking::Legacy {
                checksum: false,
                duration_ms: false,
            },
            ..state
        };
        let condition = unchanged_condition(&legacy);
        assert!(
            condition.contains("WHERE name = 'checksum') = 0"),
            "{condition}"
        );
        assert!(!condition.contains("m.checksum"), "{condition}");
    }

    #[test]
    fn unexpected_result_count_is_an_error() {
        assert!(parse_state(&results(json!([{"results": []}, {"results": []}]))).is_err());
    }

    #[test]
    fn schema_only_means_no_table() {
        let state = parse_state(&results(json!([{"results": []}]))).unwrap();
        assert_eq!(state.tracking, Tracking::Absent);
    }

    fn migration(name: &str, sql: &str) -> Migration {
        Migration {
            version: 1,
            name: name.into(),
            path: "x.sql".into(),
            sql: sql.into(),
            checksum: "abc".into(),
            binding: "DB".into(),
            rollback: Some(crate::source::Script {
                path: "x.rollback.sql".into(),
                sql: "DROP TABLE IF EXISTS t;".into(),
                checksum: "def".into(),
            }),
        }
    }

    #[test]
    fn up_batch_escapes_names_and_upgrades_seed_table() {
        let m = migration(
            "0001_it's",
            "CREATE TABLE t(a);\n\nINSERT INTO t VALUES ('x;y');",
        );
        let batch = up_batch(
            Tracking::Legacy {
                checksum: false,
                duration_ms: false,
            },
            &[&m],
        )
        .unwrap();
        let text = batch.to_sql();
        assert!(text.contains("ADD COLUMN checksum TEXT"));
        assert!(text.contains("ADD COLUMN duration_ms INTEGER"));
        assert!(text.contains("'0001_it''s'"), "{text}");
        let origins: Vec<_> = batch.statements.iter().filter_map(|s| s.origin).collect();
        assert_eq!(origins, [(0, 1), (0, 3)]);
        let last = batch.statements.last().unwrap();
        assert!(
            last.sql.starts_with("UPDATE _migrations SET duration_ms"),
            "{}",
            last.sql
        );
    }

    #[test]
    fn down_batch_deletes_rows() {
        let m = migration("0001_a", "");
        let text = down_batch(&[&m]).unwrap().to_sql();
        assert_eq!(
            text,
            "DROP TABLE IF EXISTS t;\nDELETE FROM _migrations WHERE version = 1;\n"
        );
    }
}

//! One D1 database: its SQLite connection (transaction control refused to user SQL, as in D1),
//! its metadata file, its summary, and SQL run all or nothing, as queries or as imports.

mod time_travel;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::{Batch, Connection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::sql_error;
use super::results::{bind_value, json_value, Meta, StatementResult, Timings};
use super::ApiError;
use crate::dump::{dump_lines, DumpOptions};
use crate::util::{iso8601, now_ms};

use time_travel::{make_bookmark, HistoryEntry};

/// What `<id>.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct DbMeta {
    pub(super) name: String,
    pub(super) created_at: u64,
    history: Vec<HistoryEntry>,
}

/// An import whose file was ingested and which runs at the next poll.
#[derive(Debug, Clone)]
pub struct PendingImport {
    pub filename: String,
    pub path: PathBuf,
}

/// An export whose dump is ready for download.
#[derive(Debug, Clone)]
pub struct ExportReady {
    pub bookmark: String,
    pub options_key: String,
    pub filename: String,
    pub signed_url: String,
}

/// Totals of an import.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub num_queries: u64,
    pub duration: f64,
    pub rows_read: u64,
    pub rows_written: u64,
    pub changes: u64,
    pub last_row_id: i64,
    pub size_after: u64,
    pub final_bookmark: String,
}

/// One database: its connection, metadata and in-flight imports/exports.
pub struct Database {
    pub id: String,
    dir: PathBuf,
    conn: Connection,
    allow_transactions: Arc<AtomicBool>,
    pub(super) meta: DbMeta,
    pub pending_import: Option<PendingImport>,
    pub finished_imports: BTreeMap<String, Value>,
    pub exports: Vec<ExportReady>,
}

impl Database {
    pub(super) fn open(dir: &Path, id: &str, name: Option<&str>) -> anyhow::Result<Database> {
        let path = dir.join(format!("{id}.sqlite"));
        let meta_path = dir.join(format!("{id}.json"));
        let conn = Connection::open(&path)?;
        conn.execute_batch("PRAGMA foreign_keys=ON;")?;
        let allow = Arc::new(AtomicBool::new(false));
        let flag = allow.clone();
        // Like D1 (and workerd), refuse transaction control from user SQL.
        conn.authorizer(Some(move |ctx: AuthContext<'_>| match ctx.action {
            AuthAction::Transaction { .. } | AuthAction::Savepoint { .. }
                if !flag.load(Ordering::SeqCst) =>
            {
                Authorization::Deny
            }
            _ => Authorization::Allow,
        }));
        let meta = match fs::read(&meta_path) {
            Ok(bytes) => serde_json::from_slice::<DbMeta>(&bytes)?,
            Err(_) => {
                let now = now_ms();
                DbMeta {
                    name: name.unwrap_or(id).to_string(),
                    created_at: now,
                    history: vec![HistoryEntry {
                        seq: 1,
                        bookmark: make_bookmark(1, now),
                        started_at: now,
                        snapshot: None,
                    }],
                }
            }
        };
        let mut db = Database {
            id: id.to_string(),
            dir: dir.to_path_buf(),
            conn,
            allow_transactions: allow,
            meta,
            pending_import: None,
            finished_imports: BTreeMap::new(),
            exports: Vec::new(),
        };
        if let Some(name) = name {
            db.meta.name = name.to_string();
        }
        db.save_meta()?;
        Ok(db)
    }

    pub(super) fn save_meta(&self) -> anyhow::Result<()> {
        let path = self.dir.join(format!("{}.json", self.id));
        let tmp = self.dir.join(format!("{}.json.tmp", self.id));
        fs::write(&tmp, serde_json::to_vec_pretty(&self.meta)?)?;
        fs::rename(tmp, path)?;
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.meta.name
    }

    pub fn created_at(&self) -> u64 {
        self.meta.created_at
    }

    /// Size of the database in bytes.
    pub fn size(&self) -> u64 {
        let pages: i64 = self
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap_or(0);
        let size: i64 = self
            .conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap_or(0);
        (pages.max(0) as u64) * (size.max(0) as u64)
    }

    /// Number of user tables.
    pub fn num_tables(&self) -> u64 {
        self.conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .unwrap_or(0)
    }

    /// The summary `d1 list` and `d1 info` show.
    pub fn summary(&self) -> Value {
        serde_json::json!({
            "uuid": self.id,
            "name": self.meta.name,
            "created_at": iso8601(self.meta.created_at),
            "version": "production",
            "num_tables": self.num_tables(),
            "file_size": self.size(),
            "jurisdiction": null,
        })
    }

    fn internal<T>(&self, step: &str) -> impl FnOnce(T) -> ApiError + '_
    where
        T: std::fmt::Display,
    {
        let step = step.to_string();
        move |e| ApiError::internal(format!("{step} of database {}: {e}", self.id))
    }

    fn control(&self, sql: &str) -> rusqlite::Result<()> {
        self.allow_transactions.store(true, Ordering::SeqCst);
        let r = self.conn.execute_batch(sql);
        self.allow_transactions.store(false, Ordering::SeqCst);
        r
    }

    /// Returns the per-statement results; a write moves the database to a new state.
    pub fn execute(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<Vec<StatementResult>, ApiError> {
        let binds = params
            .iter()
            .map(bind_value)
            .collect::<Result<Vec<_>, _>>()?;
        self.ensure_snapshot()?;
        self.control("BEGIN IMMEDIATE")
            .map_err(self.internal("beginning a transaction"))?;
        let outcome = self.run_statements(sql, &binds);
        let outcome = match outcome {
            Ok((results, _)) if results.is_empty() => {
                Err(ApiError::sql("No SQL statements detected."))
            }
            Ok(ok) => match self.control("COMMIT") {
                Ok(()) => Ok(ok),
                Err(e) => Err(sql_error(&e)),
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok((results, wrote)) => {
                if wrote {
                    self.advance()?;
                }
                Ok(results)
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    let _ = self.control("ROLLBACK");
                }
                Err(e)
            }
        }
    }

    fn run_statements(
        &self,
        sql: &str,
        binds: &[rusqlite::types::Value],
    ) -> Result<(Vec<StatementResult>, bool), ApiError> {
        let mut results = Vec::new();
        let mut wrote = false;
        let mut batch = Batch::new(&self.conn, sql);
        loop {
            let mut stmt = match batch.next() {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                Err(e) => return Err(sql_error(&e)),
            };
            let readonly = stmt.readonly();
            let before_changes = self.conn.total_changes();
            let start = Instant::now();
            let expected = stmt.parameter_count();
            if expected > 0 {
                if binds.len() != expected {
                    return Err(ApiError::sql(format!(
                        "Wrong number of parameter bindings for SQL query. Expected {expected}, got {}.",
                        binds.len()
                    )));
                }
                for (i, v) in binds.iter().enumerate() {
                    stmt.raw_bind_parameter(i + 1, v)
                        .map_err(|e| sql_error(&e))?;
                }
            }
            let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
            let mut rows = Vec::new();
            {
                let mut cursor = stmt.raw_query();
                loop {
                    match cursor.next() {
                        Ok(Some(row)) => {
                            let mut values = Vec::with_capacity(columns.len());
                            for i in 0..columns.len() {
                                values.push(
                                    row.get_ref(i).map(json_value).map_err(|e| sql_error(&e))?,
                                );
                            }
                            rows.push(values);
                        }
                        Ok(None) => break,
                        Err(e) => return Err(sql_error(&e)),
                    }
                }
            }
            let elapsed = start.elapsed().as_secs_f64() * 1000.0;
            let changes = if readonly {
                0
            } else {
                self.conn.total_changes().saturating_sub(before_changes)
            };
            wrote |= !readonly;
            let rows_read = rows.len() as u64;
            results.push(StatementResult {
                meta: Meta {
                    served_by: "v3-prod",
                    served_by_region: "WEUR",
                    served_by_primary: true,
                    timings: Timings {
                        sql_duration_ms: elapsed,
                    },
                    duration: elapsed,
                    changes,
                    last_row_id: self.conn.last_insert_rowid(),
                    changed_db: !readonly,
                    size_after: self.size(),
                    rows_read,
                    rows_written: changes,
                },
                columns,
                rows,
            });
        }
        Ok((results, wrote))
    }

    /// Runs an uploaded SQL file: all or nothing.
    pub fn import(&mut self, sql: &str) -> Result<ImportOutcome, ApiError> {
        let start = Instant::now();
        let results = self.execute(sql, &[])?;
        let final_bookmark = self.bookmark();
        Ok(ImportOutcome {
            num_queries: results.len() as u64,
            duration: start.elapsed().as_secs_f64() * 1000.0,
            rows_read: results.iter().map(|r| r.meta.rows_read).sum(),
            rows_written: results.iter().map(|r| r.meta.rows_written).sum(),
            changes: results.iter().map(|r| r.meta.changes).sum(),
            last_row_id: self.conn.last_insert_rowid(),
            size_after: self.size(),
            final_bookmark,
        })
    }

    /// The SQL dump (wrangler's local export format).
    pub fn dump(&self, options: &DumpOptions) -> Result<String, String> {
        Ok(dump_lines(&self.conn, options)?.join("\n"))
    }
}

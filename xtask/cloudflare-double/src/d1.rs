//! D1 databases as real SQLite files, with D1's statement rules, error messages and a
//! snapshot history for Time Travel.
//!
//! Every database lives at `<data-dir>/d1/<id>.sqlite`, its metadata (name, history) beside it
//! in `<id>.json`, and the snapshots of its past states in `<data-dir>/d1/history/<id>/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::ValueRef;
use rusqlite::{Batch, Connection, MAIN_DB};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dump::{dump_lines, DumpOptions};
use crate::util::{iso8601, now_ms, random_hex};

/// An error in Cloudflare's shape: HTTP status, error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: u32,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A failing SQL statement: D1 answers HTTP 400 with code 7500.
    pub fn sql(message: impl Into<String>) -> Self {
        ApiError::new(400, 7500, message)
    }

    /// Something went wrong inside the double itself.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        ApiError::new(500, 7500, format!("Internal error: {message}"))
    }
}

/// The name SQLite gives a primary result code, as D1 appends it to messages.
fn code_name(primary: i32) -> &'static str {
    use rusqlite::ffi;
    match primary {
        ffi::SQLITE_ERROR => "SQLITE_ERROR",
        ffi::SQLITE_INTERNAL => "SQLITE_INTERNAL",
        ffi::SQLITE_PERM => "SQLITE_PERM",
        ffi::SQLITE_ABORT => "SQLITE_ABORT",
        ffi::SQLITE_BUSY => "SQLITE_BUSY",
        ffi::SQLITE_LOCKED => "SQLITE_LOCKED",
        ffi::SQLITE_NOMEM => "SQLITE_NOMEM",
        ffi::SQLITE_READONLY => "SQLITE_READONLY",
        ffi::SQLITE_INTERRUPT => "SQLITE_INTERRUPT",
        ffi::SQLITE_IOERR => "SQLITE_IOERR",
        ffi::SQLITE_CORRUPT => "SQLITE_CORRUPT",
        ffi::SQLITE_NOTFOUND => "SQLITE_NOTFOUND",
        ffi::SQLITE_FULL => "SQLITE_FULL",
        ffi::SQLITE_CANTOPEN => "SQLITE_CANTOPEN",
        ffi::SQLITE_PROTOCOL => "SQLITE_PROTOCOL",
        ffi::SQLITE_SCHEMA => "SQLITE_SCHEMA",
        ffi::SQLITE_TOOBIG => "SQLITE_TOOBIG",
        ffi::SQLITE_CONSTRAINT => "SQLITE_CONSTRAINT",
        ffi::SQLITE_MISMATCH => "SQLITE_MISMATCH",
        ffi::SQLITE_MISUSE => "SQLITE_MISUSE",
        ffi::SQLITE_NOLFS => "SQLITE_NOLFS",
        ffi::SQLITE_AUTH => "SQLITE_AUTH",
        ffi::SQLITE_RANGE => "SQLITE_RANGE",
        ffi::SQLITE_NOTADB => "SQLITE_NOTADB",
        _ => "SQLITE_ERROR",
    }
}

/// Bytes of whitespace and comments before the first token of `sql`.
fn leading_trivia(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            match sql[i + 2..].find("*/") {
                Some(end) => i += 2 + end + 2,
                None => return b.len(),
            }
        } else {
            return i;
        }
    }
}

/// D1's message for a SQLite error: `no such table: x: SQLITE_ERROR`,
/// `near "SELEC": syntax error at offset 0: SQLITE_ERROR` (offsets count from the statement's
/// first token).
fn sql_error(e: &rusqlite::Error) -> ApiError {
    match e {
        rusqlite::Error::SqlInputError {
            error,
            msg,
            offset,
            sql,
        } => {
            let offset = (*offset).max(0) as usize;
            let offset = offset.saturating_sub(leading_trivia(sql).min(offset));
            ApiError::sql(format!(
                "{msg} at offset {offset}: {}",
                code_name(error.extended_code & 0xff)
            ))
        }
        rusqlite::Error::SqliteFailure(error, msg) => {
            let text = msg.clone().unwrap_or_else(|| error.to_string());
            ApiError::sql(format!("{text}: {}", code_name(error.extended_code & 0xff)))
        }
        other => ApiError::sql(format!("{other}: SQLITE_ERROR")),
    }
}

/// One row of a result, keeping SQLite's column order (JavaScript object semantics: a repeated
/// column name keeps its first position and takes the last value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(pub Vec<(String, Value)>);

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The `meta` of one statement's result, as the D1 API returns it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Meta {
    pub served_by: &'static str,
    pub served_by_region: &'static str,
    pub served_by_primary: bool,
    pub timings: Timings,
    pub duration: f64,
    pub changes: u64,
    pub last_row_id: i64,
    pub changed_db: bool,
    pub size_after: u64,
    pub rows_read: u64,
    pub rows_written: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Timings {
    pub sql_duration_ms: f64,
}

/// One statement's result.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    pub meta: Meta,
}

/// The `/query` shape: rows as objects.
#[derive(Debug, Serialize)]
pub struct ObjectResult {
    pub results: Vec<Row>,
    pub success: bool,
    pub meta: Meta,
}

impl StatementResult {
    pub fn as_objects(&self) -> ObjectResult {
        let results = self
            .rows
            .iter()
            .map(|values| {
                let mut row = Row::default();
                for (name, value) in self.columns.iter().zip(values) {
                    match row.0.iter_mut().find(|(k, _)| k == name) {
                        Some(slot) => slot.1 = value.clone(),
                        None => row.0.push((name.clone(), value.clone())),
                    }
                }
                row
            })
            .collect();
        ObjectResult {
            results,
            success: true,
            meta: self.meta.clone(),
        }
    }

    /// The `/raw` shape: columns and rows of values.
    pub fn as_raw(&self) -> Value {
        serde_json::json!({
            "results": { "columns": self.columns, "rows": self.rows },
            "success": true,
            "meta": self.meta,
        })
    }
}

fn json_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Array(b.iter().map(|x| Value::from(*x)).collect()),
    }
}

fn bind_value(v: &Value) -> Result<rusqlite::types::Value, ApiError> {
    use rusqlite::types::Value as V;
    Ok(match v {
        Value::Null => V::Null,
        Value::Bool(b) => V::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => V::Integer(i),
            None => V::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => V::Text(s.clone()),
        Value::Array(items) => V::Blob(
            items
                .iter()
                .map(|i| i.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| {
                    ApiError::new(400, 7400, "A blob parameter must be an array of bytes")
                })?,
        ),
        Value::Object(_) => {
            return Err(ApiError::new(
                400,
                7400,
                "Unsupported parameter type: object",
            ))
        }
    })
}

/// One state of a database in its history.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct HistoryEntry {
    seq: u64,
    bookmark: String,
    /// When this state began (Unix ms).
    started_at: u64,
    /// A copy of the database in this state, taken before it was first written over.
    snapshot: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DbMeta {
    name: String,
    created_at: u64,
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
    meta: DbMeta,
    pub pending_import: Option<PendingImport>,
    pub finished_imports: BTreeMap<String, Value>,
    pub exports: Vec<ExportReady>,
}

impl Database {
    fn open(dir: &Path, id: &str, name: Option<&str>) -> anyhow::Result<Database> {
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

    fn save_meta(&self) -> anyhow::Result<()> {
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

    /// The bookmark of the current state.
    pub fn bookmark(&self) -> String {
        self.meta
            .history
            .last()
            .map(|h| h.bookmark.clone())
            .unwrap_or_default()
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

    /// Copies the current state aside (once per state) so a later restore can return to it.
    fn ensure_snapshot(&mut self) -> Result<(), ApiError> {
        let Some(last) = self.meta.history.last() else {
            return Err(ApiError::internal("empty history"));
        };
        if last.snapshot.as_ref().is_some_and(|p| p.exists()) {
            return Ok(());
        }
        let dir = self.dir.join("history").join(&self.id);
        fs::create_dir_all(&dir).map_err(self.internal("creating the history directory"))?;
        let path = dir.join(format!("{}.sqlite", last.seq));
        let _ = fs::remove_file(&path);
        self.conn
            .backup(MAIN_DB, &path, None)
            .map_err(self.internal("snapshotting"))?;
        if let Some(last) = self.meta.history.last_mut() {
            last.snapshot = Some(path);
        }
        self.save_meta().map_err(self.internal("saving metadata"))?;
        Ok(())
    }

    /// Records that the content changed: a new state with a new bookmark.
    fn advance(&mut self) -> Result<String, ApiError> {
        let seq = self.meta.history.last().map(|h| h.seq + 1).unwrap_or(1);
        let now = now_ms();
        let bookmark = make_bookmark(seq, now);
        self.meta.history.push(HistoryEntry {
            seq,
            bookmark: bookmark.clone(),
            started_at: now,
            snapshot: None,
        });
        self.save_meta().map_err(self.internal("saving metadata"))?;
        Ok(bookmark)
    }

    /// Runs every statement of `sql` in one transaction; nothing applies unless all succeed.
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

    /// The bookmark of the state the database was in at `ts` (Unix ms); before its creation,
    /// its first state.
    pub fn bookmark_at(&self, ts: u64) -> String {
        self.meta
            .history
            .iter()
            .rev()
            .find(|h| h.started_at <= ts)
            .or_else(|| self.meta.history.first())
            .map(|h| h.bookmark.clone())
            .unwrap_or_default()
    }

    /// Replaces the content with the state named by `bookmark`; returns the previous bookmark.
    pub fn restore(&mut self, bookmark: &str) -> Result<String, ApiError> {
        let Some(target) = self
            .meta
            .history
            .iter()
            .find(|h| h.bookmark == bookmark)
            .cloned()
        else {
            return Err(ApiError::new(
                400,
                7400,
                format!("Invalid bookmark: {bookmark} is not a bookmark of this database"),
            ));
        };
        let previous = self.bookmark();
        self.ensure_snapshot()?;
        let source = if target.bookmark == previous {
            self.meta.history.last().and_then(|h| h.snapshot.clone())
        } else {
            target.snapshot.clone()
        };
        let Some(source) = source.filter(|p| p.exists()) else {
            return Err(ApiError::new(
                400,
                7400,
                format!("The state at bookmark {bookmark} is no longer available"),
            ));
        };
        self.conn
            .restore(MAIN_DB, &source, None::<fn(rusqlite::backup::Progress)>)
            .map_err(self.internal("restoring"))?;
        self.conn
            .execute_batch("PRAGMA foreign_keys=ON;")
            .map_err(self.internal("configuring"))?;
        self.advance()?;
        Ok(previous)
    }
}

/// A bookmark in D1's style: `<seq>-<zeros>-<time>-<random>` in hex, ordered by `seq`.
fn make_bookmark(seq: u64, now: u64) -> String {
    format!(
        "{seq:08x}-00000000-{:08x}-{}",
        (now / 1000) & 0xffff_ffff,
        random_hex(32)
    )
}

/// Database ids double as file names: keep them to a safe alphabet.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Default)]
struct Registry {
    dbs: BTreeMap<String, Arc<Mutex<Database>>>,
    /// Databases in the order they were first seen.
    order: Vec<String>,
}

/// All databases of the double.
pub struct Store {
    dir: PathBuf,
    registry: Mutex<Registry>,
}

/// Locks a mutex, recovering it if a panicking thread poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    /// Opens the store in `dir`, loading databases left there by an earlier run.
    pub fn open(dir: PathBuf) -> anyhow::Result<Store> {
        fs::create_dir_all(&dir)?;
        let store = Store {
            dir: dir.clone(),
            registry: Mutex::new(Registry::default()),
        };
        let mut existing: Vec<(u64, String)> = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("json") {
                if let Some(id) = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .filter(|s| valid_id(s))
                {
                    let created = fs::read(&path)
                        .ok()
                        .and_then(|b| serde_json::from_slice::<DbMeta>(&b).ok())
                        .map(|m| m.created_at)
                        .unwrap_or(0);
                    existing.push((created, id.to_string()));
                }
            }
        }
        existing.sort();
        for (_, id) in existing {
            store.get_or_create(&id, None)?;
        }
        Ok(store)
    }

    /// The database with this id, created empty if it is new; `name` (re)names it.
    pub fn get_or_create(
        &self,
        id: &str,
        name: Option<&str>,
    ) -> anyhow::Result<Arc<Mutex<Database>>> {
        anyhow::ensure!(valid_id(id), "invalid database id {id:?}");
        let mut reg = lock(&self.registry);
        if let Some(db) = reg.dbs.get(id) {
            let db = db.clone();
            drop(reg);
            if let Some(name) = name {
                let mut guard = lock(&db);
                guard.meta.name = name.to_string();
                guard.save_meta()?;
            }
            return Ok(db);
        }
        let db = Arc::new(Mutex::new(Database::open(&self.dir, id, name)?));
        reg.dbs.insert(id.to_string(), db.clone());
        reg.order.push(id.to_string());
        Ok(db)
    }

    /// Resolves a path segment: a known id, else a known name, else a new id.
    pub fn resolve(&self, id_or_name: &str) -> Result<Arc<Mutex<Database>>, ApiError> {
        if let Some(db) = lock(&self.registry).dbs.get(id_or_name).cloned() {
            return Ok(db);
        }
        if let Some(db) = self.find_by_name(id_or_name) {
            return Ok(db);
        }
        if !valid_id(id_or_name) {
            return Err(ApiError::new(
                400,
                7400,
                format!("The request is malformed: invalid database id '{id_or_name}'"),
            ));
        }
        self.get_or_create(id_or_name, None)
            .map_err(ApiError::internal)
    }

    pub fn find_by_name(&self, name: &str) -> Option<Arc<Mutex<Database>>> {
        self.all().into_iter().find(|db| lock(db).name() == name)
    }

    /// Every database, oldest first.
    pub fn all(&self) -> Vec<Arc<Mutex<Database>>> {
        let reg = lock(&self.registry);
        reg.order
            .iter()
            .filter_map(|id| reg.dbs.get(id).cloned())
            .collect()
    }

    /// Forgets a database and deletes its files.
    pub fn delete(&self, id: &str) -> bool {
        let mut reg = lock(&self.registry);
        let Some(db) = reg.dbs.remove(id) else {
            return false;
        };
        reg.order.retain(|x| x != id);
        drop(reg);
        drop(db);
        for suffix in ["sqlite", "json", "sqlite-journal"] {
            let _ = fs::remove_file(self.dir.join(format!("{id}.{suffix}")));
        }
        let _ = fs::remove_dir_all(self.dir.join("history").join(id));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(dir.path(), "test-db", Some("db")).expect("open");
        (dir, db)
    }

    #[test]
    fn statements_run_as_one_transaction() {
        let (_dir, mut db) = db();
        db.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)", &[])
            .expect("create");
        let err = db
            .execute("INSERT INTO t(b) VALUES ('x'); SELECT * FROM nope", &[])
            .expect_err("fails");
        assert_eq!(err.message, "no such table: nope: SQLITE_ERROR");
        let r = db
            .execute("SELECT count(*) AS n FROM t", &[])
            .expect("count");
        assert_eq!(r[0].rows, vec![vec![Value::from(0)]]);
    }

    #[test]
    fn messages_like_d1() {
        let (_dir, mut db) = db();
        let e = db.execute("SELECT 1; SELEC 2", &[]).expect_err("syntax");
        assert_eq!(
            e.message,
            "near \"SELEC\": syntax error at offset 0: SQLITE_ERROR"
        );
        for sql in [
            "BEGIN",
            "BEGIN TRANSACTION; SELECT 1; COMMIT",
            "SAVEPOINT a",
            "RELEASE a",
            "ROLLBACK",
            "COMMIT",
        ] {
            let e = db.execute(sql, &[]).expect_err(sql);
            assert_eq!(e.message, "not authorized: SQLITE_AUTH", "{sql}");
        }
        db.execute("CREATE TABLE u(a UNIQUE)", &[]).expect("create");
        let e = db
            .execute("INSERT INTO u VALUES (1); INSERT INTO u VALUES (1)", &[])
            .expect_err("unique");
        assert_eq!(
            e.message,
            "UNIQUE constraint failed: u.a: SQLITE_CONSTRAINT"
        );
        assert_eq!(
            db.execute("  -- nothing\n", &[])
                .expect_err("empty")
                .message,
            "No SQL statements detected."
        );
    }

    #[test]
    fn triggers_and_rows() {
        let (_dir, mut db) = db();
        let r = db
            .execute(
                "CREATE TABLE t(a, b); CREATE TABLE log(x);
                 CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (NEW.a); END;
                 INSERT INTO t VALUES (1, X'0102'); SELECT a, b, NULL AS n, 1.5 AS f, 2 AS a FROM t; SELECT * FROM log",
                &[],
            )
            .expect("run");
        assert_eq!(r.len(), 6);
        let row = serde_json::to_string(&r[4].as_objects().results[0]).expect("json");
        assert_eq!(row, r#"{"a":2,"b":[1,2],"n":null,"f":1.5}"#);
        assert_eq!(r[5].rows, vec![vec![Value::from(1)]]);
    }

    #[test]
    fn history_and_restore() {
        let (_dir, mut db) = db();
        db.execute("CREATE TABLE t(a)", &[]).expect("create");
        let b1 = db.bookmark();
        db.execute("SELECT * FROM t", &[]).expect("read");
        assert_eq!(db.bookmark(), b1, "reads keep the bookmark");
        db.execute("INSERT INTO t VALUES (1)", &[]).expect("insert");
        let b2 = db.bookmark();
        assert_ne!(b1, b2);
        let previous = db.restore(&b1).expect("restore");
        assert_eq!(previous, b2);
        assert_eq!(
            db.execute("SELECT count(*) FROM t", &[]).expect("count")[0].rows[0][0],
            Value::from(0)
        );
        db.restore(&b2).expect("undo");
        assert_eq!(
            db.execute("SELECT count(*) FROM t", &[]).expect("count")[0].rows[0][0],
            Value::from(1)
        );
        assert!(db.restore("nope").is_err());
    }
}

//! A D1 made of SQLite files, for tests of the engine's logic without node:
//! each database is the file local D1 would keep it in (so backups and
//! rehearsal copies work as they do on miniflare's), a call is one
//! transaction with foreign keys enforced (as D1 runs a batch), a refusal
//! reads as D1's (`message: SQLITE_CODE`), and faults a real D1 cannot
//! produce on cue (a call that dies before or after it ran, a busy
//! database) are scripted with [`SqliteD1::inject`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};

use crate::migrate::config::Database;
use crate::migrate::d1::{Call, StatementResult, Target, D1};
use crate::migrate::local_files;
use crate::migrate::local_reads::{self, refusal, rows, sqlite_text};
use crate::migrate::sql::{self, Splitter};

/// What a call was, as [`SqliteD1::calls`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub binding: String,
    pub kind: Kind,
    /// The SQL it ran (a file's text), or nothing for an export or bookmark.
    pub sql: String,
}

/// The kinds of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Query(Call),
    File,
    Export,
    Bookmark,
    RestoreBookmark,
}

/// What an injected fault does to the call it catches.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Fails before anything runs, as a dead process or a network error
    /// would (not a refusal by D1).
    Before(String),
    /// Runs (and commits), then fails the same way: the caller cannot tell
    /// whether it ran.
    After(String),
    /// Fails before anything runs as a busy database does.
    Busy,
}

type Matcher = Box<dyn Fn(&Seen) -> bool + Send + Sync>;

/// SQLite files standing in for one target's D1 databases.
pub struct SqliteD1 {
    config_dir: PathBuf,
    target: Target,
    splitter: Splitter,
    faults: Mutex<Vec<(Matcher, Fault)>>,
    calls: Mutex<Vec<Seen>>,
    /// How many throwaway copies (rehearsals, replays) were made of it.
    copies: std::sync::atomic::AtomicUsize,
    bookmarks: AtomicU64,
    /// Reads go to the files directly, as local reads do through wrangler.
    reads_files: bool,
}

impl SqliteD1 {
    /// The databases of a config in `config_dir`, at the files local D1
    /// would use; `target` is what the engine is told it talks to.
    pub fn new(config_dir: &Path, target: Target) -> SqliteD1 {
        SqliteD1 {
            config_dir: config_dir.to_path_buf(),
            target,
            splitter: Splitter::AnyCaseEnd,
            faults: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
            copies: Default::default(),
            bookmarks: AtomicU64::new(0),
            reads_files: false,
        }
    }

    /// The same, its reads taken from the files directly (without a call,
    /// as [`crate::wrangler::Wrangler`] reads local databases); a read that
    /// writes is still a call.
    pub fn reading_files(mut self) -> SqliteD1 {
        self.reads_files = self.target == crate::migrate::d1::Target::Local;
        self
    }

    /// The file `db` lives in.
    pub fn file(&self, db: &Database) -> PathBuf {
        local_files::database_file(&local_files::default_local_state(&self.config_dir), db)
    }

    /// Makes the next call that `when` matches fail with `fault` (once).
    pub fn inject(&self, when: impl Fn(&Seen) -> bool + Send + Sync + 'static, fault: Fault) {
        if let Ok(mut faults) = self.faults.lock() {
            faults.push((Box::new(when), fault));
        }
    }

    /// Every call so far, in order.
    /// How many throwaway copies were made of it so far.
    pub fn copies(&self) -> usize {
        self.copies.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn calls(&self) -> Vec<Seen> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Runs `sql` on `db` directly, outside the engine (to set a test up or
    /// look inside afterwards), and returns the first statement's rows.
    pub fn sql(&self, db: &Database, sql: &str) -> Result<Vec<Map<String, Value>>> {
        let results = self.run(db, sql)?;
        Ok(results
            .into_iter()
            .next()
            .map(|r| r.results)
            .unwrap_or_default())
    }

    fn seen(&self, db: &Database, kind: Kind, sql: &str) -> Option<Fault> {
        let seen = Seen {
            binding: db.binding.clone(),
            kind,
            sql: sql.to_owned(),
        };
        let fault = self.faults.lock().ok().and_then(|mut faults| {
            let at = faults.iter().position(|(when, _)| when(&seen))?;
            Some(faults.remove(at).1)
        });
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(seen);
        }
        fault
    }

    fn open(&self, db: &Database) -> Result<Connection> {
        let path = self.file(db);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let connection = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .with_context(|| format!("cannot open {}", path.display()))?;
        connection.busy_timeout(Duration::from_secs(10))?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        Ok(connection)
    }

    /// Runs the statements of `sql` as one transaction, as D1 runs a batch.
    fn run(&self, db: &Database, sql: &str) -> Result<Vec<StatementResult>> {
        let statements = sql::split(sql).map_err(|err| refusal(format!("{err}: SQLITE_ERROR")))?;
        let mut connection = self.open(db)?;
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|err| refusal(sqlite_text(&err)))?;
        let mut results = Vec::new();
        for statement in &statements {
            let rows = transaction
                .prepare(&statement.sql)
                .and_then(|mut prepared| rows(&mut prepared))
                .map_err(|err| refusal(sqlite_text(&err)))?;
            results.push(StatementResult { results: rows });
        }
        transaction
            .commit()
            .map_err(|err| refusal(sqlite_text(&err)))?;
        Ok(results)
    }

    /// A call of `kind`: its fault, if one was injected, around `work`.
    fn call<T>(
        &self,
        db: &Database,
        kind: Kind,
        sql: &str,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let context = || format!("sqlite {kind:?} on {} ({})", db.binding, self.target);
        match self.seen(db, kind, sql) {
            None => work().with_context(context),
            Some(Fault::Before(why)) => Err(anyhow!("{why}")).with_context(context),
            Some(Fault::Busy) => {
                Err(refusal("database is locked: SQLITE_BUSY".into())).with_context(context)
            }
            Some(Fault::After(why)) => {
                work().ok();
                Err(anyhow!("{why}")).with_context(context)
            }
        }
    }

    fn bookmark_file(&self, db: &Database, bookmark: &str) -> PathBuf {
        self.config_dir
            .join(".wrangler")
            .join("sqlite-d1-bookmarks")
            .join(&db.binding)
            .join(format!("{bookmark}.sqlite"))
    }
}

impl D1 for SqliteD1 {
    fn target(&self) -> Target {
        self.target
    }

    fn splitter(&self) -> Splitter {
        self.splitter
    }

    fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    fn reads_files(&self) -> bool {
        self.reads_files
    }

    fn query(&self, call: Call, db: &Database, sql: &str) -> Result<Vec<StatementResult>> {
        if let Some(answer) = local_reads::answer(self, call, db, sql) {
            return answer;
        }
        self.call(db, Kind::Query(call), sql, || self.run(db, sql))
    }

    fn execute_file(&self, db: &Database, file: &Path) -> Result<Vec<StatementResult>> {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        self.call(db, Kind::File, &text, || {
            let results = self.run(db, &text)?;
            // Remotely a file goes through D1's import, which returns no rows.
            Ok(match self.target {
                Target::Local => results,
                Target::Remote => Vec::new(),
            })
        })
    }

    fn export(&self, db: &Database, output: &Path) -> Result<()> {
        self.call(db, Kind::Export, "", || {
            let dump = dump(&self.open(db)?)?;
            std::fs::write(output, dump)
                .with_context(|| format!("cannot write {}", output.display()))
        })
    }

    fn bookmark(&self, db: &Database) -> Result<String> {
        self.call(db, Kind::Bookmark, "", || {
            let bookmark = format!("bookmark-{}", self.bookmarks.fetch_add(1, Ordering::SeqCst));
            let file = self.bookmark_file(db, &bookmark);
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            local_files::back_up(&self.file(db), &file)?;
            Ok(bookmark)
        })
    }

    fn restore_bookmark(&self, db: &Database, bookmark: &str) -> Result<()> {
        self.call(db, Kind::RestoreBookmark, bookmark, || {
            let file = self.bookmark_file(db, bookmark);
            if !file.is_file() {
                bail!("no bookmark {bookmark} for {}", db.binding);
            }
            local_files::restore(&file, &self.file(db))
        })
    }

    fn local_copy(&self, config: &Path) -> Arc<dyn D1> {
        self.copies
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut copy = SqliteD1::new(config.parent().unwrap_or(Path::new(".")), Target::Local);
        copy.splitter = self.splitter;
        Arc::new(copy)
    }
}

/// The database as SQL, the way `wrangler d1 export` writes it: the schema,
/// then every table's rows as INSERTs.
fn dump(connection: &Connection) -> Result<String> {
    let mut out = String::from("PRAGMA defer_foreign_keys=TRUE;\n");
    let mut statement = connection.prepare(
        "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' \
         ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid",
    )?;
    let objects: Vec<(String, String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (kind, name, sql) in &objects {
        // As wrangler writes a table: `CREATE TABLE IF NOT EXISTS`.
        match sql.get(..13) {
            Some(head)
                if kind == "table"
                    && head.eq_ignore_ascii_case("CREATE TABLE ")
                    && !sql
                        .to_ascii_uppercase()
                        .starts_with("CREATE TABLE IF NOT EXISTS") =>
            {
                out.push_str("CREATE TABLE IF NOT EXISTS ");
                out.push_str(&sql[13..]);
            }
            _ => out.push_str(sql),
        }
        out.push_str(";\n");
        if kind != "table" {
            continue;
        }
        let quoted = crate::migrate::schema::quote_name(name);
        let mut select = connection.prepare(&format!("SELECT * FROM {quoted}"))?;
        let columns = select.column_count();
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            let values: Vec<String> = (0..columns)
                .map(|i| row.get_ref(i).map(literal))
                .collect::<rusqlite::Result<_>>()?;
            out.push_str(&format!(
                "INSERT INTO {quoted} VALUES({});\n",
                values.join(",")
            ));
        }
    }
    Ok(out)
}

/// A value as an SQL literal.
fn literal(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(x) => format!("{x:?}"),
        ValueRef::Text(text) => sql::quote_literal(&String::from_utf8_lossy(text)),
        ValueRef::Blob(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("X'{hex}'")
        }
    }
}

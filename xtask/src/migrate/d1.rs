//! What the engine asks of D1, as a trait: the real databases answer through
//! wrangler ([`crate::wrangler::Wrangler`]) or, remotely, the D1 REST API
//! ([`crate::cloudflare::Api`]); SQLite files answer for tests of the
//! engine's logic ([`crate::migrate::sqlite_stand_in::SqliteD1`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use serde::Deserialize;
use serde_json::Value;

use crate::migrate::config::Database;
use crate::migrate::sql::Splitter;

/// Which D1 a command talks to: miniflare's SQLite on this machine, or Cloudflare's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Local,
    Remote,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Local => "local",
            Target::Remote => "remote",
        })
    }
}

/// What a call does, for what an interrupted run does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// A read, an export: not started once the run is stopped, and ended
    /// (its whole process group) when the run is stopped during it.
    Read,
    /// A write D1 runs all-or-nothing (an apply, a restore, a deploy): not
    /// started once the run is stopped, but let finish once started, so that
    /// the database is never left in an unknown state.
    Write,
    /// Giving a lock back: started even when the run is stopped.
    Cleanup,
}

/// Where wrangler keeps local state for the config in `config_dir` when no
/// `--persist-to` says otherwise.
pub fn default_local_state(config_dir: &Path) -> PathBuf {
    config_dir.join(".wrangler").join("state")
}

/// D1 refused the SQL: the text of `{"error":{"text":…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct D1Error {
    pub text: String,
}

impl D1Error {
    /// True when SQLite refused a statement (rather than the API or wrangler
    /// failing around it): its messages end in a result code like `SQLITE_ERROR`.
    pub fn is_sql(&self) -> bool {
        self.text.contains("SQLITE_")
    }
}

impl fmt::Display for D1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for D1Error {}

/// In an error's chain: D1 does not export a database with virtual tables
/// (FTS5); its restore point is then the Time Travel bookmark alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRefused;

impl fmt::Display for ExportRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("D1 does not export databases with virtual tables")
    }
}

impl std::error::Error for ExportRefused {}

/// An export's error, marked [`ExportRefused`] when that is why it failed.
/// wrangler and the D1 API say it only in words (`cannot export databases
/// with Virtual Tables`): this is where the words become a type.
pub fn export_error(err: anyhow::Error) -> anyhow::Error {
    let text = format!("{err:#}");
    let refused = err.chain().any(|c| c.is::<D1Error>()) && text.contains("Virtual Tables")
        || text.contains("cannot export databases with Virtual Tables");
    match refused {
        true => err.context(ExportRefused),
        false => err,
    }
}

/// In an error's chain: the call failed for a reason that may pass (no
/// answer, HTTP 429 or 5xx, D1 overloaded) after the tries it was allowed.
/// A write that failed so may or may not have run: read the database to
/// know, and then it may be tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transient(pub String);

impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Transient {}

/// One statement's rows, as D1 returns them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatementResult {
    #[serde(default)]
    pub results: Vec<serde_json::Map<String, Value>>,
}

/// A text cell of a result. Locally wrangler prints SQL NULL as the string
/// "null": both mean nothing.
pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if s == "null" => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What the engine asks of one target's D1 databases.
pub trait D1: Send + Sync {
    /// Local or remote.
    fn target(&self) -> Target;

    /// How a batch file is cut into statements on the way in.
    fn splitter(&self) -> Splitter;

    /// The folder of the wrangler config: local state (and this machine's
    /// notes about the databases) live beside it.
    fn config_dir(&self) -> &Path;

    /// Where wrangler keeps local state (miniflare's files of the local
    /// databases): `.wrangler/state` beside the config unless `--persist-to`
    /// says otherwise.
    fn local_state(&self) -> PathBuf {
        default_local_state(self.config_dir())
    }

    /// True when its local reads (queries that do not write, other than
    /// [`Call::Write`] ones) are answered from
    /// the databases' files without starting anything (see
    /// [`crate::migrate::local_reads`]): a read costs no call.
    fn reads_files(&self) -> bool {
        false
    }

    /// Runs `sql` (statements separated by `;`) as one all-or-nothing call
    /// and returns each statement's rows. D1's own refusals come back as a
    /// [`D1Error`] in the error's chain.
    fn query(&self, call: Call, db: &Database, sql: &str) -> Result<Vec<StatementResult>>;

    /// Runs a batch file as one all-or-nothing write (remotely, D1's import,
    /// which returns no rows).
    fn execute_file(&self, db: &Database, file: &Path) -> Result<Vec<StatementResult>>;

    /// Writes the whole database, schema and rows, as SQL to `output`.
    fn export(&self, db: &Database, output: &Path) -> Result<()>;

    /// The Time Travel bookmark of the database as it is now.
    fn bookmark(&self, db: &Database) -> Result<String>;

    /// Puts the database back as it was at `bookmark`.
    fn restore_bookmark(&self, db: &Database, bookmark: &str) -> Result<()>;

    /// The same D1, on the local databases kept beside another config file
    /// (a rehearsal's throwaway copies).
    fn local_copy(&self, config: &Path) -> Arc<dyn D1>;
}

/// A shared D1 is a D1 (what [`crate::cloudflare::d1_for`] returns).
impl<T: D1 + ?Sized> D1 for Arc<T> {
    fn target(&self) -> Target {
        (**self).target()
    }

    fn splitter(&self) -> Splitter {
        (**self).splitter()
    }

    fn config_dir(&self) -> &Path {
        (**self).config_dir()
    }

    fn local_state(&self) -> PathBuf {
        (**self).local_state()
    }

    fn reads_files(&self) -> bool {
        (**self).reads_files()
    }

    fn query(&self, call: Call, db: &Database, sql: &str) -> Result<Vec<StatementResult>> {
        (**self).query(call, db, sql)
    }

    fn execute_file(&self, db: &Database, file: &Path) -> Result<Vec<StatementResult>> {
        (**self).execute_file(db, file)
    }

    fn export(&self, db: &Database, output: &Path) -> Result<()> {
        (**self).export(db, output)
    }

    fn bookmark(&self, db: &Database) -> Result<String> {
        (**self).bookmark(db)
    }

    fn restore_bookmark(&self, db: &Database, bookmark: &str) -> Result<()> {
        (**self).restore_bookmark(db, bookmark)
    }

    fn local_copy(&self, config: &Path) -> Arc<dyn D1> {
        (**self).local_copy(config)
    }
}

//! The engine's failures as its callers match on them: a lock another run
//! holds, a migration that failed at a statement, an applied migration whose
//! file changed, a schema that drifted, a D1 that could not be reached, a
//! backup that failed before anything changed, a stop.
//!
//! An engine error is an [`anyhow::Error`] whose message is what people
//! read and whose chain holds an [`Error`] with the [`Failure`]s it is made
//! of (one per database that failed). [`failures`] reads them back from any
//! error, the engine's or not, so the command line, the web UI and the
//! release can match on them and show them as JSON ([`to_json`]).

use std::fmt;

use serde::Serialize;

use crate::interrupt::Interrupted;
use crate::migrate::d1::{D1Error, Transient};
use crate::migrate::events::Holds;
use crate::process::{NotFound, TimedOut};

/// One thing that went wrong, in one database when it names one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// Another run holds the database's migration lock.
    LockHeld {
        binding: String,
        owner: String,
        /// Milliseconds until the lock expires (and may be taken over).
        expires_in_ms: u64,
    },
    /// A migration (or its batch) failed; `holds` says what the database
    /// holds now (`untouched`, `unknown`, …, as the run's report says).
    MigrationFailed {
        binding: String,
        /// The migration that broke, its line and statement, when known.
        version: Option<u64>,
        line: Option<usize>,
        statement: Option<String>,
        error: String,
        holds: Holds,
    },
    /// An applied migration's file changed since it was applied.
    ChecksumChanged { binding: String, version: u64 },
    /// The plan was refused before anything ran (order, a missing rollback,
    /// a lint error, …).
    PlanRefused {
        binding: Option<String>,
        problem: String,
    },
    /// The database's schema is not what its migrations produce.
    SchemaDrift {
        binding: String,
        problems: Vec<String>,
    },
    /// D1 (or wrangler) could not be reached or did not answer after the
    /// tries allowed.
    Unreachable {
        binding: Option<String>,
        error: String,
    },
    /// The backup before a change failed, so nothing changed.
    BackupRefused { binding: String, error: String },
    /// The run was stopped (Ctrl-C, SIGTERM, SIGHUP, a closed pipe).
    Interrupted { stop: String },
    /// Anything else, in its own words.
    Other {
        binding: Option<String>,
        error: String,
    },
}

/// An engine error: the message people read, and what it is made of.
#[derive(Debug, Clone)]
pub struct Error {
    message: String,
    failures: Vec<Failure>,
}

impl Error {
    /// An error saying `message`, made of `failures`.
    pub fn from_failures(message: impl Into<String>, failures: Vec<Failure>) -> anyhow::Error {
        anyhow::Error::new(Error {
            message: message.into(),
            failures,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// True when `err` is, or has in its chain (as a cause or a context), a `T`.
fn has<T: std::error::Error + Send + Sync + 'static>(err: &anyhow::Error) -> bool {
    err.downcast_ref::<T>().is_some() || err.chain().any(|c| c.is::<T>())
}

/// What `err` is made of: the failures of the first engine [`Error`] in its
/// chain; else one read from its causes (a stop, a D1 or a program that
/// did not answer), naming `binding`; else [`Failure::Other`].
pub fn failures_in(binding: Option<&str>, err: &anyhow::Error) -> Vec<Failure> {
    if let Some(error) = err
        .downcast_ref::<Error>()
        .or_else(|| err.chain().find_map(|c| c.downcast_ref::<Error>()))
    {
        return error.failures.clone();
    }
    let text = format!("{err:#}");
    let binding = binding.map(str::to_owned);
    if let Some(stop) = err
        .downcast_ref::<Interrupted>()
        .or_else(|| err.chain().find_map(|c| c.downcast_ref::<Interrupted>()))
    {
        return vec![Failure::Interrupted {
            stop: stop.to_string(),
        }];
    }
    let unreachable = has::<Transient>(err) || has::<TimedOut>(err) || has::<NotFound>(err);
    match unreachable && !has::<D1Error>(err) {
        true => vec![Failure::Unreachable {
            binding,
            error: text,
        }],
        false => vec![Failure::Other {
            binding,
            error: text,
        }],
    }
}

/// [`failures_in`] for an error that names no database of its own.
pub fn failures(err: &anyhow::Error) -> Vec<Failure> {
    failures_in(None, err)
}

/// `err` as JSON: `{"message": …, "failures": […]}`.
pub fn to_json(err: &anyhow::Error) -> serde_json::Value {
    serde_json::json!({
        "message": format!("{err:#}"),
        "failures": failures(err),
    })
}

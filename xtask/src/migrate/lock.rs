//! The migration lock: a row in `_migrations_lock`, since D1 has no advisory
//! locks. It is taken in the same call that reads a database's state (and only
//! when that run has work to do there), and released in the same call that
//! applies the work, so locking costs no wrangler call of its own.

use std::time::Duration;

use anyhow::{bail, Result};
use serde_json::Value;

use crate::migrate::d1::StatementResult;
use crate::migrate::sql::quote_literal;
use crate::migrate::sql::NOW_MS;
use crate::text::human_duration;

pub const TABLE: &str = "_migrations_lock";

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _migrations_lock (\
id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, \
acquired_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)";

/// Who is asking for the lock, and for how long.
#[derive(Debug, Clone)]
pub struct Request {
    /// `host:pid migrate up` (`host:pid/N migrate up` for a process's Nth
    /// run, as in the web UI): unique while the run lives, readable in errors.
    pub owner: String,
    pub ttl: Duration,
}

/// How many runs this process has asked for locks.
static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Request {
    /// The lock of a new run of `command`: two runs never share an owner,
    /// even in one process (a run that took the lock would otherwise think
    /// the other's lock its own).
    pub fn new(command: &str, ttl: Duration) -> Request {
        let host = crate::text::hostname();
        let pid = std::process::id();
        let owner = match RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
            0 => format!("{host}:{pid} {command}"),
            n => format!("{host}:{pid}/{} {command}", n + 1),
        };
        Request { owner, ttl }
    }

    /// Statements that create the lock table, record who held it before, take
    /// it when `work` (an SQL condition) holds and it is free or expired, and
    /// read who holds it now. Four statements; see [`parse`].
    pub fn acquire_statements(&self, work: &str) -> Vec<String> {
        let owner = quote_literal(&self.owner);
        let ttl = self.ttl.as_millis();
        vec![
            CREATE_TABLE.to_owned(),
            format!("SELECT owner, acquired_at, expires_at, {NOW_MS} AS now FROM _migrations_lock"),
            format!(
                "INSERT INTO _migrations_lock (id, owner, acquired_at, expires_at) \
                 SELECT 1, {owner}, {NOW_MS}, {NOW_MS} + {ttl} WHERE ({work}) \
                 ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at, \
                 expires_at = excluded.expires_at WHERE _migrations_lock.expires_at < excluded.acquired_at"
            ),
            format!("SELECT owner, acquired_at, expires_at, {NOW_MS} AS now FROM _migrations_lock"),
        ]
    }

    /// Two statements that make the batch they open fail as a whole unless
    /// `condition` holds and no run holds the lock: they write this run's lock
    /// row with no owner when the condition is false (NOT NULL fails), and
    /// clash with any lock row already there (the primary key). The batch's
    /// [`Request::release_statement`] removes the row again. See [`refusal`].
    pub fn guard_statements(&self, condition: &str) -> Vec<String> {
        let owner = quote_literal(&self.owner);
        let ttl = self.ttl.as_millis();
        // wrangler's splitter only ends a CASE at an `END` followed by a space or `;`.
        vec![
            CREATE_TABLE.to_owned(),
            format!(
                "INSERT INTO _migrations_lock (id, owner, acquired_at, expires_at) \
                 SELECT 1, CASE WHEN {condition} THEN {owner} END , {NOW_MS}, {NOW_MS} + {ttl}"
            ),
        ]
    }

    /// The statement that gives the lock back (a no-op when someone else holds it).
    pub fn release_statement(&self) -> String {
        format!(
            "DELETE FROM _migrations_lock WHERE owner = {}",
            quote_literal(&self.owner)
        )
    }
}

/// Number of results [`Request::acquire_statements`] produces.
pub const ACQUIRE_RESULTS: usize = 4;

/// A row of `_migrations_lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub owner: String,
    pub acquired_at: i64,
    pub expires_at: i64,
    /// D1's clock when the row was read.
    pub now: i64,
}

impl Holder {
    pub fn age(&self) -> Duration {
        Duration::from_millis((self.now - self.acquired_at).max(0) as u64)
    }
}

/// What the acquiring statements found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do in this database, so no lock was taken.
    NotNeeded,
    /// We hold it; `took_over` names an expired holder we replaced.
    Held { took_over: Option<Holder> },
    /// Someone else holds it.
    Busy(Holder),
}

fn holder(result: &StatementResult) -> Option<Holder> {
    let row = result.results.first()?;
    let number = |key: &str| row.get(key).and_then(Value::as_i64).unwrap_or_default();
    Some(Holder {
        owner: row.get("owner")?.as_str()?.to_owned(),
        acquired_at: number("acquired_at"),
        expires_at: number("expires_at"),
        now: number("now"),
    })
}

/// Reads the outcome from the results of [`Request::acquire_statements`].
pub fn parse(request: &Request, results: &[StatementResult]) -> Result<Outcome> {
    let [_, before, _, after] = results else {
        bail!(
            "the lock statements returned {} results where {ACQUIRE_RESULTS} were expected",
            results.len()
        );
    };
    Ok(match (holder(before), holder(after)) {
        (_, None) => Outcome::NotNeeded,
        (before, Some(after)) if after.owner == request.owner => Outcome::Held {
            took_over: before.filter(|b| b.owner != request.owner),
        },
        (_, Some(after)) => Outcome::Busy(after),
    })
}

/// Why a batch opened by [`Request::guard_statements`] was refused, when its
/// guard is what refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The database is no longer as the guard's condition says.
    Changed,
    /// Another run holds (or left) the lock.
    Locked,
}

/// Reads a D1 error: was it the guard that refused the batch?
pub fn refusal(error: &str) -> Option<Refusal> {
    if error.contains("NOT NULL constraint failed: _migrations_lock.owner") {
        Some(Refusal::Changed)
    } else if error.contains("UNIQUE constraint failed: _migrations_lock.id") {
        Some(Refusal::Locked)
    } else {
        None
    }
}

/// Describes a lock held by someone else, for an error message; `flags`
/// reach the same database again (`--remote`, …) in the command it suggests.
pub fn describe_busy(binding: &str, holder: &Holder, flags: &str) -> String {
    let expires_in = Duration::from_millis((holder.expires_at - holder.now).max(0) as u64);
    format!(
        "{binding} is locked by another migration run: {} (taken {} ago, expires in {}). \
         Wait for it (`--wait SECONDS`), or if that run is dead, clear it with `cargo migrate unlock{flags} --db {binding}`",
        holder.owner,
        human_duration(holder.age()),
        human_duration(expires_in),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn two_runs_of_one_process_never_share_an_owner() {
        let ttl = Duration::from_secs(60);
        let (first, second) = (
            Request::new("migrate up", ttl),
            Request::new("migrate up", ttl),
        );
        assert_ne!(first.owner, second.owner);
        let pid = std::process::id().to_string();
        for owner in [&first.owner, &second.owner] {
            assert!(
                owner.contains(&pid) && owner.ends_with(" migrate up"),
                "{owner}"
            );
        }
    }

    fn request() -> Request {
        Request {
            owner: "host:1 migrate up".into(),
            ttl: Duration::from_secs(60),
        }
    }

    fn results(before: Value, after: Value) -> Vec<StatementResult> {
        serde_json::from_value(json!([
            {"results": []}, {"results": before}, {"results": []}, {"results": after}
        ]))
        .unwrap()
    }

    fn row(owner: &str) -> Value {
        json!([{"owner": owner, "acquired_at": 1_000, "expires_at": 61_000, "now": 31_000}])
    }

    #[test]
    fn outcomes() {
        let me = request();
        assert_eq!(
            parse(&me, &results(json!([]), json!([]))).unwrap(),
            Outcome::NotNeeded
        );
        assert_eq!(
            parse(&me, &results(json!([]), row("host:1 migrate up"))).unwrap(),
            Outcome::Held { took_over: None }
        );
        let Outcome::Held {
            took_over: Some(old),
        } = parse(
            &me,
            &results(row("other:2 migrate up"), row("host:1 migrate up")),
        )
        .unwrap()
        else {
            panic!("expected a takeover");
        };
        assert_eq!(old.owner, "other:2 migrate up");
        let Outcome::Busy(holder) = parse(
            &me,
            &results(row("other:2 migrate up"), row("other:2 migrate up")),
        )
        .unwrap() else {
            panic!("expected busy");
        };
        assert_eq!(holder.age(), Duration::from_secs(30));
        let message = describe_busy("AUTH", &holder, " --remote");
        assert!(
            message.contains("other:2 migrate up")
                && message.contains("30 s")
                && message.contains("`cargo migrate unlock --remote --db AUTH`"),
            "{message}"
        );
    }

    #[test]
    fn guard_refusals_are_told_apart_from_other_errors() {
        assert_eq!(
            refusal("NOT NULL constraint failed: _migrations_lock.owner: SQLITE_CONSTRAINT"),
            Some(Refusal::Changed)
        );
        assert_eq!(
            refusal("UNIQUE constraint failed: _migrations_lock.id: SQLITE_CONSTRAINT"),
            Some(Refusal::Locked)
        );
        assert_eq!(
            refusal("NOT NULL constraint failed: users.owner: SQLITE_CONSTRAINT"),
            None
        );
    }

    #[test]
    fn owner_is_quoted_in_sql() {
        let request = Request {
            owner: "it's:1 up".into(),
            ttl: Duration::from_secs(1),
        };
        assert!(request.release_statement().ends_with("'it''s:1 up'"));
        assert!(request
            .acquire_statements("1")
            .iter()
            .all(|s| crate::migrate::sql::split(s).unwrap().len() == 1));
    }
}

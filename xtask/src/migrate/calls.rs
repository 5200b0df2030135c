//! Runs plans against D1 through wrangler: reads every database's state and
//! runs batches (rehearsals are in [`crate::migrate::rehearsal`]).
//!
//! Databases are independent, so each step runs them in parallel.

use anyhow::{anyhow, bail, Context, Result};

use crate::migrate::config::Database;
use crate::migrate::d1::{Call, StatementResult, Target, D1};
use crate::migrate::last_seen;
use crate::migrate::lock;
use crate::migrate::schema;
use crate::migrate::sql;
use crate::migrate::tracking::{self, Batch, DbState, Reads};

/// Runs `work` on every item at once (one thread each: the work is waiting
/// on wrangler processes) and returns the results in order.
pub fn in_parallel<'a, I: Sync, T: Send>(
    items: &'a [I],
    work: impl Fn(&'a I) -> T + Sync,
) -> Vec<T> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(|| work(item)))
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Reads one database's state in one wrangler call. When a tracking table
/// does not exist yet the read fails as a whole: then the schema is read
/// alone, and the tracking tables it shows (if any) in a third call. Writes
/// nothing.
pub fn read_state(d1: &dyn D1, db: &Database) -> Result<DbState> {
    read_state_as(Call::Read, d1, db)
}

/// [`read_state`] with calls of the kind `call` ([`Call::Cleanup`] to read
/// what a database holds even while the run is being stopped).
pub fn read_state_as(call: Call, d1: &dyn D1, db: &Database) -> Result<DbState> {
    let missing_table = |err: &anyhow::Error| {
        tracking::is_missing_table(err)
            || tracking::is_missing_table_named(err, &db.wrangler_table)
            || tracking::is_missing_table_named(err, lock::TABLE)
    };
    let context = || format!("cannot read the state of {}", db.binding);
    let state = match d1.query(call, db, &tracking::state_query(db)) {
        Ok(results) => tracking::parse_state(&results, Reads::ALL)?,
        Err(err) if missing_table(&err) => {
            let schema = d1.query(call, db, schema::QUERY).with_context(context)?;
            let schema = tracking::parse_state(&schema, Reads::NONE)?;
            let reads = Reads::present_in(&schema.schema, db);
            if reads == Reads::NONE {
                schema
            } else {
                let query = tracking::state_statements(db, reads).join("; ");
                let results = d1.query(call, db, &query).with_context(context)?;
                tracking::parse_state(&results, reads)?
            }
        }
        Err(err) => return Err(err).with_context(context),
    };
    last_seen::store(d1, db, &state);
    Ok(state)
}

/// The SQL `db` stored for the migrations `versions` when they were applied
/// (those that stored none are left out). One call; none for no versions.
pub fn stored_sql(d1: &dyn D1, db: &Database, versions: &[u64]) -> Result<Vec<(u64, String)>> {
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = versions.iter().map(u64::to_string).collect();
    let results = d1
        .query(
            Call::Read,
            db,
            &format!(
                "SELECT version, sql FROM _migrations WHERE sql IS NOT NULL AND version IN ({})",
                list.join(", ")
            ),
        )
        .with_context(|| format!("cannot read the SQL {} stored", db.binding))?;
    Ok(results
        .first()
        .map(|r| &r.results[..])
        .unwrap_or_default()
        .iter()
        .filter_map(|row| {
            let version = crate::migrate::d1::text(row.get("version"))?.parse().ok()?;
            Some((version, crate::migrate::d1::text(row.get("sql"))?))
        })
        .collect())
}

/// The state read of a run that writes: also creates the tracking tables and
/// takes the lock when `work` holds. One call.
pub fn read_state_locking(
    d1: &dyn D1,
    db: &Database,
    lock: &lock::Request,
    work: &str,
) -> Result<(DbState, lock::Outcome)> {
    let results = d1
        .query(
            Call::Read,
            db,
            &tracking::locking_state_query(db, lock, work),
        )
        .with_context(|| format!("cannot read the state of {}", db.binding))?;
    let (state, outcome) = tracking::parse_locking_state(lock, &results)?;
    last_seen::store(d1, db, &state);
    Ok((state, outcome))
}

/// Gives the lock back in a call of its own (after a failure; on success the
/// release rides in the last batch).
/// True when it was given back.
/// `flags` reach the same database again in the command a failure suggests.
pub fn release(d1: &dyn D1, db: &Database, lock: &lock::Request, flags: &str) -> bool {
    match d1.query(Call::Cleanup, db, &lock.release_statement()) {
        Ok(_) => true,
        Err(err) => {
            tracing::warn!(
                database = %db.binding,
                "could not release the migration lock: {err:#}; clear it with `cargo migrate unlock{flags} --db {}`",
                db.binding
            );
            false
        }
    }
}

/// Reads every database's state in parallel; fails naming each one that could not be read.
pub fn read_states(d1: &dyn D1, databases: &[Database]) -> Result<Vec<DbState>> {
    let results = in_parallel(databases, |db| read_state(d1, db));
    let mut states = Vec::new();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(state) => states.push(state),
            Err(err) => errors.push(format!("{err:#}")),
        }
    }
    match errors.len() {
        0 => Ok(states),
        _ => Err(anyhow!("{}", errors.join("\n"))),
    }
}

/// Clears `db`'s migration lock (a run that died left it); says whose it
/// was and how old, or that there was none.
pub fn clear_lock(d1: &dyn D1, db: &Database) -> Result<String> {
    let query = format!(
        "SELECT owner, acquired_at, {} AS now FROM {table}; DELETE FROM {table}",
        sql::NOW_MS,
        table = lock::TABLE
    );
    let results = match d1.query(Call::Write, db, &query) {
        Err(err) if tracking::is_missing_table_named(&err, lock::TABLE) => Vec::new(),
        other => other?,
    };
    Ok(match results.first().and_then(|r| r.results.first()) {
        Some(row) => {
            let owner = row.get("owner").and_then(|v| v.as_str()).unwrap_or("?");
            let age = row.get("now").and_then(|v| v.as_i64()).unwrap_or(0)
                - row.get("acquired_at").and_then(|v| v.as_i64()).unwrap_or(0);
            format!(
                "🔓 {}: cleared the lock held by {owner} for {} s",
                db.binding,
                age / 1000
            )
        }
        None => format!("{}: was not locked", db.binding),
    })
}

/// Writes a batch to a temp file and runs it as one all-or-nothing call.
/// What this machine knew of the database is forgotten first: a run that
/// knows the outcome writes it again.
pub fn run_batch(d1: &dyn D1, db: &Database, batch: &Batch) -> Result<Vec<StatementResult>> {
    let statements: Vec<&str> = batch.statements.iter().map(|s| s.sql.as_str()).collect();
    sql::check_batch(&statements, d1.splitter())
        .map_err(|why| anyhow!("nothing was sent to {}: {why}", db.binding))?;
    last_seen::forget(d1, db);
    let dir = tempfile::Builder::new()
        .prefix("migrate-")
        .tempdir()
        .context("cannot create a temporary folder")?;
    let file = dir.path().join(format!("{}.sql", db.binding));
    std::fs::write(&file, batch.to_sql(d1.splitter()))
        .with_context(|| format!("cannot write {}", file.display()))?;
    d1.execute_file(db, &file)
}

/// Runs a batch, then the read-only `reads`, and returns the reads' results.
/// Locally the reads ride in the batch's own call; remotely `--file` goes
/// through D1's import, which returns no rows, so they follow in one query.
pub fn run_batch_then_read(
    d1: &dyn D1,
    db: &Database,
    batch: &Batch,
    reads: &[String],
) -> Result<Vec<StatementResult>> {
    match d1.target() {
        Target::Local => {
            let mut full = batch.clone();
            for read in reads {
                full.push_bookkeeping(read.clone());
            }
            let mut results = run_batch(d1, db, &full)?;
            if results.len() != full.statements.len() {
                bail!(
                    "wrangler returned {} results for {} statements on {}: it split the batch differently",
                    results.len(),
                    full.statements.len(),
                    db.binding
                );
            }
            Ok(results.split_off(batch.statements.len()))
        }
        Target::Remote => {
            run_batch(d1, db, batch)?;
            if reads.is_empty() {
                return Ok(Vec::new());
            }
            // The batch has run: a failure from here on must not look like D1 refusing it.
            // Even when the run is being stopped: the import has run.
            let results = d1
                .query(Call::Cleanup, db, &reads.join("; "))
                .map_err(|err| {
                    anyhow!(
                        "the batch ran, but reading {} afterwards failed: {err:#}",
                        db.binding
                    )
                })?;
            if results.len() != reads.len() {
                bail!(
                    "wrangler returned {} results for {} queries on {}",
                    results.len(),
                    reads.len(),
                    db.binding
                );
            }
            Ok(results)
        }
    }
}

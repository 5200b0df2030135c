//! The batches a run sends: the migrations' SQL between the bookkeeping
//! that records them in `_migrations` and in wrangler's ledger.

use anyhow::{Context, Result};

use super::*;
use crate::migrate::config::Database;
use crate::migrate::plan::LedgerRow;
use crate::migrate::schema::{quote_name, Schema};
use crate::migrate::source::Migration;
use crate::migrate::sql::{self, quote_literal};

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

    /// The file text: one statement a line, each ended by `;`, written so
    /// that `splitter` cuts it where SQLite does (see [`sql::for_wrangler`]).
    pub fn to_sql(&self, splitter: sql::Splitter) -> String {
        let statements: Vec<&str> = self.statements.iter().map(|s| s.sql.as_str()).collect();
        sql::batch_text(&statements, splitter)
    }

    /// The first `n` statements, for tracing a failure back.
    pub fn prefix(&self, n: usize) -> Batch {
        Batch {
            statements: self.statements[..n].to_vec(),
        }
    }
}

/// Statements that rebuild a schema (a virtual table makes its own shadow tables).
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

/// `batch`, opened by `guard` (see [`crate::migrate::lock::Request::guard_statements`])
/// after creating both tracking tables, in the order a state read creates
/// them, so that [`unchanged_condition`] sees them.
pub fn guarded(guard: Vec<String>, batch: &Batch, db: &Database) -> Batch {
    let mut guarded = Batch::default();
    guarded.push(CREATE_TABLE, None);
    guarded.push(create_ledger(db), None);
    for statement in guard {
        guarded.push(statement, None);
    }
    guarded.statements.extend(batch.statements.iter().cloned());
    guarded
}

/// What a batch does to wrangler's ledger: the names that must be in it
/// afterwards (added when missing, in this order) and those that must not.
/// `guards` are the files wrangler must never run in this database: each
/// is present, dated [`GUARD_APPLIED_AT`]; and every other guard row (a file
/// renamed or deleted since, or now a migration of this database) goes.
#[derive(Debug, Clone, Default)]
pub struct LedgerChange {
    pub present: Vec<String>,
    pub absent: Vec<String>,
    /// `None`: the guard rows are left as they are.
    pub guards: Option<Vec<String>>,
}

impl LedgerChange {
    /// True when it would change `ledger`: a name to add or remove, a guard
    /// row to add or date, or a stale guard row to remove.
    pub fn changes(&self, ledger: &[LedgerRow]) -> bool {
        let row = |name: &String| ledger.iter().find(|row| row.name == *name);
        self.present.iter().any(|name| row(name).is_none())
            || self.absent.iter().any(|name| row(name).is_some())
            || self.guards.as_ref().is_some_and(|guards| {
                guards
                    .iter()
                    .any(|name| row(name).is_none_or(|r| !r.is_guard()))
                    || ledger
                        .iter()
                        .any(|r| r.is_guard() && !guards.contains(&r.name))
            })
    }
}

/// D1 limits a statement to 100 000 bytes: lists of names go in chunks well under that.
const NAMES_PER_STATEMENT: usize = 500;

/// The statements that make wrangler's ledger hold `change`, each row as
/// `wrangler d1 migrations apply` writes it (the file name; `applied_at` by
/// the table's default).
fn ledger_statements(db: &Database, change: &LedgerChange) -> Vec<String> {
    let table = quote_name(&db.wrangler_table);
    let guard_at = quote_literal(GUARD_APPLIED_AT);
    let mut statements = Vec::new();
    if let Some(guards) = &change.guards {
        let list: Vec<String> = guards.iter().map(|n| quote_literal(n)).collect();
        let keep = match list.is_empty() {
            true => String::new(),
            false => format!(" AND name NOT IN ({})", list.join(", ")),
        };
        let cleanup = format!("DELETE FROM {table} WHERE applied_at = {guard_at}{keep}");
        // Thousands of guards would make the statement too long for D1: their
        // stale rows then stay (harmless: they only keep wrangler away).
        if cleanup.len() < 90_000 {
            statements.push(cleanup);
        }
        for names in guards.chunks(NAMES_PER_STATEMENT) {
            let values: Vec<String> = names
                .iter()
                .map(|n| format!("({})", quote_literal(n)))
                .collect();
            // A guard written before guards were dated is dated now.
            statements.push(format!(
                "UPDATE {table} SET applied_at = {guard_at} WHERE name IN (SELECT column1 FROM (VALUES {}))",
                values.join(", ")
            ));
            statements.push(format!(
                "INSERT INTO {table} (name, applied_at) SELECT v.column1, {guard_at} FROM (VALUES {}) AS v \
                 WHERE NOT EXISTS (SELECT 1 FROM {table} AS w WHERE w.name = v.column1)",
                values.join(", ")
            ));
        }
    }
    for names in change.absent.chunks(NAMES_PER_STATEMENT) {
        let list: Vec<String> = names.iter().map(|n| quote_literal(n)).collect();
        statements.push(format!(
            "DELETE FROM {table} WHERE name IN ({})",
            list.join(", ")
        ));
    }
    for names in change.present.chunks(NAMES_PER_STATEMENT) {
        let values: Vec<String> = names
            .iter()
            .map(|n| format!("({})", quote_literal(n)))
            .collect();
        statements.push(format!(
            "INSERT INTO {table} (name) SELECT v.column1 FROM (VALUES {}) AS v \
             WHERE NOT EXISTS (SELECT 1 FROM {table} AS w WHERE w.name = v.column1)",
            values.join(", ")
        ));
    }
    statements
}

/// Creates both tracking tables, or brings the seed's up to date.
fn prelude(tracking: Tracking, db: &Database) -> Batch {
    let mut batch = Batch::default();
    batch.push(CREATE_TABLE, None);
    batch.push(create_ledger(db), None);
    if let Tracking::Legacy {
        checksum,
        duration_ms,
        sql: stored,
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
        if !stored {
            batch.push("ALTER TABLE _migrations ADD COLUMN sql TEXT", None);
            batch.push("ALTER TABLE _migrations ADD COLUMN rollback_sql TEXT", None);
        }
    }
    batch
}

/// The most text one statement stores: D1 refuses statements over 100 000
/// bytes, and quoting can double a text's length.
const STORED_PER_STATEMENT: usize = 40_000;

/// `text` as an SQL string literal that wrangler passes on unchanged: it
/// rewrites any file holding the words `BEGIN TRANSACTION`, even in a string,
/// so they are written as two literals joined.
fn text_literal(text: &str) -> String {
    let parts: Vec<String> = text
        .split(sql::WRANGLER_TRANSACTION_TEXT)
        .map(quote_literal)
        .collect();
    parts.join(" || 'BEGIN TRANS' || 'ACTION' || ")
}

/// `text` in pieces of at most [`STORED_PER_STATEMENT`] bytes, cut between characters.
fn pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > STORED_PER_STATEMENT {
        let mut cut = STORED_PER_STATEMENT;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    pieces.push(rest);
    pieces
}

/// The longest text stored with a row. A longer one (a migration that loads
/// data) is not kept: each further piece rewrites the whole text so far, so
/// the cost grows with the square of its length. Its rollback, kept apart,
/// is usually short and still stored.
const STORED_MAX: usize = 1024 * 1024;

/// The `_migrations` row of `migration`, applied at `applied_at`, with its
/// SQL and its rollback's (each when under [`STORED_MAX`]): so `down` and
/// `verify` work where its files are not (another branch). A text too long
/// for one statement is stored by further statements, a piece each.
fn insert_row(migration: &Migration, applied_at: &str) -> Vec<String> {
    fn kept(text: &str) -> Option<&str> {
        (text.len() <= STORED_MAX).then_some(text)
    }
    let texts = [
        ("sql", kept(&migration.sql)),
        (
            "rollback_sql",
            migration.rollback.as_ref().and_then(|r| kept(&r.sql)),
        ),
    ];
    let small = texts
        .iter()
        .map(|(_, t)| t.map_or(0, str::len))
        .sum::<usize>()
        <= STORED_PER_STATEMENT;
    let literal = |text: Option<&str>| match (small, text) {
        (true, Some(text)) => text_literal(text),
        _ => "NULL".to_owned(),
    };
    let mut statements = vec![format!(
        "INSERT INTO _migrations (version, name, applied_at, checksum, duration_ms, sql, rollback_sql) \
         VALUES ({}, {}, {applied_at}, {}, NULL, {}, {})",
        migration.version,
        quote_literal(&migration.name),
        quote_literal(&migration.checksum),
        literal(texts[0].1),
        literal(texts[1].1),
    )];
    if small {
        return statements;
    }
    for (column, text) in texts {
        let Some(text) = text else { continue };
        for (index, piece) in pieces(text).into_iter().enumerate() {
            let value = match index {
                0 => text_literal(piece),
                _ => format!("{column} || {}", text_literal(piece)),
            };
            statements.push(format!(
                "UPDATE _migrations SET {column} = {value} WHERE version = {}",
                migration.version
            ));
        }
    }
    statements
}

/// Records migrations as applied without running them: each with its
/// `applied_at` (Unix ms), or now; and wrangler's ledger as `ledger` says.
pub fn record_batch(
    tracking: Tracking,
    db: &Database,
    rows: &[(&Migration, Option<i64>)],
    ledger: &LedgerChange,
) -> Batch {
    let mut batch = prelude(tracking, db);
    for (migration, applied_at) in rows {
        let applied_at = applied_at.map_or(NOW_MS.to_owned(), |ms| ms.to_string());
        for statement in insert_row(migration, &applied_at) {
            batch.push(statement, None);
        }
    }
    for statement in ledger_statements(db, ledger) {
        batch.push(statement, None);
    }
    batch
}

/// Applies `plan` (oldest first): first records `adopt` (migrations
/// wrangler's ledger already records, with their `applied_at`), then each
/// migration's statements, bracketed by its `_migrations` row so the row
/// carries when it started and how long it took; last, wrangler's ledger.
pub fn up_batch(
    tracking: Tracking,
    db: &Database,
    adopt: &[(&Migration, Option<i64>)],
    plan: &[&Migration],
    ledger: &LedgerChange,
) -> Result<Batch> {
    let mut batch = record_batch(tracking, db, adopt, &LedgerChange::default());
    for (index, migration) in plan.iter().enumerate() {
        for statement in insert_row(migration, NOW_MS) {
            batch.push(statement, None);
        }
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
    for statement in ledger_statements(db, ledger) {
        batch.push(statement, None);
    }
    Ok(batch)
}

/// A statement that fails the batch it opens (`NOT NULL constraint failed:
/// _migrations.name`) unless every migration of `plan` is recorded: a
/// rollback sent twice (a lost answer, then a retry) runs once at most, as
/// an `up` sent twice does through the ledger's primary key.
fn applied_guard(plan: &[&Migration]) -> String {
    let values: Vec<String> = plan.iter().map(|m| format!("({})", m.version)).collect();
    format!(
        "INSERT INTO _migrations (version, name, applied_at) SELECT column1, NULL, 0 FROM (VALUES {}) \
         WHERE column1 NOT IN (SELECT version FROM _migrations)",
        values.join(", ")
    )
}

/// Rolls back `plan` (newest first), deleting each row with its rollback;
/// last, wrangler's ledger.
pub fn down_batch(db: &Database, plan: &[&Migration], ledger: &LedgerChange) -> Result<Batch> {
    let mut batch = Batch::default();
    batch.push(CREATE_TABLE, None);
    batch.push(create_ledger(db), None);
    if !plan.is_empty() {
        batch.push(applied_guard(plan), None);
    }
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
    for statement in ledger_statements(db, ledger) {
        batch.push(statement, None);
    }
    Ok(batch)
}

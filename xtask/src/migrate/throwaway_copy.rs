//! Rehearsals: a batch run on a throwaway local copy of a database, never on
//! the database itself. The copy is of its data when that can be had
//! ([`Seed::Data`]: locally SQLite's online backup of its file; remotely an
//! export, which the caller chooses), else of its schema alone
//! ([`Seed::Schema`]); with data, every table's rows are counted before and
//! after, so that a dry run catches what only data can fail (a `UNIQUE` index
//! over duplicates, a `NOT NULL` column added to a table with rows) and the
//! rows a migration would lose.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::migrate::backup;
use crate::migrate::calls::run_batch;
use crate::migrate::config::Database;
use crate::migrate::d1::{D1Error, StatementResult, D1};
use crate::migrate::local_files;
use crate::migrate::plan::Direction;
use crate::migrate::schema::{self, Schema};
use crate::migrate::source::Migration;
use crate::migrate::sql;
use crate::migrate::tracking::{self, Batch};
use crate::text::human_duration;

/// What a rehearsal starts from.
pub enum Seed {
    /// The schema alone, rebuilt statement by statement.
    Schema(Schema),
    /// A copy of the data: an SQLite file that each rehearsal copies.
    Data {
        file: PathBuf,
        /// Keeps the file's folder while the seed lives.
        _dir: tempfile::TempDir,
    },
}

/// The environment variable that bounds the size of a data copy (MB).
pub const MAX_VAR: &str = "MIGRATE_REHEARSAL_MAX_MB";

/// Above this size a local database is rehearsed on its schema alone: its
/// copy (SQLite's online backup, about 0.4 s per 200 MB here) would cost more
/// than the rehearsal is worth.
const DEFAULT_MAX_MB: u64 = 2048;

fn max_bytes() -> u64 {
    std::env::var(MAX_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_MAX_MB)
        * 1024
        * 1024
}

impl Seed {
    /// The schema alone; `why` says so, for the report.
    pub fn schema(schema: &Schema, why: impl Into<String>) -> (Seed, String) {
        (Seed::Schema(schema.clone()), why.into())
    }

    /// A copy of the local `db`'s data (SQLite's online backup of its file,
    /// which blocks nothing), or its `schema` alone when the data is over
    /// [`MAX_VAR`]. Says which, with why, as its second value.
    pub fn local(d1: &dyn D1, db: &Database, schema: &Schema) -> Result<(Seed, String)> {
        let live = local_files::database_file(&d1.local_state(), db);
        let size = std::fs::metadata(&live).map(|m| m.len()).unwrap_or(0);
        if size > max_bytes() {
            return Ok(Seed::schema(
                schema,
                format!(
                    "its schema alone: its data ({} MB) is over {MAX_VAR}",
                    size / 1024 / 1024
                ),
            ));
        }
        let (dir, file) = seed_file()?;
        local_files::back_up(&live, &file)?;
        let (seed, rows) = Seed::data(dir, file)?;
        Ok((seed, format!("a copy of its data ({rows} rows)")))
    }

    /// The data of the export at `path`, and how many rows it has.
    pub fn export(path: &Path) -> Result<(Seed, u64)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let (dir, file) = seed_file()?;
        local_files::load_sql(&file, &text)?;
        Seed::data(dir, file)
    }

    /// A fresh export of the remote `db` (announced: D1 blocks the
    /// database's other requests while it runs), or its `schema` alone when
    /// `wrangler d1 export` refuses its virtual tables. Says which, as its
    /// second value.
    pub fn fresh_export(d1: &dyn D1, db: &Database, schema: &Schema) -> Result<(Seed, String)> {
        let dir = tempfile::Builder::new()
            .prefix("migrate-export-")
            .tempdir()
            .context("cannot create a temporary folder for the export")?;
        let path = dir.path().join("export.sql");
        let took = match backup::export(d1, db, &path) {
            Ok(took) => took,
            Err(err) if backup::refuses_virtual_tables(&err) => {
                return Ok(Seed::schema(
                    schema,
                    "its schema alone: `wrangler d1 export` refuses its virtual tables",
                ))
            }
            Err(err) => return Err(err).context("cannot export the data to rehearse on"),
        };
        let (seed, rows) = Seed::export(&path)?;
        Ok((
            seed,
            format!(
                "a fresh export of its data (exported in {}; {rows} rows)",
                human_duration(took)
            ),
        ))
    }

    /// The data in the SQLite `file` (in `dir`, kept with the seed), and how
    /// many rows it has.
    fn data(dir: tempfile::TempDir, file: PathBuf) -> Result<(Seed, u64)> {
        let rows = local_files::row_counts(&file)?.values().sum::<u64>();
        Ok((Seed::Data { file, _dir: dir }, rows))
    }
}

/// A temporary folder and the path of a seed's SQLite file in it.
fn seed_file() -> Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::Builder::new()
        .prefix("migrate-seed-")
        .tempdir()
        .context("cannot create a temporary folder for the rehearsal")?;
    let file = dir.path().join("seed.sqlite");
    Ok((dir, file))
}

/// What a rehearsal did.
pub struct Rehearsed {
    /// One per statement of the batch.
    pub results: Vec<StatementResult>,
    /// Rows per table before and after (data seeds only).
    pub counts: Option<(Counts, Counts)>,
}

/// Rows per table, and non-null values per `table.column` asked for.
pub type Counts = BTreeMap<String, u64>;

/// Runs `batch` on a fresh copy of `seed` (a throwaway local database).
/// `columns` (`table`, `column`) are counted too (non-null values), with data.
pub fn run(
    d1: &dyn D1,
    db: &Database,
    seed: &Seed,
    batch: &Batch,
    columns: &[(String, String)],
) -> Result<Rehearsed> {
    let dir = tempfile::Builder::new()
        .prefix("migrate-rehearsal-")
        .tempdir()
        .context("cannot create a temporary folder for the rehearsal")?;
    // An id of its own: the copies of a run may share one folder of local
    // state (and one runner), each rehearsal on a fresh database.
    let copy = rehearsal_database(db, &dir.path().to_string_lossy());
    let config = rehearsal_config(dir.path(), &copy)?;
    let local = d1.local_copy(&config);
    match seed {
        Seed::Schema(schema) => {
            let mut full = tracking::schema_batch(schema);
            let skip = full.statements.len();
            full.statements.extend(batch.statements.iter().cloned());
            let mut results = run_batch(local.as_ref(), &copy, &full)?;
            Ok(Rehearsed {
                results: results.split_off(skip.min(results.len())),
                counts: None,
            })
        }
        Seed::Data { file, .. } => {
            let path = local_files::database_file(&local.local_state(), &copy);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::copy(file, &path)
                .with_context(|| format!("cannot copy the data to {}", path.display()))?;
            let before = counts(&path, columns);
            let results = run_batch(local.as_ref(), &copy, batch);
            let after = counts(&path, columns);
            // The copy is done with: its space is not kept to the end of the run.
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
            let (before, results, after) = (before?, results?, after?);
            Ok(Rehearsed {
                results,
                counts: Some((before, after)),
            })
        }
    }
}

fn counts(file: &Path, columns: &[(String, String)]) -> Result<Counts> {
    let mut counts = local_files::row_counts(file)?;
    for (table, column) in columns {
        if let Some(n) = local_files::non_null(file, table, column)? {
            counts.insert(format!("{table}.{column}"), n);
        }
    }
    Ok(counts)
}

/// The schema `migrations` produce from an empty database, by replaying them
/// on a throwaway local one.
pub fn expected_schema(d1: &dyn D1, db: &Database, migrations: &[&Migration]) -> Result<Schema> {
    if migrations.is_empty() {
        return Ok(Schema::default());
    }
    let mut batch = Batch::default();
    for migration in migrations {
        for statement in sql::split(&migration.sql)
            .with_context(|| format!("cannot split {}", migration.path.display()))?
        {
            batch.push_bookkeeping(statement.sql);
        }
    }
    let at = batch.push_bookkeeping(schema::QUERY);
    let rehearsed =
        run(d1, db, &Seed::Schema(Schema::default()), &batch, &[]).with_context(|| {
            format!(
                "cannot replay the applied migrations of {} on a throwaway database",
                db.binding
            )
        })?;
    let result = rehearsed
        .results
        .get(at)
        .context("the replay returned too few results")?;
    Ok(Schema::from_result(result))
}

/// The database a rehearsal config declares: `db` under an id made of its
/// own and `unique`.
fn rehearsal_database(db: &Database, unique: &str) -> Database {
    let id = format!(
        "{}-{:016x}",
        db.id
            .as_deref()
            .unwrap_or("00000000-0000-0000-0000-000000000000"),
        fnv1a(unique.as_bytes())
    );
    Database {
        id: Some(id.clone()),
        local_id: id,
        migrations_dir: None,
        migrations_pattern: None,
        ..db.clone()
    }
}

/// FNV-1a, 64 bits: a short, stable stand-in for a path in an id.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn rehearsal_config(dir: &Path, copy: &Database) -> Result<PathBuf> {
    let quoted = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let text = format!(
        "name = \"rehearsal\"\ncompatibility_date = \"2025-01-01\"\n\n[[d1_databases]]\nbinding = {}\ndatabase_name = {}\ndatabase_id = {}\n",
        quoted(&copy.binding),
        quoted(&copy.name),
        quoted(&copy.local_id),
    );
    let path = dir.join("wrangler.toml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Where a failed batch broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Culprit {
    /// A statement of migration `index` (into the plan), at `line` of its file.
    Statement {
        index: usize,
        line: usize,
        sql: String,
        error: String,
    },
    /// One of our own bookkeeping statements (the tracking table).
    Bookkeeping { sql: String, error: String },
    /// A rehearsal on this seed does not fail: the failure depends on data it lacks.
    NotReproduced,
}

/// Finds the first statement of `batch` that fails on a copy of `seed`, by
/// bisecting over prefixes (a handful of rehearsals, only after a failure).
pub fn locate_failure(
    d1: &dyn D1,
    db: &Database,
    seed: &Seed,
    batch: &Batch,
    already_failed: bool,
) -> Result<Culprit> {
    let fails = |n: usize| -> Result<Option<String>> {
        match run(d1, db, seed, &batch.prefix(n), &[]) {
            Ok(_) => Ok(None),
            Err(err) => match err.downcast_ref::<D1Error>() {
                Some(d1) => Ok(Some(d1.text.clone())),
                None => Err(err),
            },
        }
    };
    let total = batch.statements.len();
    let mut error = if already_failed { None } else { fails(total)? };
    if !already_failed && error.is_none() {
        return Ok(Culprit::NotReproduced);
    }
    let (mut good, mut bad) = (0, total);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        match fails(mid)? {
            Some(text) => {
                bad = mid;
                error = Some(text);
            }
            None => good = mid,
        }
    }
    let statement = &batch.statements[bad - 1];
    let error = match error {
        Some(text) => text,
        None => fails(bad)?.unwrap_or_default(),
    };
    Ok(match statement.origin {
        Some((index, line)) => Culprit::Statement {
            index,
            line,
            sql: statement.sql.clone(),
            error,
        },
        None => Culprit::Bookkeeping {
            sql: statement.sql.clone(),
            error,
        },
    })
}

/// Describes a culprit for a user, naming the file and line (of the
/// rollback file when `rollback`).
pub fn describe(culprit: &Culprit, plan: &[&Migration], direction: Direction) -> String {
    match culprit {
        Culprit::Statement {
            index,
            line,
            sql,
            error,
        } => {
            let migration = plan[*index];
            let path = direction.path(migration).display().to_string();
            format!(
                "migration {} ({}) failed at {path}:{line}: {error}\n    statement: {}",
                migration.version,
                migration.name,
                shorten(sql)
            )
        }
        Culprit::Bookkeeping { sql, error } => {
            format!(
                "the tracking-table statement failed: {error}\n    statement: {}",
                shorten(sql)
            )
        }
        Culprit::NotReproduced => {
            "replayed on a copy of the schema alone it passes, so the failure depends on the data"
                .to_owned()
        }
    }
}

/// A statement on one line, at most 200 characters.
pub fn shorten(sql: &str) -> String {
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

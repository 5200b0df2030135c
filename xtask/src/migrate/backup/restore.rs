//! Restoring a database from a backup: which backups it may be restored
//! from (checked before anything is asked or changed: [`prepare`]), the
//! backup of what the restore replaces, and the restore itself, from a
//! local file, an export, or a Time Travel bookmark ([`Prepared::run`]).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{manifest, Backup, Backups, Manifest, RestorePoint};
use crate::migrate::calls;
use crate::migrate::config::Database;
use crate::migrate::d1::{Call, Target, D1};
use crate::migrate::last_seen;
use crate::migrate::local_files;
use crate::migrate::lock;
use crate::migrate::project::Project;
use crate::migrate::schema;
use crate::migrate::source;
use crate::migrate::sql;
use crate::migrate::tracking::{self, Batch};

/// What to restore from, as the caller names it.
#[derive(Debug, Clone)]
pub enum RestoreFrom {
    /// A backup file: `.sqlite`, `.sql` or `.bookmark`.
    File(PathBuf),
    /// A Time Travel bookmark, by its id (remote).
    Bookmark(String),
}

/// What a restore puts back.
enum Source {
    /// A local database file (SQLite's online backup).
    Local(PathBuf),
    /// An export: its SQL.
    Export(PathBuf, String),
    /// A Time Travel bookmark (remote).
    Bookmark(String),
}

/// A restore that passed its checks, not yet run.
pub struct Prepared {
    db: Database,
    source: Source,
    /// The backup as people read it: its file (or bookmark), version and time.
    pub described: String,
}

/// What a restore did.
pub struct Restored {
    /// The backup restored from, as [`Prepared::described`] says it.
    pub described: String,
    /// The backup of what the restore replaced (none with `--no-backup`).
    pub before: Option<Backup>,
}

/// Checks that `db` of `project` may be restored from `from`: the source
/// exists and fits the target, and (unless `force`) it is a whole backup of
/// this database for this target. Reads the backup's file, nothing else.
pub fn prepare(
    project: &Project,
    db: &Database,
    from: &RestoreFrom,
    force: bool,
) -> Result<Prepared> {
    let (source, manifest) = source_of(from)?;
    let shown = match &source {
        Source::Local(path) | Source::Export(path, _) => path.display().to_string(),
        Source::Bookmark(bookmark) => format!("Time Travel bookmark {bookmark}"),
    };
    // Whose backup it is, and for which target: refused unless forced.
    let wanted = match (&source, project.target) {
        (Source::Bookmark(_), Target::Local) => Some(
        "a Time Travel bookmark restores a remote database: add --remote (for a local database, restore a backup file)".to_owned(),
        ),
        (Source::Local(_), Target::Remote) => Some(format!(
        "{shown} is a local database file: it restores a local database (leave out --remote); \
         restore a remote one from its `.sql` export or its `.bookmark`"
        )),
        _ => None,
    };
    if let Some(why) = wanted {
        bail!("{why}");
    }
    match (&manifest, force) {
        (None, _) | (_, true) => {}
        (Some(Err(err)), false) => bail!("{err:#}\nNothing was restored (pass --force to restore it anyway)"),
        (Some(Ok(m)), false) if m.binding != db.binding || m.database != db.name => bail!(
        "{shown} is a backup of {} ({}), not of {} ({}): nothing was restored \
         (pass --force to restore it anyway)",
        m.binding,
        m.database,
        db.binding,
        db.name
        ),
        (Some(Ok(m)), false) if m.target != project.target.to_string() => bail!(
        "{shown} is a backup of the {} {}, not the {} one: nothing was restored (pass --force to restore it anyway)",
        m.target,
        db.binding,
        project.target
        ),
        (Some(Ok(_)), false) => {}
    }
    let described = match &manifest {
        Some(Ok(m)) => format!("{shown} (at v{}, taken {})", m.version, m.taken_at),
        _ => shown.clone(),
    };
    Ok(Prepared {
        db: db.clone(),
        source,
        described,
    })
}

impl Prepared {
    /// Restores: first backs up what it replaces into `backup_first` (a
    /// Time Travel bookmark remotely: an export would block the database),
    /// then replaces the database's content. `before` holds that backup
    /// as soon as it is taken, for a caller that reports a failure.
    pub fn run(
        self,
        d1: &dyn D1,
        backup_first: Option<&Backups>,
        before: &mut Option<Backup>,
    ) -> Result<Restored> {
        let db = &self.db;
        let taken = match backup_first {
            None => None,
            Some(backups) => Some(
                backups
                    .take(d1, db, None, None, RestorePoint::Bookmark)
                    .context("nothing was restored: the backup of what it would replace failed (--no-backup to go ahead)")?,
            ),
        };
        *before = taken.clone();
        last_seen::forget(d1, db);
        match &self.source {
            Source::Bookmark(bookmark) => restore_bookmark(d1, db, bookmark)?,
            Source::Local(path) => restore_local(d1, db, path)?,
            Source::Export(path, text) => restore_export(d1, db, path, text)?,
        }
        Ok(Restored {
            described: self.described,
            before: taken,
        })
    }
}

impl Restored {
    /// What a restore of `binding` says it did, and how to undo it; `flags`
    /// reach the same database again ([`crate::migrate::Project::hint_flags`]).
    pub fn lines(&self, binding: &str, flags: &str) -> Vec<String> {
        let mut lines = vec![format!("✅ {binding}: restored from {}", self.described)];
        if let Some(before) = &self.before {
            lines.push(format!(
                "   what it replaced is backed up in {}: `cargo migrate restore {}{flags} --db {binding}` undoes this",
                before.path.display(),
                before.path.display(),
            ));
        }
        lines
    }
}

/// What to restore, and what it says of itself (or why it says nothing;
/// `None` for a bookmark given by its id).
fn source_of(from: &RestoreFrom) -> Result<(Source, Option<Result<Manifest>>)> {
    let file = match from {
        RestoreFrom::File(file) => file,
        RestoreFrom::Bookmark(bookmark) => {
            if bookmark.trim().is_empty() || bookmark.trim().contains(char::is_whitespace) {
                bail!(
                "--bookmark {bookmark:?} is not a bookmark (one word, as `wrangler d1 time-travel info` prints it); \
                 to restore a `.bookmark` file, name the file instead"
            );
            }
            // D1 itself refuses a bookmark of another database.
            return Ok((Source::Bookmark(bookmark.clone()), None));
        }
    };
    if !file.is_file() {
        bail!("{} does not exist", file.display());
    }
    if file.extension().is_some_and(|e| e == "bookmark") {
        let (bookmark, manifest) = manifest::read_bookmark(file)?;
        let manifest = manifest.with_context(|| {
            format!(
                "{} names no database: it is not a bookmark file written by `cargo migrate`",
                file.display()
            )
        });
        return Ok((Source::Bookmark(bookmark), Some(manifest)));
    }
    if local_files::is_sqlite_file(file) {
        let manifest = manifest::read_sqlite(file);
        return Ok((Source::Local(file.clone()), Some(manifest)));
    }
    let (text, _) = source::read_sql(file)?;
    let manifest = manifest::read_sql(file, &text);
    Ok((Source::Export(file.clone(), text), Some(manifest)))
}

/// Restores a remote database to a bookmark.
fn restore_bookmark(d1: &dyn D1, db: &Database, bookmark: &str) -> Result<()> {
    d1.restore_bookmark(db, bookmark)?;
    // A bookmark taken during a run holds that run's lock: it is not ours to restore.
    match d1.query(Call::Cleanup, db, &format!("DELETE FROM {}", lock::TABLE)) {
        Err(err) if !tracking::is_missing_table_named(&err, lock::TABLE) => Err(err.context(format!(
            "{} was restored, but clearing the lock it held then failed: run `cargo migrate unlock --remote --db {}`",
            db.binding, db.binding
        ))),
        _ => Ok(()),
    }
}

/// Restores a local database from its file, page for page.
fn restore_local(d1: &dyn D1, db: &Database, path: &Path) -> Result<()> {
    let live = local_files::database_file(&d1.local_state(), db);
    local_files::restore(path, &live)?;
    // The backup's own name tag, and a lock taken during a run: not the database's.
    for table in [manifest::TABLE, lock::TABLE] {
        if local_files::has_table(&live, table)? {
            let statement = match table == lock::TABLE {
                true => format!("DELETE FROM {}", schema::quote_name(table)),
                false => format!("DROP TABLE {}", schema::quote_name(table)),
            };
            local_files::execute(&live, &statement)?;
        }
    }
    Ok(())
}

/// Replaces a database's content with an export, in one all-or-nothing call.
fn restore_export(d1: &dyn D1, db: &Database, path: &Path, text: &str) -> Result<()> {
    let statements =
        sql::split(text).with_context(|| format!("{} is not valid SQL", path.display()))?;
    if statements.is_empty() {
        bail!(
            "{} holds no SQL statements: is it a backup?",
            path.display()
        );
    }
    let state = calls::read_state(d1, db)?;
    let mut batch = Batch::default();
    batch.push_bookkeeping("PRAGMA defer_foreign_keys = on");
    for drop in state.schema.drop_statements() {
        batch.push_bookkeeping(drop);
    }
    let mut restores_lock = false;
    for statement in statements {
        restores_lock |= creates_table(&statement.sql, lock::TABLE);
        batch.push_bookkeeping(statement.sql);
    }
    if restores_lock {
        // A backup taken during a run holds that run's lock: it is not ours to restore.
        batch.push_bookkeeping(format!("DELETE FROM {}", schema::quote_name(lock::TABLE)));
    }
    calls::run_batch(d1, db, &batch).with_context(|| {
        format!(
            "restoring {} failed; D1 rolled the restore back, so {} is as it was",
            path.display(),
            db.binding
        )
    })?;
    Ok(())
}

/// True for `CREATE TABLE [IF NOT EXISTS] name …` (name bare or quoted).
fn creates_table(sql: &str, name: &str) -> bool {
    let words: Vec<&str> = sql.split_whitespace().take(6).collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    if upper.len() < 3 || upper[0] != "CREATE" || upper[1] != "TABLE" {
        return false;
    }
    let table = if upper.get(2..5) == Some(&["IF".into(), "NOT".into(), "EXISTS".into()]) {
        words.get(5)
    } else {
        words.get(2)
    };
    table.is_some_and(|t| {
        t.split('(')
            .next()
            .map(|t| t.trim_matches(['"', '`', '[', ']']))
            == Some(name)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn recognises_the_lock_table() {
        use super::creates_table;
        assert!(creates_table(
            "CREATE TABLE _migrations_lock (id INTEGER)",
            "_migrations_lock"
        ));
        assert!(creates_table(
            "create table if not exists \"_migrations_lock\"(id)",
            "_migrations_lock"
        ));
        assert!(!creates_table(
            "CREATE TABLE _migrations (id)",
            "_migrations_lock"
        ));
        assert!(!creates_table(
            "INSERT INTO _migrations_lock VALUES (1)",
            "_migrations_lock"
        ));
    }
}

//! `migrate backup` and `migrate restore`.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context, Result};

use std::path::{Path, PathBuf};

use super::report;
use crate::flags::{self, ProjectFlags};
use crate::migrate::backup::{manifest, Backup, Backups, Manifest, RestorePoint};
use crate::migrate::calls;
use crate::migrate::config::Database;
use crate::migrate::d1::{Call, Target, D1};
use crate::migrate::events::BackupRef;
use crate::migrate::hint;
use crate::migrate::local_d1;
use crate::migrate::lock;
use crate::migrate::project::Project;
use crate::migrate::schema;
use crate::migrate::source;
use crate::migrate::sql;
use crate::migrate::tracking::{self, Batch};
use crate::notify::notice::{BackupNotice, DatabaseNotice, NextStep};

impl flags::Backup {
    pub fn run(self, project: &Project) -> Result<()> {
        let backups = self.backup.backups(&project.config);
        if self.list {
            return list(project, &backups);
        }
        let d1 = crate::cloudflare::d1_for(project)?;
        // The explicit command: remotely an export, which is what it is asked for.
        let results = calls::in_parallel(&project.selected, |db| {
            let backup = backups.take(&d1, db, None, None, RestorePoint::Export)?;
            Ok(format!(
                "✅ {}: {}",
                db.binding,
                report::backup_text(&BackupRef::from(&backup))
            ))
        });
        calls::report_each(&project.selected, results, |failed| {
            format!("backup failed for {failed}")
        })
    }
}

/// `backup --list`: what the backup folder holds for each selected database.
fn list(project: &Project, backups: &Backups) -> Result<()> {
    crate::out!("Backups in {}:", backups.dir.display());
    for db in &project.selected {
        let listed = backups.list(&db.binding);
        crate::out!();
        crate::out!("=== {} ({}) ===", db.heading(), db.name);
        if listed.is_empty() {
            crate::out!("(none)");
        }
        for backup in listed.iter().rev() {
            let what = match &backup.manifest {
                Some(m) => format!("{} at v{}, {}", m.taken_at, m.version, m.target),
                None => "(does not name itself: not restorable without --force)".to_owned(),
            };
            let bookmark = backup
                .bookmark
                .as_ref()
                .map_or(String::new(), |b| format!(", Time Travel bookmark {b}"));
            crate::out!("{what}: {}{bookmark}", backup.path.display());
        }
    }
    Ok(())
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

impl flags::Restore {
    /// The restore, then (on failure, or always if asked) its notification.
    pub fn run(self, project: &Project, global: &ProjectFlags) -> Result<()> {
        self.run_as(project, global, None)
    }

    /// [`flags::Restore::run`], its notice and history naming `command`
    /// (`None`: this process's command line).
    pub fn run_as(
        self,
        project: &Project,
        global: &ProjectFlags,
        command: Option<String>,
    ) -> Result<()> {
        let db = match &project.selected[..] {
            [db] => db.clone(),
            _ => bail!("restore replaces one database: name it with --db BINDING"),
        };
        let mut context =
            super::notify::context(project, "migrate.restore", "cargo migrate restore");
        if let Some(command) = command {
            context.command = command;
        }
        let mut before = None;
        let result = self.restore(project, &db, &mut before);
        let part = DatabaseNotice {
            binding: db.binding.clone(),
            name: db.name.clone(),
            outcome: if result.is_ok() {
                "succeeded"
            } else {
                "failed"
            },
            error: result.as_ref().err().map(|err| format!("{err:#}")),
            backup: before
                .as_ref()
                .map(|b: &Backup| BackupNotice::from(&BackupRef::from(b))),
            next: before
                .iter()
                .map(|b| NextStep {
                    what: format!(
                        "undo the restore: put back what {} held before it",
                        db.binding
                    ),
                    command: format!(
                        "cargo migrate restore {}{} --db {} --yes",
                        b.path.display(),
                        context.target_flags,
                        db.binding
                    ),
                })
                .chain([NextStep {
                    what: format!("see what {} holds now", db.binding),
                    command: format!(
                        "cargo migrate status{} --db {}",
                        context.target_flags, db.binding
                    ),
                }])
                .collect(),
            ..DatabaseNotice::default()
        };
        let settings = super::notify::settings(project, global);
        super::notify::after(project, &settings, &context, vec![part], Vec::new(), result)
    }

    fn restore(
        &self,
        project: &Project,
        db: &Database,
        backed_up: &mut Option<Backup>,
    ) -> Result<()> {
        let (source, manifest) = self.source()?;
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
        match (&manifest, self.force) {
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
        confirm(db, &described, self.yes)?;
        let d1 = crate::cloudflare::d1_for(project)?;
        // What is about to be replaced is backed up first, so a wrong restore can be undone.
        let before = match self.no_backup {
            true => None,
            false => Some(
                // Remotely a bookmark: an export would block the database first.
                self.backup.backups(&project.config)
                    .take(&d1, db, None, None, RestorePoint::Bookmark)
                    .context("nothing was restored: the backup of what it would replace failed (--no-backup to go ahead)")?,
            ),
        };
        *backed_up = before.clone();
        hint::forget(&d1, db);
        match &source {
            Source::Bookmark(bookmark) => restore_bookmark(&d1, db, bookmark)?,
            Source::Local(path) => restore_local(&d1, db, path)?,
            Source::Export(path, text) => restore_export(&d1, db, path, text)?,
        }
        crate::out!("✅ {}: restored from {described}", db.binding);
        if let Some(before) = before {
            crate::out!(
                "   what it replaced is backed up in {}: `cargo migrate restore {} --db {}{}` undoes this",
                before.path.display(),
                before.path.display(),
                db.binding,
                if project.target == Target::Remote { " --remote" } else { "" }
            );
        }
        Ok(())
    }

    /// What to restore, and what it says of itself (or why it says nothing;
    /// `None` for a bookmark given by its id).
    fn source(&self) -> Result<(Source, Option<Result<Manifest>>)> {
        if let Some(bookmark) = &self.bookmark {
            if bookmark.trim().is_empty() || bookmark.trim().contains(char::is_whitespace) {
                bail!(
                    "--bookmark {bookmark:?} is not a bookmark (one word, as `wrangler d1 time-travel info` prints it); \
                     to restore a `.bookmark` file, name the file instead"
                );
            }
            // D1 itself refuses a bookmark of another database.
            return Ok((Source::Bookmark(bookmark.clone()), None));
        }
        let Some(file) = &self.file else {
            bail!("name a backup file, or --bookmark ID");
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
        if local_d1::is_sqlite_file(file) {
            let manifest = manifest::read_sqlite(file);
            return Ok((Source::Local(file.clone()), Some(manifest)));
        }
        let (text, _) = source::read_sql(file)?;
        let manifest = manifest::read_sql(file, &text);
        Ok((Source::Export(file.clone(), text), Some(manifest)))
    }
}

/// Restores a remote database to a bookmark.
fn restore_bookmark(d1: &dyn D1, db: &Database, bookmark: &str) -> Result<()> {
    d1.restore_bookmark(db, bookmark)?;
    // A bookmark taken during a run holds that run's lock: it is not ours to restore.
    match d1.query(Call::Cleanup, db, &format!("DELETE FROM {}", lock::TABLE)) {
        Err(err) if !tracking::is_missing_table_named(&err, lock::TABLE) => Err(err.context(format!(
            "{} was restored, but clearing the lock it held then failed: run `cargo migrate unlock --db {}`",
            db.binding, db.binding
        ))),
        _ => Ok(()),
    }
}

/// Restores a local database from its file, page for page.
fn restore_local(d1: &dyn D1, db: &Database, path: &Path) -> Result<()> {
    let live = local_d1::database_file(&d1.local_state(), db);
    local_d1::restore(path, &live)?;
    // The backup's own name tag, and a lock taken during a run: not the database's.
    for table in [manifest::TABLE, lock::TABLE] {
        if local_d1::has_table(&live, table)? {
            let statement = match table == lock::TABLE {
                true => format!("DELETE FROM {}", schema::quote_name(table)),
                false => format!("DROP TABLE {}", schema::quote_name(table)),
            };
            local_d1::execute(&live, &statement)?;
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

/// Asks before replacing a database, or insists on `--yes` when no one can be asked.
fn confirm(db: &Database, from: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "restore replaces everything in {} ({}): pass --yes to confirm (not asking: not run from a terminal)",
            db.binding,
            db.name
        );
    }
    crate::output::prompt(format_args!(
        "Replace everything in {} ({}) with {from}? [y/N] ",
        db.binding, db.name
    ));
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("restore cancelled: nothing was changed");
    }
    Ok(())
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

//! `migrate backup` and `migrate restore`.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context, Result};

use crate::backup::Backups;
use crate::config::Database;
use crate::flags;
use crate::hint;
use crate::local_d1;
use crate::lock;
use crate::migrator;
use crate::project::Project;
use crate::schema;
use crate::source;
use crate::sql;
use crate::tracking::{self, Batch};
use crate::wrangler::Target;

impl flags::Backup {
    pub fn run(self, project: &Project) -> Result<()> {
        let wrangler = project.wrangler()?;
        let backups = Backups::new(&project.config, &self.backup);
        let results = migrator::in_parallel(&project.selected, |db| {
            let backup = backups.take(&wrangler, db, None, None)?;
            Ok(match backup.bookmark {
                Some(bookmark) => format!(
                    "✅ {}: {} (Time Travel bookmark {bookmark})",
                    db.binding,
                    backup.path.display()
                ),
                None => format!("✅ {}: {}", db.binding, backup.path.display()),
            })
        });
        migrator::report_each(&project.selected, results, |failed| {
            format!("backup failed for {failed}")
        })
    }
}

impl flags::Restore {
    pub fn run(self, project: &Project) -> Result<()> {
        let db = match &project.selected[..] {
            [db] => db,
            _ => bail!("restore replaces one database: name it with --db BINDING"),
        };
        let wrangler = project.wrangler()?;
        let bookmark = match (&self.bookmark, &self.file) {
            (Some(bookmark), _) => Some(bookmark.clone()),
            (None, Some(file)) if file.extension().is_some_and(|e| e == "bookmark") => Some(
                std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?
                    .trim()
                    .to_owned(),
            ),
            _ => None,
        };
        if let Some(bookmark) = &bookmark {
            if project.target != Target::Remote {
                bail!("a Time Travel bookmark restores a remote database: add --remote (for local databases, restore a backup file)");
            }
            confirm(db, &format!("Time Travel bookmark {bookmark}"), self.yes)?;
            hint::forget(&wrangler, db);
            wrangler.restore_bookmark(db, bookmark)?;
            // A bookmark taken during a run holds that run's lock: it is not ours to restore.
            match wrangler.query(db, &format!("DELETE FROM {}", lock::TABLE)) {
                Err(err) if !tracking::is_missing_table_named(&err, lock::TABLE) => {
                    return Err(err.context(format!(
                        "{} was restored, but clearing the lock it held then failed: run `cargo migrate unlock --db {}`",
                        db.binding, db.binding
                    )))
                }
                _ => {}
            }
            crate::out!("✅ {}: restored to bookmark {bookmark}", db.binding);
            return Ok(());
        }
        let Some(file) = &self.file else {
            bail!("name a backup file, or --bookmark ID");
        };
        if local_d1::is_sqlite_file(file) {
            if project.target != Target::Local {
                bail!(
                    "{} is a local database file: it restores a local database (leave out --remote); \
                     restore a remote one from its `.sql` export or its `.bookmark`",
                    file.display()
                );
            }
            confirm(db, &file.display().to_string(), self.yes)?;
            let live = local_d1::database_file(wrangler.config_dir(), db);
            hint::forget(&wrangler, db);
            local_d1::restore(file, &live)?;
            // A backup taken during a run holds that run's lock: it is not ours to restore.
            if local_d1::has_table(&live, lock::TABLE)? {
                local_d1::execute(
                    &live,
                    &format!("DELETE FROM {}", schema::quote_name(lock::TABLE)),
                )?;
            }
            crate::out!("✅ {}: restored from {}", db.binding, file.display());
            return Ok(());
        }
        let (text, _) = source::read_sql(file)?;
        let statements =
            sql::split(&text).with_context(|| format!("{} is not valid SQL", file.display()))?;
        if statements.is_empty() {
            bail!(
                "{} holds no SQL statements: is it a backup?",
                file.display()
            );
        }
        confirm(db, &file.display().to_string(), self.yes)?;

        let state = migrator::read_state(&wrangler, db)?;
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
        migrator::run_batch(&wrangler, db, &batch).with_context(|| {
            format!(
                "restoring {} failed; D1 rolled the restore back, so {} is as it was",
                file.display(),
                db.binding
            )
        })?;
        crate::out!("✅ {}: restored from {}", db.binding, file.display());
        Ok(())
    }
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

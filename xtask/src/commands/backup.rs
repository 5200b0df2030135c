//! `migrate backup` and `migrate restore`: the engine's backups and
//! restores, with a terminal's confirmation and their lines printed.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context, Result};

use crate::args::ProjectFlags;
use crate::flags;
use crate::jobs::RestoreRequest;
use crate::migrate::{self, BackupRef, Backups, Database, Project, RestoreFrom, RestorePoint};
use crate::output::report;

impl flags::Backup {
    pub fn run(self, project: &Project) -> Result<()> {
        let backups = self.backup.backups(&project.config);
        if self.list {
            return list(project, &backups);
        }
        let d1 = crate::cloudflare::d1_for(project)?;
        // The explicit command: remotely an export, which is what it is asked for.
        let results = migrate::in_parallel(&project.selected, |db| {
            let backup = backups.take(d1.as_ref(), db, None, None, RestorePoint::Export)?;
            Ok(format!(
                "✅ {}: {}",
                db.binding,
                report::backup_text(&BackupRef::from(&backup))
            ))
        });
        super::report_each(&project.selected, results, |failed| {
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

impl flags::Restore {
    /// The restore, then (on failure, or always if asked) its notification.
    pub fn run(self, project: &Project, global: &ProjectFlags) -> Result<()> {
        let from = match (self.file, self.bookmark) {
            (_, Some(bookmark)) => RestoreFrom::Bookmark(bookmark),
            (Some(file), None) => RestoreFrom::File(file),
            (None, None) => bail!("name a backup file, or --bookmark ID"),
        };
        let request = RestoreRequest {
            from,
            force: self.force,
            backup_first: (!self.no_backup).then(|| self.backup.backups(&project.config)),
            command: None,
        };
        let yes = self.yes;
        let restored = crate::jobs::restore(
            project,
            &global.notify_settings(project),
            &request,
            &|db, from| confirm(db, from, yes),
        )?;
        let binding = &project.selected[0].binding;
        for line in restored.lines(binding, &project.hint_flags()) {
            crate::out!("{line}");
        }
        Ok(())
    }
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

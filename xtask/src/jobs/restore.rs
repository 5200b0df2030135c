//! A restore as a caller starts it: the engine's checks, the caller's
//! confirmation, the restore, then its run log line and notification, which
//! say how to undo it.

use anyhow::{bail, Result};

use crate::migrate::{self, Backup, BackupRef, Backups, Database, Project, RestoreFrom, Restored};
use crate::notify::notice::{BackupNotice, DatabaseNotice, NextStep};
use crate::notify::Settings;

/// What a restore is asked to do.
pub struct RestoreRequest {
    pub from: RestoreFrom,
    /// Restore a file that is not a whole backup of this database.
    pub force: bool,
    /// Where the backup of what the restore replaces goes (`None`: none).
    pub backup_first: Option<Backups>,
    /// The command as typed; `None`: this process's command line.
    pub command: Option<String>,
}

/// Restores the one selected database of `project` once `confirm` agrees
/// (given the database and the backup as people read it), then logs and
/// notifies, a failed check or a refusal included.
pub fn restore(
    project: &Project,
    settings: &Settings,
    request: &RestoreRequest,
    confirm: &dyn Fn(&Database, &str) -> Result<()>,
) -> Result<Restored> {
    let db = match &project.selected[..] {
        [db] => db.clone(),
        _ => bail!("restore replaces one database: name it with --db BINDING"),
    };
    let mut context = super::context(project, "migrate.restore", "cargo migrate restore");
    if let Some(command) = &request.command {
        context.command = command.clone();
    }
    let mut before = None;
    let result = (|| {
        let prepared = migrate::prepare_restore(project, &db, &request.from, request.force)?;
        confirm(&db, &prepared.described)?;
        let d1 = crate::cloudflare::d1_for(project)?;
        prepared.run(d1.as_ref(), request.backup_first.as_ref(), &mut before)
    })();
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
    super::after(project, settings, &context, vec![part], Vec::new(), result)
}

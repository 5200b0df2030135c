//! One module per command; each adds a `run` to its flags type.

pub mod apply;
pub mod backup;
mod check;
pub mod history;
mod new;
mod notify;
mod record;
mod renumber;
mod report;
pub mod status;
pub(crate) mod ui;
mod unlock;
pub mod verify;

use anyhow::Result;

use crate::flags::{Migrate, MigrateCommand, ProjectFlags};
use crate::migrate::project::{workspace_root, Paths, Project};

pub use notify::{after as notify_after, context as notify_context, settings as notify_settings};
pub use report::{Human, Log};

impl Migrate {
    pub fn run(self) -> Result<()> {
        let paths = paths(&self.global.project);
        let target = self.global.target();
        let load = || Project::load(&paths, target);
        let load_lenient = || Project::load_lenient(&paths, target);
        match self.command {
            MigrateCommand::New(new) => new.run(&paths),
            MigrateCommand::Up(up) => up.run(&load()?, &self.global.project),
            MigrateCommand::Down(down) => down.run(&load()?, &self.global.project),
            MigrateCommand::Status(status) => {
                let (project, problems) = load_lenient()?;
                status.run(&project, problems)
            }
            MigrateCommand::Check(check) => check.run(&load()?),
            MigrateCommand::Backup(backup) => backup.run(&load_lenient()?.0),
            MigrateCommand::Restore(restore) => {
                restore.run(&load_lenient()?.0, &self.global.project)
            }
            MigrateCommand::Unlock(unlock) => unlock.run(&load_lenient()?.0),
            MigrateCommand::Verify(verify) => verify.run(&load()?),
            MigrateCommand::Mark(mark) => mark.run(&load()?),
            MigrateCommand::Renumber(renumber) => renumber.run(&load_lenient()?.0),
            MigrateCommand::Baseline(baseline) => baseline.run(&load()?),
            MigrateCommand::Adopt(adopt) => adopt.run(&load()?),
            MigrateCommand::Notify(notify) => notify.run(&load_lenient()?.0, &self.global.project),
            MigrateCommand::Ui(ui) => ui.run(&self.global),
        }
    }
}

/// The project the flags name: the workspace this xtask was built in unless
/// `--config` says otherwise.
pub fn paths(flags: &ProjectFlags) -> Paths {
    let root = workspace_root();
    Paths {
        wrangler_version: crate::wrangler::project_version(&root),
        root,
        config: flags.config.clone(),
        env: flags.env.clone(),
        migrations_dir: flags.migrations_dir.clone(),
        databases: flags.databases.clone(),
        persist_to: flags.persist_to.clone(),
    }
}

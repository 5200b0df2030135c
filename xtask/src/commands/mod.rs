//! One module per command; each adds a `run` to its flags type.

mod apply;
mod backup;
mod bench;
mod build_worker;
mod check;
mod new;
mod record;
mod release;
mod status;
mod unlock;
mod verify;

use anyhow::Result;

use crate::flags::{Migrate, MigrateCommand};
use crate::project::Project;

impl Migrate {
    pub fn run(self) -> Result<()> {
        let global = &self.global;
        match self.command {
            MigrateCommand::New(new) => new.run(global),
            MigrateCommand::Up(up) => up.run(&Project::load(global)?),
            MigrateCommand::Down(down) => down.run(&Project::load(global)?),
            MigrateCommand::Status(status) => {
                let (project, problems) = Project::load_lenient(global)?;
                status.run(&project, problems)
            }
            MigrateCommand::Check(check) => check.run(&Project::load(global)?),
            MigrateCommand::Backup(backup) => backup.run(&Project::load_lenient(global)?.0),
            MigrateCommand::Restore(restore) => restore.run(&Project::load_lenient(global)?.0),
            MigrateCommand::Unlock(unlock) => unlock.run(&Project::load_lenient(global)?.0),
            MigrateCommand::Verify(verify) => verify.run(&Project::load(global)?),
            MigrateCommand::Mark(mark) => mark.run(&Project::load(global)?),
            MigrateCommand::Baseline(baseline) => baseline.run(&Project::load(global)?),
            MigrateCommand::Adopt(adopt) => adopt.run(&Project::load(global)?),
        }
    }
}

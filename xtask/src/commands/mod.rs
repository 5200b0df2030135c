//! One module per command; each adds a `run` to its flags type.

mod apply;
mod check;
mod new;
mod status;

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
            MigrateCommand::Status(status) => status.run(&Project::load(global)?),
            MigrateCommand::Check(check) => check.run(&Project::load(global)?),
        }
    }
}

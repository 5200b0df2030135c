//! The command line's edge: one module per `migrate` command, each adding
//! a `run` to its flags type that turns the flags into the engine's types,
//! calls the engine (or a [`crate::jobs`] job), and prints what it returns.

mod apply;
mod backup;
mod check;
mod new;
mod notify;
mod record;
mod renumber;
mod status;
pub(crate) mod ui;
mod unlock;
mod verify;

use anyhow::Result;

use crate::flags::{Migrate, MigrateCommand};
use crate::migrate::{Database, Project};

impl Migrate {
    pub fn run(self) -> Result<()> {
        let paths = self.global.project.paths();
        let target = self.global.target();
        let load = || Project::load(&paths, target);
        let load_lenient = || Project::load_lenient(&paths, target);
        match self.command {
            MigrateCommand::New(new) => new.run(&paths),
            MigrateCommand::Up(up) => up.run(&load()?, &self.global.project),
            MigrateCommand::Down(down) => down.run(&load()?, &self.global.project),
            MigrateCommand::Status(mut status) => {
                status.verbose = self.global.project.verbose > 0;
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

/// Prints each database's outcome (its line, or ❌ and the error) and fails
/// naming those that failed, in the words of `failure`, with what each
/// failure was ([`crate::migrate::Failure`]).
pub(crate) fn report_each(
    databases: &[Database],
    results: Vec<Result<String>>,
    failure: impl FnOnce(String) -> String,
) -> Result<()> {
    let (mut failed, mut failures) = (Vec::new(), Vec::new());
    for (db, result) in databases.iter().zip(results) {
        match result {
            Ok(line) => crate::out!("{line}"),
            Err(err) => {
                crate::out!("❌ {}: {err:#}", db.binding);
                failed.push(db.binding.clone());
                failures.extend(crate::migrate::failures_in(Some(&db.binding), &err));
            }
        }
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(crate::migrate::Error::from_failures(
            failure(failed.join(", ")),
            failures,
        )),
    }
}

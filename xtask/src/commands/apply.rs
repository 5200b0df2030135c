//! `migrate up` and `migrate down`: their flags made into a
//! [`RunRequest`], run as a job ([`crate::jobs::execute`]), the report on
//! stdout ([`Human`]).

use std::time::Duration;

use anyhow::{bail, Result};

use crate::args::{ProjectFlags, RestorePointKind};
use crate::flags::{self, BackupOptions, LockOptions, RunOptions};
use crate::jobs::RunRequest;
use crate::migrate::events::{Event, Observer};
use crate::migrate::{
    Backing, Backups, Batching, Config, DataLoss, Direction, Locking, Mode, Options, Policy,
    Project, Seeding,
};
use crate::output::Human;
use std::sync::Mutex;

impl flags::Up {
    pub fn run(self, project: &Project, global: &ProjectFlags) -> Result<()> {
        if let Some(version) = self.version {
            let last = project.newest_version();
            if version > last {
                bail!("there is no migration {version}: the newest is {last}");
            }
        }
        let again = match self.version {
            Some(version) => format!("cargo migrate up {version}"),
            None => "cargo migrate up".to_owned(),
        };
        start(
            project,
            global,
            Direction::Up,
            self.version,
            &self.run,
            again,
        )
    }
}

impl flags::Down {
    pub fn run(self, project: &Project, global: &ProjectFlags) -> Result<()> {
        let again = format!("cargo migrate down {}", self.version);
        start(
            project,
            global,
            Direction::Down,
            Some(self.version),
            &self.run,
            again,
        )
    }
}

/// The run the flags ask for, with its report on stdout.
fn start(
    project: &Project,
    global: &ProjectFlags,
    direction: Direction,
    version: Option<u64>,
    flags: &RunOptions,
    again: String,
) -> Result<()> {
    let request = RunRequest {
        direction,
        version,
        options: flags.options(project),
        again,
        command: None,
    };
    let report = Report {
        flags: crate::jobs::context(project, "", "").target_flags,
        order: project
            .selected
            .iter()
            .map(|db| db.binding.clone())
            .collect(),
        undo: Mutex::new(Vec::new()),
    };
    crate::jobs::execute(project, &global.notify_settings(project), &request, &report)
}

/// The report on stdout ([`Human`]), ending, once an `up` has applied
/// something, with the command that undoes it: what to do next if it was
/// not what you wanted.
struct Report {
    /// What selects this run's target and project again (`--remote`,
    /// `--env`, `--config`, …).
    flags: String,
    /// The databases in the config's order, which the undo line keeps.
    order: Vec<String>,
    /// Each database that applied something, with the command that undoes it.
    undo: Mutex<Vec<(String, String)>>,
}

impl Observer for Report {
    fn event(&self, event: &Event) {
        Human.event(event);
        let mut undo = self.undo.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Succeeded {
                binding,
                direction: Direction::Up,
                done,
                ..
            } => {
                if let Some(first) = done.first() {
                    let command = format!(
                        "cargo migrate down {}{} --db {binding}",
                        first.version.saturating_sub(1),
                        self.flags
                    );
                    undo.push((binding.clone(), command));
                }
            }
            Event::Finished { dry_run: false, .. } if !undo.is_empty() => {
                undo.sort_by_key(|(binding, _)| self.order.iter().position(|b| b == binding));
                let commands: Vec<&str> = undo.iter().map(|(_, c)| c.as_str()).collect();
                crate::out!("To undo this run: {}", commands.join(" && "));
            }
            _ => {}
        }
    }
}

impl RunOptions {
    /// What the flags (and `migrate.toml`'s `[backup]`) tell a run.
    pub fn options(&self, project: &Project) -> Options {
        Options {
            mode: match (self.dry_run, self.schema_only, self.with_data) {
                (false, _, _) => Mode::Apply,
                (true, true, _) => Mode::DryRun(Seeding::SchemaOnly),
                (true, false, true) => Mode::DryRun(Seeding::FreshExport),
                (true, false, false) => Mode::DryRun(Seeding::Data),
            },
            batching: match self.step {
                true => Batching::PerMigration,
                false => Batching::PerDatabase,
            },
            backups: self.backup.backups(&project.config),
            backing: match self.no_backup {
                true => Backing::Skip,
                false => Backing::Up(policy(project, self.restore_point)),
            },
            data_loss: match self.allow_data_loss {
                true => DataLoss::Allow,
                false => DataLoss::Refuse,
            },
            locking: self.lock.locking(),
        }
    }
}

/// Which restore point each of `project`'s databases gets before a remote
/// run: `--backup`'s kind for all, else `migrate.toml`'s `[backup]`.
pub fn policy(project: &Project, flag: Option<RestorePointKind>) -> Policy {
    Policy::for_project(project, flag.map(RestorePointKind::restore_point))
}

impl BackupOptions {
    /// The backup folder these flags name, for the databases of `config`.
    pub fn backups(&self, config: &Config) -> Backups {
        Backups::new(config, self.backup_dir.as_deref(), self.keep_backups)
    }
}

impl LockOptions {
    pub fn locking(&self) -> Locking {
        Locking {
            wait: Duration::from_secs(self.wait),
            ttl: Duration::from_secs(self.lock_ttl),
        }
    }
}

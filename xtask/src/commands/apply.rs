//! `migrate up` and `migrate down`: their flags made into a run's
//! [`Options`], the run ([`crate::migrate::run`]) on the project's wrangler,
//! and its events printed ([`super::report`]).

use std::time::Duration;

use anyhow::{bail, Result};

use super::notify;
use super::report::{Human, Log};
use crate::flags::{self, BackupOptions, LockOptions, ProjectFlags, RestorePointKind, RunOptions};
use crate::migrate::backup::{Backups, Policy, RestorePoint};
use crate::migrate::config::Config;
use crate::migrate::events::{Fanout, Observer};
use crate::migrate::project::Project;
use crate::migrate::run::{
    self, Backing, Batching, DataLoss, Direction, Locking, Mode, Options, Seeding,
};
use crate::notify::Collector;

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
        let caller = Caller::command_line(again);
        execute(
            project,
            global,
            Direction::Up,
            self.version,
            &self.run,
            &caller,
        )
    }
}

impl flags::Down {
    pub fn run(self, project: &Project, global: &ProjectFlags) -> Result<()> {
        let again = format!("cargo migrate down {}", self.version);
        let caller = Caller::command_line(again);
        execute(
            project,
            global,
            Direction::Down,
            Some(self.version),
            &self.run,
            &caller,
        )
    }
}

/// Who starts a run, as its report, notification and history name it.
pub struct Caller<'a> {
    /// The command that runs it again (`cargo migrate up 5`).
    pub again: String,
    /// The command as typed; `None`: this process's command line.
    pub command: Option<String>,
    /// Gets every event: [`Human`] on the command line, the web UI's stream
    /// there.
    pub watcher: &'a dyn Observer,
}

impl Caller<'static> {
    /// The command line's: this process's command, the report on stdout.
    fn command_line(again: String) -> Caller<'static> {
        Caller {
            again,
            command: None,
            watcher: &Human,
        }
    }
}

/// The run, its report, and (for a real run) its notification and its
/// line in the history. Every event goes to the log and to the caller's
/// watcher.
pub fn execute(
    project: &Project,
    global: &ProjectFlags,
    direction: Direction,
    version: Option<u64>,
    flags: &RunOptions,
    caller: &Caller,
) -> Result<()> {
    let collector = Collector::default();
    let observer = Fanout(vec![caller.watcher, &Log, &collector]);
    let result = crate::cloudflare::d1_for(project).and_then(|d1| {
        run::run(
            project,
            d1,
            direction,
            version,
            &flags.options(project),
            &observer,
        )
    });
    if flags.dry_run {
        return result;
    }
    let event = match direction {
        Direction::Up => "migrate.up",
        Direction::Down => "migrate.down",
    };
    let mut context = notify::context(project, event, &caller.again);
    if let Some(command) = &caller.command {
        context.command = command.clone();
    }
    let databases = collector.databases(&context);
    notify::after(
        project,
        &notify::settings(project, global),
        &context,
        databases,
        Vec::new(),
        result,
    )
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
    Policy {
        all: flag.map(|kind| match kind {
            RestorePointKind::Bookmark => RestorePoint::Bookmark,
            RestorePointKind::Export => RestorePoint::Export,
        }),
        exported: project.backup.export.clone(),
    }
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

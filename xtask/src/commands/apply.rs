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
use crate::notify::{undo_up, Collector, Context};
use crate::output::Human;

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
        context: crate::jobs::context(project, "", ""),
        collector: Collector::default(),
    };
    crate::jobs::execute(project, &global.notify_settings(project), &request, &report)
}

/// The report on stdout ([`Human`]), ending, once an `up` has applied
/// something, with the commands that undo it (as its notice says them):
/// what to do next if it was not what you wanted.
struct Report {
    context: Context,
    collector: Collector,
}

impl Observer for Report {
    fn event(&self, event: &Event) {
        Human.event(event);
        self.collector.event(event);
        if let Event::Finished { dry_run: false, .. } = event {
            let undo: Vec<String> = self
                .collector
                .databases(&self.context)
                .iter()
                .filter(|db| db.outcome == "succeeded" && !db.migrations.is_empty())
                .filter_map(|db| undo_up(db, &self.context))
                .collect();
            if !undo.is_empty() {
                crate::out!("To undo this run: {}", undo.join(" && "));
            }
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

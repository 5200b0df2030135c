//! `xtask release`: check → build the worker → back up → rehearse → migrate →
//! deploy → smoke check, each step timed and logged, the first failure
//! stopping the chain with a report of what was done and what was not.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::args::{ProjectFlags, RestorePointKind};
use crate::cloudflare::Remote;
use crate::migrate::d1::{Target, D1};
use crate::migrate::events::Fanout;
use crate::migrate::Backups;
use crate::migrate::{
    Backing, Batching, DataLoss, Direction, Locking, Mode, Options, Policy, RunContext, Seeding,
    Session,
};
use crate::migrate::{Paths, Project};
use crate::notify::Collector;
use crate::output::{Human, Log};
use crate::process::Cmd;
use crate::tasks::build_worker;
use crate::wrangler::Wrangler;
use clap::Args;

mod health;
mod steps;

use health::smoke_check;
use steps::Steps;

#[derive(Debug, Args)]
pub struct Release {
    #[command(flatten)]
    pub project: ProjectFlags,

    /// Rehearse the whole release on this machine: the local D1,
    /// `wrangler deploy --dry-run`, and `wrangler dev` for the smoke check
    #[arg(long, conflicts_with = "remote")]
    local: bool,

    /// Release to Cloudflare: the remote D1 and `wrangler deploy` (the
    /// default; needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID)
    #[arg(long)]
    remote: bool,

    /// Stop after the rehearsal: nothing is migrated or deployed
    #[arg(long)]
    pub dry_run: bool,

    /// If the deploy (or smoke check) fails after migrations ran, roll the
    /// databases back to where the release found them
    #[arg(long)]
    pub rollback_on_failure: bool,

    /// Apply one migration per call (a failure keeps the ones before it)
    #[arg(long)]
    pub step: bool,

    /// Remotely, the restore point the back-up step takes of each database
    /// [default: bookmark, or export for the databases that migrate.toml's
    /// `[backup] export` names]; the rehearse step rehearses on the export
    /// it took, else on the newest export in backups/, else on the schema
    /// alone. Locally the backup is always a copy of the SQLite file
    #[arg(long = "backup", value_enum, value_name = "KIND")]
    pub restore_point: Option<RestorePointKind>,

    /// With --remote: the deployed worker's URL; the smoke check GETs its
    /// /health (without it, the smoke check is skipped, with a warning)
    #[arg(long, value_name = "URL")]
    pub smoke_url: Option<String>,
}

impl Release {
    /// Releases go to Cloudflare unless `--local` says otherwise.
    pub fn target(&self) -> Target {
        if self.local {
            Target::Local
        } else {
            Target::Remote
        }
    }
}

impl Release {
    /// The release, then (on failure, or always if asked) its notification.
    pub fn run(self) -> Result<()> {
        let target = self.target();
        let paths = self.project.paths();
        let project = Project::load(&paths, target)?;
        let collector = Collector::default();
        let mut steps = Steps::default();
        let result = self.ship(&paths, &project, &collector, &mut steps);
        if self.dry_run {
            return result;
        }
        let context = crate::jobs::context(&project, "release", "cargo xtask release");
        let databases = collector.databases(&context);
        let settings = self.project.notify_settings(&project);
        crate::jobs::after(
            &project,
            &settings,
            &context,
            databases,
            steps.notices(),
            result,
        )
    }

    fn ship(
        &self,
        paths: &Paths,
        project: &Project,
        collector: &Collector,
        steps: &mut Steps,
    ) -> Result<()> {
        let target = project.target;
        let project = project.clone();
        // wrangler's `[build] command` (before `deploy` and `dev`) builds the
        // worker again: it must build it for this project too.
        let wrangler = Arc::new(Wrangler::for_project(&project)?.passing(project_env(paths)));
        let remote = Remote::choose(&project, (*wrangler).clone())?;
        let d1 = remote.d1();
        crate::out!(
            "Releasing to {target} D1 and {}",
            match target {
                Target::Remote => "Cloudflare (wrangler deploy)",
                Target::Local => "a local dry-run deploy and wrangler dev",
            }
        );
        // What the release needs, before twenty minutes of building.
        steps.run("preflight", || {
            preflight(&project, &wrangler, &remote, target)
        })?;
        steps.run("check", || {
            crate::output::report::folder_check(&crate::migrate::check_folders(
                &project, false, false,
            ))
        })?;
        steps.run("build worker", || build_worker::build(&project, false))?;
        // A dry run only reads: no lock, no backup. Remotely the rehearsal
        // blocks nothing: it runs on the export the back-up step took (with
        // `--backup export`), else on the newest one in backups/, else on
        // the schema alone.
        let options = Options {
            mode: match self.dry_run {
                true => Mode::DryRun(Seeding::Data),
                false => Mode::Apply,
            },
            batching: match self.step {
                true => Batching::PerMigration,
                false => Batching::PerDatabase,
            },
            backups: Backups::new(&project.config, None, KEEP_BACKUPS),
            backing: Backing::Up(Policy::for_project(
                &project,
                self.restore_point.map(RestorePointKind::restore_point),
            )),
            data_loss: DataLoss::Refuse,
            locking: LOCKING,
        };
        let observer = Fanout(vec![&Human, &Log, collector]);
        let mut session = steps.run("plan", || {
            let session = Session::open(&RunContext {
                project: &project,
                d1: d1.clone(),
                direction: Direction::Up,
                version: None,
                options: &options,
                observer: &observer,
            })?;
            match session.has_work() {
                true => session.report_plan(),
                false => session.report_nothing_to_do(),
            }
            Ok(session)
        })?;
        let before = session.versions_before();
        let migrating = session.has_work();
        if migrating {
            match self.dry_run {
                true => steps.skip("back up", "--dry-run"),
                false => steps.run("back up", || session.back_up())?,
            }
            steps.run("rehearse", || session.rehearse())?;
        } else {
            steps.skip("back up", "no database changes");
            steps.skip("rehearse", "nothing to apply");
        }
        if self.dry_run {
            drop(session);
            for name in ["migrate", "deploy", "smoke check"] {
                steps.skip(name, "--dry-run");
            }
            steps.report();
            crate::out!("Dry run: the databases and the deployed worker were not changed.");
            return Ok(());
        }
        if migrating {
            steps.run("migrate", || session.apply())?;
        } else {
            drop(session);
            steps.skip("migrate", "nothing to apply");
        }

        let shipped = steps
            .run("deploy", || deploy(&project, &wrangler, target))
            .and_then(|()| match (target, self.smoke_url.as_deref()) {
                // The migrate step already checked every database's schema:
                // re-reading their versions here could not fail, so say so.
                (Target::Remote, None) => {
                    tracing::warn!("no --smoke-url: the deployed worker's /health was not asked");
                    steps.skip("smoke check", "no --smoke-url to ask the deployed worker");
                    Ok(())
                }
                (_, url) => steps.run("smoke check", || smoke_check(&project, &wrangler, url)),
            });
        match shipped {
            Ok(()) => {
                steps.report();
                crate::out!("Released.");
                Ok(())
            }
            Err(err) if !migrating => Err(err),
            Err(err) if self.rollback_on_failure => {
                crate::out!("The release failed after the migrations ran; rolling the databases back (--rollback-on-failure).");
                roll_back(&project, d1.clone(), &before).with_context(|| format!("{err:#}; and rolling back failed too"))?;
                Err(err.context("the databases were rolled back to where the release found them"))
            }
            Err(err) => Err(err.context(
                "the migrations WERE applied, but the new worker is not live: the databases are ahead of the running worker. \
                 Fix the cause and run the release again, or roll the databases back (`--rollback-on-failure`, or `cargo migrate down VERSION`)",
            )),
        }
    }
}

/// Checks what the release needs before it builds anything: node and
/// wrangler; remotely, the credentials and that every database exists (one
/// `wrangler d1 list`, which also proves the token works).
fn preflight(
    project: &Project,
    wrangler: &Wrangler,
    remote: &Remote,
    target: Target,
) -> Result<()> {
    if target == Target::Remote {
        let missing: Vec<&str> = ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"]
            .into_iter()
            .filter(|var| std::env::var(var).map_or(true, |v| v.trim().is_empty()))
            .collect();
        if !missing.is_empty() {
            bail!(
                "a remote release needs {} in the environment (a token with D1 and Workers edit rights, and the account's id); \
                 nothing was built, migrated or deployed. To rehearse the release on this machine instead: `cargo xtask release --local`",
                missing.join(" and ")
            );
        }
    }
    match Cmd::new("node").arg("--version").read() {
        Some(node) => {
            tracing::info!(node = %node.trim(), wrangler = wrangler.version().unwrap_or("?"), "node and wrangler found");
        }
        None => bail!("node was not found (wrangler runs on it): install Node.js 20 or newer"),
    }
    if target == Target::Remote {
        let names = remote
            .database_names()
            .context("cannot list the account's D1 databases")?;
        let absent: Vec<String> = project
            .selected
            .iter()
            .filter(|db| !names.contains(&db.name))
            .map(|db| format!("{} ({})", db.name, db.binding))
            .collect();
        if !absent.is_empty() {
            bail!(
                "the account has no D1 database called {}: create {} (`wrangler d1 create NAME`) or fix the name in {}",
                absent.join(", "),
                if absent.len() == 1 { "it" } else { "them" },
                project.config.path.display()
            );
        }
    }
    Ok(())
}

/// `wrangler deploy`, or locally a dry run that bundles the worker into a
/// temporary folder and uploads nothing.
fn deploy(project: &Project, wrangler: &Wrangler, target: Target) -> Result<()> {
    match target {
        Target::Remote => {
            let said = wrangler.deploy(None)?;
            for line in said.lines().filter(|l| !l.trim().is_empty()).take(20) {
                crate::out!("  {line}");
            }
        }
        Target::Local => {
            let out = dry_run_bundle(project);
            wrangler.deploy(Some(&out))?;
            crate::out!(
                "  bundled into {} (wrangler deploy --dry-run: nothing uploaded)",
                out.display()
            );
        }
    }
    Ok(())
}

/// How many backups of each database a release keeps: `up`'s default.
const KEEP_BACKUPS: usize = 10;

/// How a release treats locks: `up`'s defaults (no waiting).
const LOCKING: Locking = Locking {
    wait: Duration::ZERO,
    ttl: Duration::from_secs(900),
};

/// The variables that tell `cargo xtask build-worker` (run by wrangler's
/// `[build] command`) which project to build the worker for.
fn project_env(paths: &Paths) -> Vec<(String, std::ffi::OsString)> {
    let mut vars = Vec::new();
    if let Some(config) = &paths.config {
        vars.push((
            "MIGRATE_CONFIG".to_owned(),
            absolute(config).into_os_string(),
        ));
    }
    if let Some(dir) = &paths.migrations_dir {
        vars.push((
            "MIGRATE_MIGRATIONS_DIR".to_owned(),
            absolute(dir).into_os_string(),
        ));
    }
    if let Some(env) = &paths.env {
        vars.push(("MIGRATE_ENV".to_owned(), env.into()));
    }
    vars
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Rolls each database back to the version the release found it at.
fn roll_back(project: &Project, d1: Arc<dyn D1>, before: &[(String, u64)]) -> Result<()> {
    let options = Options {
        mode: Mode::Apply,
        batching: Batching::PerDatabase,
        backups: Backups::new(&project.config, None, KEEP_BACKUPS),
        backing: Backing::Skip,
        data_loss: DataLoss::Refuse,
        locking: LOCKING,
    };
    let observer = Fanout(vec![&Human, &Log]);
    for (binding, version) in before {
        let mut only = project.clone();
        only.selected.retain(|db| &db.binding == binding);
        let session = Session::open(&RunContext {
            project: &only,
            d1: d1.clone(),
            direction: Direction::Down,
            version: Some(*version),
            options: &options,
            observer: &observer,
        })?;
        if session.has_work() {
            session.report_plan();
            session.apply()?;
        }
    }
    Ok(())
}

/// Where `wrangler deploy --dry-run` writes the bundle.
fn dry_run_bundle(project: &Project) -> PathBuf {
    project
        .config
        .dir()
        .join(".wrangler")
        .join("release-dry-run")
}

#[cfg(test)]
mod tests;

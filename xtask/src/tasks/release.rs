//! `xtask release`: check → build the worker → back up → rehearse → migrate →
//! deploy → smoke check, each step timed and logged, the first failure
//! stopping the chain with a report of what was done and what was not.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::cloudflare::Remote;
use crate::commands::{apply, notify_after, notify_context, notify_settings, paths, Human, Log};
use crate::flags;
use crate::migrate::backup::Backups;
use crate::migrate::d1::{Target, D1};
use crate::migrate::events::Fanout;
use crate::migrate::project::{Paths, Project};
use crate::migrate::run::{
    Backing, Batching, DataLoss, Direction, Locking, Mode, Options, Seeding, Session,
};
use crate::notify::notice::StepNotice;
use crate::notify::Collector;
use crate::process::Cmd;
use crate::tasks::{build_worker, smoke};
use crate::text::human_duration;
use crate::wrangler::Wrangler;

/// The steps, in order.
const STEPS: [&str; 9] = [
    "preflight",
    "check",
    "build worker",
    "plan",
    "back up",
    "rehearse",
    "migrate",
    "deploy",
    "smoke check",
];

/// What happened to a step.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Done,
    Failed,
    Skipped(&'static str),
}

/// What happened to each step so far.
struct Steps {
    done: Vec<(&'static str, Duration, Status)>,
}

impl Steps {
    /// Runs one step, timing and logging it; on failure prints the report.
    fn run<T>(&mut self, name: &'static str, step: impl FnOnce() -> Result<T>) -> Result<T> {
        tracing::info!(step = name, "▶ {name}");
        let started = Instant::now();
        let result = step();
        let elapsed = started.elapsed();
        let duration_ms = elapsed.as_millis() as u64;
        match &result {
            Ok(_) => {
                tracing::info!(
                    step = name,
                    duration_ms,
                    status = "done",
                    "✅ {name} ({})",
                    human_duration(elapsed)
                );
                self.done.push((name, elapsed, Status::Done));
            }
            Err(err) => {
                tracing::error!(
                    step = name,
                    duration_ms,
                    status = "failed",
                    "❌ {name} failed: {err:#}"
                );
                self.done.push((name, elapsed, Status::Failed));
                self.report();
            }
        }
        result.with_context(|| format!("release stopped at `{name}`"))
    }

    /// Every step, in order, as a notification names them.
    fn notices(&self) -> Vec<StepNotice> {
        STEPS
            .iter()
            .map(|name| {
                let (status, elapsed) = match self.done.iter().find(|(n, _, _)| n == name) {
                    Some((_, elapsed, Status::Done)) => ("done".to_owned(), *elapsed),
                    Some((_, elapsed, Status::Failed)) => ("failed".to_owned(), *elapsed),
                    Some((_, _, Status::Skipped(why))) => {
                        (format!("skipped: {why}"), Duration::ZERO)
                    }
                    None => ("not run".to_owned(), Duration::ZERO),
                };
                StepNotice {
                    name: (*name).to_owned(),
                    status,
                    duration_ms: elapsed.as_millis() as u64,
                }
            })
            .collect()
    }

    fn skip(&mut self, name: &'static str, why: &'static str) {
        tracing::info!(step = name, status = "skipped", "⏭ {name}: {why}");
        self.done.push((name, Duration::ZERO, Status::Skipped(why)));
    }

    /// The table of steps: done, failed, skipped, and those never reached.
    fn report(&self) {
        crate::out!("\nRelease steps:");
        for name in STEPS {
            match self.done.iter().find(|(n, _, _)| *n == name) {
                Some((_, elapsed, Status::Done)) => {
                    crate::out!("  ✅ {name:<12} {}", human_duration(*elapsed))
                }
                Some((_, elapsed, Status::Failed)) => {
                    crate::out!("  ❌ {name:<12} {} (failed)", human_duration(*elapsed))
                }
                Some((_, _, Status::Skipped(why))) => crate::out!("  ⏭ {name:<12} skipped: {why}"),
                None => crate::out!("  ·  {name:<12} not run"),
            }
        }
        let total: Duration = self.done.iter().map(|(_, d, _)| *d).sum();
        crate::out!("  total        {}", human_duration(total));
    }
}

impl flags::Release {
    /// The release, then (on failure, or always if asked) its notification.
    pub fn run(self) -> Result<()> {
        let target = self.target();
        let paths = paths(&self.project);
        let project = Project::load(&paths, target)?;
        let collector = Collector::default();
        let mut steps = Steps { done: Vec::new() };
        let result = self.ship(&paths, &project, &collector, &mut steps);
        if self.dry_run {
            return result;
        }
        let context = notify_context(&project, "release", "cargo xtask release");
        let databases = collector.databases(&context);
        let settings = notify_settings(&project, &self.project);
        notify_after(
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
            flags::Check {
                strict: false,
                guards: false,
            }
            .run(&project)
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
            backing: Backing::Up(apply::policy(&project, self.restore_point)),
            data_loss: DataLoss::Refuse,
            locking: LOCKING,
        };
        let observer = Fanout(vec![&Human, &Log, collector]);
        let mut session = steps.run("plan", || {
            let session = Session::open(
                &project,
                d1.clone(),
                Direction::Up,
                None,
                &options,
                &observer,
            )?;
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

/// With a URL, its `/health`; locally without one, `wrangler dev` on
/// 127.0.0.1. `/health` must report every database current.
fn smoke_check(project: &Project, wrangler: &Wrangler, url: Option<&str>) -> Result<()> {
    // The versions the worker just built expects: an older worker still
    // answering would expect less.
    let built: Vec<(String, u64)> = project
        .selected
        .iter()
        .map(|db| {
            let newest = project
                .files_for(&db.binding)
                .last()
                .map_or(0, |m| m.version);
            (db.binding.clone(), newest)
        })
        .collect();
    if let Some(url) = url {
        return smoke_check_deployed(&format!("{}/health", url.trim_end_matches('/')), &built);
    }
    let port = smoke::free_port()?;
    let log = project
        .config
        .dir()
        .join(".wrangler")
        .join("release-dev.log");
    std::fs::create_dir_all(log.parent().unwrap_or(project.config.dir())).ok();
    let dev = wrangler.dev(port, &log)?;
    let health = smoke::wait_for_health(
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(180),
        || dev.running(),
    )
    .with_context(|| format!("wrangler dev's log: {}", log.display()))?;
    print_health(&health)?;
    check_health(&health, &built)
}

/// The variable that bounds how long the smoke check waits for the
/// deployed worker to answer as the new build (seconds; default 60).
pub const SMOKE_WAIT_VAR: &str = "MIGRATE_SMOKE_WAIT";

/// The deployed worker's `/health`: asked again every 2 s while it does not
/// answer or answers as the build it replaced (a deploy takes a few seconds
/// to reach every location), until [`SMOKE_WAIT_VAR`] runs out.
fn smoke_check_deployed(url: &str, built: &[(String, u64)]) -> Result<()> {
    let wait = std::env::var(SMOKE_WAIT_VAR)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_secs(60), Duration::from_secs);
    let deadline = std::time::Instant::now() + wait;
    let mut asked = 0;
    loop {
        asked += 1;
        let outcome = smoke::get_health(url).map(|health| {
            let checked = check_health(&health, built);
            (health, checked)
        });
        let why = match outcome {
            Ok((health, Ok(()))) => return print_health(&health),
            Ok((health, Err(err))) if err.downcast_ref::<OldBuild>().is_none() => {
                print_health(&health).ok();
                return Err(err);
            }
            Ok((_, Err(err))) | Err(err) => err,
        };
        if std::time::Instant::now() >= deadline || crate::interrupt::requested().is_some() {
            return Err(why.context(format!(
                "{url} did not answer as the new worker in {} s ({asked} tries; {SMOKE_WAIT_VAR} sets how long to wait)",
                wait.as_secs()
            )));
        }
        tracing::info!("{url}: {why:#}; asking again in 2 s");
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// A `/health` answer from a worker built for other (older) migrations.
#[derive(Debug)]
struct OldBuild;

impl std::fmt::Display for OldBuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the worker that answered is not the one this release built")
    }
}

impl std::error::Error for OldBuild {}

/// Each database's line of a `/health` answer.
fn print_health((_, body): &(u16, String)) -> Result<()> {
    let report: Value = serde_json::from_str(body).unwrap_or_default();
    for db in report["databases"].as_array().into_iter().flatten() {
        crate::out!(
            "  {}: version {} (worker built for {}){}",
            db["binding"].as_str().unwrap_or("?"),
            db["version"],
            db["expected"],
            if db["current"] == Value::Bool(true) {
                ""
            } else {
                " BEHIND"
            }
        );
    }
    Ok(())
}

/// The `/health` answer must be 200 with every database current, from a
/// worker built for the versions in `built` (binding, newest migration).
fn check_health((status, body): &(u16, String), built: &[(String, u64)]) -> Result<()> {
    let report: Value = serde_json::from_str(body)
        .with_context(|| format!("/health answered {status} with: {body}"))?;
    let databases = report["databases"].as_array().cloned().unwrap_or_default();
    let built_for = |binding: &str| {
        databases
            .iter()
            .find(|db| db["binding"].as_str() == Some(binding))
            .and_then(|db| db["expected"].as_u64())
    };
    // An older build answering expects older versions: that is a deploy
    // still on its way, not (yet) a failure.
    if let Some((binding, newest)) = built
        .iter()
        .find(|(binding, newest)| built_for(binding).is_some_and(|e| e < *newest))
    {
        return Err(anyhow::Error::new(OldBuild).context(format!(
            "/health expects {binding} at {}, not {newest}: {body}",
            built_for(binding).unwrap_or_default()
        )));
    }
    if *status != 200
        || databases.is_empty()
        || databases
            .iter()
            .any(|db| db["current"] != Value::Bool(true))
    {
        bail!("/health answered {status}: not every database is current: {body}");
    }
    for (binding, newest) in built {
        let expected = databases
            .iter()
            .find(|db| db["binding"].as_str() == Some(binding))
            .and_then(|db| db["expected"].as_u64());
        if expected != Some(*newest) {
            bail!(
                "/health is not from the worker this release built: it expects {binding} at {}, not {newest} \
                 (is the old worker still answering?): {body}",
                expected.map_or("nothing".to_owned(), |v| v.to_string())
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
        let session = Session::open(
            &only,
            d1.clone(),
            Direction::Down,
            Some(*version),
            &options,
            &observer,
        )?;
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
mod tests {
    use super::*;

    fn reply(status: u16, databases: &str) -> (u16, String) {
        (
            status,
            format!(r#"{{"status":"x","databases":{databases}}}"#),
        )
    }

    #[test]
    fn the_build_wrangler_starts_is_told_the_project_the_release_was_given() {
        let paths = Paths {
            config: Some("conf/wrangler.toml".into()),
            migrations_dir: Some("/elsewhere/migrations".into()),
            env: Some("staging".into()),
            ..Paths::default()
        };
        let vars = project_env(&paths);
        let value = |key: &str| {
            vars.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| PathBuf::from(v))
        };
        assert_eq!(
            value("MIGRATE_MIGRATIONS_DIR"),
            Some(PathBuf::from("/elsewhere/migrations"))
        );
        // Relative paths are made absolute: wrangler runs the build elsewhere.
        assert!(value("MIGRATE_CONFIG")
            .is_some_and(|c| c.is_absolute() && c.ends_with("conf/wrangler.toml")));
        assert_eq!(value("MIGRATE_ENV"), Some(PathBuf::from("staging")));
        assert!(project_env(&Paths::default()).is_empty());
    }

    #[test]
    fn health_must_be_current_and_from_the_worker_just_built() {
        let built = [("AUTH".to_owned(), 5)];
        let current = r#"[{"binding":"AUTH","version":5,"expected":5,"current":true}]"#;
        assert!(check_health(&reply(200, current), &built).is_ok());
        // A database behind, a 503, or no databases at all.
        let behind = r#"[{"binding":"AUTH","version":4,"expected":5,"current":false}]"#;
        assert!(check_health(&reply(200, behind), &built).is_err());
        assert!(check_health(&reply(503, current), &built).is_err());
        assert!(check_health(&reply(200, "[]"), &built).is_err());
        // The old worker, built for v4, reports current after the migration too.
        let old = r#"[{"binding":"AUTH","version":5,"expected":4,"current":true}]"#;
        let err = check_health(&reply(200, old), &built).unwrap_err();
        assert!(
            err.downcast_ref::<OldBuild>().is_some(),
            "an old build answering is waited out: {err:#}"
        );
        assert!(
            format!("{err:#}").contains("/health expects AUTH at 4, not 5"),
            "{err:#}"
        );
        // A newer build than this release's (another release won the race)
        // is not waited for: it fails at once.
        let newer = r#"[{"binding":"AUTH","version":6,"expected":6,"current":true}]"#;
        let err = check_health(&reply(200, newer), &built).unwrap_err();
        assert!(err.downcast_ref::<OldBuild>().is_none(), "{err:#}");
        assert!(
            err.to_string()
                .contains("not from the worker this release built"),
            "{err}"
        );
    }
}

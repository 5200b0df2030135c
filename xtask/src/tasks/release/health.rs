//! The release's smoke check: the worker's `/health`, from `wrangler dev`
//! locally or from the deployed worker (asked again until it answers as the
//! new build), which must report every database current.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::migrate::Project;
use crate::tasks::smoke;
use crate::wrangler::Wrangler;

/// With a URL, its `/health`; locally without one, `wrangler dev` on
/// 127.0.0.1. `/health` must report every database current.
pub(super) fn smoke_check(project: &Project, wrangler: &Wrangler, url: Option<&str>) -> Result<()> {
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
pub(super) struct OldBuild;

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
pub(super) fn check_health((status, body): &(u16, String), built: &[(String, u64)]) -> Result<()> {
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

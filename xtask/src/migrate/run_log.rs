//! The run log of a project: one JSON line per real run (the caller's
//! notice of it, whether or not any channel is configured), in
//! `.wrangler/migrate/history.jsonl` beside the wrangler config. `cargo
//! migrate ui` shows it.
//!
//! A local log rather than a table in each database: a failed run's apply
//! call is rolled back as a whole, so a row written in it would vanish with
//! the failure it should record, and a call of its own costs a node start-up
//! per database per run. Runs from other machines (CI) still show in each
//! database's `_migrations`, with when and how long.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use serde::Serialize;
use serde_json::Value;

use crate::migrate::project::Project;

/// Where `project`'s runs are logged.
pub fn path(project: &Project) -> PathBuf {
    project
        .config
        .dir()
        .join(".wrangler")
        .join("migrate")
        .join("history.jsonl")
}

/// Appends `notice`; a log that cannot be written is a warning, never a
/// failed run.
pub fn record(project: &Project, notice: &impl Serialize) {
    let file = path(project);
    let written = (|| -> Result<()> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_vec(notice)?;
        line.push(b'\n');
        // One write of the whole line, appended.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)?
            .write_all(&line)?;
        Ok(())
    })();
    if let Err(err) = written {
        tracing::warn!("could not log the run in {}: {err:#}", file.display());
    }
}

/// Every logged run, newest first (a line that does not parse is skipped).
pub fn read(project: &Project) -> Result<Vec<Value>> {
    let file = path(project);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", file.display())),
    };
    Ok(text
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

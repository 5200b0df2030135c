//! The release's steps: each one run, timed and logged, or skipped, and the
//! table of what was done and what was not.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::notify::notice::StepNotice;
use crate::text::human_duration;

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
#[derive(Default)]
pub(super) struct Steps {
    done: Vec<(&'static str, Duration, Status)>,
}

impl Steps {
    /// Runs one step, timing and logging it; on failure prints the report.
    pub(super) fn run<T>(
        &mut self,
        name: &'static str,
        step: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        tracing::info!(step = name, "▶ {name}");
        let started = Instant::now();
        let waiting = crate::process::waits::waiting(|| format!("the release's {name} step"));
        let result = step();
        drop(waiting);
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
    pub(super) fn notices(&self) -> Vec<StepNotice> {
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

    pub(super) fn skip(&mut self, name: &'static str, why: &'static str) {
        tracing::info!(step = name, status = "skipped", "⏭ {name}: {why}");
        self.done.push((name, Duration::ZERO, Status::Skipped(why)));
    }

    /// The table of steps: done, failed, skipped, and those never reached.
    pub(super) fn report(&self) {
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

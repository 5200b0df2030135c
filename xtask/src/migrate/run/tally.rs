//! What a run's databases came to: how many had work, which failed and
//! with what failure, and which must be planned again; at the end, the
//! run's result.

use anyhow::Result;

use super::Direction;
use crate::migrate::error::{self, Error, Failure};
use crate::migrate::events::{Event, Observer};

/// What a run did, across its attempts.
#[derive(Default)]
pub(super) struct Tally {
    /// Databases with work that were reported, failed or not.
    pub(super) total: usize,
    pub(super) failed: Vec<String>,
    /// What each failed database's failure was.
    pub(super) failures: Vec<Failure>,
    /// Databases whose hinted batch was refused, by binding.
    pub(super) retry: Vec<String>,
}

impl Tally {
    pub(super) fn merge(&mut self, other: Tally) {
        self.total += other.total;
        self.failed.extend(other.failed);
        self.failures.extend(other.failures);
        self.retry.extend(other.retry);
    }

    /// Counts `binding` as failed, with `error`.
    pub(super) fn problem(&mut self, observer: &dyn Observer, binding: &str, err: &anyhow::Error) {
        observer.event(&Event::Problem {
            binding: binding.to_owned(),
            error: format!("{err:#}"),
        });
        // An error of several databases is counted once.
        for failure in error::failures_in(Some(binding), err) {
            if !self.failures.contains(&failure) {
                self.failures.push(failure);
            }
        }
        self.total += 1;
        self.failed.push(binding.to_owned());
    }

    pub(super) fn finish(self, direction: Direction, observer: &dyn Observer) -> Result<()> {
        observer.event(&Event::Finished {
            direction,
            dry_run: false,
            total: self.total,
            failed: self.failed.clone(),
        });
        if self.failed.is_empty() {
            return Ok(());
        }
        let total = self.total;
        Err(Error::from_failures(
            format!(
                "{} of {} database{} failed: {} (see above for what each one now holds)",
                self.failed.len(),
                total,
                if total == 1 { "" } else { "s" },
                self.failed.join(", ")
            ),
            self.failures,
        ))
    }
}

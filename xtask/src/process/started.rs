//! Programs that outlive the call that starts them: a long-running server
//! ([`Running`]) and a program we talk to through its pipes ([`Piped`]),
//! each ending with its whole process group when dropped.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::group::{end_group, signal_group};
use super::{reaper, start, Cmd};

impl Cmd {
    /// Starts a long-running server, its output going to `log`; it and
    /// everything it starts end when the returned [`Running`] is dropped.
    pub fn start(&self, log: &Path) -> Result<Running> {
        let shown = self.printable();
        let file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let handle = self
            .expression()
            .stdout_file(file.try_clone().context("cannot share the log")?)
            .stderr_file(file)
            .unchecked()
            .start()
            .with_context(|| format!("cannot start `{shown}`"))?;
        tracing::debug!(command = %shown, "started");
        let group = handle.pids().first().copied().unwrap_or_default();
        Ok(Running {
            _watched: reaper::watch(group),
            handle,
            group,
        })
    }

    /// Starts a program we talk to through its stdin and stdout, one line at
    /// a time (local D1's runner); what it says on stderr goes to `log`.
    /// Like every command here it leads a process group of its own, watched
    /// by the [`reaper`]; dropping the returned [`Piped`] closes its stdin,
    /// gives it `grace` to finish and leave, then ends its group. Whether it
    /// may start once the run is stopped is the caller's to decide (local
    /// D1's runner gives locks back then).
    pub fn start_piped(&self, log: &Path, grace: Duration) -> Result<Piped> {
        let shown = self.printable();
        let file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let (stdin_reader, stdin_writer) = os_pipe::pipe().context("cannot make a pipe")?;
        let (stdout_reader, stdout_writer) = os_pipe::pipe().context("cannot make a pipe")?;
        let expression = self
            .expression_reading(duct::cmd(&self.program, &self.args).stdin_file(stdin_reader))
            .stdout_file(stdout_writer)
            .stderr_file(file);
        let handle = start(expression, &shown)?;
        tracing::debug!(command = %shown, "started, piped");
        let group = handle.pids().first().copied().unwrap_or_default();
        Ok(Piped {
            stdin: Some(stdin_writer),
            stdout: Some(stdout_reader),
            _watched: reaper::watch(group),
            handle,
            group,
            grace,
        })
    }
}

/// A program started by [`Cmd::start_piped`].
pub struct Piped {
    stdin: Option<os_pipe::PipeWriter>,
    stdout: Option<os_pipe::PipeReader>,
    handle: duct::Handle,
    group: u32,
    grace: Duration,
    _watched: reaper::Watched,
}

impl Piped {
    /// Where to write to it; `None` once taken.
    pub fn take_stdin(&mut self) -> Option<os_pipe::PipeWriter> {
        self.stdin.take()
    }

    /// What it prints; `None` once taken.
    pub fn take_stdout(&mut self) -> Option<os_pipe::PipeReader> {
        self.stdout.take()
    }

    /// Whether it is still running.
    pub fn running(&self) -> bool {
        matches!(self.handle.try_wait(), Ok(None))
    }

    /// Ends it and its group now.
    pub fn kill(&self) {
        end_group(self.group, || self.running());
        self.handle.kill().ok();
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        // Its stdin closing is its cue to finish and leave.
        drop(self.stdin.take());
        let deadline = Instant::now() + self.grace;
        while Instant::now() < deadline && self.running() {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        // Whatever it left in its group (a workerd) goes with it.
        signal_group(self.group, libc::SIGKILL);
    }
}

/// A long-running command ([`Cmd::start`]).
pub struct Running {
    handle: duct::Handle,
    group: u32,
    _watched: reaper::Watched,
}

impl Running {
    /// Whether it is still running.
    pub fn running(&self) -> bool {
        matches!(self.handle.try_wait(), Ok(None))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        end_group(self.group, || matches!(self.handle.try_wait(), Ok(None)));
        self.handle.kill().ok();
    }
}

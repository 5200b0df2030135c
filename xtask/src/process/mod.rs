//! The one place that starts other programs (wrangler, node, npm, git, and
//! this xtask's own reaper), on duct. Script-like build steps (cargo, rustup,
//! npm in `build-worker` and `bench`) use xshell's `cmd!` through [`shell`].
//!
//! Every command here:
//! - has a printable command line, logged once (at debug) with the API token
//!   replaced, and named in its errors;
//! - runs in a process group of its own, watched by the [`reaper`],
//!   so that it and everything it starts (wrangler's `workerd`) end together:
//!   on a timeout, when the run is stopped ([`crate::interrupt`]), when a
//!   long-running one is dropped, and when the xtask itself is killed.

pub mod cargo_build;
mod group;
pub mod reaper;
mod started;
pub mod waits;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use group::{end_group, signal_group};
pub use started::{Piped, Running};

/// What a stopped run does with a command in flight ([`crate::interrupt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStop {
    /// Not started once the run is stopped; ended (its whole group) when the
    /// run is stopped while it runs: reads, exports.
    End,
    /// Not started once the run is stopped; let finish once started: what
    /// must not be left half done.
    Finish,
    /// Started and let finish even when the run is stopped: giving locks back.
    Always,
}

/// A command line: a program, its arguments, environment and folder.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    /// Variables of ours it does not inherit.
    env_removed: Vec<OsString>,
    dir: Option<PathBuf>,
}

/// What a command that ran to its end printed.
#[derive(Debug)]
pub struct Captured {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Cmd {
    pub fn new(program: impl Into<PathBuf>) -> Cmd {
        Cmd {
            // A string, not a path: duct runs a path without a separator
            // from the current folder, and a string from $PATH.
            program: program.into().into_os_string(),
            args: Vec::new(),
            env: Vec::new(),
            env_removed: Vec::new(),
            dir: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Cmd {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Cmd {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Leaves the variable `key` of our environment out of its own.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Cmd {
        self.env_removed.push(key.into());
        self
    }

    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Cmd {
        self.dir = Some(dir.into());
        self
    }

    pub fn program(&self) -> &Path {
        Path::new(&self.program)
    }

    /// The command line as a user could paste it: quoted where needed, long
    /// arguments cut, the API token never shown.
    pub fn printable(&self) -> String {
        let mut line = quote(&self.program);
        for arg in &self.args {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        redact(&line)
    }

    /// The duct expression: no stdin, in a process group of its own.
    fn expression(&self) -> duct::Expression {
        self.expression_reading(duct::cmd(&self.program, &self.args).stdin_null())
    }

    /// [`Cmd::expression`] with stdin as `base` has it.
    fn expression_reading(&self, base: duct::Expression) -> duct::Expression {
        let mut expression = base;
        for key in &self.env_removed {
            expression = expression.env_remove(key);
        }
        for (key, value) in &self.env {
            expression = expression.env(key, value);
        }
        if let Some(dir) = &self.dir {
            expression = expression.dir(dir);
        }
        group::own(expression)
    }

    /// Runs it to its end, capturing what it prints. Ends its whole process
    /// group once it has run `timeout`, or when the run is stopped and
    /// `on_stop` is [`OnStop::End`]; with a stopped run, an [`OnStop::End`]
    /// or [`OnStop::Finish`] command does not start at all.
    pub fn capture(&self, timeout: Duration, on_stop: OnStop) -> Result<Captured> {
        let expression = self.expression().stdout_capture().stderr_capture();
        // Shown: nothing else is (a streamed command shows its own output).
        let _waiting = waits::waiting(|| waits::label(Path::new(&self.program), &self.args));
        let output = self.wait(expression, timeout, on_stop)?;
        Ok(Captured {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs a long-lived interactive program (the web UI's server) until it
    /// exits, its stdout and stderr ours, without a time limit. Returns its
    /// exit code (128 + the signal that ended it).
    ///
    /// It leads a process group of its own, as every command here does, so
    /// a terminal's Ctrl-C reaches this process alone: the first stop asked
    /// of us ([`crate::interrupt`]: Ctrl-C, SIGTERM, SIGHUP) is passed on to
    /// its whole group as that same signal, once, and we wait while it stops
    /// itself cleanly (a second signal ends us at once, and it with us). It
    /// never outlives us: when we die, even by SIGKILL, the reaper kills its
    /// group, and on Linux the kernel sends it SIGTERM as well.
    pub fn foreground(&self) -> Result<i32> {
        let _hidden = waits::hidden();
        let shown = self.printable();
        tracing::debug!(command = %shown, "running in the foreground");
        let handle = group::ends_with_us(self.expression())
            .unchecked()
            .start()
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::NotFound => anyhow::Error::new(NotFound(shown.clone())),
                _ => anyhow::Error::new(err).context(format!("cannot run `{shown}`")),
            })?;
        let group = handle.pids().first().copied().unwrap_or_default();
        let _watched = reaper::watch(group);
        let mut passed_on = false;
        let output: Output = loop {
            if let Some(output) = handle
                .try_wait()
                .with_context(|| format!("lost track of `{shown}`"))?
            {
                break output.clone();
            }
            if let (false, Some(stop)) = (passed_on, crate::interrupt::requested()) {
                tracing::debug!(command = %shown, ?stop, "passing the stop on");
                signal_group(group, stop.signal());
                passed_on = true;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Whatever it left in its group goes with it.
        signal_group(group, libc::SIGKILL);
        use std::os::unix::process::ExitStatusExt;
        Ok(output
            .status
            .code()
            .or_else(|| output.status.signal().map(|signal| 128 + signal))
            .unwrap_or(1))
    }

    /// [`Cmd::capture`] for a build step people watch: what it prints goes
    /// to stderr as it comes (stdout stays the report's). Fails unless it
    /// exits with success.
    pub fn stream(&self, timeout: Duration, on_stop: OnStop) -> Result<()> {
        self.streamed(self.expression().stdout_to_stderr(), timeout, on_stop)
            .map(drop)
    }

    /// [`Cmd::stream`] that keeps what it prints on stdout (a build's JSON
    /// messages) and returns it; its stderr still goes to ours as it comes.
    pub fn stream_keeping_stdout(&self, timeout: Duration, on_stop: OnStop) -> Result<String> {
        let output = self.streamed(self.expression().stdout_capture(), timeout, on_stop)?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// [`Cmd::wait`], failing unless it exits with success.
    fn streamed(
        &self,
        expression: duct::Expression,
        timeout: Duration,
        on_stop: OnStop,
    ) -> Result<Output> {
        // Its own output shows it: no wait's line is drawn over it.
        let _hidden = waits::hidden();
        let output = self.wait(expression, timeout, on_stop)?;
        if !output.status.success() {
            bail!("`{}` failed ({})", self.printable(), output.status);
        }
        Ok(output)
    }

    /// Starts `expression` (this command, its output directed) and waits for it.
    fn wait(
        &self,
        expression: duct::Expression,
        timeout: Duration,
        on_stop: OnStop,
    ) -> Result<Output> {
        if on_stop != OnStop::Always {
            crate::interrupt::check()?;
        }
        let shown = self.printable();
        tracing::debug!(command = %shown, "running");
        let started = Instant::now();
        let handle = start(expression, &shown)?;
        let group = handle.pids().first().copied().unwrap_or_default();
        let _watched = reaper::watch(group);
        let deadline = started + timeout;
        let output: Output = loop {
            if let Some(output) = handle
                .try_wait()
                .with_context(|| format!("lost track of `{shown}`"))?
            {
                break output.clone();
            }
            let stop = crate::interrupt::requested().filter(|_| on_stop == OnStop::End);
            if Instant::now() >= deadline || stop.is_some() {
                end_group(group, || matches!(handle.try_wait(), Ok(None)));
                handle.kill().ok();
                if let Some(stop) = stop {
                    return Err(crate::interrupt::Interrupted(stop))
                        .with_context(|| format!("`{shown}` was stopped"));
                }
                return Err(anyhow::Error::new(TimedOut(timeout)).context(format!(
                    "`{shown}` did not finish within {} s, so it was stopped (with everything it started)",
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Whatever it left in its group (a workerd it did not stop) goes with it.
        signal_group(group, libc::SIGKILL);
        tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, status = %output.status, "finished");
        Ok(output)
    }

    /// What it prints on stdout when it runs and succeeds within a minute
    /// (`--version` probes); `None` otherwise.
    pub fn read(&self) -> Option<String> {
        let captured = self.capture(Duration::from_secs(60), OnStop::End).ok()?;
        captured.status.success().then_some(captured.stdout)
    }
}

/// Starts `expression` (shown as `shown`), a missing program said as such.
fn start(expression: duct::Expression, shown: &str) -> Result<duct::Handle> {
    expression
        .unchecked()
        .start()
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => anyhow::Error::new(NotFound(shown.to_owned())),
            _ => anyhow::Error::new(err),
        })
        .with_context(|| format!("cannot start `{shown}`"))
}

/// The program of a command does not exist (on `$PATH`, or at its path).
#[derive(Debug)]
pub struct NotFound(pub String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no such program: `{}`", self.0)
    }
}

impl std::error::Error for NotFound {}

/// True when `err` says a program was not found.
pub fn not_found(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<NotFound>())
}

/// A command ran longer than its timeout and was ended.
#[derive(Debug)]
pub struct TimedOut(pub Duration);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "timed out after {} s", self.0.as_secs())
    }
}

impl std::error::Error for TimedOut {}

/// True when `err` says a command was ended for taking too long.
pub fn timed_out(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<TimedOut>())
}

/// A shell for script-like steps: `Cmd::from(cmd!(sh, "cargo install …"))`
/// writes the command line as a script would, and runs it as every other
/// command here (its own group, a timeout, output on stderr).
pub fn shell() -> Result<xshell::Shell> {
    xshell::Shell::new().context("cannot set up a shell for the build steps")
}

impl From<xshell::Cmd<'_>> for Cmd {
    fn from(cmd: xshell::Cmd<'_>) -> Cmd {
        let command = std::process::Command::from(cmd);
        let mut converted = Cmd::new(command.get_program()).args(command.get_args());
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                converted = converted.env(key, value);
            }
        }
        if let Some(dir) = command.get_current_dir() {
            converted = converted.dir(dir);
        }
        converted
    }
}

/// `npm ARGS` in `dir` (`ci`, `install`, `install PACKAGE@VERSION`): the one
/// place npm runs, saying so, and explaining a missing npm.
pub fn npm(dir: &Path, args: &[&str]) -> Result<()> {
    let cmd = Cmd::new("npm")
        .dir(dir)
        .args(args.iter().copied())
        .args(["--no-audit", "--no-fund"]);
    tracing::info!("running `{}` in {} …", cmd.printable(), dir.display());
    let captured = match cmd.capture(Duration::from_secs(900), OnStop::End) {
        Err(err) if not_found(&err) => bail!(
            "npm was not found: install Node.js 20 or newer (it brings npm), then run `{}` in {}",
            cmd.printable(),
            dir.display()
        ),
        other => other?,
    };
    if !captured.status.success() {
        bail!(
            "`{}` failed in {} ({}): {}",
            cmd.printable(),
            dir.display(),
            captured.status,
            captured
                .stderr
                .lines()
                .rev()
                .take(10)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

fn quote(arg: &OsStr) -> String {
    let arg = arg.to_string_lossy();
    let arg = match arg.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &arg[..cut]),
        None => arg.into_owned(),
    };
    if arg
        .chars()
        .any(|c| c.is_whitespace() || c == '\'' || c == '"')
    {
        format!("'{}'", arg.replace('\'', "'\\''"))
    } else {
        arg
    }
}

/// Replaces the Cloudflare API token, wherever it appears, with `***`.
pub fn redact(text: &str) -> String {
    match std::env::var("CLOUDFLARE_API_TOKEN") {
        Ok(token) if token.len() >= 4 => text.replace(&token, "***"),
        _ => text.to_owned(),
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests;

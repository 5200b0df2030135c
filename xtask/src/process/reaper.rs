//! The reaper: a process of ours, in a process group of its own, that ends
//! the wrangler calls (and the `workerd` processes they start, which outlive
//! a killed wrangler) when the xtask itself dies, even by SIGKILL.
//!
//! Every wrangler call runs in a process group of its own, so that Ctrl-C at
//! a terminal does not reach an apply that must finish. The reaper is told
//! each group as it starts and ends, through a pipe; when the pipe closes
//! (the xtask has exited, however), it kills the groups still listed.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::sync::Mutex;

/// The hidden subcommand that runs the reaper.
pub const SUBCOMMAND: &str = "__reap";

static PIPE: Mutex<Option<os_pipe::PipeWriter>> = Mutex::new(None);

/// Sends one line to the reaper, starting it first if need be. Best effort:
/// without a reaper, groups are still ended by the xtask when it exits normally.
fn tell(line: &str) {
    let Ok(mut pipe) = PIPE.lock() else { return };
    if pipe.is_none() {
        *pipe = start();
    }
    if let Some(stdin) = pipe.as_mut() {
        if writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .is_err()
        {
            *pipe = None;
        }
    }
}

/// Starts the reaper: this program with [`SUBCOMMAND`], leading a group of
/// its own (so that Ctrl-C does not reach it), reading the pipe whose
/// writing end comes back.
fn start() -> Option<os_pipe::PipeWriter> {
    let started = (|| -> anyhow::Result<os_pipe::PipeWriter> {
        let exe = std::env::current_exe()?;
        let (reader, writer) = os_pipe::pipe()?;
        super::group::own(duct::cmd(exe, [SUBCOMMAND]))
            .stdin_file(reader)
            .stdout_null()
            .stderr_null()
            .start()?;
        Ok(writer)
    })();
    started
        .map_err(|err| tracing::debug!("could not start the reaper: {err}"))
        .ok()
}

/// A process group the reaper watches until this is dropped.
pub struct Watched(u32);

/// Has the reaper watch the process group `group`.
pub fn watch(group: u32) -> Watched {
    tell(&format!("+{group}"));
    Watched(group)
}

impl Drop for Watched {
    fn drop(&mut self) {
        tell(&format!("-{}", self.0));
    }
}

/// The reaper itself: reads `+GROUP` and `-GROUP` lines until the pipe
/// closes, then kills the groups still listed.
pub fn run() {
    let mut groups = BTreeSet::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (sign, number) = line.split_at(line.len().min(1));
        let Ok(group) = number.trim().parse::<u32>() else {
            continue;
        };
        match sign {
            "+" => groups.insert(group),
            _ => groups.remove(&group),
        };
    }
    for group in groups {
        super::group::signal_group(group, libc::SIGKILL);
    }
}

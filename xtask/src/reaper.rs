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
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// The hidden subcommand that runs the reaper.
pub const SUBCOMMAND: &str = "__reap";

static PIPE: Mutex<Option<ChildStdin>> = Mutex::new(None);

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

fn start() -> Option<ChildStdin> {
    let exe = std::env::current_exe().ok()?;
    let mut command = Command::new(exe);
    command
        .arg(SUBCOMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    match command.spawn() {
        Ok(mut child) => child.stdin.take(),
        Err(err) => {
            tracing::debug!("could not start the reaper: {err}");
            None
        }
    }
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

/// Sends `signal` to every process of the group `group` (a no-op for a group
/// that is gone). Never signals group 0 or 1.
pub fn signal_group(group: u32, signal: i32) {
    if group > 1 {
        if let Ok(group) = i32::try_from(group) {
            // SAFETY: kill(2) with a negative id signals that process group only.
            unsafe {
                libc::kill(-group, signal);
            }
        }
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
        signal_group(group, libc::SIGKILL);
    }
}

//! Stopping a run cleanly: Ctrl-C (SIGINT), SIGTERM, SIGHUP (the terminal
//! was closed), or a closed stdout (`| head`). The first of them is recorded; from then on no new wrangler call
//! starts except those that give locks back, a call in flight is ended (its
//! whole process group) unless it is an apply, which is let finish so that
//! the database is never left guessing, and the run reports what each
//! database holds and exits non-zero. A second signal exits at once.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// What stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
    /// The terminal went away (SIGHUP).
    Hangup,
    /// Whoever read our output went away.
    ClosedPipe,
}

impl Stop {
    /// The exit status a shell expects: 128 + the signal's number.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
            Stop::Hangup => 129,
            Stop::ClosedPipe => 141,
        }
    }

    /// The signal that passes this stop on to a program we started (a
    /// closed stdout is passed on as SIGTERM: the program's own stdout is
    /// its own business).
    pub fn signal(self) -> i32 {
        match self {
            Stop::Interrupt => SIGINT,
            Stop::Terminate | Stop::ClosedPipe => SIGTERM,
            Stop::Hangup => SIGHUP,
        }
    }

    fn code(self) -> u8 {
        match self {
            Stop::Interrupt => 1,
            Stop::Terminate => 2,
            Stop::ClosedPipe => 3,
            Stop::Hangup => 4,
        }
    }
}

static STOPPED: AtomicU8 = AtomicU8::new(0);

/// Installs the handlers for SIGINT, SIGTERM and SIGHUP.
pub fn install() -> Result<()> {
    let signalled = Arc::new(AtomicBool::new(false));
    for (signal, stop) in [
        (SIGINT, Stop::Interrupt),
        (SIGTERM, Stop::Terminate),
        (SIGHUP, Stop::Hangup),
    ] {
        // The second signal exits at once (with the first one's status).
        signal_hook::flag::register_conditional_shutdown(
            signal,
            i32::from(stop.exit_code()),
            Arc::clone(&signalled),
        )
        .context("cannot install the signal handlers")?;
        let first = Arc::clone(&signalled);
        // SAFETY: the handler only stores to atomics, which is async-signal-safe.
        unsafe {
            signal_hook::low_level::register(signal, move || {
                first.store(true, Ordering::SeqCst);
                let _ =
                    STOPPED.compare_exchange(0, stop.code(), Ordering::SeqCst, Ordering::SeqCst);
            })
        }
        .context("cannot install the signal handlers")?;
    }
    Ok(())
}

/// Records that stdout was closed.
pub fn closed_pipe() {
    let _ = STOPPED.compare_exchange(
        0,
        Stop::ClosedPipe.code(),
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
}

/// What stopped the run, if anything has.
pub fn requested() -> Option<Stop> {
    match STOPPED.load(Ordering::SeqCst) {
        1 => Some(Stop::Interrupt),
        2 => Some(Stop::Terminate),
        3 => Some(Stop::ClosedPipe),
        4 => Some(Stop::Hangup),
        _ => None,
    }
}

/// An error when the run has been stopped: checked before each step.
pub fn check() -> Result<()> {
    match requested() {
        Some(stop) => Err(Interrupted(stop).into()),
        None => Ok(()),
    }
}

/// The error a stopped run ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted(pub Stop);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Stop::Interrupt => "interrupted (Ctrl-C): stopped before the next step",
            Stop::Terminate => "terminated (SIGTERM): stopped before the next step",
            Stop::Hangup => "the terminal was closed (SIGHUP): stopped before the next step",
            Stop::ClosedPipe => "the output was closed: stopped before the next step",
        })
    }
}

impl std::error::Error for Interrupted {}

/// The stop behind `err`, when a stopped run is what it is.
pub fn stop_of(err: &anyhow::Error) -> Option<Stop> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Interrupted>())
        .map(|i| i.0)
        .or_else(requested)
}

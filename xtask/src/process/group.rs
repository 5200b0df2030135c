//! Process groups: every program we start leads a group of its own, and
//! ending it means ending the group (wrangler's `workerd` included).

use std::time::{Duration, Instant};

/// `expression` started as the leader of a new process group.
pub fn own(expression: duct::Expression) -> duct::Expression {
    expression.before_spawn(|command| {
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(command, 0);
        Ok(())
    })
}

/// `expression` started so that the kernel sends it SIGTERM when the thread
/// of ours that starts it ends (Linux), as when we are killed outright:
/// for a program that must not outlive us even when the reaper could not
/// start. The thread must be one that lives as long as the program should
/// (the main thread, waiting for it).
pub fn ends_with_us(expression: duct::Expression) -> duct::Expression {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        expression.before_spawn(move |command| {
            // SAFETY: the closure runs between fork and exec, and calls only
            // prctl(2) and getppid(2), which are async-signal-safe.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(command, move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // We died before the request took effect: do not start.
                    if u32::try_from(libc::getppid()).ok() != Some(parent) {
                        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                    }
                    Ok(())
                });
            }
            Ok(())
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        expression
    }
}

/// Ends a process group: SIGTERM, up to two seconds while `alive`, then
/// SIGKILL to whatever of the group is left.
pub fn end_group(group: u32, alive: impl Fn() -> bool) {
    signal_group(group, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && alive() {
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_group(group, libc::SIGKILL);
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

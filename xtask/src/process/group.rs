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

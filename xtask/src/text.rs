//! How values read to people: durations, and this machine's and its user's names.

use std::time::Duration;

/// Formats a duration for people: `840 ms`, `1.42 s`, `30 s`, `3 min`, `2 h`.
pub fn human_duration(elapsed: Duration) -> String {
    let ms = elapsed.as_millis();
    match elapsed.as_secs() {
        _ if ms < 1000 => format!("{ms} ms"),
        0..=9 => format!("{:.2} s", elapsed.as_secs_f64()),
        secs @ 10..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", elapsed.as_secs() / 60),
        secs => format!("{} h", secs / 3600),
    }
}

/// This machine's name, as lock owners, notifications and the web UI show it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Who runs this: the login name, or in GitHub Actions the actor.
pub fn username() -> Option<String> {
    ["USER", "LOGNAME", "GITHUB_ACTOR"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(Duration::from_millis(840)), "840 ms");
        assert_eq!(human_duration(Duration::from_millis(1420)), "1.42 s");
        assert_eq!(human_duration(Duration::from_millis(30_400)), "30 s");
        assert_eq!(human_duration(Duration::from_secs(600)), "10 min");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2 h");
    }
}

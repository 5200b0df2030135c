//! How values read to people: durations, ages, times, line diffs, and this
//! machine's and its user's names.

use std::time::{Duration, SystemTime};

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

/// How old something is, for people: `40 s`, `12 min`, `3 h`, `2 days`.
pub fn human_age(age: Duration) -> String {
    match age.as_secs() {
        secs @ 0..=119 => format!("{secs} s"),
        secs @ 120..=7199 => format!("{} min", secs / 60),
        secs @ 7200..=172_799 => format!("{} h", secs / 3600),
        secs => format!("{} days", secs / 86_400),
    }
}

/// A moment to the minute, in UTC: `2026-12-01 10:00 UTC`.
pub fn utc_minute(at: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(at).to_string();
    format!("{} UTC", text.get(..16).unwrap_or(&text).replace('T', " "))
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

/// The lines that differ between two texts, as a unified diff's body
/// (`-` for `then`'s lines, `+` for `now`'s, two lines of context around
/// each change): what `verify` shows of an applied migration edited since.
pub fn line_diff(then: &str, now: &str) -> String {
    let a: Vec<&str> = then.lines().collect();
    let b: Vec<&str> = now.lines().collect();
    // The longest common subsequence, by dynamic programming: migrations
    // are short, and this is shown only for files edited after they ran.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = match a[i] == b[j] {
                true => lcs[i + 1][j + 1] + 1,
                false => lcs[i + 1][j].max(lcs[i][j + 1]),
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', a[i]));
            i += 1;
        } else {
            lines.push(('+', b[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        lines[k.saturating_sub(2)..(k + 3).min(lines.len())]
            .iter()
            .any(|(mark, _)| *mark != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (mark, line)) in lines.iter().enumerate() {
        if near_change(k) {
            if skipped && !out.is_empty() {
                out.push_str("  ...\n");
            }
            skipped = false;
            out.push_str(&format!("  {mark} {line}\n"));
        } else {
            skipped = true;
        }
    }
    out
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

    #[test]
    fn ages_and_times_read_as_people_say_them() {
        assert_eq!(human_age(Duration::from_secs(40)), "40 s");
        assert_eq!(human_age(Duration::from_secs(12 * 60 + 5)), "12 min");
        assert_eq!(human_age(Duration::from_secs(3 * 3600 + 59)), "3 h");
        assert_eq!(human_age(Duration::from_secs(50 * 3600)), "2 days");
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_495_031);
        assert_eq!(utc_minute(at), "2026-11-24 04:37 UTC");
    }

    #[test]
    fn a_line_diff_shows_changed_lines_with_their_context_only() {
        let then = "-- one\nCREATE TABLE a(x);\nA\nB\nC\nD\nE\nCREATE INDEX i ON a(x);\n";
        let now = "-- one\nCREATE TABLE a(x, y);\nA\nB\nC\nD\nE\nCREATE INDEX i ON a(x);\n";
        let diff = line_diff(then, now);
        assert_eq!(
            diff,
            "    -- one\n  - CREATE TABLE a(x);\n  + CREATE TABLE a(x, y);\n    A\n    B\n"
        );
        assert_eq!(line_diff("same\n", "same\n"), "");
    }
}

//! How values read to people.

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

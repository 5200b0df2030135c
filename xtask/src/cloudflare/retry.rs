//! When a request to the D1 REST API is tried again, and how long to wait:
//! bounded exponential backoff with jitter, `Retry-After` honoured, all of
//! it within a total time limit. Pure logic; [`super::Api`] applies it.

use std::time::{Duration, SystemTime};

/// The environment variable that bounds the time one API call may spend
/// retrying, in seconds.
pub const BUDGET_VAR: &str = "MIGRATE_API_RETRY_SECS";

/// How requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait before the second try; doubled for each try after it.
    pub base: Duration,
    /// No wait is longer than this (unless the server asks for longer).
    pub cap: Duration,
    /// The time from the first try after which no try starts.
    pub budget: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            attempts: 8,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(8),
            budget: Duration::from_secs(120),
        }
    }
}

impl Policy {
    /// The default, with the budget `$MIGRATE_API_RETRY_SECS` sets.
    pub fn from_env() -> anyhow::Result<Policy> {
        let mut policy = Policy::default();
        if let Ok(value) = std::env::var(BUDGET_VAR) {
            match value.trim().parse::<u64>() {
                Ok(secs) => policy.budget = Duration::from_secs(secs),
                Err(_) => anyhow::bail!("{BUDGET_VAR}={value:?} is not a whole number of seconds"),
            }
        }
        Ok(policy)
    }

    /// The wait before try `next` (2 for the first retry): `base · 2^(next-2)`,
    /// capped, then scaled by `jitter` (in `[0, 1)`) into its upper half, so
    /// that parallel clients spread out but none retries at once.
    pub fn backoff(&self, next: u32, jitter: f64) -> Duration {
        let doublings = next.saturating_sub(2).min(30);
        let full = self.base.saturating_mul(1u32 << doublings).min(self.cap);
        full.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }

    /// The wait before try `next`, or `None` when no further try fits:
    /// the tries are spent, or the wait (the server's `Retry-After` when it
    /// gave one, else the backoff) would end past the budget.
    pub fn wait(
        &self,
        next: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if next > self.attempts {
            return None;
        }
        let wait = retry_after.unwrap_or_else(|| self.backoff(next, jitter));
        (elapsed + wait <= self.budget).then_some(wait)
    }
}

/// A `Retry-After` header: seconds, or an HTTP date (`now` turns it into a wait).
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An IMF-fixdate (`Wed, 02 Dec 2026 13:46:06 GMT`), the form HTTP sends.
fn httpdate(value: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms[..] else { return None };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + s;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// True for what D1 says when it did not run a request and a later try may
/// succeed: an overloaded or reset database, an export in progress (D1
/// refuses other requests while one runs), a lost connection inside D1.
pub fn transient_d1_error(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "overloaded",
        "long-running export",
        "object to be reset",
        "d1 reset",
        "network connection lost",
        "please try again",
        "too many requests",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// A number in `[0, 1)` that differs between calls and processes, for
/// jitter (no random number generator is needed for that).
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_into_its_upper_half() {
        let policy = Policy::default();
        assert_eq!(policy.backoff(2, 1.0), Duration::from_millis(250));
        assert_eq!(policy.backoff(2, 0.0), Duration::from_millis(125));
        assert_eq!(policy.backoff(3, 1.0), Duration::from_millis(500));
        assert_eq!(policy.backoff(4, 1.0), Duration::from_secs(1));
        assert_eq!(policy.backoff(20, 1.0), Duration::from_secs(8));
        assert_eq!(policy.backoff(20, 0.0), Duration::from_secs(4));
    }

    #[test]
    fn no_try_starts_past_the_budget_or_the_attempts() {
        let policy = Policy {
            attempts: 3,
            budget: Duration::from_secs(10),
            ..Policy::default()
        };
        assert_eq!(
            policy.wait(2, Duration::ZERO, None, 1.0),
            Some(Duration::from_millis(250))
        );
        assert_eq!(policy.wait(4, Duration::ZERO, None, 1.0), None);
        // The server's Retry-After wins over the backoff, within the budget.
        assert_eq!(
            policy.wait(2, Duration::from_secs(1), Some(Duration::from_secs(5)), 0.5),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            policy.wait(2, Duration::from_secs(6), Some(Duration::from_secs(5)), 0.5),
            None
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_219_166); // Wed, 02 Dec 2026 13:46:06 GMT
        assert_eq!(retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 13:46:16 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 13:46:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn d1s_transient_refusals_are_told_from_sql_errors() {
        assert!(transient_d1_error(
            "D1 DB is overloaded. Requests queued for too long."
        ));
        assert!(transient_d1_error(
            "Currently processing a long-running export."
        ));
        assert!(transient_d1_error(
            "Internal error in D1 DB storage caused object to be reset."
        ));
        assert!(!transient_d1_error("no such table: users: SQLITE_ERROR"));
        assert!(!transient_d1_error(
            "UNIQUE constraint failed: _migrations.version"
        ));
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}

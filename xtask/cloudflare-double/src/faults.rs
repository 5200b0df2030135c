//! Fault injection: the Nth request of a kind fails with HTTP 500, is
//! answered late, is throttled (HTTP 429 with `Retry-After`), or is carried
//! out and then answered with HTTP 500 (its answer "lost").

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use crate::d1::lock;

/// Every request kind the double counts (per kind, 1-based, over the server's life).
pub const KINDS: &[(&str, &str)] = &[
    ("query", "POST …/d1/database/:id/query and …/raw"),
    (
        "import-init",
        "POST …/d1/database/:id/import with action init",
    ),
    (
        "import-upload",
        "PUT of the import file to the upload_url the double returned",
    ),
    ("import-ingest", "POST …/import with action ingest"),
    ("import-poll", "POST …/import with action poll"),
    (
        "export",
        "POST …/d1/database/:id/export (start and every poll)",
    ),
    (
        "export-download",
        "GET of the signed_url of a finished export",
    ),
    (
        "time-travel",
        "GET …/time_travel/bookmark and POST …/time_travel/restore",
    ),
    ("list", "GET …/d1/database"),
    ("info", "GET …/d1/database/:id"),
    ("create", "POST …/d1/database"),
    ("delete", "DELETE …/d1/database/:id"),
    ("graphql", "POST /graphql (d1 info's metrics)"),
    (
        "deploy",
        "the worker upload: PUT …/workers/scripts/:name or POST …/scripts/:name/versions",
    ),
    ("service", "GET …/workers/services/:name"),
    (
        "deployments",
        "GET/POST …/workers/scripts/:name/deployments",
    ),
    (
        "subdomain",
        "…/workers/subdomain and …/workers/scripts/:name/subdomain",
    ),
    (
        "script-settings",
        "…/workers/scripts/:name/script-settings and …/settings",
    ),
    (
        "workers",
        "any other …/workers/…, …/storage/… or /zones… request",
    ),
    ("account", "/memberships, /accounts, /user, …/tokens/verify"),
    ("other", "anything else under /client/v4"),
];

/// `KIND:N` (`--fail`) or `KIND:N:MS` (`--delay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: String,
    pub nth: u64,
    /// `None` for a failure, `Some(ms)` for a delay.
    pub delay_ms: Option<u64>,
}

fn check_kind(kind: &str) -> Result<(), String> {
    if KINDS.iter().any(|(k, _)| *k == kind) {
        Ok(())
    } else {
        Err(format!(
            "unknown request kind {kind:?}; one of: {}",
            KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
        ))
    }
}

fn parse_nth(n: &str) -> Result<u64, String> {
    match n.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("N must be a positive integer (1-based), got {n:?}")),
    }
}

impl Fault {
    /// Parses `KIND:N`.
    pub fn parse_fail(s: &str) -> Result<Fault, String> {
        let (kind, n) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("expected KIND:N, got {s:?}"))?;
        check_kind(kind)?;
        Ok(Fault {
            kind: kind.to_string(),
            nth: parse_nth(n)?,
            delay_ms: None,
        })
    }

    /// Parses `KIND:N:MS`.
    pub fn parse_delay(s: &str) -> Result<Fault, String> {
        let (rest, ms) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("expected KIND:N:MS, got {s:?}"))?;
        let (kind, n) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("expected KIND:N:MS, got {s:?}"))?;
        check_kind(kind)?;
        let ms = ms
            .parse::<u64>()
            .map_err(|_| format!("MS must be a number of milliseconds, got {ms:?}"))?;
        Ok(Fault {
            kind: kind.to_string(),
            nth: parse_nth(n)?,
            delay_ms: Some(ms),
        })
    }
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.matches(':').count() >= 2 {
            Fault::parse_delay(s)
        } else {
            Fault::parse_fail(s)
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.delay_ms {
            Some(ms) => write!(f, "{}:{}:{}", self.kind, self.nth, ms),
            None => write!(f, "{}:{}", self.kind, self.nth),
        }
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// This request's number within its kind (1-based).
    pub nth: u64,
    pub fail: bool,
    pub delay_ms: u64,
    /// Answer HTTP 429 with `Retry-After` this many seconds (not carried out).
    pub throttle_secs: Option<u64>,
    /// Carry it out, then answer HTTP 500 as if the answer were lost.
    pub lose: bool,
}

/// The configured faults and the per-kind counters.
#[derive(Debug, Default)]
pub struct Faults {
    faults: Vec<Fault>,
    /// `KIND:N:SECS` (the seconds in `delay_ms`).
    throttle: Vec<Fault>,
    lose: Vec<Fault>,
    counters: Mutex<HashMap<String, u64>>,
}

impl Faults {
    pub fn new(faults: Vec<Fault>) -> Faults {
        Faults::with(faults, Vec::new(), Vec::new())
    }

    /// Failures and delays, throttles (`delay_ms` holds the seconds of
    /// `Retry-After`), and answers lost after the request was carried out.
    pub fn with(faults: Vec<Fault>, throttle: Vec<Fault>, lose: Vec<Fault>) -> Faults {
        Faults {
            faults,
            throttle,
            lose,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `kind` and says whether it must fail or wait.
    pub fn hit(&self, kind: &str) -> Verdict {
        let nth = {
            let mut counters = lock(&self.counters);
            let c = counters.entry(kind.to_string()).or_insert(0);
            *c += 1;
            *c
        };
        let mine = self
            .faults
            .iter()
            .filter(|f| f.kind == kind && f.nth == nth);
        let mut verdict = Verdict {
            nth,
            fail: false,
            delay_ms: 0,
            throttle_secs: None,
            lose: false,
        };
        for f in mine {
            match f.delay_ms {
                Some(ms) => verdict.delay_ms += ms,
                None => verdict.fail = true,
            }
        }
        let this = |f: &&Fault| f.kind == kind && f.nth == nth;
        verdict.throttle_secs = self
            .throttle
            .iter()
            .find(this)
            .map(|f| f.delay_ms.unwrap_or(0));
        verdict.lose = self.lose.iter().any(|f| this(&f));
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        assert_eq!(
            Fault::parse_fail("import-poll:2"),
            Ok(Fault {
                kind: "import-poll".into(),
                nth: 2,
                delay_ms: None
            })
        );
        assert_eq!(
            Fault::parse_delay("query:1:1500"),
            Ok(Fault {
                kind: "query".into(),
                nth: 1,
                delay_ms: Some(1500)
            })
        );
        assert!(Fault::parse_fail("query:0").is_err());
        assert!(Fault::parse_fail("nope:1").is_err());
        assert!(Fault::parse_delay("query:1").is_err());
        assert_eq!(
            "query:3".parse::<Fault>().map(|f| f.to_string()),
            Ok("query:3".to_string())
        );
    }

    #[test]
    fn counting_per_kind() {
        let faults = Faults::new(vec![
            Fault::parse_fail("query:2").expect("fault"),
            Fault::parse_delay("list:1:5").expect("fault"),
        ]);
        assert!(!faults.hit("query").fail);
        assert_eq!(
            faults.hit("list"),
            Verdict {
                nth: 1,
                fail: false,
                delay_ms: 5,
                throttle_secs: None,
                lose: false,
            }
        );
        assert!(faults.hit("query").fail);
        assert!(!faults.hit("query").fail);
    }

    #[test]
    fn throttles_and_lost_answers_count_with_the_rest() {
        let faults = Faults::with(
            Vec::new(),
            vec![Fault::parse_delay("query:2:3").expect("fault")],
            vec![Fault::parse_fail("import-ingest:1").expect("fault")],
        );
        assert_eq!(faults.hit("query").throttle_secs, None);
        assert_eq!(faults.hit("query").throttle_secs, Some(3));
        assert!(faults.hit("import-ingest").lose);
        assert!(!faults.hit("import-ingest").lose);
    }
}

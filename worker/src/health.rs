//! `GET /health`: each database's schema version against the one this build
//! of the worker expects.
//!
//! The expected versions are not written down here: `cargo xtask build-worker`
//! works them out from `migrations/` (with the xtask's own routing) and passes
//! them to the wasm compile as [`EXPECTED_VAR`], e.g. `READ_REPLICA=6,AUTH=5`.

use serde::Serialize;

/// The environment variable that carries the expected versions into the build.
pub const EXPECTED_VAR: &str = "EXPECTED_SCHEMA_VERSIONS";

/// The SQL that reads a database's schema version.
pub const VERSION_SQL: &str = "SELECT MAX(version) AS version FROM _migrations";

/// One database and the schema version this build needs it to have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub binding: String,
    pub version: u64,
}

/// Parses `BINDING=VERSION` pairs separated by commas (spaces allowed
/// around them). An empty string is no databases.
pub fn parse_expected(text: &str) -> Result<Vec<Expected>, String> {
    let mut expected: Vec<Expected> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((binding, version)) = entry.split_once('=') else {
            return Err(format!("{EXPECTED_VAR}: {entry:?} is not BINDING=VERSION"));
        };
        let binding = binding.trim();
        let valid_binding = !binding.is_empty()
            && binding
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_binding {
            return Err(format!(
                "{EXPECTED_VAR}: {binding:?} in {entry:?} is not a binding name"
            ));
        }
        let version = version.trim().parse::<u64>().map_err(|_| {
            format!("{EXPECTED_VAR}: the version in {entry:?} is not a whole number")
        })?;
        if expected.iter().any(|e| e.binding == binding) {
            return Err(format!("{EXPECTED_VAR}: {binding} is listed twice"));
        }
        expected.push(Expected {
            binding: binding.to_owned(),
            version,
        });
    }
    Ok(expected)
}

/// What reading a database's schema version gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The highest applied version: 0 when nothing is applied, or when the
    /// database has no `_migrations` table yet.
    Version(u64),
    /// The database could not be read (unbound, or D1 failed): why.
    Unreadable(String),
}

impl Observed {
    /// The result of [`VERSION_SQL`]: `MAX(version)` is NULL on an empty table.
    pub fn from_max(max: Option<u64>) -> Observed {
        Observed::Version(max.unwrap_or(0))
    }

    /// What a failed [`VERSION_SQL`] means: a missing tracking table is a
    /// database nothing was applied to; anything else is unreadable.
    pub fn from_error(message: &str) -> Observed {
        if message.contains("no such table: _migrations") {
            Observed::Version(0)
        } else {
            Observed::Unreadable(message.to_owned())
        }
    }
}

/// One database in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseHealth {
    pub binding: String,
    /// The version it holds; `null` when it could not be read.
    pub version: Option<u64>,
    /// The version this build of the worker was built for.
    pub expected: u64,
    /// It holds at least the expected version.
    pub current: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The body of `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// `ok` when every database is current, `behind` otherwise.
    pub status: &'static str,
    pub databases: Vec<DatabaseHealth>,
    /// Why nothing could be checked (a build with unreadable expected versions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HealthReport {
    pub fn new(checks: impl IntoIterator<Item = (Expected, Observed)>) -> HealthReport {
        let databases: Vec<DatabaseHealth> = checks
            .into_iter()
            .map(|(expected, observed)| {
                let (version, error) = match observed {
                    Observed::Version(version) => (Some(version), None),
                    Observed::Unreadable(why) => (None, Some(why)),
                };
                DatabaseHealth {
                    binding: expected.binding,
                    current: version.is_some_and(|v| v >= expected.version),
                    version,
                    expected: expected.version,
                    error,
                }
            })
            .collect();
        let status = if databases.iter().all(|db| db.current) {
            "ok"
        } else {
            "behind"
        };
        HealthReport {
            status,
            databases,
            error: None,
        }
    }

    /// A report for a build whose expected versions do not parse: nothing
    /// can be checked, so it is not healthy.
    pub fn misconfigured(why: String) -> HealthReport {
        HealthReport {
            status: "behind",
            databases: Vec::new(),
            error: Some(why),
        }
    }

    pub fn healthy(&self) -> bool {
        self.status == "ok"
    }

    /// 200 when every database is at least at its expected version, else 503.
    pub fn status_code(&self) -> u16 {
        if self.healthy() {
            200
        } else {
            503
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected(binding: &str, version: u64) -> Expected {
        Expected {
            binding: binding.into(),
            version,
        }
    }

    #[test]
    fn parses_the_build_string() {
        assert_eq!(
            parse_expected("READ_REPLICA=6,AUTH=5").unwrap(),
            vec![expected("READ_REPLICA", 6), expected("AUTH", 5)]
        );
        assert_eq!(
            parse_expected(" READ_REPLICA = 6 , AUTH=0, ").unwrap(),
            vec![expected("READ_REPLICA", 6), expected("AUTH", 0)]
        );
        assert_eq!(parse_expected("").unwrap(), vec![]);
    }

    #[test]
    fn rejects_malformed_build_strings() {
        for bad in [
            "READ_REPLICA",
            "READ_REPLICA=six",
            "READ_REPLICA=-1",
            "=6",
            "READ REPLICA=6",
            "AUTH=5,AUTH=6",
        ] {
            let err = parse_expected(bad).unwrap_err();
            assert!(err.starts_with(EXPECTED_VAR), "{bad}: {err}");
        }
    }

    #[test]
    fn a_missing_tracking_table_is_version_zero() {
        assert_eq!(
            Observed::from_error("D1_ERROR: no such table: _migrations: SQLITE_ERROR"),
            Observed::Version(0)
        );
        assert_eq!(Observed::from_max(None), Observed::Version(0));
        assert_eq!(Observed::from_max(Some(4)), Observed::Version(4));
        assert_eq!(
            Observed::from_error("D1_ERROR: no such table: tasks"),
            Observed::Unreadable("D1_ERROR: no such table: tasks".into())
        );
    }

    #[test]
    fn healthy_when_every_database_is_at_least_expected() {
        let report = HealthReport::new([
            (expected("READ_REPLICA", 6), Observed::Version(6)),
            (expected("AUTH", 5), Observed::Version(7)),
        ]);
        assert_eq!(report.status_code(), 200);
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({
                "status": "ok",
                "databases": [
                    {"binding": "READ_REPLICA", "version": 6, "expected": 6, "current": true},
                    {"binding": "AUTH", "version": 7, "expected": 5, "current": true},
                ]
            })
        );
    }

    #[test]
    fn behind_when_one_database_is_behind() {
        let report = HealthReport::new([
            (expected("READ_REPLICA", 6), Observed::Version(6)),
            (expected("AUTH", 5), Observed::Version(4)),
        ]);
        assert_eq!(report.status, "behind");
        assert_eq!(report.status_code(), 503);
        assert!(report.databases[0].current);
        assert!(!report.databases[1].current);
    }

    #[test]
    fn behind_when_a_database_cannot_be_read() {
        let report = HealthReport::new([
            (expected("READ_REPLICA", 0), Observed::Version(0)),
            (
                expected("AUTH", 5),
                Observed::Unreadable("no D1 binding AUTH".into()),
            ),
        ]);
        assert_eq!(report.status_code(), 503);
        assert_eq!(
            serde_json::to_value(&report.databases[1]).unwrap(),
            json!({"binding": "AUTH", "version": null, "expected": 5, "current": false, "error": "no D1 binding AUTH"})
        );
        // Expecting version 0 is met by a fresh database.
        assert!(report.databases[0].current);
    }

    #[test]
    fn no_databases_is_healthy() {
        assert_eq!(HealthReport::new([]).status_code(), 200);
    }

    #[test]
    fn a_misconfigured_build_is_not_healthy() {
        let report = HealthReport::misconfigured("EXPECTED_SCHEMA_VERSIONS: bad".into());
        assert_eq!(report.status_code(), 503);
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({"status": "behind", "databases": [], "error": "EXPECTED_SCHEMA_VERSIONS: bad"})
        );
    }
}

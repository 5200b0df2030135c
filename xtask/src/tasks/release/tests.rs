//! Unit tests for `xtask release`.

use super::health::{check_health, OldBuild};
use super::*;

fn reply(status: u16, databases: &str) -> (u16, String) {
    (
        status,
        format!(r#"{{"status":"x","databases":{databases}}}"#),
    )
}

#[test]
fn the_build_wrangler_starts_is_told_the_project_the_release_was_given() {
    let paths = Paths {
        config: Some("conf/wrangler.toml".into()),
        migrations_dir: Some("/elsewhere/migrations".into()),
        env: Some("staging".into()),
        ..Paths::default()
    };
    let vars = project_env(&paths);
    let value = |key: &str| {
        vars.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| PathBuf::from(v))
    };
    assert_eq!(
        value("MIGRATE_MIGRATIONS_DIR"),
        Some(PathBuf::from("/elsewhere/migrations"))
    );
    // Relative paths are made absolute: wrangler runs the build elsewhere.
    assert!(value("MIGRATE_CONFIG")
        .is_some_and(|c| c.is_absolute() && c.ends_with("conf/wrangler.toml")));
    assert_eq!(value("MIGRATE_ENV"), Some(PathBuf::from("staging")));
    assert!(project_env(&Paths::default()).is_empty());
}

#[test]
fn health_must_be_current_and_from_the_worker_just_built() {
    let built = [("AUTH".to_owned(), 5)];
    let current = r#"[{"binding":"AUTH","version":5,"expected":5,"current":true}]"#;
    assert!(check_health(&reply(200, current), &built).is_ok());
    // A database behind, a 503, or no databases at all.
    let behind = r#"[{"binding":"AUTH","version":4,"expected":5,"current":false}]"#;
    assert!(check_health(&reply(200, behind), &built).is_err());
    assert!(check_health(&reply(503, current), &built).is_err());
    assert!(check_health(&reply(200, "[]"), &built).is_err());
    // The old worker, built for v4, reports current after the migration too.
    let old = r#"[{"binding":"AUTH","version":5,"expected":4,"current":true}]"#;
    let err = check_health(&reply(200, old), &built).unwrap_err();
    assert!(
        err.downcast_ref::<OldBuild>().is_some(),
        "an old build answering is waited out: {err:#}"
    );
    assert!(
        format!("{err:#}").contains("/health expects AUTH at 4, not 5"),
        "{err:#}"
    );
    // A newer build than this release's (another release won the race)
    // is not waited for: it fails at once.
    let newer = r#"[{"binding":"AUTH","version":6,"expected":6,"current":true}]"#;
    let err = check_health(&reply(200, newer), &built).unwrap_err();
    assert!(err.downcast_ref::<OldBuild>().is_none(), "{err:#}");
    assert!(
        err.to_string()
            .contains("not from the worker this release built"),
        "{err}"
    );
}

//! Unit tests for `xtask bench`.

use super::sets::migration_sql;
use super::*;

#[test]
fn generated_migrations_pass_the_lint() {
    for version in 1..=12 {
        let sql = migration_sql(version);
        let errors: Vec<_> =
            crate::migrate::sql::lint(&sql, crate::migrate::sql::LintOptions::default())
                .into_iter()
                .filter(|f| f.severity == crate::migrate::sql::Severity::Error)
                .collect();
        assert!(errors.is_empty(), "{sql}\n{errors:?}");
    }
}

#[test]
fn generates_one_sequence_and_per_database_copies() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 5).unwrap();
    let ours = std::fs::read_dir(dir.path().join("migrations"))
        .unwrap()
        .count();
    let rr = std::fs::read_dir(dir.path().join("wrangler-migrations/READ_REPLICA"))
        .unwrap()
        .count();
    let auth = std::fs::read_dir(dir.path().join("wrangler-migrations/AUTH"))
        .unwrap()
        .count();
    assert_eq!((ours, rr, auth), (5, 2, 3));
    let config = crate::migrate::Config::load(&dir.path().join("wrangler.toml"), None).unwrap();
    let routing = crate::migrate::Routing::default();
    let bindings: Vec<&str> = config
        .databases
        .iter()
        .map(|d| d.binding.as_str())
        .collect();
    let migrations = crate::migrate::load_migrations(
        &dir.path().join("migrations"),
        &crate::migrate::Layout::default(),
        crate::migrate::Owner::Shared {
            routing: &routing,
            bindings: &bindings,
        },
        &config,
    )
    .unwrap();
    assert_eq!(migrations.len(), 5);
}

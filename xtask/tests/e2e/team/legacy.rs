//! A database migrated by a release that did not store the SQL yet.

use super::*;

#[test]
fn a_database_migrated_before_sql_was_stored_keeps_working() {
    // As the previous release left it: no stored SQL, guard rows undated.
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    for binding in [RR, AUTH] {
        p.query(
            binding,
            "ALTER TABLE _migrations DROP COLUMN sql; ALTER TABLE _migrations DROP COLUMN rollback_sql; \
             UPDATE d1_migrations SET applied_at = '2026-11-30 10:00:00'",
        );
    }
    p.forget_hints(&[RR, AUTH]);
    p.migrate(&["status"]).ok();

    // An applied file missing: nothing stored to roll it back with, so it
    // stops, saying so, and names no command that deletes a record.
    let kept = std::fs::read(p.path("migrations/0006_add_task_user_id.sql")).unwrap();
    p.remove("migrations/0006_add_task_user_id.sql");
    let run = p.migrate(&["status"]).fails();
    assert_line(
        &run.stdout,
        &["0006_add_task_user_id", "no copy of its SQL"],
    );
    assert!(!run.all().contains("DELETE FROM"), "{}", run.all());
    std::fs::write(p.path("migrations/0006_add_task_user_id.sql"), kept).unwrap();

    // The next write adds the columns and dates the guard rows; the new
    // migration's SQL is stored, the older rows' stays NULL.
    p.write(
        "migrations/0007_add_tier.sql",
        "-- database: AUTH\nALTER TABLE api_keys ADD COLUMN tier TEXT;\n",
    );
    p.migrate(&["up", "--no-backup"]).ok();
    let rows = p.query(
        AUTH,
        "SELECT version, sql IS NOT NULL AS stored FROM _migrations ORDER BY version",
    );
    let stored: Vec<(u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["version"].as_u64().unwrap(),
                r["stored"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(stored, [(2, 0), (4, 0), (5, 0), (7, 1)]);
    for binding in [RR, AUTH] {
        let guards: Vec<(String, String)> = ledger(&p, binding, "d1_migrations")
            .into_iter()
            .filter(|(name, _)| name.ends_with(".rollback.sql"))
            .collect();
        assert!(
            !guards.is_empty() && guards.iter().all(|(_, at)| at == "1970-01-01 00:00:00"),
            "{binding}: {guards:?}"
        );
    }
    p.migrate(&["status"]).ok();
}

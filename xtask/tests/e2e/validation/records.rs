//! The record and the files disagree: an applied migration edited, one whose
//! file is gone, and `down` without every rollback file.

use super::*;

use serde_json::Value;

// ---------------------------------------------------------------------------
// 3–5. The record and the files disagree

#[test]
fn modified_applied_migration_stops_up_and_shows_as_modified() {
    let p = Project::seed();
    p.migrate(&["up"]).ok();
    let path = "migrations/0002_api_keys.sql";
    let original = std::fs::read_to_string(p.path(path)).unwrap();
    p.write(
        path,
        format!("{original}\nCREATE INDEX IF NOT EXISTS idx_api_keys_name ON api_keys(name);\n"),
    );
    // A pending migration in the other database must not be applied either.
    p.write(
        "migrations/0007_notes.sql",
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER);\n",
    );
    p.write(
        "migrations/0007_notes.rollback.sql",
        "DROP TABLE IF EXISTS notes;\n",
    );

    let run = up_fails(&p);
    assert_line(&run.stderr, &["0002_api_keys", "changed"]);
    assert_eq!(p.versions("READ_REPLICA"), SEED_RR);
    assert_eq!(p.versions("AUTH"), SEED_AUTH);

    // Shown, and a failure: CI notices.
    let status = p.migrate(&["status"]).fails();
    assert!(
        status.stdout.contains("✏️ Modified - v2: 0002_api_keys"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("⏳ Pending - v7: 0007_notes"),
        "{}",
        status.stdout
    );

    let json = p.migrate(&["status", "--json"]).fails();
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let state = |binding: &str, version: u64| -> String {
        let db = report["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|db| db["binding"] == binding)
            .unwrap_or_else(|| panic!("no {binding} in {report}"));
        let m = db["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["version"] == version)
            .unwrap_or_else(|| panic!("no v{version} in {db}"));
        m["state"].as_str().unwrap().to_owned()
    };
    assert_eq!(state("AUTH", 2), "modified");
    assert_eq!(state("AUTH", 4), "applied");
    assert_eq!(state("READ_REPLICA", 7), "pending");
}

#[test]
fn applied_migration_whose_file_is_gone_is_shown_as_applied_elsewhere_and_runs_nothing() {
    // The database stored its SQL when it was applied: a file missing from
    // this checkout is one applied on another branch, not an error. (A row
    // without stored SQL still stops `up`: see team/legacy.rs.)
    let p = Project::seed();
    p.migrate(&["up"]).ok();
    p.remove("migrations/0006_add_task_user_id.sql");
    p.remove("migrations/0006_add_task_user_id.rollback.sql");

    let run = p.migrate(&["up"]).ok();
    assert!(!run.stdout.contains("to apply\n"), "{}", run.stdout);
    assert_eq!(p.versions("READ_REPLICA"), SEED_RR);
    assert_eq!(p.versions("AUTH"), SEED_AUTH);

    let status = p.migrate(&["status"]).ok();
    let down = format!(
        "cargo migrate down 3 --config {} --db READ_REPLICA",
        p.config_path().display()
    );
    assert_line(
        &status.stdout,
        &[
            "📦 Applied, not in this checkout - v6: 0006_add_task_user_id",
            &down,
        ],
    );
}

#[test]
fn down_without_every_rollback_file_rolls_back_nothing_anywhere() {
    let p = Project::seed();
    p.remove("migrations/0005_add_permissions_table.rollback.sql");
    p.migrate(&["up"]).ok();

    let run = p.migrate(&["down", "3"]).fails();
    assert_line(&run.stderr, &["0005_add_permissions_table.rollback.sql"]);
    // READ_REPLICA's v6 has its rollback, yet it is not rolled back either.
    assert_eq!(p.versions("READ_REPLICA"), SEED_RR);
    assert_eq!(p.versions("AUTH"), SEED_AUTH);
    assert!(p
        .columns("READ_REPLICA", "tasks")
        .contains(&"user_id".to_owned()));
}

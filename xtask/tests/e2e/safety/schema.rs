//! Schema snapshots, written deterministically, and drift checks: `verify`,
//! and `up` and `down` reporting a schema changed by hand.

use super::*;

// ---------------------------------------------------------------------------
// 8.–9. Snapshots and drift

#[test]
fn snapshots_are_written_deterministically_and_follow_down() {
    let p = Project::seed();
    let q = Project::seed();
    let (a, b) = (
        p.spawn_migrate(&["up", "--no-backup"], &[]),
        q.spawn_migrate(&["up", "--no-backup"], &[]),
    );
    finish(a).ok();
    finish(b).ok();

    let read = |p: &Project, binding: &str| {
        std::fs::read_to_string(p.path(&format!("migrations/schema/{binding}.sql")))
            .unwrap_or_else(|e| panic!("no snapshot of {binding}: {e}"))
    };
    let rr = read(&p, RR);
    let auth = read(&p, AUTH);
    assert!(
        rr.starts_with("-- Schema of READ_REPLICA after migrations 1, 3, 6.\n"),
        "{rr}"
    );
    assert!(
        auth.starts_with("-- Schema of AUTH after migrations 2, 4, 5.\n"),
        "{auth}"
    );
    assert!(rr.contains("CREATE TABLE tasks"), "{rr}");
    assert!(rr.contains("user_id TEXT"), "{rr}");
    assert!(auth.contains("CREATE TABLE room_permissions"), "{auth}");
    for text in [&rr, &auth] {
        assert!(!text.contains("_migrations"), "tracking tables in:\n{text}");
    }
    assert_eq!(
        read(&q, RR),
        rr,
        "snapshots differ between two fresh projects"
    );
    assert_eq!(read(&q, AUTH), auth);

    p.migrate(&["down", "3", "--no-backup"]).ok();
    let rr = read(&p, RR);
    let auth = read(&p, AUTH);
    assert!(
        rr.starts_with("-- Schema of READ_REPLICA after migrations 1, 3.\n"),
        "{rr}"
    );
    assert!(!rr.contains("user_id"), "{rr}");
    assert!(rr.contains("CREATE TABLE tasks"), "{rr}");
    assert!(
        auth.starts_with("-- Schema of AUTH after migrations 2.\n"),
        "{auth}"
    );
    assert!(auth.contains("CREATE TABLE api_keys"), "{auth}");
    assert!(!auth.contains("rooms"), "{auth}");
}

#[test]
fn verify_names_hand_made_changes_and_edited_migrations() {
    let p = Project::seed();
    p.migrate(&["up", "4", "--no-backup"]).ok();
    let run = p.migrate(&["verify"]).ok();
    assert!(run.stdout.contains("✅ READ_REPLICA"), "{}", run.stdout);
    assert!(run.stdout.contains("✅ AUTH"), "{}", run.stdout);

    // An applied migration's file edited (the database itself untouched).
    let path = "migrations/0002_api_keys.sql";
    let original = std::fs::read_to_string(p.path(path)).unwrap();
    p.write(path, format!("{original}-- edited after it was applied\n"));
    let run = p.migrate(&["verify", "--db", AUTH]).fails();
    assert_line(&run.stdout, &["❌", AUTH]);
    // What was applied is stored in the database: the edit is told apart.
    assert_line(
        &run.stdout,
        &[
            "0002_api_keys",
            "only in comments or layout",
            "mark 2 --checksum",
        ],
    );
    assert!(run.stderr.contains(AUTH), "{}", run.stderr);
    p.write(path, original);

    // A table made by hand and an index a migration made dropped by hand.
    p.query(
        AUTH,
        "CREATE TABLE hand_made(x); DROP INDEX idx_rooms_owner_user_id",
    );
    let run = p.migrate(&["verify"]).fails();
    assert_line(&run.stdout, &["✅", RR]);
    assert_line(&run.stdout, &["❌", AUTH, "changed by hand"]);
    assert_line(&run.stdout, &["+ table hand_made"]);
    assert_line(&run.stdout, &["- index idx_rooms_owner_user_id"]);
    assert_line(
        &run.stderr,
        &["error: the schema of AUTH does not match the migrations"],
    );
}

/// `up` checks the schema it leaves: by replaying the migrations when the
/// database did not match its snapshot before the run, and against the
/// committed snapshot when there is one for the versions after the run.
#[test]
fn up_and_down_report_a_schema_changed_by_hand() {
    let p = Project::seed();
    p.migrate(&["up", "4", "--no-backup"]).ok();
    let snapshot = p.path("migrations/schema/AUTH.sql");
    let auth_snapshot = std::fs::read_to_string(&snapshot).unwrap();
    assert!(auth_snapshot.starts_with("-- Schema of AUTH after migrations 2, 4.\n"));
    p.query(AUTH, "CREATE TABLE hand_made(x)");

    let run = p.migrate(&["up", "--no-backup"]).fails();
    let out = run.all();
    // The run itself applied (and says so), then found the drift.
    assert!(run.stdout.contains("✅ AUTH: applied 1 migration"), "{out}");
    assert!(
        run.stdout.contains("✅ READ_REPLICA: applied 1 migration"),
        "{out}"
    );
    assert_line(
        &run.stdout,
        &["❌ AUTH", "the schema is not what they produce"],
    );
    assert_line(&run.stdout, &["+ table hand_made"]);
    assert_line(&run.stderr, &["error: ", "1 of 2 databases failed: AUTH"]);
    // A drifted schema is not written as the snapshot; a clean one is.
    assert_eq!(std::fs::read_to_string(&snapshot).unwrap(), auth_snapshot);
    let rr = std::fs::read_to_string(p.path("migrations/schema/READ_REPLICA.sql")).unwrap();
    assert!(
        rr.starts_with("-- Schema of READ_REPLICA after migrations 1, 3, 6.\n"),
        "{rr}"
    );

    // Back to 2, 4, for which the committed snapshot exists: compared with it.
    let run = p
        .migrate(&["down", "4", "--db", AUTH, "--no-backup"])
        .fails();
    let out = run.all();
    assert!(
        run.stdout.contains("✅ AUTH: rolled back 1 migration"),
        "{out}"
    );
    assert_line(
        &run.stdout,
        &[
            "differs from the committed snapshot",
            "AUTH.sql",
            "cargo migrate verify",
        ],
    );
}

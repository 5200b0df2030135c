//! No silent row loss, and failures found before production: dry runs
//! rehearse on a copy of the data (counting every table's rows before and
//! after), the Prisma-shaped rebuild of a parent with `ON DELETE CASCADE`
//! children is refused (by the dry run, and by the real run's in-batch check)
//! unless allowed, and failures that only data can cause are caught by the
//! dry run (remotely on an export when there is one, or when asked). The
//! real binary and wrangler on local D1, and through the double.

use crate::common::*;

const AUTH: &str = "AUTH";

/// The seed project at v5, with two rooms and three permissions in AUTH.
fn seeded() -> Project {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    p.query(
        AUTH,
        "INSERT INTO rooms (id, name, owner_user_id) VALUES ('r1', 'One', 'u1'), ('r2', 'Two', 'u2'); \
         INSERT INTO room_permissions (room_id, user_id, role) VALUES ('r1', 'u1', 'owner'), ('r1', 'u2', 'viewer'), ('r2', 'u2', 'owner')",
    );
    p
}

/// Prisma's `RedefineTables` for `rooms`, the parent of `room_permissions`
/// (`ON DELETE CASCADE`): every permission goes with the old `rooms`.
const REBUILD_ROOMS: &str = "-- database: AUTH\n\
-- RedefineTables\n\
PRAGMA defer_foreign_keys=ON;\n\
PRAGMA foreign_keys=OFF;\n\
CREATE TABLE \"new_rooms\" (\n    \"id\" TEXT NOT NULL PRIMARY KEY,\n    \"name\" TEXT NOT NULL,\n    \"owner_user_id\" TEXT NOT NULL,\n    \"created_at\" INTEGER NOT NULL DEFAULT 0,\n    \"topic\" TEXT\n);\n\
INSERT INTO \"new_rooms\" (\"id\", \"name\", \"owner_user_id\", \"created_at\") SELECT \"id\", \"name\", \"owner_user_id\", \"created_at\" FROM \"rooms\";\n\
DROP TABLE \"rooms\";\n\
ALTER TABLE \"new_rooms\" RENAME TO \"rooms\";\n\
CREATE INDEX \"idx_rooms_owner_user_id\" ON \"rooms\"(\"owner_user_id\");\n\
PRAGMA foreign_keys=ON;\n\
PRAGMA defer_foreign_keys=OFF;\n";

fn count(p: &Project, table: &str) -> u64 {
    p.query(AUTH, &format!("SELECT count(*) AS n FROM {table}"))[0]["n"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_header_allows_it_for_one_migration_and_a_rebuild_that_keeps_the_children_passes() {
    let p = seeded();
    // Rebuilding the children first (copied aside and back) loses nothing.
    let careful = REBUILD_ROOMS.replace(
        "DROP TABLE \"rooms\";\n",
        "CREATE TABLE permissions_copy AS SELECT * FROM room_permissions;\n\
         DROP TABLE \"rooms\";\n",
    )
    .replace(
        "CREATE INDEX \"idx_rooms_owner_user_id\"",
        "INSERT INTO room_permissions SELECT * FROM permissions_copy;\nDROP TABLE permissions_copy;\nCREATE INDEX \"idx_rooms_owner_user_id\"",
    );
    p.write("migrations/0007_rebuild_rooms.sql", &careful);
    p.write("migrations/0007_rebuild_rooms.rollback.sql", "SELECT 1;\n");
    let dry = p.migrate(&["up", "--dry-run"]).ok();
    assert_line(&dry.stdout, &["room_permissions 3 → 3"]);
    p.migrate(&["up", "--no-backup"]).ok();
    assert_eq!(count(&p, "room_permissions"), 3);

    // Dropping a table with rows, said to be meant in the file itself.
    p.write(
        "migrations/0008_drop_permissions.sql",
        "-- database: AUTH\n-- allow-data-loss: permissions move to the new ACL service\nDROP TABLE room_permissions;\n",
    );
    p.write(
        "migrations/0008_drop_permissions.rollback.sql",
        "SELECT 1;\n",
    );
    let dry = p.migrate(&["up", "--dry-run"]).ok();
    assert_line(
        &dry.stdout,
        &["allowed to lose", "3 rows of room_permissions"],
    );
    p.migrate(&["up", "--no-backup"]).ok();
    assert!(!p.tables(AUTH).contains(&"room_permissions".to_owned()));
}

#[test]
fn failures_only_data_can_cause_are_caught_by_the_dry_run_before_anything_runs() {
    let p = seeded();
    p.query(
        AUTH,
        "INSERT INTO api_keys (id, key_hash, name, user_id) VALUES ('k1', 'h1', 'ci', 'u1'), ('k2', 'h2', 'ci', 'u2')",
    );
    // A UNIQUE index over duplicate names.
    p.write(
        "migrations/0007_unique_key_names.sql",
        "-- database: AUTH\nCREATE UNIQUE INDEX idx_api_keys_name ON api_keys(name);\n",
    );
    p.write(
        "migrations/0007_unique_key_names.rollback.sql",
        "DROP INDEX IF EXISTS idx_api_keys_name;\n",
    );
    let wrapper = p.wrapper("");
    let env = [("MIGRATE_WRANGLER", wrapper.to_str().unwrap())];
    let config = p.config_path();
    let dry = p.migrate_with(&["up", "--dry-run"], &env).fails();
    assert_line(
        &dry.stdout,
        &[
            "❌ AUTH",
            "0007_unique_key_names.sql:2",
            "UNIQUE constraint failed",
        ],
    );
    let applies_here = p
        .calls()
        .iter()
        .filter(|(_, _, args)| args.contains("--file") && args.contains(config.to_str().unwrap()))
        .count();
    assert_eq!(applies_here, 0, "the dry run wrote to the database");
    // On the schema alone it passes: that is what the copy of the data is for.
    p.migrate(&["up", "--dry-run", "--schema-only"]).ok();

    // A NOT NULL column filled from rows that have no value for it.
    p.remove("migrations/0007_unique_key_names.sql");
    p.remove("migrations/0007_unique_key_names.rollback.sql");
    p.write(
        "migrations/0007_rooms_topic.sql",
        "-- database: AUTH\nCREATE TABLE rooms_v2 (id TEXT PRIMARY KEY, name TEXT NOT NULL, topic TEXT NOT NULL);\n\
         INSERT INTO rooms_v2 (id, name, topic) SELECT id, name, NULL FROM rooms;\n",
    );
    p.write(
        "migrations/0007_rooms_topic.rollback.sql",
        "DROP TABLE IF EXISTS rooms_v2;\n",
    );
    let dry = p.migrate(&["up", "--dry-run"]).fails();
    assert_line(
        &dry.stdout,
        &[
            "❌ AUTH",
            "0007_rooms_topic.sql:3",
            "NOT NULL constraint failed",
        ],
    );
    assert_eq!(p.versions(AUTH), [2, 4, 5]);
}

#[test]
fn a_remote_dry_run_rehearses_on_an_export_of_the_data_when_there_is_one_or_it_is_asked() {
    let token = "data-safety-token-9e1f";
    let (double, env_owned) = api_double(token);
    let env = borrowed(&env_owned);
    let p = Project::seed();
    p.migrate_with(&["up", "--remote", "--no-backup"], &env)
        .ok();
    p.wrangler_with(
        &["d1", "execute", AUTH, "--remote", "--command",
          "INSERT INTO rooms (id, name, owner_user_id) VALUES ('r1', 'One', 'u1'); INSERT INTO room_permissions (room_id, user_id, role) VALUES ('r1', 'u1', 'owner')"],
        &env_owned,
    );
    p.write("migrations/0007_rebuild_rooms.sql", REBUILD_ROOMS);
    p.write("migrations/0007_rebuild_rooms.rollback.sql", "SELECT 1;\n");
    // With no export to rehearse on, the schema alone: the loss cannot be
    // counted, and the report says so rather than exporting unasked.
    let dry = p.migrate_with(&["up", "--dry-run", "--remote"], &env).ok();
    assert_line(
        &dry.stdout,
        &[
            "✅ AUTH: rehearsal passed on its schema alone: ",
            "has no export of AUTH",
        ],
    );
    assert_line(
        &dry.stdout,
        &[
            "would lose the rows of",
            "rehearsed without data, so not counted",
        ],
    );
    assert_eq!(export_requests(&double), 0);
    // --with-data exports AUTH and counts what the rebuild would take.
    let dry = p
        .migrate_with(&["up", "--dry-run", "--remote", "--with-data"], &env)
        .fails();
    assert_line(
        &dry.stdout,
        &[
            "❌ AUTH",
            "on a fresh export of its data",
            "1 rows of room_permissions (1 → 0)",
        ],
    );
    assert!(export_requests(&double) > 0);
    // So does an export the backup folder has, taken at AUTH's version.
    p.migrate_with(&["backup", "--remote", "--db", AUTH], &env)
        .ok();
    let exported = export_requests(&double);
    let dry = p
        .migrate_with(&["up", "--dry-run", "--remote"], &env)
        .fails();
    assert_line(
        &dry.stdout,
        &[
            "❌ AUTH",
            "on AUTH's export of ",
            "1 rows of room_permissions (1 → 0)",
        ],
    );
    assert_eq!(export_requests(&double), exported);
    let run = p
        .migrate_with(&["up", "--remote", "--no-backup"], &env)
        .fails();
    assert_line(
        &run.stdout,
        &["❌ AUTH", "nothing was applied", "room_permissions"],
    );
}

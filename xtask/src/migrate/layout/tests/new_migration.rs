//! Unit tests for naming and placing a new migration.

use super::*;

#[test]
fn new_flat_migrations_count_on_with_the_existing_width() {
    let now = at("2026-07-05T01:21:28Z");
    let dir = folder(&["0000_a.sql", "0001_b.sql", "0001_b.rollback.sql"]);
    let new = Layout::default()
        .next_migration(dir.path(), "add_tier", now)
        .unwrap();
    assert_eq!(new.name, "0002_add_tier.sql");
    assert_eq!(new.path, dir.path().join("0002_add_tier.sql"));
    assert_eq!(new.rollback, dir.path().join("0002_add_tier.rollback.sql"));
    assert_eq!(
        (new.version, &new.version_text[..], &new.stem[..]),
        (2, "0002", "0002_add_tier")
    );

    let dir = folder(&["00007_a.sql"]);
    let new = Layout::default()
        .next_migration(dir.path(), "x", now)
        .unwrap();
    assert_eq!(new.name, "00008_x.sql");

    // An empty or missing folder starts where wrangler's create does.
    let empty = tempfile::tempdir().unwrap();
    let new = Layout::default()
        .next_migration(&empty.path().join("missing"), "init", now)
        .unwrap();
    assert_eq!(new.name, "0001_init.sql");
    let new = layout("*.up.sql")
        .next_migration(empty.path(), "init", now)
        .unwrap();
    assert_eq!(new.name, "0001_init.up.sql");
    let new = layout("sub/*.sql")
        .next_migration(empty.path(), "init", now)
        .unwrap();
    assert_eq!(new.name, "sub/0001_init.sql");
    let new = layout("**/*.sql")
        .next_migration(empty.path(), "init", now)
        .unwrap();
    assert_eq!(new.name, "0001_init.sql");
}

#[test]
fn new_nested_migrations_get_a_folder_numbered_like_the_others() {
    let now = at("2026-07-05T01:21:28Z");
    let empty = tempfile::tempdir().unwrap();
    let new = layout("*/migration.sql")
        .next_migration(empty.path(), "add_tier", now)
        .unwrap();
    assert_eq!(new.name, "20260705012128_add_tier/migration.sql");
    assert_eq!(new.stem, "20260705012128_add_tier");
    assert_eq!(new.version, 20260705012128);
    assert_eq!(
        new.path,
        empty
            .path()
            .join("20260705012128_add_tier")
            .join("migration.sql")
    );
    assert_eq!(
        new.rollback,
        empty
            .path()
            .join("20260705012128_add_tier")
            .join("rollback.sql")
    );
    let new = layout("**/migration.sql")
        .next_migration(empty.path(), "x", now)
        .unwrap();
    assert_eq!(new.name, "20260705012128_x/migration.sql");
    let new = layout("*/*.sql")
        .next_migration(empty.path(), "x", now)
        .unwrap();
    assert_eq!(new.name, "20260705012128_x/migration.sql");

    // A clock behind the newest folder still counts on.
    let dir = folder(&["20260801000000_later/migration.sql"]);
    let new = layout("*/migration.sql")
        .next_migration(dir.path(), "x", now)
        .unwrap();
    assert_eq!(new.name, "20260801000001_x/migration.sql");

    // Counters stay counters.
    let dir = folder(&["0000_init/migration.sql", "0001_users/migration.sql"]);
    let new = layout("*/migration.sql")
        .next_migration(dir.path(), "x", now)
        .unwrap();
    assert_eq!(new.name, "0002_x/migration.sql");
    assert_eq!(new.rollback, dir.path().join("0002_x").join("rollback.sql"));
}

#[test]
fn new_refuses_what_it_cannot_place() {
    let now = at("2026-07-05T01:21:28Z");
    let empty = tempfile::tempdir().unwrap();
    for pattern in ["!*.sql", "#x", "*/[0-9]*/migration.sql", "fixed.sql"] {
        assert!(
            layout(pattern)
                .next_migration(empty.path(), "x", now)
                .is_err(),
            "{pattern}"
        );
    }
    // The name the shape gives must match: `[0-9]*` does, `[a-z]*` not.
    let new = layout("[0-9]*/migration.sql")
        .next_migration(empty.path(), "x", now)
        .unwrap();
    assert_eq!(new.name, "20260705012128_x/migration.sql");
    let err = layout("[a-z]*/migration.sql")
        .next_migration(empty.path(), "x", now)
        .unwrap_err();
    assert!(format!("{err:#}").contains("would not match"), "{err:#}");
    for description in ["", "a/b", "a\\b"] {
        assert!(Layout::default()
            .next_migration(empty.path(), description, now)
            .is_err());
    }
}

//! Unit tests for listing a migrations folder: which files wrangler runs,
//! under what names and in what order, and which are our rollbacks.

use super::*;

#[test]
fn drizzle_kit_folders_are_listed_by_timestamp_with_their_rollbacks() {
    let dir = folder(&[
        "20260705012128_old_thunderbolts/migration.sql",
        "20260705012128_old_thunderbolts/snapshot.json",
        "20260705012128_old_thunderbolts/rollback.sql",
        "20260801000000_brave_hulk/migration.sql",
        "20260801000000_brave_hulk/snapshot.json",
        "20260706090000_quiet_storm/migration.sql",
        "20260706090000_quiet_storm/snapshot.json",
        "meta/_journal.json",
        "meta/migration.json",
        "schema/AUTH.sql",
        "0099_stale_top_level.sql",
    ]);
    let layout = layout("*/migration.sql");
    let listed = layout.list(dir.path()).unwrap();
    assert_eq!(
        names(&listed),
        [
            "20260705012128_old_thunderbolts/migration.sql",
            "20260706090000_quiet_storm/migration.sql",
            "20260801000000_brave_hulk/migration.sql",
        ]
    );
    let first = &listed[0];
    assert_eq!(first.stem, "20260705012128_old_thunderbolts");
    assert_eq!(first.version, Version::Number(20260705012128));
    assert_eq!(
        first.path,
        dir.path()
            .join("20260705012128_old_thunderbolts")
            .join("migration.sql")
    );
    let rollback = dir
        .path()
        .join("20260705012128_old_thunderbolts")
        .join("rollback.sql");
    assert_eq!(
        first.kind,
        Kind::Up {
            rollback: Some(rollback.clone())
        }
    );
    assert_eq!(layout.rollback_path(first), rollback);
    // The pattern names the file, so rollback.sql beside it never matches.
    assert!(!layout.matches("20260705012128_old_thunderbolts/rollback.sql"));
    assert_eq!(listed[1].kind, Kind::Up { rollback: None });
    assert_eq!(
        layout.rollback_path(&listed[1]),
        dir.path()
            .join("20260706090000_quiet_storm")
            .join("rollback.sql")
    );
}

#[test]
fn prisma_folders_leave_the_lock_file_out() {
    let dir = folder(&[
        "migration_lock.toml",
        "20240101000000_init/migration.sql",
        "20240215093000_add_users/migration.sql",
    ]);
    let listed = layout("*/migration.sql").list(dir.path()).unwrap();
    assert_eq!(
        names(&listed),
        [
            "20240101000000_init/migration.sql",
            "20240215093000_add_users/migration.sql"
        ]
    );
    assert_eq!(listed[1].stem, "20240215093000_add_users");
    assert_eq!(listed[1].version.number(), Some(20240215093000));
}

#[test]
fn the_default_lists_top_level_sql_files_and_marks_rollbacks() {
    let dir = folder(&[
        "0000_a.sql",
        "0001_b.sql",
        "0001_b.rollback.sql",
        "0002_c.rollback.sql",
        "meta/_journal.json",
        "meta/0000_snapshot.json",
        "schema/AUTH.sql",
        "test_data/destroy.sql",
        ".hidden.sql",
        "README.md",
        "0003_upper.SQL",
    ]);
    let layout = Layout::default();
    assert_eq!(layout, Layout::new(None).unwrap());
    assert_eq!(layout.pattern(), "*.sql");
    let listed = layout.list(dir.path()).unwrap();
    // wrangler runs a rollback before its migration when neither is in
    // its ledger: `.r` sorts before `.s`.
    assert_eq!(
        names(&listed),
        [
            "0000_a.sql",
            "0001_b.rollback.sql",
            "0001_b.sql",
            "0002_c.rollback.sql"
        ]
    );
    assert_eq!(listed[0].stem, "0000_a");
    assert_eq!(listed[0].version, Version::Number(0));
    assert_eq!(listed[0].kind, Kind::Up { rollback: None });
    assert_eq!(
        layout.rollback_path(&listed[0]),
        dir.path().join("0000_a.rollback.sql")
    );
    assert_eq!(
        listed[1].kind,
        Kind::Rollback {
            of: Some("0001_b.sql".into())
        }
    );
    assert_eq!(listed[1].stem, "0001_b");
    assert_eq!(listed[1].version, Version::Number(1));
    assert_eq!(
        listed[2].kind,
        Kind::Up {
            rollback: Some(dir.path().join("0001_b.rollback.sql"))
        }
    );
    // A rollback without its migration.
    assert_eq!(listed[3].kind, Kind::Rollback { of: None });
    assert_eq!(listed[3].stem, "0002_c");
}

#[test]
fn folders_sort_by_their_leading_number_then_name() {
    let dir = folder(&[
        "10_y/migration.sql",
        "2_x/migration.sql",
        "2_a/migration.sql",
        "init/migration.sql",
        "1_a/migration.sql",
    ]);
    let listed = layout("*/migration.sql").list(dir.path()).unwrap();
    assert_eq!(
        names(&listed),
        [
            "1_a/migration.sql",
            "2_a/migration.sql",
            "2_x/migration.sql",
            "10_y/migration.sql",
            "init/migration.sql",
        ]
    );
    assert_eq!(listed[4].version, Version::Missing);
}

#[test]
fn globstar_patterns_reach_schema_snapshots_and_rollbacks() {
    let dir = folder(&[
        "0001_top.sql",
        "20260705012128_x/migration.sql",
        "20260705012128_x/rollback.sql",
        "feature/sub/0003_deep.sql",
        "schema/AUTH.sql",
        "node_modules/pkg/0001/migration.sql",
        ".git/0002.sql",
        "a/.hidden/0004.sql",
        "meta/_journal.json",
    ]);
    let layout = layout("**/*.sql");
    let listed = layout.list(dir.path()).unwrap();
    assert_eq!(
        names(&listed),
        [
            "0001_top.sql",
            "20260705012128_x/migration.sql",
            "20260705012128_x/rollback.sql",
            "feature/sub/0003_deep.sql",
            "node_modules/pkg/0001/migration.sql",
            "schema/AUTH.sql",
        ]
    );
    assert_eq!(
        listed[2].kind,
        Kind::Rollback {
            of: Some("20260705012128_x/migration.sql".into())
        }
    );
    assert_eq!(listed[2].stem, "20260705012128_x");
    assert_eq!(listed[3].stem, "feature/sub/0003_deep");
    assert_eq!(listed[3].version, Version::Number(3));
    assert_eq!(listed[5].stem, "schema/AUTH");
    assert_eq!(listed[5].version, Version::Missing);
    // `*/*.sql` reaches them too; `*/migration.sql` does not.
    let one_level = self::layout("*/*.sql").list(dir.path()).unwrap();
    assert!(names(&one_level).contains(&"schema/AUTH.sql"));
    assert!(!self::layout("*/migration.sql").matches("schema/AUTH.sql"));
}

#[test]
fn a_literal_folder_stays_in_the_ledger_name() {
    let dir = folder(&["sub/0001_x.sql", "sub/0002_y.sql", "should_be_ignored.sql"]);
    let listed = layout("sub/*.sql").list(dir.path()).unwrap();
    assert_eq!(names(&listed), ["sub/0001_x.sql", "sub/0002_y.sql"]);
    assert_eq!(listed[0].stem, "sub/0001_x");
    assert_eq!(listed[0].version, Version::Number(1));
    assert_eq!(
        layout("sub/*.sql").rollback_name("sub/0001_x.sql"),
        "sub/0001_x.rollback.sql"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_skipped_as_wrangler_skips_them() {
    let dir = folder(&["0001_a.sql", "real/migration.sql"]);
    std::os::unix::fs::symlink("0001_a.sql", dir.path().join("0002_link.sql")).unwrap();
    std::os::unix::fs::symlink("real", dir.path().join("0003_linked")).unwrap();
    assert_eq!(
        names(&Layout::default().list(dir.path()).unwrap()),
        ["0001_a.sql"]
    );
    assert_eq!(
        names(&layout("*/migration.sql").list(dir.path()).unwrap()),
        ["real/migration.sql"]
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_matching_file_name_that_is_not_utf8_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let dir = folder(&["0001_a.sql"]);
    let odd = std::ffi::OsStr::from_bytes(b"0002_\xff.txt");
    std::fs::write(dir.path().join(odd), "x").unwrap();
    assert_eq!(
        names(&Layout::default().list(dir.path()).unwrap()),
        ["0001_a.sql"]
    );
    let odd = std::ffi::OsStr::from_bytes(b"0002_\xff.sql");
    std::fs::write(dir.path().join(odd), "x").unwrap();
    let err = Layout::default().list(dir.path()).unwrap_err();
    assert!(format!("{err:#}").contains("not valid UTF-8"), "{err:#}");
}

#[test]
fn a_missing_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Layout::default()
        .list(&dir.path().join("nope"))
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot read the migrations folder"),
        "{err:#}"
    );
}

#[test]
fn versions_too_large_for_u64_are_told_apart() {
    let dir = folder(&[
        "123456789012345678901234567890_x.sql",
        "abc.sql",
        "18446744073709551615_max.sql",
    ]);
    let listed = Layout::default().list(dir.path()).unwrap();
    let versions: Vec<_> = listed.iter().map(|m| m.version).collect();
    assert_eq!(
        versions,
        [
            Version::Number(u64::MAX),
            Version::TooLarge,
            Version::Missing
        ]
    );
    let err = Layout::default()
        .next_migration(dir.path(), "next", at("2026-07-05T01:21:28Z"))
        .unwrap_err();
    assert!(format!("{err:#}").contains("too large"), "{err:#}");
}

#[test]
fn patterns_that_name_the_rollback_file_are_refused() {
    for pattern in [
        "*/rollback.sql",
        "*/{migration,rollback}.sql",
        "*/x.rollback.sql",
    ] {
        let err = Layout::new(Some(pattern)).unwrap_err();
        assert!(
            format!("{err:#}").contains("where rollbacks are kept"),
            "{pattern}: {err:#}"
        );
    }
    let err = Layout::new(Some("*/@(a|b).sql")).unwrap_err();
    assert!(format!("{err:#}").contains("not supported"), "{err:#}");
    let err = Layout::new(Some("*\\x.sql")).unwrap_err();
    assert!(format!("{err:#}").contains("backslash"), "{err:#}");
}

#[test]
fn two_migrations_in_one_folder_cannot_share_its_rollback() {
    let dir = folder(&["0001_a/migration.sql", "0001_a/up.sql"]);
    let err = layout("*/{migration,up}.sql").list(dir.path()).unwrap_err();
    assert!(format!("{err:#}").contains("folder of its own"), "{err:#}");
    // Under `**/*.sql` the second file keeps the flat convention.
    let listed = layout("**/*.sql").list(dir.path()).unwrap();
    assert_eq!(names(&listed), ["0001_a/migration.sql", "0001_a/up.sql"]);
    assert_eq!(
        layout("**/*.sql").rollback_name("0001_a/up.sql"),
        "0001_a/up.rollback.sql"
    );
}

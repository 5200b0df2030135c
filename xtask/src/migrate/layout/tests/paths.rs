//! Unit tests for wrangler's path rules: the order of migration paths, and
//! how `migrations_dir` and `migrations_pattern` are resolved and normalized.

use super::*;
use std::cmp::Ordering;

#[test]
fn compare_paths_is_wranglers_order() {
    fn sorted<'a>(items: &[&'a str]) -> Vec<&'a str> {
        let mut items = items.to_vec();
        items.sort_by(|a, b| compare_paths(a, b));
        items
    }
    assert_eq!(
        sorted(&["10_c.sql", "1_a.sql", "9_b.sql"]),
        ["1_a.sql", "9_b.sql", "10_c.sql"]
    );
    assert_eq!(
        sorted(&[
            "0001_posts/10_c.sql",
            "0001_posts/1_a.sql",
            "0001_posts/9_b.sql"
        ]),
        [
            "0001_posts/1_a.sql",
            "0001_posts/9_b.sql",
            "0001_posts/10_c.sql"
        ]
    );
    assert_eq!(
        sorted(&[
            "setup.sql",
            "0002_users.sql",
            "cleanup.sql",
            "0001_init.sql"
        ]),
        [
            "0001_init.sql",
            "0002_users.sql",
            "cleanup.sql",
            "setup.sql"
        ]
    );
    // parseInt: a sign and leading white space count, text after the
    // digits does not, and "-0" is 0.
    assert_eq!(
        sorted(&[
            "0_a.sql",
            "-1_b.sql",
            " 3_c.sql",
            "+2_d.sql",
            "1e5_e.sql",
            "-0_f.sql"
        ]),
        [
            "-1_b.sql",
            "-0_f.sql",
            "0_a.sql",
            "1e5_e.sql",
            "+2_d.sql",
            " 3_c.sql"
        ]
    );
    // Numbers past 2^53 compare as doubles: equal here, so the text decides.
    assert_eq!(
        sorted(&["9007199254740992_x", "09007199254740993_y"]),
        ["09007199254740993_y", "9007199254740992_x"]
    );
    // More digits than a double holds is no number at all: it sorts
    // with the unnumbered, by its text.
    let huge = format!("{}_x", "9".repeat(400));
    assert_eq!(sorted(&["a", &huge, "5_x"]), ["5_x", &huge, "a"]);
    // Text compares by UTF-16 units, as JavaScript's `<` does.
    assert_eq!(
        sorted(&["\u{ff61}", "\u{1f600}"]),
        ["\u{1f600}", "\u{ff61}"]
    );
    assert_eq!(
        compare_paths("0001_a", "0001_a/migration.sql"),
        Ordering::Less
    );
}

#[test]
fn resolve_pattern_checks_what_wrangler_checks() {
    let ok = |dir: Option<&str>, pattern: Option<&str>| resolve_pattern(dir, pattern).unwrap();
    assert_eq!(ok(None, None), None);
    assert_eq!(ok(Some("migrations"), None), None);
    assert_eq!(
        ok(Some("migrations"), Some("migrations/*.sql")).as_deref(),
        Some("*.sql")
    );
    assert_eq!(
        ok(Some("./migrations/"), Some("./migrations/*/migration.sql")).as_deref(),
        Some("*/migration.sql")
    );
    assert_eq!(
        ok(Some("db/migrations"), Some("db/migrations/**/*.sql")).as_deref(),
        Some("**/*.sql")
    );
    assert_eq!(
        ok(
            Some("C:\\some\\path"),
            Some("C:\\some\\path\\*\\migration.sql")
        )
        .as_deref(),
        Some("*/migration.sql")
    );
    assert_eq!(ok(Some("."), Some("./*.sql")).as_deref(), Some("*.sql"));
    assert_eq!(
        ok(Some("/abs/migrations"), Some("/abs/migrations/*.sql")).as_deref(),
        Some("*.sql")
    );
    assert_eq!(
        ok(Some("drizzle"), Some("drizzle/./x/../*/migration.sql")).as_deref(),
        Some("*/migration.sql")
    );
    let err = resolve_pattern(None, Some("migrations/*.sql")).unwrap_err();
    assert!(
        format!("{err:#}").contains("needs a `migrations_dir`"),
        "{err:#}"
    );
    for bad in [
        "schema/*.sql",
        "*.sql",
        "**/*.sql",
        "migrationsfoo/*.sql",
        "migrations",
    ] {
        let err = resolve_pattern(Some("migrations"), Some(bad)).unwrap_err();
        assert!(
            format!("{err:#}").contains("must start with `migrations/`"),
            "{bad}: {err:#}"
        );
    }
}

#[test]
fn normalize_path_is_wranglers() {
    assert_eq!(normalize_path("./migrations/"), "migrations");
    assert_eq!(normalize_path("a//b/./c/../d"), "a/b/d");
    assert_eq!(normalize_path("../x/*.sql"), "../x/*.sql");
    assert_eq!(normalize_path("a\\b"), "a/b");
    assert_eq!(normalize_path(""), ".");
    assert_eq!(normalize_path("./"), ".");
    assert_eq!(normalize_path("/a/../.."), "");
}

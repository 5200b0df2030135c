//! Folder layouts: a file wrangler created, a database with no migrations,
//! and a folder per migration (drizzle-kit 1.x, Prisma) read through
//! `migrations_pattern`, renumbered as folders.

use super::*;

#[test]
fn a_file_wrangler_created_is_applied_and_wrangler_agrees() {
    let p = Project::corpus("wrangler-created");
    p.migrate(&["up", "--no-backup"]).ok();
    let out = p.wrangler_with(&["d1", "migrations", "create", "DB", "add notes"], &[]);
    assert!(out.contains("0005_add_notes.sql"), "{out}");
    let file = p.path("migrations/0005_add_notes.sql");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("CREATE TABLE notes (id INTEGER PRIMARY KEY);\n");
    std::fs::write(&file, text).unwrap();
    p.migrate(&["up", "--no-backup"]).ok();
    assert!(p.tables("DB").contains(&"notes".to_owned()));
    p.migrate(&["status"]).ok();
    wrangler_has_nothing_to_apply(&p, "DB");
}

#[test]
fn a_database_with_no_migrations_is_a_database_with_none() {
    // Two databases with their own folders and a third (filled by a CMS at
    // run time) with no migrations_dir and no migrations/ folder at all.
    let p = Project::corpus("per-database");
    let mut config = std::fs::read_to_string(p.config_path()).unwrap();
    config.push_str(
        "\n[[d1_databases]]\nbinding = \"CMS\"\ndatabase_name = \"corpus-cms\"\n\
         database_id = \"5d0c9f3a-1b2e-4c7d-8e6f-9a0b1c2d3e4f\"\n",
    );
    std::fs::write(p.config_path(), config).unwrap();
    std::fs::rename(p.path("migrations"), p.path("db")).unwrap();
    let config = std::fs::read_to_string(p.config_path())
        .unwrap()
        .replace("\"migrations/", "\"db/");
    std::fs::write(p.config_path(), config).unwrap();
    p.migrate(&["up", "--no-backup"]).ok();
    assert_eq!(p.versions("USERS"), [1, 2]);
    let status = p.migrate(&["status"]).ok();
    assert_line(&status.stdout, &["(no migrations for this database)"]);
    let cms = p.migrate(&["status", "--db", "CMS"]).ok();
    assert!(
        cms.stdout.contains("=== CMS DATABASE ==="),
        "{}",
        cms.stdout
    );
    p.migrate(&["up", "--db", "CMS", "--no-backup"]).ok();
    p.migrate(&["check"]).ok();
}

/// Whether the wrangler under test reads `migrations_pattern` (4.98 and later).
fn wrangler_reads_patterns() -> bool {
    let output = wrangler_command().arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|word| word.matches('.').count() == 2)
        .unwrap_or_else(|| panic!("no version in {text:?}"));
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap());
    let (major, minor) = (parts.next().unwrap(), parts.next().unwrap());
    (major, minor) >= (4, 98)
}

/// A folder per migration (drizzle-kit 1.x, Prisma) read through
/// `migrations_pattern` exactly as wrangler reads it: ours first, then
/// wrangler finds nothing to run; a new migration with its rollback; and,
/// with a wrangler that reads the pattern, wrangler first and ours after.
fn nested(corpus: &str, folder: &str, first: &str, tables: &[&str]) {
    let p = Project::corpus(corpus);
    let run = p.migrate(&["up", "--no-backup"]).ok();
    assert!(!run.all().contains("no migrations for"), "{}", run.all());
    for table in tables {
        assert!(p.tables("DB").contains(&table.to_string()), "{table}");
    }
    let names = ledger_names(&p, "DB");
    assert_eq!(names[0], format!("{first}/migration.sql"), "{names:?}");
    let rows = p.query("DB", "SELECT name FROM _migrations ORDER BY version");
    assert_eq!(rows[0]["name"].as_str(), Some(first));
    wrangler_has_nothing_to_apply(&p, "DB");
    let status = p.migrate(&["status"]).ok();
    assert_line(&status.stdout, &["✅ Applied", first]);

    // `new` writes a folder as the ORM does, and the rollback beside it.
    let new = p.migrate(&["new", "add notes"]).ok();
    let created: Vec<&str> = new
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Created "))
        .collect();
    assert!(
        created[0].contains(&format!("{folder}/"))
            && created[0].ends_with("_add_notes/migration.sql (DB)"),
        "{}",
        new.stdout
    );
    assert!(
        created[1].ends_with("_add_notes/rollback.sql"),
        "{}",
        new.stdout
    );
    let up = created[0].trim_end_matches(" (DB)");
    std::fs::write(up, "CREATE TABLE notes (id INTEGER PRIMARY KEY);\n").unwrap();
    std::fs::write(created[1], "DROP TABLE notes;\n").unwrap();
    p.migrate(&["up", "--no-backup"]).ok();
    assert!(p.tables("DB").contains(&"notes".to_owned()));
    wrangler_has_nothing_to_apply(&p, "DB");
    let newest = *p.versions("DB").last().unwrap();
    let below = p.versions("DB")[p.versions("DB").len() - 2];
    p.migrate(&["down", &below.to_string(), "--no-backup"]).ok();
    assert!(!p.tables("DB").contains(&"notes".to_owned()));
    assert!(!p.versions("DB").contains(&newest));
    p.migrate(&["up", "--no-backup"]).ok();
    p.migrate(&["status"]).ok();

    if wrangler_reads_patterns() {
        let q = Project::corpus(corpus);
        q.wrangler_with(&["d1", "migrations", "apply", "DB", "--local"], &[]);
        let run = q.migrate(&["up", "--no-backup"]).ok();
        assert!(
            !run.all().contains("apply v"),
            "nothing runs again: {}",
            run.all()
        );
        let adopted = q.query("DB", "SELECT count(*) AS n FROM _migrations");
        assert_eq!(adopted[0]["n"].as_u64(), Some(names.len() as u64));
        q.migrate(&["status"]).ok();
    }
}

#[test]
fn nested_drizzle_kit_folders_are_read_through_migrations_pattern() {
    nested(
        "drizzle-folders",
        "drizzle",
        "20260705012128_old_thunderbolts",
        &["users", "tags"],
    );
}

#[test]
fn nested_prisma_folders_are_read_through_migrations_pattern() {
    nested(
        "prisma-folders",
        "prisma/migrations",
        "20240101000000_init",
        &["User", "Profile"],
    );
}

#[test]
fn nested_folders_that_meet_in_a_merge_are_renumbered_as_folders() {
    let p = Project::corpus("drizzle-folders");
    p.migrate(&["up", "--no-backup"]).ok();
    // The merged branch's folder has the applied one's timestamp and comes
    // first by name: the applied one still stays.
    p.write(
        "drizzle/20260801090000_a_reports/migration.sql",
        "CREATE TABLE `reports` (`id` integer PRIMARY KEY NOT NULL);\n",
    );
    p.write(
        "drizzle/20260801090000_a_reports/rollback.sql",
        "DROP TABLE `reports`;\n",
    );
    p.migrate(&["status"]).fails();
    let run = p.migrate(&["renumber"]).ok();
    assert_line(
        &run.stdout,
        &["20260801090000_a_reports", "20260801090001_a_reports"],
    );
    assert!(p
        .path("drizzle/20260801090000_seed_tags/migration.sql")
        .is_file());
    assert!(p
        .path("drizzle/20260801090001_a_reports/rollback.sql")
        .is_file());
    p.migrate(&["up", "--no-backup"]).ok();
    assert!(p.tables("DB").contains(&"reports".to_owned()));
    p.migrate(&["status"]).ok();
    wrangler_has_nothing_to_apply(&p, "DB");
}

//! A team's week: files renamed or deleted before they ran, a failed
//! migration fixed or replaced, branches switched both ways, two branches'
//! versions merged, a file made by wrangler itself, a database with no
//! migrations. Each sequence ends with `status` exiting 0 and no repair
//! command run. The real binary and wrangler on local D1.

use crate::common::*;

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

/// The rows of wrangler's ledger in `binding`: (name, applied_at).
fn ledger(p: &Project, binding: &str, table: &str) -> Vec<(String, String)> {
    p.query(
        binding,
        &format!("SELECT name, applied_at FROM {table} ORDER BY id"),
    )
    .iter()
    .map(|row| {
        (
            row["name"].as_str().unwrap().to_owned(),
            row["applied_at"].as_str().unwrap().to_owned(),
        )
    })
    .collect()
}

fn ledger_names(p: &Project, binding: &str) -> Vec<String> {
    ledger(p, binding, "d1_migrations")
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// wrangler's own `d1 migrations apply` finds nothing to run in `binding`.
fn wrangler_has_nothing_to_apply(p: &Project, binding: &str) {
    let out = p.wrangler_with(&["d1", "migrations", "apply", binding, "--local"], &[]);
    assert!(out.contains("No migrations to apply"), "{binding}: {out}");
}

fn rename(p: &Project, from: &str, to: &str) {
    std::fs::rename(p.path(from), p.path(to)).unwrap();
}

#[test]
fn renaming_or_deleting_a_migration_that_never_ran_wedges_no_database() {
    let p = Project::seed();
    p.migrate(&["new", "add user tier", "--db", AUTH]).ok();
    p.write(
        "migrations/0007_add_user_tier.sql",
        "-- database: AUTH\nALTER TABLE api_keys ADD COLUMN tier TEXT;\n",
    );
    p.write(
        "migrations/0007_add_user_tier.rollback.sql",
        "ALTER TABLE api_keys DROP COLUMN tier;\n",
    );
    p.migrate(&["up", "6", "--no-backup"]).ok();
    // The other database's ledger keeps wrangler away from the new file,
    // with a row dated as never applied.
    let guards = ledger(&p, RR, "d1_migrations");
    assert!(
        guards.contains(&(
            "0007_add_user_tier.sql".into(),
            "1970-01-01 00:00:00".into()
        )),
        "{guards:?}"
    );
    wrangler_has_nothing_to_apply(&p, RR);

    // Renamed before it ships: nothing stops, the old guard row goes.
    rename(
        &p,
        "migrations/0007_add_user_tier.sql",
        "migrations/0007_add_customer_tier.sql",
    );
    rename(
        &p,
        "migrations/0007_add_user_tier.rollback.sql",
        "migrations/0007_add_customer_tier.rollback.sql",
    );
    let run = p.migrate(&["up", "6", "--no-backup"]).ok();
    assert!(!run.all().contains("baseline"), "{}", run.all());
    let names = ledger_names(&p, RR);
    assert!(
        !names.contains(&"0007_add_user_tier.sql".to_owned())
            && names.contains(&"0007_add_customer_tier.sql".to_owned()),
        "{names:?}"
    );
    assert_eq!(p.versions(AUTH), [2, 4, 5]);

    // Deleted: its guard rows go too, and a run with work goes through.
    p.remove("migrations/0007_add_customer_tier.sql");
    p.remove("migrations/0007_add_customer_tier.rollback.sql");
    p.migrate(&["new", "add billing", "--db", AUTH]).ok();
    p.write(
        "migrations/0007_add_billing.sql",
        "-- database: AUTH\nCREATE TABLE billing (id INTEGER PRIMARY KEY);\n",
    );
    p.write(
        "migrations/0007_add_billing.rollback.sql",
        "DROP TABLE billing;\n",
    );
    p.migrate(&["up", "--no-backup"]).ok();
    assert_eq!(p.versions(AUTH), [2, 4, 5, 7]);
    for binding in [RR, AUTH] {
        let names = ledger_names(&p, binding);
        assert!(
            !names.iter().any(|n| n.contains("customer_tier")),
            "{binding}: {names:?}"
        );
        wrangler_has_nothing_to_apply(&p, binding);
    }
    let status = p.migrate(&["status"]).ok();
    assert!(
        status.stdout.contains("✅ Applied - v7: 0007_add_billing"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_stale_guard_row_an_older_run_wrote_is_known_and_removed() {
    // What runs before guard rows were dated left behind after a rename:
    // a row for a version the other database's file holds.
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    p.query(
        RR,
        "INSERT INTO d1_migrations (name) VALUES ('0007_add_user_tier.sql')",
    );
    p.write(
        "migrations/0007_add_customer_tier.sql",
        "-- database: AUTH\nALTER TABLE api_keys ADD COLUMN tier TEXT;\n",
    );
    p.forget_hints(&[RR, AUTH]);
    p.migrate(&["status"]).ok();
    p.migrate(&["up", "--no-backup"]).ok();
    assert!(!ledger_names(&p, RR).contains(&"0007_add_user_tier.sql".to_owned()));
    p.migrate(&["status"]).ok();
}

#[test]
fn a_per_database_folder_survives_a_rename_and_a_migration_wrangler_applied_is_never_rerun() {
    let p = Project::corpus("per-database");
    p.migrate(&["up", "--no-backup"]).ok();
    p.write(
        "migrations/users/0003_profiles.sql",
        "CREATE TABLE profiles (id INTEGER PRIMARY KEY);\n",
    );
    rename(
        &p,
        "migrations/users/0003_profiles.sql",
        "migrations/users/0003_user_profiles.sql",
    );
    p.migrate(&["up", "--no-backup"]).ok();
    p.migrate(&["status"]).ok();

    // wrangler applies a file, which is then renamed: the run stops rather
    // than run it twice, and names the one command that records the name.
    p.write(
        "migrations/users/0004_avatars.sql",
        "CREATE TABLE avatars (id INTEGER PRIMARY KEY);\n",
    );
    p.wrangler_with(&["d1", "migrations", "apply", "USERS", "--local"], &[]);
    rename(
        &p,
        "migrations/users/0004_avatars.sql",
        "migrations/users/0004_user_avatars.sql",
    );
    let run = p.migrate(&["up", "--no-backup"]).fails();
    assert_line(
        &run.all(),
        &[
            "wrangler applied 0004_avatars.sql",
            "mark 4 --renamed --db USERS",
        ],
    );
    assert!(!run.all().contains("baseline"), "{}", run.all());
    p.migrate(&["mark", "4", "--renamed", "--db", "USERS"]).ok();
    p.migrate(&["up", "--no-backup"]).ok();
    p.migrate(&["status"]).ok();
    let names = ledger_names(&p, "USERS");
    assert!(
        names.contains(&"0004_user_avatars.sql".to_owned())
            && !names.contains(&"0004_avatars.sql".to_owned()),
        "{names:?}"
    );
    assert_eq!(p.versions("USERS"), [1, 2, 3, 4]);
    wrangler_has_nothing_to_apply(&p, "USERS");
}

#[test]
fn a_failed_migration_is_fixed_in_place_or_replaced() {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    // Fixed in place.
    p.write(
        "migrations/0007_add_tier.sql",
        "-- database: AUTH\nALTER TABLE no_such_table ADD COLUMN tier TEXT;\n",
    );
    p.migrate(&["up", "--no-backup"]).fails();
    p.write(
        "migrations/0007_add_tier.sql",
        "-- database: AUTH\nALTER TABLE api_keys ADD COLUMN tier TEXT;\n",
    );
    p.migrate(&["up", "--no-backup"]).ok();
    assert!(p.columns(AUTH, "api_keys").contains(&"tier".to_owned()));
    p.migrate(&["status"]).ok();

    // Replaced: the failing file deleted, another written under its version.
    p.write(
        "migrations/0008_bad_index.sql",
        "CREATE INDEX nope ON no_such_table(x);\n",
    );
    p.migrate(&["up", "--no-backup"]).fails();
    p.remove("migrations/0008_bad_index.sql");
    p.write(
        "migrations/0008_task_index.sql",
        "CREATE INDEX IF NOT EXISTS idx_tasks_status ON tasks(status);\n",
    );
    p.migrate(&["up", "--no-backup"]).ok();
    assert_eq!(p.versions(RR), [1, 3, 6, 8]);
    p.migrate(&["status"]).ok();
    for binding in [RR, AUTH] {
        wrangler_has_nothing_to_apply(&p, binding);
    }
}

#[test]
fn switching_branches_both_ways_rolls_back_from_the_stored_sql() {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    // On a feature branch: a migration with its rollback, applied.
    let feature = [
        (
            "migrations/0007_add_user_tier.sql",
            "-- database: AUTH\nCREATE TABLE tiers (id INTEGER PRIMARY KEY);\nALTER TABLE api_keys ADD COLUMN tier TEXT;\n",
        ),
        (
            "migrations/0007_add_user_tier.rollback.sql",
            "ALTER TABLE api_keys DROP COLUMN tier;\nDROP TABLE tiers;\n",
        ),
    ];
    for (path, text) in feature {
        p.write(path, text);
    }
    p.migrate(&["up", "--no-backup"]).ok();
    let stored = p.query(
        AUTH,
        "SELECT sql, rollback_sql FROM _migrations WHERE version = 7",
    );
    assert_eq!(stored[0]["sql"].as_str(), Some(feature[0].1));
    assert_eq!(stored[0]["rollback_sql"].as_str(), Some(feature[1].1));

    // Back on main: the files are gone. status says what it is and how to
    // roll it back, and does not fail; up goes on.
    for (path, _) in feature {
        p.remove(path);
    }
    let status = p.migrate(&["status"]).ok();
    assert_line(
        &status.stdout,
        &[
            "Applied, not in this checkout - v7: 0007_add_user_tier",
            "cargo migrate down 5 --db AUTH",
        ],
    );
    let json = p.migrate(&["status", "--json"]).ok();
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let v7 = &report["databases"][1]["migrations"][3];
    assert_eq!(
        (v7["version"].as_u64(), v7["not_in_checkout"].as_bool()),
        (Some(7), Some(true)),
        "{report}"
    );
    p.migrate(&["up", "--no-backup"]).ok();
    p.migrate(&["verify"]).ok();

    // `down` rolls it back with the stored rollback.
    let down = p.migrate(&["down", "5", "--db", AUTH, "--no-backup"]).ok();
    assert_line(
        &down.stdout,
        &["v7 0007_add_user_tier", "not in this checkout", "stored"],
    );
    assert_eq!(p.versions(AUTH), [2, 4, 5]);
    assert!(!p.tables(AUTH).contains(&"tiers".to_owned()));
    assert!(!p.columns(AUTH, "api_keys").contains(&"tier".to_owned()));
    assert!(!ledger_names(&p, AUTH).contains(&"0007_add_user_tier.sql".to_owned()));
    p.migrate(&["status"]).ok();

    // And to the feature branch again: it applies once more.
    for (path, text) in feature {
        p.write(path, text);
    }
    p.migrate(&["up", "--no-backup"]).ok();
    assert_eq!(p.versions(AUTH), [2, 4, 5, 7]);
    p.migrate(&["status"]).ok();
    wrangler_has_nothing_to_apply(&p, AUTH);
}

#[test]
fn an_edited_applied_migration_is_shown_as_a_diff_from_what_was_applied() {
    let p = Project::seed();
    p.write(
        "migrations/0007_add_tier.sql",
        "-- database: AUTH\nALTER TABLE api_keys ADD COLUMN tier TEXT;\n",
    );
    p.migrate(&["up", "--no-backup"]).ok();
    p.write(
        "migrations/0007_add_tier.sql",
        "-- database: AUTH\nALTER TABLE api_keys ADD COLUMN tier INTEGER;\n",
    );
    // No git here: what was applied comes from the database.
    let run = p.migrate(&["verify", "--db", AUTH]).fails();
    assert_line(
        &run.all(),
        &["- ALTER TABLE api_keys ADD COLUMN tier TEXT;"],
    );
    assert_line(
        &run.all(),
        &["+ ALTER TABLE api_keys ADD COLUMN tier INTEGER;"],
    );
    // Put back, with a comment more: a cosmetic edit, recorded without git.
    p.write(
        "migrations/0007_add_tier.sql",
        "-- database: AUTH\n-- tiers: free, pro\nALTER TABLE api_keys ADD COLUMN tier TEXT;\n",
    );
    p.migrate(&["up", "--no-backup"]).fails();
    p.migrate(&["mark", "7", "--checksum", "--db", AUTH]).ok();
    p.migrate(&["status"]).ok();
    p.migrate(&["verify"]).ok();
}

#[test]
fn two_branches_that_each_add_a_version_meet_and_renumber_moves_the_unapplied_one() {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    // This branch's 0007 is applied here; the merged branch brings another.
    p.write(
        "migrations/0007_add_billing.sql",
        "-- database: AUTH\nCREATE TABLE billing (id INTEGER PRIMARY KEY);\n",
    );
    p.write(
        "migrations/0007_add_billing.rollback.sql",
        "DROP TABLE billing;\n",
    );
    p.migrate(&["up", "--no-backup"]).ok();
    p.write(
        "migrations/0007_a_reports.sql",
        "CREATE TABLE reports (id INTEGER PRIMARY KEY);\n",
    );
    p.write(
        "migrations/0007_a_reports.rollback.sql",
        "DROP TABLE reports;\n",
    );
    for command in [&["check"][..], &["status"], &["up", "--no-backup"]] {
        let run = p.migrate(command).fails();
        assert_line(
            &run.all(),
            &[
                "0007_a_reports.sql",
                "0007_add_billing.sql",
                "cargo migrate renumber",
            ],
        );
    }
    // The applied one stays, though the other comes first by name.
    let run = p.migrate(&["renumber"]).ok();
    assert_line(&run.stdout, &["0007_a_reports.sql", "0008_a_reports.sql"]);
    assert!(p.path("migrations/0008_a_reports.rollback.sql").is_file());
    assert!(p.path("migrations/0007_add_billing.sql").is_file());
    p.migrate(&["up", "--no-backup"]).ok();
    assert_eq!(p.versions(RR), [1, 3, 6, 8]);
    assert_eq!(p.versions(AUTH), [2, 4, 5, 7]);
    p.migrate(&["status"]).ok();
    p.migrate(&["renumber"]).ok();
}

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

//! Branches: a failed migration fixed or replaced, branches switched both
//! ways, an applied migration edited, and two branches' versions merged.

use super::*;

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
    let down = format!(
        "cargo migrate down 5 --config {} --db AUTH",
        p.config_path().display()
    );
    assert_line(
        &status.stdout,
        &[
            "Applied, not in this checkout - v7: 0007_add_user_tier",
            &down,
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

//! Files renamed or deleted before they ran, and a file wrangler applied
//! then renamed: no database is wedged, nothing runs twice.

use super::*;

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
    // The command reaches this project (its own config) from anywhere.
    let mark = format!(
        "mark 4 --renamed --config {} --db USERS",
        p.config_path().display()
    );
    assert_line(&run.all(), &["wrangler applied 0004_avatars.sql", &mark]);
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

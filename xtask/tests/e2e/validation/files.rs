//! The migrations folder and the wrangler config: every way they can be
//! wrong is refused with an error naming the file, before wrangler runs;
//! and `new`, which writes the next pair.

use super::*;

// ---------------------------------------------------------------------------
// 1. The folder and the config

#[test]
fn a_file_without_a_version_is_an_error_naming_it_and_nothing_else() {
    let p = Project::seed();
    p.write(
        "migrations/seed-data.sql",
        "CREATE TABLE IF NOT EXISTS a (x);\n",
    );
    let run = up_fails(&p);
    assert_line(
        &run.stderr,
        &["seed-data.sql", "does not start with a version number"],
    );
    // One problem, not a follow-on one about the sequence it does not join.
    assert!(!run.stderr.contains("problems"), "{}", run.stderr);
    assert_wrangler_not_run(&p);
    assert!(!p.tables("READ_REPLICA").contains(&"_migrations".to_owned()));
}

#[test]
fn names_as_wrangler_writes_them_are_accepted() {
    let p = Project::seed();
    p.write(
        "migrations/0007_Add-Notes.sql",
        "CREATE TABLE IF NOT EXISTS notes (x);\n",
    );
    p.write(
        "migrations/0007_Add-Notes.rollback.sql",
        "DROP TABLE IF EXISTS notes;\n",
    );
    let run = p.migrate(&["check"]).ok();
    assert!(
        run.stdout.contains("7 migrations checked"),
        "{}",
        run.stdout
    );
    assert_wrangler_not_run(&p);
}

#[test]
fn non_numeric_version_is_an_error_naming_the_file() {
    let p = Project::seed();
    p.write(
        "migrations/abcd_add.sql",
        "CREATE TABLE IF NOT EXISTS a (x);\n",
    );
    let run = up_fails(&p);
    assert_line(&run.stderr, &["abcd_add.sql", "version number"]);
    assert_wrangler_not_run(&p);
}

#[test]
fn duplicate_version_is_an_error_naming_both_files() {
    let p = Project::seed();
    p.write(
        "migrations/0007_add_a.sql",
        "CREATE TABLE IF NOT EXISTS a (x);\n",
    );
    p.write(
        "migrations/0007_add_b.sql",
        "CREATE TABLE IF NOT EXISTS b (x);\n",
    );
    let run = up_fails(&p);
    assert_line(
        &run.stderr,
        &["0007_add_a.sql", "0007_add_b.sql", "version 7"],
    );
    assert_wrangler_not_run(&p);
}

#[test]
fn version_gap_is_an_error_naming_the_file_and_the_expected_version() {
    let p = Project::seed();
    p.write(
        "migrations/0008_add_a.sql",
        "CREATE TABLE IF NOT EXISTS a (x);\n",
    );
    let run = up_fails(&p);
    assert_line(
        &run.stderr,
        &[
            "0008_add_a.sql",
            "0006_add_task_user_id.sql",
            "expected version 7",
        ],
    );
    assert_wrangler_not_run(&p);
}

#[test]
fn unknown_binding_in_header_is_an_error_naming_file_and_binding() {
    let p = Project::seed();
    p.write(
        "migrations/0007_invoices.sql",
        "-- Invoices.\n-- database: BILLING\nCREATE TABLE IF NOT EXISTS invoices (id INTEGER);\n",
    );
    let run = up_fails(&p);
    assert_line(
        &run.stderr,
        &["0007_invoices.sql", "BILLING", "does not declare"],
    );
    assert_wrangler_not_run(&p);
}

#[test]
fn database_missing_from_wrangler_toml_is_an_error() {
    let p = Project::seed();
    p.write(
        "wrangler.toml",
        "name = \"nanotype\"\ncompatibility_date = \"2025-11-01\"\n\n\
         [[d1_databases]]\nbinding = \"READ_REPLICA\"\ndatabase_name = \"nanotype-read-replica\"\n\
         database_id = \"8f2c1d4e-5a6b-4c7d-9e0f-1a2b3c4d5e6f\"\n",
    );
    let run = up_fails(&p);
    // migrate.toml routes api_keys (and rooms, permissions) to AUTH.
    assert_line(
        &run.stderr,
        &["0002_api_keys.sql", "AUTH", "does not declare"],
    );
    assert!(run.stderr.contains("wrangler.toml"), "{}", run.stderr);
    assert_wrangler_not_run(&p);
    // READ_REPLICA, which is declared, got none of its migrations either.
    assert_nothing_applied(&p, &["READ_REPLICA"]);
}

#[test]
fn missing_wrangler_config_is_an_error_naming_the_path() {
    let p = Project::seed();
    p.remove("wrangler.toml");
    let run = up_fails(&p);
    let config = p.path("wrangler.toml").display().to_string();
    assert_line(&run.stderr, &[&config, "--config"]);
    assert_wrangler_not_run(&p);
}

#[test]
fn non_utf8_file_is_an_error_naming_the_file() {
    let p = Project::seed();
    p.write(
        "migrations/0007_add_a.sql",
        b"CREATE TABLE IF NOT EXISTS a (x TEXT DEFAULT '\xff');\n",
    );
    let run = up_fails(&p);
    assert_line(&run.stderr, &["0007_add_a.sql", "UTF-8"]);
    assert_wrangler_not_run(&p);
}

#[test]
fn empty_file_is_reported_by_check_and_stops_up() {
    let p = Project::seed();
    p.write("migrations/0007_empty.sql", "");
    p.write("migrations/0007_empty.rollback.sql", "SELECT 1;\n");
    let check = p.migrate(&["check"]).fails();
    assert_line(
        &check.stdout,
        &["0007_empty.sql:1:", "error", "no SQL statements"],
    );
    let up = up_fails(&p);
    assert_line(&up.stderr, &["0007_empty.sql:1", "no SQL statements"]);
    assert_nothing_applied(&p, &BOTH);
}

#[test]
fn comment_only_file_is_reported_by_check() {
    let p = Project::seed();
    p.write(
        "migrations/0007_later.sql",
        "-- Migration 0007: to be written; some day.\n/* CREATE TABLE t (a); */\n\n",
    );
    p.write("migrations/0007_later.rollback.sql", "SELECT 1;\n");
    let check = p.migrate(&["check"]).fails();
    assert_line(
        &check.stdout,
        &["0007_later.sql:1:", "error", "no SQL statements"],
    );
    // The other files are fine: that is the only error.
    assert_eq!(
        check.stdout.matches(": error: ").count(),
        1,
        "{}",
        check.stdout
    );
    assert_wrangler_not_run(&p);
}

// ---------------------------------------------------------------------------
// 9. `new`

#[test]
fn new_creates_the_next_pair_and_check_names_its_empty_template() {
    let p = Project::seed();
    let run = p.migrate(&["new", "Add user tier"]).ok();
    let up = p.path("migrations/0007_add_user_tier.sql");
    let down = p.path("migrations/0007_add_user_tier.rollback.sql");
    assert!(up.is_file() && down.is_file(), "{}", run.all());
    // migrate.toml routes user_tier to AUTH.
    assert_line(&run.stdout, &["0007_add_user_tier.sql", "AUTH"]);

    // The template holds comments only: check says so, and says nothing else is wrong.
    let check = p.migrate(&["check"]).fails();
    assert_line(
        &check.stdout,
        &["0007_add_user_tier.sql:1:", "error", "no SQL statements"],
    );
    for line in check.stdout.lines().filter(|l| l.contains(": error: ")) {
        assert!(
            line.contains("0007_add_user_tier") && line.contains("no SQL statements"),
            "unexpected error: {line}\n{}",
            check.stdout
        );
    }
    assert_wrangler_not_run(&p);
}

#[test]
fn new_with_an_unknown_database_fails_naming_it() {
    let p = Project::seed();
    let run = p.migrate(&["new", "x", "--db", "NOPE"]).fails();
    assert!(run.stderr.contains("NOPE"), "{}", run.stderr);
    assert!(!p.path("migrations/0007_x.sql").exists());
    assert!(!p.path("migrations/0007_x.rollback.sql").exists());
}

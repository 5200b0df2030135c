//! End-to-end validation: every way a migrations folder, a wrangler config or
//! wrangler itself can be wrong is refused with a clear error, and nothing is
//! applied; and the SQL that looks tricky (CRLF, BOM, `;` in strings, comments
//! and trigger bodies) goes through intact.

use crate::common::*;

use std::path::PathBuf;

use serde_json::Value;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------
// Helpers

/// Asserts that no database of `p` holds an applied migration. When the run
/// never started wrangler at all (no `.wrangler/` beside the config), that is
/// proof enough and costs no wrangler call.
fn assert_nothing_applied(p: &Project, bindings: &[&str]) {
    if !p.path(".wrangler").exists() {
        return;
    }
    for binding in bindings {
        assert_eq!(
            p.versions(binding),
            Vec::<u64>::new(),
            "{binding} was written to"
        );
    }
}

/// Asserts that wrangler never ran against this project's local D1 (the
/// run's own line in `.wrangler/migrate/history.jsonl` is not wrangler's).
fn assert_wrangler_not_run(p: &Project) {
    assert!(
        !p.path(".wrangler/state").exists(),
        "wrangler touched the local D1 although the run should have stopped before any call"
    );
}

/// Writes an executable shell script into the project and returns its path.
fn script(p: &Project, name: &str, body: &str) -> PathBuf {
    let path = p.path(name);
    std::fs::write(&path, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs `up`, which must fail cleanly and report nothing as applied.
fn up_fails(p: &Project) -> Run {
    let run = p.migrate(&["up"]).fails();
    assert!(
        !run.stdout.contains("✅"),
        "something was reported applied:\n{}",
        run.all()
    );
    run
}

const BOTH: [&str; 2] = ["READ_REPLICA", "AUTH"];
const SEED_RR: [u64; 3] = [1, 3, 6];
const SEED_AUTH: [u64; 3] = [2, 4, 5];

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
// 2. D1 lint

/// Adds `0007_<name>.sql` (with a harmless rollback) to a seed project, then
/// expects `check` to report `want` at `0007_<name>.sql:<line>` and `up` to
/// refuse with the same, applying nothing. Returns what `check` printed.
fn lint_stops_up(name: &str, sql: &str, line: usize, want: &[&str]) -> Run {
    let p = Project::seed();
    let file = format!("0007_{name}.sql");
    p.write(&format!("migrations/{file}"), sql);
    p.write(
        &format!("migrations/0007_{name}.rollback.sql"),
        "SELECT 1;\n",
    );
    let at = format!("{file}:{line}:");

    let check = p.migrate(&["check"]).fails();
    let mut needles = vec![&at[..], "error"];
    needles.extend(want);
    assert_line(&check.stdout, &needles);

    let up = up_fails(&p);
    let mut needles = vec![&at[..]];
    needles.extend(want);
    assert_line(&up.stderr, &needles);
    assert_nothing_applied(&p, &BOTH);
    check
}

#[test]
fn begin_and_commit_statements_stop_up_and_are_reported_with_line() {
    let sql = "BEGIN;\nCREATE TABLE IF NOT EXISTS notes (id INTEGER);\nCOMMIT;\n";
    let check = lint_stops_up("tx", sql, 1, &["BEGIN"]);
    // Both statements are reported, each at its own line.
    assert_line(&check.stdout, &["0007_tx.sql:3:", "error", "COMMIT"]);
}

#[test]
fn add_column_if_not_exists_stops_up_and_says_what_to_write() {
    lint_stops_up(
        "add_x",
        "-- Adds x.\nALTER TABLE tasks ADD COLUMN IF NOT EXISTS x TEXT;\n",
        2,
        &["ADD COLUMN IF NOT EXISTS", "ALTER TABLE"],
    );
}

#[test]
fn statement_over_100000_bytes_stops_up() {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS big (v TEXT);\nINSERT INTO big (v) VALUES ('{}');\n",
        "x".repeat(100_001)
    );
    lint_stops_up("big", &sql, 2, &["100,000 bytes"]);
}

#[test]
fn check_passes_on_the_seed_migrations() {
    let p = Project::seed();
    let run = p.migrate(&["check"]).ok();
    assert!(!run.stdout.contains(": error: "), "{}", run.all());
    assert!(run.stdout.contains("0 errors"), "{}", run.stdout);
    // The shipped migrations are exemplary: no warnings either.
    p.migrate(&["check", "--strict"]).ok();
    assert_wrangler_not_run(&p);
}

#[test]
fn missing_rollback_is_a_warning_and_strict_makes_it_an_error() {
    let p = Project::seed();
    p.remove("migrations/0006_add_task_user_id.rollback.sql");
    let plain = p.migrate(&["check"]).ok();
    assert_line(
        &plain.stdout,
        &[
            "warning",
            "1 migration has no rollback file",
            "0006_add_task_user_id",
        ],
    );
    assert!(!plain.stdout.contains(": error: "), "{}", plain.stdout);

    let strict = p.migrate(&["check", "--strict"]).fails();
    assert_line(
        &strict.stdout,
        &["error", "no rollback file", "0006_add_task_user_id"],
    );
    assert_wrangler_not_run(&p);
}

// ---------------------------------------------------------------------------
// 3–5. The record and the files disagree

#[test]
fn modified_applied_migration_stops_up_and_shows_as_modified() {
    let p = Project::seed();
    p.migrate(&["up"]).ok();
    let path = "migrations/0002_api_keys.sql";
    let original = std::fs::read_to_string(p.path(path)).unwrap();
    p.write(
        path,
        format!("{original}\nCREATE INDEX IF NOT EXISTS idx_api_keys_name ON api_keys(name);\n"),
    );
    // A pending migration in the other database must not be applied either.
    p.write(
        "migrations/0007_notes.sql",
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER);\n",
    );
    p.write(
        "migrations/0007_notes.rollback.sql",
        "DROP TABLE IF EXISTS notes;\n",
    );

    let run = up_fails(&p);
    assert_line(&run.stderr, &["0002_api_keys", "changed"]);
    assert_eq!(p.versions("READ_REPLICA"), SEED_RR);
    assert_eq!(p.versions("AUTH"), SEED_AUTH);

    // Shown, and a failure: CI notices.
    let status = p.migrate(&["status"]).fails();
    assert!(
        status.stdout.contains("✏️ Modified - v2: 0002_api_keys"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("⏳ Pending - v7: 0007_notes"),
        "{}",
        status.stdout
    );

    let json = p.migrate(&["status", "--json"]).fails();
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let state = |binding: &str, version: u64| -> String {
        let db = report["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|db| db["binding"] == binding)
            .unwrap_or_else(|| panic!("no {binding} in {report}"));
        let m = db["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["version"] == version)
            .unwrap_or_else(|| panic!("no v{version} in {db}"));
        m["state"].as_str().unwrap().to_owned()
    };
    assert_eq!(state("AUTH", 2), "modified");
    assert_eq!(state("AUTH", 4), "applied");
    assert_eq!(state("READ_REPLICA", 7), "pending");
}

#[test]
fn applied_migration_whose_file_is_gone_is_shown_as_applied_elsewhere_and_runs_nothing() {
    // The database stored its SQL when it was applied: a file missing from
    // this checkout is one applied on another branch, not an error. (A row
    // without stored SQL still stops `up`: see team.rs.)
    let p = Project::seed();
    p.migrate(&["up"]).ok();
    p.remove("migrations/0006_add_task_user_id.sql");
    p.remove("migrations/0006_add_task_user_id.rollback.sql");

    let run = p.migrate(&["up"]).ok();
    assert!(!run.stdout.contains("to apply\n"), "{}", run.stdout);
    assert_eq!(p.versions("READ_REPLICA"), SEED_RR);
    assert_eq!(p.versions("AUTH"), SEED_AUTH);

    let status = p.migrate(&["status"]).ok();
    assert_line(
        &status.stdout,
        &[
            "📦 Applied, not in this checkout - v6: 0006_add_task_user_id",
            "cargo migrate down 3 --db READ_REPLICA",
        ],
    );
}

#[test]
fn down_without_every_rollback_file_rolls_back_nothing_anywhere() {
    let p = Project::seed();
    p.remove("migrations/0005_add_permissions_table.rollback.sql");
    p.migrate(&["up"]).ok();

    let run = p.migrate(&["down", "3"]).fails();
    assert_line(&run.stderr, &["0005_add_permissions_table.rollback.sql"]);
    // READ_REPLICA's v6 has its rollback, yet it is not rolled back either.
    assert_eq!(p.versions("READ_REPLICA"), SEED_RR);
    assert_eq!(p.versions("AUTH"), SEED_AUTH);
    assert!(p
        .columns("READ_REPLICA", "tasks")
        .contains(&"user_id".to_owned()));
}

// ---------------------------------------------------------------------------
// 6–7. wrangler itself

#[test]
fn missing_wrangler_named_by_migrate_wrangler_is_a_clear_error() {
    let p = Project::seed();
    let run = p
        .migrate_with(&["up"], &[("MIGRATE_WRANGLER", "/nonexistent/wrangler")])
        .fails();
    assert_line(&run.stderr, &["MIGRATE_WRANGLER", "/nonexistent/wrangler"]);
    assert_wrangler_not_run(&p);
}

#[test]
fn wrangler_killed_mid_call_is_reported_per_database_and_applies_nothing() {
    let p = Project::seed();
    let fake = script(
        &p,
        "dying-wrangler.sh",
        &format!(
            "#!/bin/sh\nfor arg in \"$@\"; do\n  if [ \"$arg\" = \"--file\" ]; then\n    \
             printf '[\\n  {{'\n    kill -9 $$\n  fi\ndone\nexec {} \"$@\"\n",
            wrangler_shell_words()
        ),
    );
    let run = p
        .migrate_with(&["up"], &[("MIGRATE_WRANGLER", fake.to_str().unwrap())])
        .fails();
    let all = run.all();
    for binding in BOTH {
        assert_line(&all, &[binding, "killed by a signal"]);
    }
    assert!(all.contains("nothing was applied"), "{all}");
    assert_eq!(p.versions("READ_REPLICA"), Vec::<u64>::new());
    assert_eq!(p.versions("AUTH"), Vec::<u64>::new());
}

#[test]
fn wrangler_failing_with_ansi_colours_is_reported_without_them() {
    let p = Project::seed();
    let fake = script(
        &p,
        "failing-wrangler.sh",
        "#!/bin/sh\nprintf '\\033[31mboom\\033[0m' >&2\nexit 1\n",
    );
    // Reads through wrangler (local reads would not call it).
    let run = p
        .migrate_with(
            &["status"],
            &[
                ("MIGRATE_WRANGLER", fake.to_str().unwrap()),
                ("MIGRATE_LOCAL_READS", "wrangler"),
            ],
        )
        .fails();
    assert!(run.stderr.contains("boom"), "{}", run.stderr);
    assert!(
        !run.all().contains("[31m") && !run.all().contains("[0m"),
        "{:?}",
        run.all()
    );
    assert_line(&run.stderr, &["wrangler", "boom"]);
    assert_wrangler_not_run(&p);
}

// ---------------------------------------------------------------------------
// 8. SQL that only looks dangerous

#[test]
fn crlf_bom_semicolons_in_strings_and_comments_and_triggers_apply_intact() {
    let p = Project::seed();
    let notes = "-- database: READ_REPLICA\n\
                 -- Notes; with semicolons in comments; and strings.\n\
                 CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n\
                 /* x; y */\n\
                 INSERT INTO notes (id, body) VALUES (1, 'a; b COMMIT; c'); -- note; more\n";
    let log = "-- database: READ_REPLICA\n\
               CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY AUTOINCREMENT, note_id INTEGER NOT NULL);\n\
               /* every new note is logged; by a trigger */\n\
               CREATE TRIGGER IF NOT EXISTS trg_notes_log AFTER INSERT ON notes\n\
               BEGIN\n    \
                   INSERT INTO log (note_id) VALUES (NEW.id);\n\
               END;\n";
    let windows = |text: &str| format!("\u{feff}{}", text.replace('\n', "\r\n"));
    p.write("migrations/0007_notes.sql", windows(notes));
    p.write(
        "migrations/0007_notes.rollback.sql",
        windows("DROP TABLE IF EXISTS notes;\n"),
    );
    p.write("migrations/0008_notes_log.sql", windows(log));
    p.write(
        "migrations/0008_notes_log.rollback.sql",
        windows("DROP TRIGGER IF EXISTS trg_notes_log;\nDROP TABLE IF EXISTS log;\n"),
    );
    assert!(std::fs::read(p.path("migrations/0008_notes_log.sql"))
        .unwrap()
        .starts_with(b"\xef\xbb\xbf"));

    let check = p.migrate(&["check"]).ok();
    assert!(!check.stdout.contains(": error: "), "{}", check.stdout);
    assert!(check.stdout.contains("0 errors"), "{}", check.stdout);

    p.migrate(&["up"]).ok();

    let rows = p.query(
        "READ_REPLICA",
        "SELECT (SELECT body FROM notes WHERE id = 1) AS body, \
         (SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'trg_notes_log') AS triggers",
    );
    assert_eq!(rows[0]["body"], "a; b COMMIT; c");
    assert_eq!(rows[0]["triggers"], 1);
    let logged = p.query(
        "READ_REPLICA",
        "INSERT INTO notes (id, body) VALUES (2, 'second'); SELECT note_id FROM log ORDER BY id",
    );
    let logged: Vec<_> = logged.iter().map(|row| row["note_id"].clone()).collect();
    assert_eq!(
        logged,
        [Value::from(2)],
        "the trigger did not fire exactly once"
    );

    // Recorded checksums are of the text without BOM and with LF line ends.
    let recorded = p.query(
        "READ_REPLICA",
        "SELECT version, checksum FROM _migrations ORDER BY version",
    );
    let versions: Vec<_> = recorded
        .iter()
        .map(|r| r["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 3, 6, 7, 8]);
    assert_eq!(recorded[3]["checksum"], sha256_hex(notes));
    assert_eq!(recorded[4]["checksum"], sha256_hex(log));

    let status = p.migrate(&["status"]).ok();
    assert!(
        status.stdout.contains("✅ Applied - v7: 0007_notes"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("✅ Applied - v8: 0008_notes_log"),
        "{}",
        status.stdout
    );
    assert!(!status.stdout.contains("Modified"), "{}", status.stdout);

    let again = p.migrate(&["up"]).ok();
    assert!(
        again.stdout.contains("READ_REPLICA: nothing to apply"),
        "{}",
        again.all()
    );
    assert!(
        again.stdout.contains("AUTH: nothing to apply"),
        "{}",
        again.all()
    );
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

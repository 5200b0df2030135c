//! D1 lint: what D1 would refuse stops `up` and is reported by `check` with
//! its line; missing rollbacks are warnings, errors with `--strict`.

use super::*;

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

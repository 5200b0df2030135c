//! Calls whose outcome is unknown (settled by reading again), and failures
//! located by file, line and statement.

use super::*;

#[test]
fn a_call_that_dies_after_committing_is_read_again_and_counted_as_done() {
    let fixture = seeded();
    fixture.d1.inject(
        |seen| seen.binding == "MAIN" && seen.kind == Kind::File,
        Fault::After("wrangler was killed".into()),
    );
    let (result, events) = fixture.up();
    assert!(result.is_err());
    let (error, _, holds) = failed(&events, "MAIN").expect("MAIN reported as failed");
    assert!(error.contains("showed the batch did run"), "{error}");
    assert_eq!(holds, Holds::Kept(vec![1, 3]));
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
    // The lock went back in the batch that ran.
    assert!(fixture.lock_rows("MAIN").is_empty());
    // AUX is independent and ran.
    assert_eq!(fixture.recorded("AUX"), [2]);
}

#[test]
fn a_call_that_dies_before_running_is_read_again_and_counted_as_not_run() {
    let fixture = seeded();
    fixture.d1.inject(
        |seen| seen.binding == "MAIN" && seen.kind == Kind::File,
        Fault::Before("the network went away".into()),
    );
    let (result, events) = fixture.up();
    assert!(result.is_err());
    let (error, _, holds) = failed(&events, "MAIN").unwrap();
    assert!(error.contains("showed the batch did not run"), "{error}");
    assert_eq!(holds, Holds::Untouched);
    assert!(fixture.recorded("MAIN").is_empty() && fixture.tables("MAIN").is_empty());
    // Its lock was given back in a call of its own.
    assert!(fixture.lock_rows("MAIN").is_empty());
}

#[test]
fn when_the_read_after_a_dead_call_fails_too_what_the_database_holds_is_unknown() {
    let fixture = seeded();
    fixture.d1.inject(
        |seen| seen.binding == "MAIN" && seen.kind == Kind::File,
        Fault::Before("the network went away".into()),
    );
    fixture.d1.inject(
        |seen| seen.binding == "MAIN" && seen.kind == Kind::Query(Call::Cleanup),
        Fault::Before("still no network".into()),
    );
    let (_, events) = fixture.up();
    let (error, _, holds) = failed(&events, "MAIN").unwrap();
    assert_eq!(holds, Holds::Unknown);
    assert!(error.contains("afterwards failed too"), "{error}");
}

#[test]
fn a_failing_statement_is_named_by_file_line_and_text_and_nothing_is_kept() {
    let fixture = seeded();
    fixture.file(
        "0004_broken.sql",
        "CREATE TABLE tags (name TEXT);\n\nINSERT INTO missing (x) VALUES (1);\n",
    );
    let (result, events) = fixture.up();
    assert!(result.is_err());
    let (error, at, holds) = failed(&events, "MAIN").unwrap();
    let (version, line, statement) = at.expect("the failing statement was located");
    assert_eq!((version, line), (4, 3), "{error}");
    assert!(statement.contains("INSERT INTO missing"), "{statement}");
    assert!(
        error.contains("0004_broken.sql:3") && error.contains("no such table: missing"),
        "{error}"
    );
    // All or nothing: not even 0001 and 0003, which came before it in the batch.
    assert_eq!(holds, Holds::Untouched);
    assert!(fixture.tables("MAIN").is_empty());
}

#[test]
fn one_call_per_migration_keeps_those_before_a_failure() {
    let fixture = seeded();
    fixture.file("0004_broken.sql", "INSERT INTO missing (x) VALUES (1);\n");
    let mut step = options(&fixture);
    step.batching = Batching::PerMigration;
    let (result, events) = fixture.run(Direction::Up, None, &step);
    assert!(result.is_err());
    let (_, at, holds) = failed(&events, "MAIN").unwrap();
    assert_eq!(holds, Holds::Kept(vec![1, 3]));
    assert_eq!(at.map(|a| a.0), Some(4));
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
}

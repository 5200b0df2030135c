//! Losing rows without deleting them: a rebuild that would cascade into
//! child rows, refused by the batch itself unless data loss is allowed.

use super::*;

/// Parents and their children (ON DELETE CASCADE), one of each, applied;
/// then a pending migration that rebuilds the parents' table.
fn family_with_a_rebuild() -> Fixture {
    let fixture = Fixture::local();
    fixture.file(
        "0001_parents.sql",
        "CREATE TABLE parents (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) ON DELETE CASCADE);\n",
    );
    fixture.up().0.unwrap();
    fixture.by_hand(
        "MAIN",
        "INSERT INTO parents VALUES (1); INSERT INTO children VALUES (10, 1)",
    );
    fixture.file(
        "0002_rebuild.sql",
        "CREATE TABLE parents_new (id INTEGER PRIMARY KEY, label TEXT);\n\
         INSERT INTO parents_new (id) SELECT id FROM parents;\n\
         DROP TABLE parents;\n\
         ALTER TABLE parents_new RENAME TO parents;\n",
    );
    fixture
}

#[test]
fn a_rebuild_that_would_cascade_into_child_rows_is_refused_by_the_batch_itself() {
    let fixture = family_with_a_rebuild();
    let (result, events) = fixture.up();
    assert!(result.is_err());
    let (error, _, holds) = failed(&events, "MAIN").unwrap();
    assert!(error.contains("children"), "{error}");
    assert_eq!(holds, Holds::Untouched);
    let children = fixture
        .d1
        .sql(&fixture.db("MAIN"), "SELECT count(*) AS n FROM children")
        .unwrap();
    assert_eq!(children[0]["n"], Value::from(1));
    assert_eq!(fixture.recorded("MAIN"), [1]);
}

#[test]
fn allowing_data_loss_lets_a_cascading_rebuild_run_and_says_nothing_else_changes() {
    let fixture = family_with_a_rebuild();
    let mut allowed = options(&fixture);
    allowed.data_loss = DataLoss::Allow;
    let (result, _) = fixture.run(Direction::Up, None, &allowed);
    result.unwrap();
    let children = fixture
        .d1
        .sql(&fixture.db("MAIN"), "SELECT count(*) AS n FROM children")
        .unwrap();
    assert_eq!(
        children[0]["n"],
        Value::from(0),
        "the cascade ran, as allowed"
    );
    assert_eq!(fixture.recorded("MAIN"), [1, 2]);
}

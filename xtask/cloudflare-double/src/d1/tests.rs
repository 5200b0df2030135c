//! Tests of databases: statements as one transaction, D1's messages, result rows, and history
//! with restore.

use serde_json::Value;

use super::*;

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path(), "test-db", Some("db")).expect("open");
    (dir, db)
}

#[test]
fn statements_run_as_one_transaction() {
    let (_dir, mut db) = db();
    db.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)", &[])
        .expect("create");
    let err = db
        .execute("INSERT INTO t(b) VALUES ('x'); SELECT * FROM nope", &[])
        .expect_err("fails");
    assert_eq!(err.message, "no such table: nope: SQLITE_ERROR");
    let r = db
        .execute("SELECT count(*) AS n FROM t", &[])
        .expect("count");
    assert_eq!(r[0].rows, vec![vec![Value::from(0)]]);
}

#[test]
fn messages_like_d1() {
    let (_dir, mut db) = db();
    let e = db.execute("SELECT 1; SELEC 2", &[]).expect_err("syntax");
    assert_eq!(
        e.message,
        "near \"SELEC\": syntax error at offset 0: SQLITE_ERROR"
    );
    for sql in [
        "BEGIN",
        "BEGIN TRANSACTION; SELECT 1; COMMIT",
        "SAVEPOINT a",
        "RELEASE a",
        "ROLLBACK",
        "COMMIT",
    ] {
        let e = db.execute(sql, &[]).expect_err(sql);
        assert_eq!(e.message, "not authorized: SQLITE_AUTH", "{sql}");
    }
    db.execute("CREATE TABLE u(a UNIQUE)", &[]).expect("create");
    let e = db
        .execute("INSERT INTO u VALUES (1); INSERT INTO u VALUES (1)", &[])
        .expect_err("unique");
    assert_eq!(
        e.message,
        "UNIQUE constraint failed: u.a: SQLITE_CONSTRAINT"
    );
    assert_eq!(
        db.execute("  -- nothing\n", &[])
            .expect_err("empty")
            .message,
        "No SQL statements detected."
    );
}

#[test]
fn triggers_and_rows() {
    let (_dir, mut db) = db();
    let r = db
        .execute(
            "CREATE TABLE t(a, b); CREATE TABLE log(x);
             CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (NEW.a); END;
             INSERT INTO t VALUES (1, X'0102'); SELECT a, b, NULL AS n, 1.5 AS f, 2 AS a FROM t; SELECT * FROM log",
            &[],
        )
        .expect("run");
    assert_eq!(r.len(), 6);
    let row = serde_json::to_string(&r[4].as_objects().results[0]).expect("json");
    assert_eq!(row, r#"{"a":2,"b":[1,2],"n":null,"f":1.5}"#);
    assert_eq!(r[5].rows, vec![vec![Value::from(1)]]);
}

#[test]
fn history_and_restore() {
    let (_dir, mut db) = db();
    db.execute("CREATE TABLE t(a)", &[]).expect("create");
    let b1 = db.bookmark();
    db.execute("SELECT * FROM t", &[]).expect("read");
    assert_eq!(db.bookmark(), b1, "reads keep the bookmark");
    db.execute("INSERT INTO t VALUES (1)", &[]).expect("insert");
    let b2 = db.bookmark();
    assert_ne!(b1, b2);
    let previous = db.restore(&b1).expect("restore");
    assert_eq!(previous, b2);
    assert_eq!(
        db.execute("SELECT count(*) FROM t", &[]).expect("count")[0].rows[0][0],
        Value::from(0)
    );
    db.restore(&b2).expect("undo");
    assert_eq!(
        db.execute("SELECT count(*) FROM t", &[]).expect("count")[0].rows[0][0],
        Value::from(1)
    );
    assert!(db.restore("nope").is_err());
}

//! `d1 execute` (a command, a file import) and `d1 export` against the
//! double: results, atomicity, and exports byte for byte as local ones.

use super::*;

const SEED: &str = r#"CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, bio TEXT, avatar BLOB, score REAL);
CREATE TABLE "quoted table" ("weird ""col""" TEXT, n INTEGER);
CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
CREATE INDEX users_name ON users(name);
CREATE UNIQUE INDEX kv_v ON kv(v);
CREATE VIEW user_names AS SELECT name FROM users;
CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN INSERT INTO kv(k, v) VALUES ('last', NEW.name) ON CONFLICT(k) DO UPDATE SET v = excluded.v; END;
-- rows with NULLs, blobs, quotes, newlines and awkward numbers
INSERT INTO users(name, bio, avatar, score) VALUES ('O''Brien', NULL, X'00FF10', 3.0);
INSERT INTO users(name, bio, avatar, score) VALUES ('line
break', 'cr' || char(13) || 'lf' || char(10) || 'end; not a statement end', NULL, 0.1);
INSERT INTO users(name, bio, avatar, score) VALUES ('big', 'ünïcødé 😀 "dq"', X'', 1e21);
INSERT INTO users(name, bio, avatar, score) VALUES ('small', -0.0, 9223372036854775807, 1e-7);
INSERT INTO users(name, bio, avatar, score) VALUES ('neg', 123456789012, -9007199254740993, -2.5e-300);
INSERT INTO "quoted table" VALUES ('a"b', NULL);
"#;

#[test]
fn execute_command_returns_results_and_is_atomic() {
    let p = Project::new(|_| {});
    let run = p.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t(b) VALUES ('x'), (NULL); SELECT a, b FROM t ORDER BY a");
    run.assert_ok("execute --command");
    let json = run.json();
    let results = json.as_array().expect("an array, one entry per statement");
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["success"] == true));
    assert_eq!(
        results[2]["results"],
        serde_json::json!([{ "a": 1, "b": "x" }, { "a": 2, "b": null }])
    );
    assert_eq!(results[1]["meta"]["changes"], 2);

    // A failing statement leaves nothing of the command applied.
    let before = p.dump();
    let run =
        p.execute("INSERT INTO t(b) VALUES ('y'); DELETE FROM t WHERE a = 1; SELECT * FROM nope");
    assert!(!run.ok(), "the command should fail:\n{}", run.all());
    assert!(
        run.all().contains("no such table: nope: SQLITE_ERROR"),
        "{}",
        run.all()
    );
    assert_eq!(p.dump(), before);
    assert_eq!(
        p.rows("SELECT count(*) AS n FROM t"),
        vec![serde_json::json!({ "n": 2 })]
    );

    // Transaction control is refused as D1 does.
    let run = p.execute("BEGIN TRANSACTION; INSERT INTO t(b) VALUES ('z'); COMMIT");
    assert!(!run.ok());
    assert!(
        run.all().contains("not authorized: SQLITE_AUTH"),
        "{}",
        run.all()
    );
    assert_eq!(p.dump(), before);

    // Statements split properly: quotes, comments and trigger bodies.
    p.execute("CREATE TABLE log(x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('a;b'); END; -- c;\nINSERT INTO t(b) VALUES ('semi;colon')")
        .assert_ok("trigger");
    assert_eq!(
        p.rows("SELECT x FROM log"),
        vec![serde_json::json!({ "x": "a;b" })]
    );
}

#[test]
fn execute_file_imports_all_or_nothing() {
    let p = Project::new(|_| {});
    let seed = p.write(
        "seed.sql",
        "CREATE TABLE t(a INTEGER);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n",
    );
    let run = p.import(&seed);
    run.assert_ok("import");
    let json = run.json();
    assert_eq!(json[0]["results"][0]["Total queries executed"], 3);
    assert_eq!(
        p.rows("SELECT count(*) AS n FROM t"),
        vec![serde_json::json!({ "n": 2 })]
    );
    let kinds: Vec<String> = p.double.requests().iter().map(|r| r.kind.clone()).collect();
    for kind in [
        "import-init",
        "import-upload",
        "import-ingest",
        "import-poll",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} request in {kinds:?}"
        );
    }

    let before = p.dump();
    let bookmark = p.bookmark();
    let bad = p.write(
        "bad.sql",
        "INSERT INTO t VALUES (10);\nINSERT INTO t VALUES (11);\nINSERT INTO missing VALUES (1);\nINSERT INTO t VALUES (12);\n",
    );
    let run = p.import(&bad);
    assert!(!run.ok(), "the import should fail:\n{}", run.all());
    assert!(
        run.all().contains("no such table: missing"),
        "{}",
        run.all()
    );
    assert_eq!(p.dump(), before, "a failed import changes nothing");
    assert_eq!(p.bookmark(), bookmark);
}

#[test]
fn import_poll_failure_leaves_database_unapplied() {
    let p = Project::new(|o| o.fail_import_poll = true);
    let seed = p.write(
        "seed.sql",
        "CREATE TABLE t(a);\nINSERT INTO t VALUES (1);\n",
    );
    let run = p.import(&seed);
    assert!(!run.ok(), "wrangler should exit non-zero:\n{}", run.all());
    assert!(run.all().contains("--fail-import-poll"), "{}", run.all());
    assert_eq!(
        p.rows("SELECT count(*) AS n FROM sqlite_schema"),
        vec![serde_json::json!({ "n": 0 })]
    );
}

#[test]
fn remote_export_matches_local_export_byte_for_byte() {
    let p = Project::new(|_| {});
    let seed = p.write("seed.sql", SEED);
    let seed = seed.to_str().expect("utf-8 path");
    p.wrangler(&["d1", "execute", "DB", "--local", "--yes", "--file", seed])
        .assert_ok("local import");
    p.wrangler(&["d1", "execute", "DB", "--remote", "--yes", "--file", seed])
        .assert_ok("remote import");
    for extra in [
        &[][..],
        &["--no-data"][..],
        &["--table", "users", "--no-schema"][..],
    ] {
        let mut local: Vec<&str> = vec!["d1", "export", "DB", "--local", "--output", "local.sql"];
        local.extend_from_slice(extra);
        p.wrangler(&local).assert_ok("local export");
        let mut remote: Vec<&str> =
            vec!["d1", "export", "DB", "--remote", "--output", "remote.sql"];
        remote.extend_from_slice(extra);
        p.wrangler(&remote).assert_ok("remote export");
        let local = std::fs::read(p.path("local.sql")).expect("local.sql");
        let remote = std::fs::read(p.path("remote.sql")).expect("remote.sql");
        assert!(local.len() > 40, "suspiciously small export");
        assert_eq!(
            String::from_utf8_lossy(&remote),
            String::from_utf8_lossy(&local),
            "exports differ with {extra:?}"
        );
        assert_eq!(remote, local);
    }
}

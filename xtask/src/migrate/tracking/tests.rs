//! Unit tests for the tracking tables: reading a database's state and the SQL batches that keep the ledgers in step.

use super::*;
use crate::migrate::source::Migration;
use serde_json::json;

fn results(value: Value) -> Vec<StatementResult> {
    serde_json::from_value(value).unwrap()
}

fn db(ledger: &str) -> Database {
    Database {
        binding: "DB".into(),
        name: "db".into(),
        id: None,
        renamed_by: None,
        wrangler_table: ledger.into(),
        migrations_dir: None,
        migrations_pattern: None,
        local_id: "DB".into(),
    }
}

#[test]
fn parses_both_ledgers_and_null_strings() {
    let state = parse_state(
        &results(json!([
            {"results": [{"type": "table", "name": "t", "tbl_name": "t", "sql": "CREATE TABLE t(a)"}]},
            {"results": [{"name": "version"}, {"name": "name"}, {"name": "applied_at"}, {"name": "checksum"}, {"name": "duration_ms"}, {"name": "sql"}, {"name": "rollback_sql"}]},
            {"results": [{"version": 1, "name": "0001_a", "applied_at": 5, "checksum": "null", "duration_ms": 3, "has_sql": 1, "rollback_sql": "DROP TABLE a"}]},
            {"results": [{"name": "0001_a.sql", "applied_at": "2026-11-30 10:00:00"}]},
            {"results": [{"owner": "ci-7:42 migrate up", "expires_at": 1_764_500_000_000_i64}]}
        ])),
        Reads::ALL,
    )
    .unwrap();
    assert_eq!(state.tracking, Tracking::Current);
    assert_eq!(state.schema.create_statements(), ["CREATE TABLE t(a)"]);
    assert_eq!(state.applied[0].checksum, None);
    assert_eq!(state.applied[0].duration_ms, Some(3));
    assert!(state.applied[0].has_sql);
    assert_eq!(
        state.applied[0].rollback_sql.as_deref(),
        Some("DROP TABLE a")
    );
    assert_eq!(state.ledger[0].name, "0001_a.sql");
    assert_eq!(
        state.lock,
        Some(LockRow {
            owner: "ci-7:42 migrate up".into(),
            expires_at: 1_764_500_000_000
        })
    );
}

#[test]
fn recognises_the_seed_table_and_a_ledger_read_alone() {
    let only_ours = Reads {
        ours: true,
        ..Reads::NONE
    };
    let state = parse_state(
        &results(json!([
            {"results": []},
            {"results": [{"name": "version"}, {"name": "name"}, {"name": "applied_at"}]},
            {"results": [{"version": 2, "name": "0002_b", "applied_at": 7}]}
        ])),
        only_ours,
    )
    .unwrap();
    assert_eq!(
        state.tracking,
        Tracking::Legacy {
            checksum: false,
            duration_ms: false,
            sql: false
        }
    );
    assert_eq!(state.applied[0].version, 2);
    assert_eq!(state.applied[0].duration_ms, None);
    let only_wranglers = Reads {
        ledger: true,
        ..Reads::NONE
    };
    let state = parse_state(
        &results(json!([
            {"results": []},
            {"results": [{"name": "0000_init.sql", "applied_at": "2026-01-01 00:00:00"}]}
        ])),
        only_wranglers,
    )
    .unwrap();
    assert_eq!(state.tracking, Tracking::Absent);
    assert_eq!(state.ledger.len(), 1);
    assert_eq!(
        state_statements(&db("d1_migrations"), only_wranglers).len(),
        2
    );
}

#[test]
fn state_queries_survive_wranglers_splitter_and_name_the_configured_ledger() {
    let request = lock::Request {
        owner: "host:1 migrate up".into(),
        ttl: std::time::Duration::from_secs(1),
    };
    let db = db("schema history");
    let locking = locking_state_query(&db, &request, &pending_condition(&[1, 3]));
    for (query, count) in [(state_query(&db), 5), (locking, 11)] {
        let statements = crate::migrate::sql::split(&query).unwrap();
        assert_eq!(statements.len(), count, "{query}");
        assert!(query.contains("\"schema history\""), "{query}");
        let findings =
            crate::migrate::sql::lint(&query, crate::migrate::sql::LintOptions::default());
        assert!(
            findings.iter().all(|f| !f.message.contains("wrangler")),
            "{findings:?}"
        );
    }
}

fn state() -> DbState {
    DbState {
        tracking: Tracking::Current,
        applied: vec![Applied {
            version: 7,
            name: "0007_it's".into(),
            applied_at: 1,
            checksum: Some("abc".into()),
            duration_ms: None,
            has_sql: false,
            rollback_sql: None,
        }],
        ledger: vec![LedgerRow {
            name: "0007_it's.sql".into(),
            applied_at: "2026-11-30 10:00:00".into(),
        }],
        schema: Schema {
            objects: vec![
                schema::Object {
                    kind: "trigger".into(),
                    name: "trg".into(),
                    table: "t".into(),
                    sql: "CREATE TRIGGER trg AFTER UPDATE ON t BEGIN UPDATE t SET a = 1; END"
                        .into(),
                },
                schema::Object {
                    kind: "table".into(),
                    name: "_migrations".into(),
                    table: "_migrations".into(),
                    sql: "CREATE TABLE _migrations (version INTEGER)".into(),
                },
                schema::Object {
                    kind: "table".into(),
                    name: "history".into(),
                    table: "history".into(),
                    sql: "CREATE TABLE history (id)".into(),
                },
            ],
        },
        lock: None,
    }
}

#[test]
fn the_guard_survives_wranglers_splitter_and_names_every_row_and_object() {
    let state = state();
    let condition = unchanged_condition(&state, &db("history"));
    assert!(
        condition.contains("(7, '0007_it''s', 'abc')"),
        "{condition}"
    );
    assert!(condition.contains("('0007_it''s.sql')"), "{condition}");
    assert!(condition.contains("FROM \"history\") = 1"), "{condition}");
    assert!(
        condition.contains("'trigger', 'trg', 't', 'CREATE TRIGGER trg"),
        "{condition}"
    );
    assert!(
        condition.contains("AND m.checksum IS v.column3"),
        "{condition}"
    );
    // The tracking tables (wrangler's under its configured name) are
    // checked by their rows, not as schema objects.
    assert!(
        !condition.contains("'CREATE TABLE _migrations")
            && !condition.contains("'CREATE TABLE history"),
        "{condition}"
    );
    let request = lock::Request {
        owner: "host:1 migrate up".into(),
        ttl: std::time::Duration::from_secs(1),
    };
    let guard = request.guard_statements(&condition).join(";\n");
    assert_eq!(
        crate::migrate::sql::split(&guard).unwrap().len(),
        2,
        "{guard}"
    );
    let findings = crate::migrate::sql::lint(&guard, crate::migrate::sql::LintOptions::default());
    assert!(
        findings.iter().all(|f| !f.message.contains("wrangler")),
        "{findings:?}"
    );

    let legacy = DbState {
        tracking: Tracking::Legacy {
            checksum: false,
            duration_ms: false,
            sql: false,
        },
        ..state
    };
    let condition = unchanged_condition(&legacy, &db("d1_migrations"));
    assert!(
        condition.contains("WHERE name = 'checksum') = 0"),
        "{condition}"
    );
    assert!(!condition.contains("m.checksum"), "{condition}");
}

#[test]
fn unexpected_result_count_is_an_error() {
    assert!(parse_state(
        &results(json!([{"results": []}, {"results": []}])),
        Reads::ALL
    )
    .is_err());
}

#[test]
fn schema_only_means_no_table() {
    let state = parse_state(&results(json!([{"results": []}])), Reads::NONE).unwrap();
    assert_eq!(state.tracking, Tracking::Absent);
}

fn migration(name: &str, sql: &str) -> Migration {
    Migration {
        version: 1,
        name: name.into(),
        file_name: format!("{name}.sql"),
        path: "x.sql".into(),
        sql: sql.into(),
        checksum: "abc".into(),
        binding: "DB".into(),
        rollback: Some(crate::migrate::source::Script {
            path: "x.rollback.sql".into(),
            sql: "DROP TABLE IF EXISTS t;".into(),
            checksum: "def".into(),
            ledger_name: None,
        }),
        stored: false,
    }
}

#[test]
fn up_batch_escapes_names_upgrades_seed_table_and_writes_wranglers_ledger() {
    let m = migration(
        "0001_it's",
        "CREATE TABLE t(a);\n\nINSERT INTO t VALUES ('x;y');",
    );
    let ledger = LedgerChange {
        present: vec!["0000_done.sql".into(), "0001_it's.sql".into()],
        absent: Vec::new(),
        guards: None,
    };
    let batch = up_batch(
        Tracking::Legacy {
            checksum: false,
            duration_ms: false,
            sql: false,
        },
        &db("d1_migrations"),
        &[],
        &[&m],
        &ledger,
    )
    .unwrap();
    let text = batch.to_sql(crate::migrate::sql::Splitter::UpperCaseEnd);
    assert!(text.contains("ADD COLUMN checksum TEXT"));
    assert!(text.contains("ADD COLUMN duration_ms INTEGER"));
    assert!(text.contains("'0001_it''s'"), "{text}");
    assert!(
        text.contains("CREATE TABLE IF NOT EXISTS \"d1_migrations\"(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE"),
        "{text}"
    );
    let origins: Vec<_> = batch.statements.iter().filter_map(|s| s.origin).collect();
    assert_eq!(origins, [(0, 1), (0, 3)]);
    let last = &batch.statements.last().unwrap().sql;
    assert!(
        last.starts_with("INSERT INTO \"d1_migrations\" (name) SELECT v.column1 FROM (VALUES ('0000_done.sql'), ('0001_it''s.sql'))"),
        "{last}"
    );
    let statements: Vec<&str> = batch.statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        crate::migrate::sql::check_batch(&statements, crate::migrate::sql::Splitter::UpperCaseEnd),
        Ok(())
    );
}

#[test]
fn up_batch_records_adopted_migrations_with_wranglers_time_without_running_them() {
    let m = migration("0001_a", "CREATE TABLE t(a);");
    let batch = up_batch(
        Tracking::Current,
        &db("d1_migrations"),
        &[(&m, Some(1_796_032_800_000))],
        &[],
        &LedgerChange::default(),
    )
    .unwrap();
    let text = batch.to_sql(crate::migrate::sql::Splitter::UpperCaseEnd);
    // Recorded with its SQL and rollback, which are not run.
    assert!(
        text.contains("VALUES (1, '0001_a', 1796032800000, 'abc', NULL, 'CREATE TABLE t(a);', 'DROP TABLE IF EXISTS t;')"),
        "{text}"
    );
    assert!(!text.contains("\nCREATE TABLE t(a)"), "{text}");
}

#[test]
fn a_migration_too_long_for_one_statement_is_stored_whole_in_pieces() {
    // 250 000 bytes of seed rows (D1 takes at most 100 000 a statement),
    // with quotes that double when quoted and the words wrangler rewrites.
    let row = "INSERT INTO t VALUES ('it''s ünïcödé');\n";
    let sql = format!(
        "-- BEGIN TRANSACTION is only a comment\nCREATE TABLE t(a);\n{}",
        row.repeat(250_000 / row.len())
    );
    let mut m = migration("0001_seed", &sql);
    m.rollback.as_mut().unwrap().sql = "DROP TABLE t; -- BEGIN TRANSACTION".into();
    let batch = up_batch(
        Tracking::Current,
        &db("d1_migrations"),
        &[],
        &[&m],
        &LedgerChange::default(),
    )
    .unwrap();
    let bookkeeping: Vec<&str> = batch
        .statements
        .iter()
        .filter(|s| s.origin.is_none())
        .map(|s| s.sql.as_str())
        .collect();
    assert!(bookkeeping.iter().all(|s| s.len() < 100_000));
    assert!(bookkeeping.iter().all(|s| !s.contains("BEGIN TRANSACTION")));
    // wrangler's splitter (both of them) cuts the batch where SQLite does.
    let all: Vec<&str> = batch.statements.iter().map(|s| s.sql.as_str()).collect();
    for splitter in [
        crate::migrate::sql::Splitter::UpperCaseEnd,
        crate::migrate::sql::Splitter::AnyCaseEnd,
    ] {
        assert_eq!(crate::migrate::sql::check_batch(&all, splitter), Ok(()));
    }
    let connection = rusqlite::Connection::open_in_memory().unwrap();
    for statement in &bookkeeping {
        connection.execute_batch(statement).unwrap();
    }
    let (stored, rollback): (String, String) = connection
        .query_row(
            "SELECT sql, rollback_sql FROM _migrations WHERE version = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(stored, sql);
    assert_eq!(rollback, "DROP TABLE t; -- BEGIN TRANSACTION");

    // Over a mebibyte (a data load), the migration's own text is not
    // kept (each piece rewrites all before it); its rollback still is.
    m.version = 2;
    m.sql = format!("CREATE TABLE u(a);\n{}", row.repeat(1_200_000 / row.len()));
    let batch = up_batch(
        Tracking::Current,
        &db("d1_migrations"),
        &[],
        &[&m],
        &LedgerChange::default(),
    )
    .unwrap();
    let bookkeeping: Vec<&str> = batch
        .statements
        .iter()
        .filter(|s| s.origin.is_none())
        .map(|s| s.sql.as_str())
        .collect();
    for statement in &bookkeeping {
        connection.execute_batch(statement).unwrap();
    }
    let (stored, rollback): (Option<String>, String) = connection
        .query_row(
            "SELECT sql, rollback_sql FROM _migrations WHERE version = 2",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(stored, None);
    assert_eq!(rollback, "DROP TABLE t; -- BEGIN TRANSACTION");
}

#[test]
fn down_batch_deletes_rows_in_both_ledgers() {
    let m = migration("0001_a", "");
    let ledger = LedgerChange {
        present: Vec::new(),
        absent: vec!["0001_a.sql".into()],
        guards: None,
    };
    let text = down_batch(&db("d1_migrations"), &[&m], &ledger)
        .unwrap()
        .to_sql(crate::migrate::sql::Splitter::UpperCaseEnd);
    assert!(
        text.ends_with(
            "DROP TABLE IF EXISTS t;\nDELETE FROM _migrations WHERE version = 1;\n\
             DELETE FROM \"d1_migrations\" WHERE name IN ('0001_a.sql');\n"
        ),
        "{text}"
    );
}

#[test]
fn the_ledger_is_behind_when_an_applied_migration_or_a_guard_row_is_missing_or_stale() {
    let db = db("d1_migrations");
    let connection = rusqlite::Connection::open_in_memory().unwrap();
    connection
        .execute_batch(&format!(
            "{CREATE_TABLE}; {}; INSERT INTO _migrations (version, name, applied_at) VALUES (1, '0001_a', 1)",
            create_ledger(&db)
        ))
        .unwrap();
    let behind = |foreign: &[&str], taken: &[u64]| -> bool {
        let foreign: Vec<String> = foreign.iter().map(|n| n.to_string()).collect();
        let condition = ledger_behind_condition(&db, &[(1, "0001_a.sql".into())], &foreign, taken);
        connection
            .query_row(&format!("SELECT {condition}"), [], |row| row.get(0))
            .unwrap()
    };
    let run = |sql: &str| connection.execute_batch(sql).unwrap();
    assert!(behind(&[], &[]), "0001_a.sql is missing");
    run("INSERT INTO d1_migrations (name) VALUES ('0001_a.sql')");
    assert!(!behind(&[], &[]));
    assert!(behind(&["0002_b.sql"], &[]), "a guard row is missing");
    run("INSERT INTO d1_migrations (name) VALUES ('0002_b.sql')");
    assert!(behind(&["0002_b.sql"], &[]), "a guard row is not dated");
    run("UPDATE d1_migrations SET applied_at = '1970-01-01 00:00:00' WHERE name = '0002_b.sql'");
    assert!(!behind(&["0002_b.sql"], &[]));
    assert!(behind(&[], &[]), "a dated guard row no file needs");
    run("DELETE FROM d1_migrations WHERE name = '0002_b.sql'");
    run("INSERT INTO d1_migrations (name) VALUES ('0001_a.rollback.sql'), ('0007_old.sql')");
    assert!(behind(&[], &[]), "an old rollback row no file needs");
    assert!(
        behind(&["0001_a.rollback.sql"], &[]),
        "an old guard row, not dated"
    );
    run("UPDATE d1_migrations SET applied_at = '1970-01-01 00:00:00' WHERE name = '0001_a.rollback.sql'");
    assert!(!behind(&["0001_a.rollback.sql"], &[]));
    assert!(
        behind(&["0001_a.rollback.sql"], &[7]),
        "an older run's row for a version another database's file holds"
    );
    assert!(
        !behind(&["0001_a.rollback.sql"], &[1]),
        "0001_a.sql is applied here"
    );
}

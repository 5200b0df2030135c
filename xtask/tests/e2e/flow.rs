//! End to end: the real `xtask` binary and the real wrangler on local D1 in a
//! temp dir, looking inside the databases after every step.

use crate::common::*;
use serde_json::Value;

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

#[test]
fn seed_flow_up_status_down_and_json() {
    let p = Project::seed();

    p.migrate(&["up", "5"]).ok();
    assert_eq!(p.versions(RR), [1, 3]);
    assert_eq!(p.versions(AUTH), [2, 4, 5]);
    assert!(p.tables(RR).contains(&"task_vectors".to_owned()));
    assert!(p.columns(RR, "task_vectors").contains(&"status".to_owned()));
    assert!(!p.columns(RR, "tasks").contains(&"user_id".to_owned()));
    let auth_tables = p.tables(AUTH);
    for table in ["api_keys", "rooms", "room_permissions"] {
        assert!(auth_tables.contains(&table.to_owned()), "{auth_tables:?}");
    }
    assert!(
        !auth_tables.contains(&"tasks".to_owned()),
        "routing put tasks into AUTH"
    );

    let status = p.migrate(&["status"]).ok();
    let expected = "=== READ REPLICA DATABASE ===\n\
                    ✅ Applied - v1: 0001_read_replica_schema\n\
                    ✅ Applied - v3: 0003_add_vector_status\n\
                    ⏳ Pending - v6: 0006_add_task_user_id\n\
                    \n\
                    === AUTH DATABASE ===\n\
                    ✅ Applied - v2: 0002_api_keys\n\
                    ✅ Applied - v4: 0004_rooms_table\n\
                    ✅ Applied - v5: 0005_add_permissions_table\n";
    assert_eq!(status.stdout, expected);

    p.migrate(&["up"]).ok();
    assert_eq!(p.versions(RR), [1, 3, 6]);
    assert!(p.columns(RR, "tasks").contains(&"user_id".to_owned()));

    // The recorded rows carry checksums, names, times and durations.
    let rows = p.query(RR, "SELECT * FROM _migrations ORDER BY version");
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row["checksum"].as_str().unwrap().len(), 64, "{row:?}");
        assert!(
            row["applied_at"].as_i64().unwrap() > 1_600_000_000_000,
            "{row:?}"
        );
        assert!(row["duration_ms"].as_i64().is_some(), "{row:?}");
    }
    assert_eq!(rows[2]["name"], "0006_add_task_user_id");

    p.query(
        AUTH,
        "INSERT INTO rooms (id, name, owner_user_id, created_at) VALUES ('r1', 'Room', 'u1', 1)",
    );
    p.migrate(&["down", "3"]).ok();
    assert_eq!(p.versions(RR), [1, 3]);
    assert_eq!(p.versions(AUTH), [2]);
    assert!(!p.columns(RR, "tasks").contains(&"user_id".to_owned()));
    let auth_tables = p.tables(AUTH);
    assert!(
        !auth_tables.contains(&"rooms".to_owned()),
        "{auth_tables:?}"
    );
    assert!(
        !auth_tables.contains(&"room_permissions".to_owned()),
        "{auth_tables:?}"
    );
    assert!(auth_tables.contains(&"api_keys".to_owned()));

    let json = p.migrate(&["status", "--json"]).ok();
    let report: Value = serde_json::from_str(&json.stdout).expect("status --json prints only JSON");
    let databases = report["databases"].as_array().unwrap();
    assert_eq!(databases[0]["binding"], RR);
    assert_eq!(databases[0]["name"], "nanotype-read-replica");
    assert_eq!(databases[1]["binding"], AUTH);
    let states = |db: &Value| -> Vec<(u64, String)> {
        db["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["version"].as_u64().unwrap(),
                    m["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let owned = |list: &[(u64, &str)]| {
        list.iter()
            .map(|(v, s)| (*v, s.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        states(&databases[0]),
        owned(&[(1, "applied"), (3, "applied"), (6, "pending")])
    );
    assert_eq!(
        states(&databases[1]),
        owned(&[(2, "applied"), (4, "pending"), (5, "pending")])
    );
    let applied = &databases[1]["migrations"][0];
    assert_eq!(applied["name"], "0002_api_keys");
    assert!(applied["applied_at"].as_i64().is_some());
    assert!(applied["duration_ms"].as_i64().is_some());
    assert_eq!(applied["checksum"].as_str().unwrap().len(), 64);

    // down 0 undoes everything, leaving only the tracking tables: ours, the
    // lock's, and wrangler's ledger (with SQLite's AUTOINCREMENT counter).
    p.migrate(&["down", "0"]).ok();
    let tracking = [
        "_migrations",
        "_migrations_lock",
        "d1_migrations",
        "sqlite_sequence",
    ];
    assert_eq!(p.tables(RR), tracking);
    assert_eq!(p.tables(AUTH), tracking);
}

/// 0007 for READ_REPLICA: two good statements, then one that fails.
const FAILS_AT_THIRD: &str = "-- database: READ_REPLICA\n\
CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT);\n\
INSERT INTO notes (body) VALUES ('kept?');\n\
INSERT INTO no_such_table (x) VALUES (1);\n";

#[test]
fn a_failing_batch_leaves_the_database_exactly_as_it_was() {
    let p = Project::seed();
    p.migrate(&["up", "4"]).ok();
    p.write("migrations/0007_notes.sql", FAILS_AT_THIRD);
    let before_rr = p.export(RR);
    let before_auth = p.export(AUTH);

    let wrapper = p.wrapper("");
    let run = p
        .migrate_with(&["up"], &[("MIGRATE_WRANGLER", wrapper.to_str().unwrap())])
        .fails();
    let out = run.all();
    // Planned on what the last run saw: the failure is traced on throwaway
    // copies straight away, without reading the database or running it again.
    let calls = p.calls();
    assert!(
        !calls.iter().any(|c| c.2.contains("--command")),
        "{calls:?}\n{out}"
    );
    assert!(!out.contains("planning again"), "{out}");
    assert!(
        out.contains("0007_notes.sql:4"),
        "names the file and line of the failing statement:\n{out}"
    );
    assert!(out.contains("no such table: no_such_table"), "{out}");
    assert!(out.contains("READ_REPLICA is exactly as it was"), "{out}");

    // The whole batch (v6 and v7) rolled back; AUTH, a separate database, went ahead.
    assert_eq!(p.export(RR), before_rr);
    assert_eq!(p.versions(RR), [1, 3]);
    assert_ne!(p.export(AUTH), before_auth);
    assert_eq!(p.versions(AUTH), [2, 4, 5]);
}

/// A rollback that fails undoes the whole call: the rollback before it (v5,
/// newest first) and both rows' deletions too.
#[test]
fn a_failing_rollback_leaves_the_database_exactly_as_it_was() {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    p.write(
        "migrations/0004_rooms_table.rollback.sql",
        "DROP TABLE IF EXISTS rooms;\nDROP TABLE no_such_table;\n",
    );
    let before = p.export(AUTH);

    let run = p
        .migrate(&["down", "3", "--db", AUTH, "--no-backup"])
        .fails();
    let out = run.all();
    assert!(out.contains("0004_rooms_table.rollback.sql:2"), "{out}");
    assert!(out.contains("AUTH is exactly as it was"), "{out}");
    assert_eq!(p.export(AUTH), before);
    assert_eq!(p.versions(AUTH), [2, 4, 5]);
}

#[test]
fn dry_run_writes_nothing_prints_sql_and_rehearses() {
    let p = Project::seed();
    let before = p.export(RR);

    let run = p.migrate(&["up", "--dry-run"]).ok();
    assert!(
        run.stdout.contains("CREATE TABLE IF NOT EXISTS api_keys"),
        "prints the SQL:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("v6 0006_add_task_user_id"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("rehearsal passed"), "{}", run.stdout);
    assert_eq!(
        p.tables(RR),
        Vec::<String>::new(),
        "no _migrations table on a fresh database"
    );
    assert_eq!(p.tables(AUTH), Vec::<String>::new());
    assert_eq!(p.export(RR), before);

    // A migration that would fail is reported, and still nothing is written.
    p.migrate(&["up", "3"]).ok();
    p.write("migrations/0007_notes.sql", FAILS_AT_THIRD);
    let before = p.export(RR);
    let run = p.migrate(&["up", "--dry-run"]).fails();
    let out = run.all();
    assert!(out.contains("rehearsal failed"), "{out}");
    assert!(out.contains("0007_notes.sql:4"), "{out}");
    assert_eq!(p.export(RR), before);
    assert_eq!(p.versions(RR), [1, 3]);

    // A dry run of `down` rehearses the rollbacks without running them.
    let run = p.migrate(&["down", "0", "--dry-run"]).ok();
    assert!(
        run.stdout.contains("DROP TABLE IF EXISTS task_vectors"),
        "{}",
        run.stdout
    );
    assert_eq!(p.versions(RR), [1, 3]);
}

/// Local reads cost no call (they read miniflare's files): `status` and a
/// no-op `up` call nothing, and `up` makes one call per database with work,
/// databases in parallel; a backup is no call either. With
/// `MIGRATE_LOCAL_READS=wrangler` every read is a call again: `status` one
/// per database, `up` on databases this machine has no record of a read (and
/// lock), then the apply.
#[test]
fn few_wrangler_calls_with_databases_in_parallel() {
    let p = Project::seed();
    let wrapper = p.wrapper("");
    let env = [("MIGRATE_WRANGLER", wrapper.to_str().unwrap())];
    let through_wrangler = [
        ("MIGRATE_WRANGLER", wrapper.to_str().unwrap()),
        ("MIGRATE_LOCAL_READS", "wrangler"),
    ];
    let count = |calls: &[(u128, u128, String)], what: &str| {
        calls.iter().filter(|c| c.2.contains(what)).count()
    };
    // Per database, the calls a run made: exactly `want` each, plus the
    // ones it said it retried (local D1 that did not start, or was busy, on
    // a loaded machine: the README's documented retries).
    let per_database = |run: &Run, calls: &[(u128, u128, String)], want: usize, what: &str| {
        for (binding, name) in [(RR, "nanotype-read-replica"), (AUTH, "nanotype-auth")] {
            let made = calls
                .iter()
                .filter(|c| {
                    c.2.contains(&format!(" {binding} ")) || c.2.contains(&format!(" {name} "))
                })
                .count();
            assert_eq!(
                made,
                want + retried(run, binding),
                "{what}: {binding}'s calls: {calls:?}\n{}",
                run.stderr
            );
        }
        assert_eq!(
            calls.len(),
            2 * want + retried(run, ""),
            "{what}: {calls:?}"
        );
    };

    let run = p.migrate_with(&["up", "3", "--no-backup"], &env).ok();
    let calls = p.calls();
    per_database(&run, &calls, 1, "up: one apply per database");
    assert_eq!(count(&calls, "--file"), 2 + retried(&run, ""), "{calls:?}");
    let (a, b) = (&calls[0], &calls[1]);
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "the two databases' applies overlap in time: {calls:?}"
    );
    assert!(
        run.stdout.contains("✅ READ_REPLICA: applied 2 migrations"),
        "{}",
        run.all()
    );
    assert_eq!((p.versions(RR), p.versions(AUTH)), (vec![1, 3], vec![2]));

    let run = p.migrate_with(&["status"], &env).ok();
    per_database(&run, &p.calls(), 0, "status reads the files");
    assert!(run.stdout.contains("✅ Applied - v3"), "{}", run.all());

    // A local backup is SQLite's online backup of the database file: no call.
    let run = p.migrate_with(&["up"], &env).ok();
    let calls = p.calls();
    per_database(
        &run,
        &calls,
        1,
        "up with its backup: one apply per database",
    );
    assert_eq!(count(&calls, "d1 export"), 0, "{calls:?}");
    assert_eq!(count(&calls, "--file"), 2 + retried(&run, ""), "{calls:?}");
    assert_eq!(
        (p.versions(RR), p.versions(AUTH)),
        (vec![1, 3, 6], vec![2, 4, 5])
    );

    let run = p.migrate_with(&["up"], &env).ok();
    per_database(&run, &p.calls(), 0, "a no-op up calls nothing");
    assert!(
        run.stdout.contains("nothing to apply (at version 6)"),
        "{}",
        run.all()
    );

    // Reads through wrangler, as before local reads.
    let run = p.migrate_with(&["status"], &through_wrangler).ok();
    per_database(&run, &p.calls(), 1, "status: one read per database");
    // Databases this machine has no record of: read (and lock), then apply.
    p.migrate(&["down", "3", "--no-backup"]).ok();
    p.forget_hints(&[RR, AUTH]);
    p.calls();
    let run = p
        .migrate_with(&["up", "--no-backup"], &through_wrangler)
        .ok();
    let calls = p.calls();
    per_database(&run, &calls, 2, "unknown databases: a read, then the apply");
    assert_eq!(
        count(&calls, "--command"),
        2 + retried(&run, ""),
        "the reads: {calls:?}"
    );
    let last_read = calls
        .iter()
        .filter(|c| c.2.contains("--command"))
        .map(|c| c.1)
        .max();
    let first_apply = calls
        .iter()
        .filter(|c| c.2.contains("--file"))
        .map(|c| c.0)
        .min();
    assert!(last_read < first_apply, "reads, then applies: {calls:?}");
    let run = p.migrate_with(&["up"], &through_wrangler).ok();
    per_database(&run, &p.calls(), 1, "a no-op up reads (and locks)");
}

/// The runner starts wrangler's `cli.js` itself rather than through its
/// launcher, which would start a second node process: if a wrangler upgrade
/// changes the launcher, this says so.
#[test]
fn wrangler_is_started_without_its_launcher() {
    wrangler();
    let launcher = xtask::wrangler::Launcher::project(&root());
    assert_eq!(launcher.program, std::path::Path::new("node"));
    assert!(
        launcher.args[2]
            .to_string_lossy()
            .ends_with("wrangler-dist/cli.js"),
        "{launcher:?}"
    );
}

#[test]
fn json_logs_carry_migration_events() {
    let p = Project::seed();
    let run = p.migrate(&["up", "2", "--log-format", "json"]).ok();
    let events: Vec<Value> = run
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let applied = events
        .iter()
        .find(|e| e["version"] == 2)
        .unwrap_or_else(|| panic!("no event for v2: {events:?}"));
    assert_eq!(applied["level"], "INFO");
    assert_eq!(applied["database"], AUTH);
    assert_eq!(applied["name"], "0002_api_keys");
    assert!(applied["duration_ms"].as_i64().is_some(), "{applied}");
    assert!(applied["message"].as_str().unwrap().contains("applied"));
}

/// With `--log-format json` a failed command ends with one JSON line on
/// stderr: its message, and what the error is made of as the engine types it.
#[test]
fn json_logs_end_a_failure_with_what_it_is_made_of() {
    let p = Project::seed();
    p.migrate(&["up", "4"]).ok();
    p.query(
        AUTH,
        "INSERT INTO _migrations_lock (id, owner, acquired_at, expires_at) \
         VALUES (1, 'ci-7:4242 migrate up', unixepoch() * 1000, (unixepoch() + 3600) * 1000)",
    );
    let run = p.migrate(&["up", "--log-format", "json"]).fails();
    let last = run.stderr.lines().last().unwrap_or_default();
    let line: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(line["level"], "ERROR", "{line}");
    let error = &line["error"];
    assert!(error["message"].as_str().unwrap().contains(AUTH), "{line}");
    let failures = error["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{line}");
    assert_eq!(failures[0]["kind"], "lock_held", "{line}");
    assert_eq!(failures[0]["binding"], AUTH, "{line}");
    assert_eq!(failures[0]["owner"], "ci-7:4242 migrate up", "{line}");
    // Every line on stderr is JSON.
    for line in run.stderr.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}

#[test]
fn db_filter_and_seed_table_upgrade() {
    let p = Project::seed();
    // A database migrated by the seed's runner: three columns, no checksums.
    p.query(
        RR,
        "CREATE TABLE _migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    );
    p.migrate(&["up", "1", "--db", RR]).ok();
    assert_eq!(p.versions(AUTH), Vec::<u64>::new(), "--db limits the run");
    let columns = p.columns(RR, "_migrations");
    assert_eq!(
        columns,
        [
            "version",
            "name",
            "applied_at",
            "checksum",
            "duration_ms",
            "sql",
            "rollback_sql"
        ]
    );
    assert_eq!(p.versions(RR), [1]);
    let stored = p.query(RR, "SELECT sql, rollback_sql FROM _migrations");
    let file = |name: &str| std::fs::read_to_string(p.path(name)).unwrap();
    assert_eq!(
        stored[0]["sql"].as_str(),
        Some(file("migrations/0001_read_replica_schema.sql").as_str())
    );
    assert_eq!(
        stored[0]["rollback_sql"].as_str(),
        Some(file("migrations/0001_read_replica_schema.rollback.sql").as_str())
    );
}

/// The committed `migrations/schema/` snapshots are what the migrations make:
/// `up` on fresh databases compares its result with them and fails if not.
#[test]
fn the_committed_schema_snapshots_match_the_migrations() {
    // A fresh run (no snapshots in its folder) writes exactly the committed ones.
    let p = Project::seed();
    assert!(!p.path("migrations/schema").exists());
    p.migrate(&["up", "--no-backup"]).ok();
    for binding in [RR, AUTH] {
        let committed =
            std::fs::read_to_string(root().join(format!("migrations/schema/{binding}.sql")))
                .expect("run `cargo migrate up` and commit migrations/schema/");
        let written =
            std::fs::read_to_string(p.path(&format!("migrations/schema/{binding}.sql"))).unwrap();
        assert_eq!(written, committed, "{binding}");
    }
    // A stale snapshot is caught.
    let q = Project::seed();
    q.write(
        "migrations/schema/AUTH.sql",
        "-- Schema of AUTH after migrations 2, 4, 5.\n\nCREATE TABLE stale(x);\n",
    );
    let run = q.migrate(&["up", "--no-backup"]).fails();
    assert!(
        run.all().contains("differs from the committed snapshot"),
        "{}",
        run.all()
    );
}

//! Local reads without node: what a read of miniflare's file answers is what
//! wrangler's own `d1 execute` answers, on every corpus project (FTS5
//! included); a database not created yet reads as empty, but beside files
//! named some other way it is read through wrangler, and the log says so; `--persist-to` is followed; and reading
//! beside a `wrangler dev` that writes loses nothing and never falls back
//! to wrangler (the slowest read is printed).

use std::time::{Duration, Instant};

use serde_json::Value;
use xtask::migrate::local_files;
use xtask::migrate::local_reads::{self, Read};
use xtask::migrate::{Config, Database};

use crate::common::*;

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

/// Each statement's rows as wrangler's `d1 execute --local --json` gives them,
/// or its error's text.
fn through_wrangler(p: &Project, db: &Database, sql: &str) -> Result<Vec<Value>, String> {
    let output = wrangler_command()
        .args([
            "d1",
            "execute",
            &db.binding,
            "--local",
            "--json",
            "--command",
            sql,
        ])
        .arg("--config")
        .arg(p.config_path())
        .env("CI", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let results: Vec<Value> =
        serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout}"));
    Ok(results.iter().map(|r| r["results"].clone()).collect())
}

/// The same read from the file, as the xtask reads it.
fn from_file(p: &Project, db: &Database, sql: &str) -> Result<Vec<Value>, String> {
    match local_reads::query(&local_files::default_local_state(&p.path("")), db, sql) {
        Read::Rows(results) => Ok(results
            .into_iter()
            .map(|r| Value::Array(r.results.into_iter().map(Value::Object).collect()))
            .collect()),
        Read::Refused(err) => Err(err.text),
        other => panic!("{sql}: {other:?}"),
    }
}

/// Asserts both reads of `sql` agree: the same rows, or both refused for
/// the same reason.
fn assert_agree(p: &Project, name: &str, db: &Database, sql: &str) -> Vec<Value> {
    let (theirs, ours) = (through_wrangler(p, db, sql), from_file(p, db, sql));
    match (&theirs, &ours) {
        (Ok(theirs), Ok(ours)) => assert_eq!(ours, theirs, "{name} {}: {sql}", db.binding),
        (Err(theirs), Err(ours)) => {
            let why = ours
                .rsplit_once(": SQLITE_")
                .map_or(ours.as_str(), |(why, _)| why);
            assert!(
                theirs.contains(why),
                "{name} {}: {sql}\nwrangler: {theirs}\nfile: {ours}",
                db.binding
            );
        }
        _ => panic!(
            "{name} {}: {sql}\nwrangler: {theirs:?}\nfile: {ours:?}",
            db.binding
        ),
    }
    ours.unwrap_or_default()
}

/// `status --json` with the reads from the files and through wrangler.
fn status_both_ways(p: &Project) -> (Value, Value) {
    let json = |run: Run| -> Value {
        serde_json::from_str(&run.stdout).unwrap_or_else(|err| panic!("{err}: {}", run.all()))
    };
    let files = json(p.migrate(&["status", "--json"]));
    let wrangler = json(p.migrate_with(
        &["status", "--json"],
        &[("MIGRATE_LOCAL_READS", "wrangler")],
    ));
    (files, wrangler)
}

/// The reads of a statement each, as [`from_file`] and [`through_wrangler`]
/// answer them: the state, the schema, and every table's rows and columns.
fn every_read(db: &Database, tables: &[String]) -> Vec<String> {
    let mut reads = vec![
        xtask::migrate::state_query(db),
        xtask::migrate::SCHEMA_QUERY.to_owned(),
    ];
    for table in tables {
        reads.push(format!("SELECT * FROM \"{}\"", table.replace('"', "\"\"")));
        reads.push(format!(
            "SELECT name, type, pk FROM pragma_table_info('{}')",
            table.replace('\'', "''")
        ));
    }
    reads
}

/// Values of every kind SQLite stores, written through wrangler.
const PROBE: &str = "CREATE TABLE probe_values (i INTEGER, r REAL, t TEXT, n, b BLOB); \
     INSERT INTO probe_values VALUES (42, 1.5, 'héllo ''quoted''', NULL, x'00ff10'), (-7, -0.25, '', NULL, x'')";

#[test]
fn reads_of_the_files_agree_with_wranglers_own_on_every_corpus_project() {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 7, "{names:?}");
    for (index, name) in names.iter().enumerate() {
        let p = Project::corpus(name);
        if index == 0 {
            // Before anything ran: no local state, empty databases, both ways.
            let (files, wrangler) = status_both_ways(&p);
            assert_eq!(files, wrangler, "{name}: status before any run");
        }
        let run = p.migrate(&["up"]).ok();
        let config = Config::load(&p.config_path(), None).unwrap();
        for db in &config.databases {
            let schema = from_file(&p, db, xtask::migrate::SCHEMA_QUERY).unwrap();
            let mut tables: Vec<String> = schema[0]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["type"] == "table")
                .map(|o| o["name"].as_str().unwrap().to_owned())
                .collect();
            assert!(
                tables.iter().any(|t| t == "_migrations"),
                "{name}: {tables:?}\n{}",
                run.all()
            );
            // The probe, then every read, in one wrangler call; then the
            // same reads from the file.
            tables.push("probe_values".to_owned());
            let reads = every_read(db, &tables);
            let theirs = through_wrangler(&p, db, &format!("{PROBE}; {}", reads.join("; ")))
                .unwrap_or_else(|err| panic!("{name} {}: {err}", db.binding));
            let ours = from_file(&p, db, &reads.join("; ")).unwrap();
            // A result per statement (the state read is several).
            assert_eq!(theirs.len(), 2 + ours.len(), "{name} {}", db.binding);
            assert!(ours.len() > reads.len(), "{name} {}", db.binding);
            for (index, (theirs, ours)) in theirs[2..].iter().zip(&ours).enumerate() {
                assert_eq!(
                    ours, theirs,
                    "{name} {}: statement {index} of {reads:?}",
                    db.binding
                );
            }
            if index == 0 {
                // A read SQLite refuses is refused alike.
                assert_agree(&p, name, db, "SELECT * FROM no_such_table");
            }
        }
        let (files, wrangler) = status_both_ways(&p);
        assert_eq!(files, wrangler, "{name}: status after up");
    }
}

#[test]
fn a_database_not_created_yet_is_empty_and_files_named_otherwise_are_read_through_wrangler() {
    let p = Project::seed();
    // AUTH's file exists; READ_REPLICA's does not, beside it: never created,
    // so empty, with no call.
    p.migrate(&["up", "--db", AUTH]).ok();
    assert!(p.db_file(AUTH).is_file());
    assert!(!p.db_file(RR).exists());
    let wrapper = p.wrapper("");
    let env = [("MIGRATE_WRANGLER", wrapper.to_str().unwrap())];
    let run = p.migrate_with(&["status"], &env).ok();
    assert_eq!(p.calls(), [], "{}", run.all());
    assert!(run.stdout.contains("⏳ Pending - v1"), "{}", run.all());
    assert!(run.stdout.contains("✅ Applied - v2"), "{}", run.all());

    // The only database file is named some other way (a layout this tool
    // does not know): every read goes through wrangler, and the log says so.
    let auth = p.db_file(AUTH);
    std::fs::rename(&auth, auth.with_file_name("auth.sqlite")).unwrap();
    for side in ["-wal", "-shm"] {
        let mut name = auth.clone().into_os_string();
        name.push(side);
        std::fs::remove_file(name).ok();
    }
    let run = p.migrate_with(&["status"], &env).ok();
    let calls = p.calls();
    for binding in [RR, AUTH] {
        assert!(
            calls.iter().any(|c| c.2.contains(&format!(" {binding} "))),
            "{binding} goes through wrangler: {calls:?}"
        );
    }
    assert_line(
        &run.stderr,
        &[
            "reading READ_REPLICA through wrangler",
            "named some other way",
        ],
    );
    // wrangler made the files as it read them: from now on no call.
    let run = p.migrate_with(&["status"], &env).ok();
    assert_eq!(p.calls(), [], "{}", run.all());
    assert!(!run.stderr.contains("through wrangler"), "{}", run.stderr);
}

#[test]
fn persist_to_puts_the_databases_where_wrangler_dev_keeps_them_and_reads_them_there() {
    let p = Project::seed();
    let state = p.path("elsewhere/state");
    let state_arg = state.to_str().unwrap();
    let wrapper = p.wrapper("");
    let env = [("MIGRATE_WRANGLER", wrapper.to_str().unwrap())];
    let run = p
        .migrate_with(&["up", "--persist-to", state_arg], &env)
        .ok();
    let calls = p.calls();
    assert!(!calls.is_empty(), "{}", run.all());
    assert!(
        calls
            .iter()
            .all(|c| c.2.contains(&format!("--persist-to {state_arg}"))),
        "{}",
        run.all()
    );
    // Where wrangler keeps it with --persist-to: not beside the config.
    let config = Config::load(&p.config_path(), None).unwrap();
    let auth = config.database(AUTH).unwrap();
    assert!(local_files::database_file(&state, auth).is_file());
    assert!(!p.path(".wrangler/state").exists());
    let output = wrangler_command()
        .args([
            "d1",
            "execute",
            AUTH,
            "--local",
            "--persist-to",
            state_arg,
            "--json",
        ])
        .args(["--command", "SELECT count(*) AS n FROM _migrations"])
        .arg("--config")
        .arg(p.config_path())
        .env("CI", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("\"n\": 3"), "{stdout}");
    // Read there, without a call; through the variable as well.
    let run = p
        .migrate_with(
            &["status"],
            &[
                ("MIGRATE_WRANGLER", wrapper.to_str().unwrap()),
                ("MIGRATE_PERSIST_TO", state_arg),
            ],
        )
        .ok();
    assert_eq!(p.calls(), [], "{}", run.all());
    assert!(run.stdout.contains("✅ Applied - v5"), "{}", run.all());
    assert!(!run.stdout.contains("Pending"), "{}", run.all());
    // Without it: the state beside the config, where nothing ran.
    let run = p.migrate(&["status"]).ok();
    assert!(run.stdout.contains("⏳ Pending - v5"), "{}", run.all());
}

const WRITER: &str = r#"// A worker that writes one row per request into AUTH's `pings`.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/write") {
      await env.AUTH.prepare("INSERT INTO pings (at, body) VALUES (?1, ?2)")
        .bind(Date.now(), "x".repeat(2000))
        .run();
      const row = await env.AUTH.prepare("SELECT count(*) AS n FROM pings").first();
      return new Response(String(row.n));
    }
    return new Response("ok");
  },
};
"#;

#[test]
fn reads_beside_a_wrangler_dev_that_writes_lose_nothing_and_never_fall_back() {
    let p = Project::seed();
    p.migrate(&["up"]).ok();
    p.query_with_wrangler(
        AUTH,
        "CREATE TABLE pings (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, body TEXT)",
    );
    p.write("writer.js", WRITER);
    let config = p.use_built_worker(&p.path("writer.js"));
    let dev = wrangler_dev(&config, 90);
    assert_eq!(dev.get("/", &[]).body, "ok");
    const WRITES: usize = 200;
    let port = dev.port;
    let writer = std::thread::spawn(move || {
        let mut counts = Vec::new();
        for _ in 0..WRITES {
            let reply = http_get(port, "/write", &[]).expect("the writer's request");
            assert_eq!(reply.status, 200, "{}", reply.body);
            counts.push(reply.body.trim().parse::<usize>().unwrap());
        }
        counts
    });
    let mut slowest = Duration::ZERO;
    let mut reads = 0;
    while !writer.is_finished() {
        let started = Instant::now();
        let run = p.migrate(&["status", "--json"]).ok();
        slowest = slowest.max(started.elapsed());
        reads += 1;
        let status: Value = serde_json::from_str(&run.stdout).unwrap();
        assert!(status.is_object() || status.is_array(), "{}", run.stdout);
        assert!(!run.stderr.contains("through wrangler"), "{}", run.stderr);
    }
    let counts = writer.join().unwrap();
    assert_eq!(
        counts,
        (1..=WRITES).collect::<Vec<_>>(),
        "every write counted once, in order"
    );
    assert!(reads >= 3, "only {reads} reads while the worker wrote");
    // How long a read waits beside the writer is a figure, not a check.
    println!("{reads} status reads beside {WRITES} writes; the slowest took {slowest:?}");
    drop(dev);
    let rows = p.query_with_wrangler(AUTH, "SELECT count(*) AS n FROM pings");
    assert_eq!(rows[0]["n"], Value::from(WRITES as u64));
    // D1 does not allow `PRAGMA integrity_check`: SQLite's own shell runs it.
    let sqlite3 = require(xtask::tasks::test::sqlite3());
    let check = std::process::Command::new(sqlite3)
        .arg("-readonly")
        .arg(p.db_file(AUTH))
        .arg("PRAGMA integrity_check")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(p.versions(AUTH), [2, 4, 5]);
}

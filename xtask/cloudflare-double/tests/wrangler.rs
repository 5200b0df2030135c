//! End-to-end tests: the real wrangler CLI (the version pinned in the workspace's package.json)
//! against the double on 127.0.0.1, each test with its own double on port 0 and its own temp dirs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cloudflare_double::{serve, Double, Fault, NamedDatabase, Options};
use serde_json::Value;

const TOKEN: &str = "test-token-5f0c9d1e7a";
const ACCOUNT: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const DB_ID: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
const WRANGLER_TIMEOUT: Duration = Duration::from_secs(240);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The pinned wrangler, installed with `npm ci` once if it is missing.
fn wrangler_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = workspace_root();
        let bin = root.join("node_modules/.bin/wrangler");
        if !bin.exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&root)
                .status()
                .expect("running npm ci (is Node.js installed?)");
            assert!(status.success(), "npm ci failed");
        }
        assert!(bin.exists(), "wrangler is not at {}", bin.display());
        bin
    })
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The JSON document wrangler printed (spinner lines may come before it on stdout).
    fn json(&self) -> Value {
        let start = self
            .stdout
            .lines()
            .scan(0usize, |pos, line| {
                let here = *pos;
                *pos += line.len() + 1;
                Some((here, line))
            })
            .find(|(_, line)| line.starts_with('[') || line.starts_with('{'))
            .map(|(pos, _)| pos)
            .unwrap_or_else(|| panic!("no JSON in wrangler's output:\n{}", self.all()));
        serde_json::from_str(&self.stdout[start..])
            .unwrap_or_else(|e| panic!("bad JSON ({e}):\n{}", self.all()))
    }

    fn assert_ok(&self, what: &str) {
        assert!(
            self.ok(),
            "{what} failed ({:?}):\n{}",
            self.code,
            self.all()
        );
    }
}

/// A temp project (wrangler.toml with a D1 binding, a trivial worker) and a double.
struct Project {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
    double: Double,
}

impl Project {
    fn new(configure: impl FnOnce(&mut Options)) -> Project {
        let mut options = Options::new(TOKEN);
        options.quiet = true;
        configure(&mut options);
        let double = serve(options).expect("starting the double");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("wrangler.toml"),
            format!(
                "name = \"double-test-worker\"\nmain = \"index.js\"\ncompatibility_date = \"2025-11-01\"\n\n\
                 [[d1_databases]]\nbinding = \"DB\"\ndatabase_name = \"db\"\ndatabase_id = \"{DB_ID}\"\n"
            ),
        )
        .expect("writing wrangler.toml");
        std::fs::write(
            dir.path().join("index.js"),
            "export default {\n  async fetch(request, env) {\n    return new Response(\"hello\");\n  },\n};\n",
        )
        .expect("writing index.js");
        let home = tempfile::tempdir().expect("tempdir");
        Project { dir, home, double }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("writing a project file");
        path
    }

    /// Runs wrangler with the double's URL, the right token and the project's config.
    fn wrangler(&self, args: &[&str]) -> Run {
        self.wrangler_with(args, &[("CLOUDFLARE_API_TOKEN", TOKEN)])
    }

    fn wrangler_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(wrangler_bin());
        cmd.args(args)
            .arg("--config")
            .arg(self.path("wrangler.toml"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in [
            "CLOUDFLARE_API_TOKEN",
            "CLOUDFLARE_API_KEY",
            "CLOUDFLARE_EMAIL",
            "CF_API_TOKEN",
            "CF_API_KEY",
            "CF_EMAIL",
            "CF_ACCOUNT_ID",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("FORCE_COLOR", "0")
            // No banner, so no update check against the npm registry on every run.
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("WRANGLER_LOG_PATH", self.home.path().join("logs"))
            .env("CLOUDFLARE_API_BASE_URL", self.double.api_base_url())
            .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_with_timeout(cmd)
    }

    fn execute(&self, sql: &str) -> Run {
        self.wrangler(&[
            "d1",
            "execute",
            "DB",
            "--remote",
            "--json",
            "--command",
            sql,
        ])
    }

    fn import(&self, file: &Path) -> Run {
        let file = file.to_str().expect("utf-8 path");
        self.wrangler(&[
            "d1", "execute", "DB", "--remote", "--json", "--yes", "--file", file,
        ])
    }

    /// The rows of the last statement of a remote query.
    fn rows(&self, sql: &str) -> Vec<Value> {
        let run = self.execute(sql);
        run.assert_ok(sql);
        let json = run.json();
        let last = json
            .as_array()
            .and_then(|a| a.last())
            .expect("a result per statement");
        last["results"].as_array().cloned().unwrap_or_default()
    }

    /// The remote database's content, dumped straight from its SQLite file.
    fn dump(&self) -> String {
        let conn = rusqlite::Connection::open(self.double.database_path(DB_ID))
            .expect("opening the database file");
        cloudflare_double::dump::dump_lines(&conn, &Default::default())
            .expect("dump")
            .join("\n")
    }

    fn bookmark(&self) -> String {
        let run = self.wrangler(&["d1", "time-travel", "info", "DB", "--json"]);
        run.assert_ok("time-travel info");
        run.json()["bookmark"]
            .as_str()
            .expect("a bookmark")
            .to_string()
    }
}

fn run_with_timeout(mut cmd: Command) -> Run {
    let start = Instant::now();
    let mut child = cmd.spawn().expect("starting wrangler");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for wrangler") {
            break status;
        }
        if start.elapsed() > WRANGLER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wrangler ran longer than {WRANGLER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    }
}

/// A plain HTTP/1.0 request to the double; returns status and body.
fn http(double: &Double, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream =
        TcpStream::connect(("127.0.0.1", double.port())).expect("connecting to the double");
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("sending");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reading");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn statuses(double: &Double, kind: &str) -> Vec<u16> {
    double
        .requests()
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.status)
        .collect()
}

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

#[test]
fn time_travel_restores_bookmarks_and_timestamps() {
    let p = Project::new(|_| {});
    p.execute("CREATE TABLE t(a); INSERT INTO t VALUES (1)")
        .assert_ok("seed");
    let first = p.bookmark();
    std::thread::sleep(Duration::from_millis(50));
    let between = cloudflare_double::util::iso8601(cloudflare_double::util::now_ms());
    std::thread::sleep(Duration::from_millis(50));
    p.execute("INSERT INTO t VALUES (2); UPDATE t SET a = a * 10")
        .assert_ok("change");
    let changed = p.bookmark();
    assert_ne!(first, changed);
    assert_eq!(
        p.rows("SELECT a FROM t ORDER BY a"),
        vec![
            serde_json::json!({ "a": 10 }),
            serde_json::json!({ "a": 20 })
        ]
    );

    let run = p.wrangler(&[
        "d1",
        "time-travel",
        "restore",
        "DB",
        "--bookmark",
        &first,
        "--json",
    ]);
    run.assert_ok("restore --bookmark");
    let json = run.json();
    assert_eq!(json["bookmark"], first.as_str());
    assert_eq!(json["previous_bookmark"], changed.as_str());
    assert_eq!(
        p.rows("SELECT a FROM t ORDER BY a"),
        vec![serde_json::json!({ "a": 1 })]
    );

    // Undo with the previous bookmark, then go back by timestamp.
    p.wrangler(&[
        "d1",
        "time-travel",
        "restore",
        "DB",
        "--bookmark",
        &changed,
        "--json",
    ])
    .assert_ok("undo");
    assert_eq!(
        p.rows("SELECT count(*) AS n FROM t"),
        vec![serde_json::json!({ "n": 2 })]
    );
    let run = p.wrangler(&[
        "d1",
        "time-travel",
        "info",
        "DB",
        "--timestamp",
        &between,
        "--json",
    ]);
    run.assert_ok("info --timestamp");
    assert_eq!(run.json()["bookmark"], first.as_str());
    p.wrangler(&[
        "d1",
        "time-travel",
        "restore",
        "DB",
        "--timestamp",
        &between,
        "--json",
    ])
    .assert_ok("restore --timestamp");
    assert_eq!(
        p.rows("SELECT a FROM t ORDER BY a"),
        vec![serde_json::json!({ "a": 1 })]
    );

    let run = p.wrangler(&[
        "d1",
        "time-travel",
        "restore",
        "DB",
        "--bookmark",
        "00000000-nope",
        "--json",
    ]);
    assert!(!run.ok(), "an unknown bookmark is an error:\n{}", run.all());
}

#[test]
fn list_and_info_know_the_databases() {
    const OTHER_ID: &str = "0b7e6a59-3c2d-4f1e-9a8b-7c6d5e4f3a2b";
    let p = Project::new(|o| {
        o.databases.push(NamedDatabase {
            name: "db".into(),
            id: DB_ID.into(),
        });
        o.databases.push(NamedDatabase {
            name: "other".into(),
            id: OTHER_ID.into(),
        });
        o.delay
            .push(Fault::parse_delay("list:1:1200").expect("fault"));
    });
    let run = p.wrangler(&["d1", "list", "--json"]);
    run.assert_ok("d1 list");
    assert!(
        run.elapsed >= Duration::from_millis(1200),
        "--delay list:1:1200 should slow the first list"
    );
    let list = run.json();
    let names: Vec<(&str, &str)> = list
        .as_array()
        .expect("an array")
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap_or(""),
                d["uuid"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(names, vec![("db", DB_ID), ("other", OTHER_ID)]);

    p.execute("CREATE TABLE a(x); CREATE TABLE b(y)")
        .assert_ok("tables");
    let run = p.wrangler(&["d1", "info", "DB", "--json"]);
    run.assert_ok("d1 info");
    let info = run.json();
    assert_eq!(info["uuid"], DB_ID);
    assert_eq!(info["name"], "db");
    assert_eq!(info["num_tables"], 2);
    assert!(info["database_size"].as_u64().unwrap_or(0) > 0, "{info}");

    // A name that is not in wrangler.toml is looked up through the list endpoint.
    p.wrangler(&[
        "d1",
        "execute",
        "other",
        "--remote",
        "--json",
        "--command",
        "CREATE TABLE o(z)",
    ])
    .assert_ok("by name");
    let run = p.wrangler(&["d1", "info", "other", "--json"]);
    run.assert_ok("d1 info other");
    assert_eq!(run.json()["uuid"], OTHER_ID);
    assert_eq!(run.json()["num_tables"], 1);
}

#[test]
fn wrong_or_missing_token_is_an_authentication_error() {
    let p = Project::new(|_| {});
    let wrong = "wrong-token-0123456789";
    let run = p.wrangler_with(
        &["d1", "execute", "DB", "--remote", "--command", "SELECT 1"],
        &[("CLOUDFLARE_API_TOKEN", wrong)],
    );
    assert!(!run.ok());
    assert!(run.all().contains("Authentication error"), "{}", run.all());
    assert!(
        !run.all().contains(wrong) && !run.all().contains(TOKEN),
        "the token leaked:\n{}",
        run.all()
    );
    assert_eq!(statuses(&p.double, "auth").first(), Some(&403));

    // Global-key credentials send no bearer token at all: 401.
    let run = p.wrangler_with(
        &["d1", "execute", "DB", "--remote", "--command", "SELECT 1"],
        &[
            ("CLOUDFLARE_API_KEY", "global-key-0123456789"),
            ("CLOUDFLARE_EMAIL", "someone@example.com"),
        ],
    );
    assert!(!run.ok());
    assert!(run.all().contains("Authentication error"), "{}", run.all());
    assert!(!run.all().contains("global-key-0123456789"));
    assert!(p.double.requests().iter().any(|r| r.status == 401));

    // No credentials: wrangler refuses before it sends anything.
    let seen = p.double.requests().len();
    let run = p.wrangler_with(
        &["d1", "execute", "DB", "--remote", "--command", "SELECT 1"],
        &[],
    );
    assert!(!run.ok());
    assert!(run.all().contains("CLOUDFLARE_API_TOKEN"), "{}", run.all());
    assert_eq!(p.double.requests().len(), seen);

    // The raw shapes.
    let (status, body) = http(&p.double, "GET", "/client/v4/accounts/x/d1/database", &[]);
    assert_eq!(status, 401);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        body,
        serde_json::json!({"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null})
    );
    let (status, _) = http(
        &p.double,
        "GET",
        "/client/v4/accounts/x/d1/database",
        &[("Authorization", "Bearer nope")],
    );
    assert_eq!(status, 403);
    // The right token passes.
    p.execute("SELECT 1").assert_ok("right token");
}

#[test]
fn injected_500_fails_the_first_query_and_the_next_succeeds() {
    let p = Project::new(|o| {
        o.fail.push(Fault::parse_fail("query:1").expect("fault"));
        o.delay
            .push(Fault::parse_delay("query:2:1000").expect("fault"));
    });
    let run = p.execute("CREATE TABLE t(a)");
    assert!(!run.ok(), "the first query gets a 500:\n{}", run.all());
    assert!(
        run.all().contains("injected fault: query #1"),
        "{}",
        run.all()
    );
    assert_eq!(
        statuses(&p.double, "query"),
        vec![500],
        "wrangler does not retry D1 queries"
    );
    let run = p.execute("CREATE TABLE t(a)");
    run.assert_ok("second query");
    assert!(
        run.elapsed >= Duration::from_millis(1000),
        "--delay query:2:1000 slows the second query"
    );
    assert_eq!(statuses(&p.double, "query"), vec![500, 200]);
}

#[test]
fn deploy_is_recorded() {
    let p = Project::new(|o| o.fail.push(Fault::parse_fail("deploy:1").expect("fault")));
    let run = p.wrangler(&["deploy"]);
    run.assert_ok("deploy");
    assert!(run.all().contains("double-test-worker"), "{}", run.all());
    // wrangler retries a failed upload (up to 3 attempts), so the injected 500 is absorbed.
    assert_eq!(statuses(&p.double, "deploy"), vec![500, 200]);

    let (status, body) = http(&p.double, "GET", "/__double/deploys", &[]);
    assert_eq!(status, 200);
    let deploys: Value = serde_json::from_str(&body).expect("json");
    let deploys = deploys.as_array().expect("an array");
    assert_eq!(deploys.len(), 1);
    let d = &deploys[0];
    assert_eq!(d["script_name"], "double-test-worker");
    assert_eq!(d["metadata"]["main_module"], "index.js");
    let bindings = d["metadata"]["bindings"].as_array().expect("bindings");
    assert!(
        bindings
            .iter()
            .any(|b| b["type"] == "d1" && b["name"] == "DB" && b["id"] == DB_ID),
        "no D1 binding in {bindings:?}"
    );
    assert_eq!(d["files"], serde_json::json!(["index.js"]));
    let dir = p.double.data_dir().join("deploys/1");
    let metadata: Value =
        serde_json::from_slice(&std::fs::read(dir.join("metadata.json")).expect("metadata.json"))
            .expect("json");
    assert_eq!(metadata, d["metadata"]);
    let script = std::fs::read_to_string(dir.join("files/index.js")).expect("files/index.js");
    assert!(script.contains("hello"), "{script}");

    // A second deploy of the same worker goes through the versions API; it is recorded too.
    p.wrangler(&["deploy"]).assert_ok("second deploy");
    assert_eq!(p.double.deploys().len(), 2);
}

#[test]
fn binary_prints_the_base_url_first() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cloudflare-double"))
        .args(["--port", "0", "--token", TOKEN, "--quiet", "--data-dir"])
        .arg(data.path())
        .args(["--database", &format!("db={DB_ID}"), "--fail", "list:1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the double");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let url = first
        .trim_end()
        .strip_prefix("CLOUDFLARE_API_BASE_URL=http://127.0.0.1:")
        .map(str::to_string);
    let port: Option<u16> = url
        .as_deref()
        .and_then(|u| u.strip_suffix("/client/v4"))
        .and_then(|p| p.parse().ok());
    let result = std::panic::catch_unwind(|| {
        let port = port.unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        let get = |path: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.write_all(
                format!("GET {path} HTTP/1.0\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").as_bytes(),
            )
            .expect("send");
            let mut r = String::new();
            s.read_to_string(&mut r).expect("read");
            r
        };
        let status = |r: &str| r.split(' ').nth(1).map(str::to_string);
        let first = get("/client/v4/accounts/x/d1/database");
        assert_eq!(
            status(&first).as_deref(),
            Some("500"),
            "--fail list:1: {first}"
        );
        let second = get("/client/v4/accounts/x/d1/database");
        assert_eq!(status(&second).as_deref(), Some("200"), "{second}");
        assert!(second.contains(DB_ID), "{second}");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

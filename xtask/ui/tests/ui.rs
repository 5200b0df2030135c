//! `cargo migrate ui`, end to end: the real `migrate-ui` binary on a
//! throwaway project on local D1 (and on the Cloudflare API double for the
//! remote target), its security rules over real HTTP, and its pages in a
//! real Chromium driven by playwright-core (`browser.mjs`).

#[path = "../../tests/e2e/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// A running `migrate-ui`, stopped (Ctrl-C, as a user stops it) when dropped.
struct Ui {
    child: Child,
    port: u16,
    token: String,
    url: String,
}

impl Ui {
    fn start(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Ui {
        wrangler();
        let mut command = Command::new(env!("CARGO_BIN_EXE_migrate-ui"));
        command
            .arg("--config")
            .arg(p.config_path())
            .args(["--port", "0"])
            .args(args)
            .env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env_remove("MIGRATE_LOG_FORMAT")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(p.path("ui.log")).unwrap(),
            ))
            .process_group(0);
        match std::env::var_os(TEST_WRANGLER_VAR).filter(|p| !p.is_empty()) {
            Some(path) => command.env("MIGRATE_WRANGLER", path),
            None => command.env_remove("MIGRATE_WRANGLER"),
        };
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_owned();
        let rest = url
            .strip_prefix("http://127.0.0.1:")
            .unwrap_or_else(|| panic!("the first line is the address: {url:?}"));
        let (port, token) = rest.split_once("/?token=").unwrap();
        Ui {
            child,
            port: port.parse().unwrap(),
            token: token.to_owned(),
            url,
        }
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn get(&self, path: &str) -> HttpReply {
        http_get(self.port, path, &[("Authorization", &self.bearer())]).unwrap()
    }

    fn post(&self, path: &str, body: &Value) -> HttpReply {
        send(
            "POST",
            self.port,
            path,
            &[
                ("Authorization", &self.bearer()),
                ("Origin", &self.origin()),
            ],
            &body.to_string(),
        )
    }

    /// The current run's stream, to its end: its messages' data, in order.
    /// Read for as long as the run takes, on a loaded machine too.
    fn events(&self) -> Vec<(String, Value)> {
        let url = format!("http://127.0.0.1:{}/api/events", self.port);
        let reply = xtask::http::get(&url)
            .header("Authorization", &self.bearer())
            .timeout(std::time::Duration::from_secs(600))
            .send()
            .unwrap();
        let reply = HttpReply {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        };
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply
            .header("content-type")
            .unwrap()
            .starts_with("text/event-stream"));
        reply
            .body
            .split("\n\n")
            .filter_map(|message| {
                let name = message.lines().find_map(|l| l.strip_prefix("event: "))?;
                let data = message.lines().find_map(|l| l.strip_prefix("data: "))?;
                Some((name.to_owned(), serde_json::from_str(data).unwrap()))
            })
            .collect()
    }

    /// Stops it with Ctrl-C and returns how it exited.
    fn stop(mut self) -> Option<i32> {
        let pid = self.child.id() as i32;
        unsafe { libc::kill(-pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "Ctrl-C did not stop the server");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
            self.child.wait().ok();
        }
    }
}

/// Any request, through the xtask's own HTTP client.
fn send(
    method: &'static str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpReply {
    let mut request =
        xtask::http::request(method, &format!("http://127.0.0.1:{port}{path}")).no_redirects();
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if method != "GET" {
        request = request
            .header("Content-Type", "application/json")
            .body(body);
    }
    let reply = request.send().unwrap();
    HttpReply {
        status: reply.status,
        headers: reply.headers,
        body: reply.body,
    }
}

/// Where the screenshots go: kept after the run, as test artifacts.
fn artifacts() -> PathBuf {
    let dir = root().join("target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_server_listens_on_127_0_0_1_only_and_wants_the_token_host_and_origin() {
    let p = Project::seed();
    let ui = Ui::start(&p, &[], &[]);
    let port = ui.port;

    // Only the loopback address it printed: another loopback address of
    // this machine is refused.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(
        std::net::TcpStream::connect(("127.0.0.2", port)).is_err(),
        "it listens beyond 127.0.0.1"
    );

    // No token, a wrong one, a wrong cookie: 401, for pages and the API.
    for path in ["/", "/api/status", "/api/history", "/assets/js/main.js"] {
        assert_eq!(http_get(port, path, &[]).unwrap().status, 401, "{path}");
    }
    let wrong = [
        ("Authorization", "Bearer 00000000000000000000000000000000"),
        ("Cookie", "migrate_ui=00000000000000000000000000000000"),
    ];
    for header in wrong {
        assert_eq!(
            http_get(port, "/api/status", &[header]).unwrap().status,
            401
        );
    }
    assert_eq!(
        http_get(port, "/?token=0123", &[]).unwrap().status,
        401,
        "a wrong token in the link"
    );

    // The printed link sets an HttpOnly, SameSite=Strict cookie and sends the
    // page to the address without the token; the cookie then opens the page.
    let link = send("GET", port, &ui.url[ui.url.find("/?").unwrap()..], &[], "");
    assert_eq!(link.status, 303);
    assert_eq!(link.header("location"), Some("/"));
    let cookie = link.header("set-cookie").unwrap().to_owned();
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        &format!("migrate_ui={}", ui.token),
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap();
    let page = http_get(port, "/", &[("Cookie", pair)]).unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<script"), "{}", page.body);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    let info = http_get(port, "/api/info", &[("Cookie", pair)]).unwrap();
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.json()["target"], "local");

    // A foreign Host (DNS rebinding) is refused even with the token;
    // localhost:PORT is this server too.
    let bearer = ui.bearer();
    let auth = ("Authorization", bearer.as_str());
    let evil = format!("evil.example:{port}");
    let reply = http_get(port, "/api/status", &[auth, ("Host", &evil)]).unwrap();
    assert_eq!(reply.status, 403, "{}", reply.body);
    let localhost = format!("localhost:{port}");
    let reply = http_get(port, "/api/info", &[auth, ("Host", &localhost)]).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);

    // What changes state: POST with the token and this server's Origin only.
    let origin = ui.origin();
    let body = json!({}).to_string();
    for (method, headers, why) in [
        ("GET", vec![auth], "a GET that would run migrations"),
        ("PUT", vec![auth, ("Origin", origin.as_str())], "a PUT"),
        ("POST", vec![auth], "a POST without Origin"),
        (
            "POST",
            vec![auth, ("Origin", "http://evil.example")],
            "a cross-origin POST",
        ),
        (
            "POST",
            vec![auth, ("Origin", "http://127.0.0.1:1")],
            "another port's page",
        ),
    ] {
        for path in ["/api/up", "/api/down", "/api/rehearse", "/api/restore"] {
            let reply = send(method, port, path, &headers, &body);
            assert_eq!(reply.status, 403, "{why} to {path}: {}", reply.body);
        }
    }
    let reply = send("POST", port, "/api/up", &[("Origin", &origin)], &body);
    assert_eq!(reply.status, 401, "a POST without the token");

    // None of it ran anything: no database was created or written.
    for binding in ["AUTH", "READ_REPLICA"] {
        assert!(!p.db_file(binding).exists(), "{binding} was touched");
    }
    assert_eq!(ui.stop(), Some(0), "Ctrl-C stops it cleanly");
}

#[test]
fn runs_from_the_api_change_the_database_stream_their_events_and_make_history() {
    let p = Project::seed();
    // Every batch wrangler runs (`--file`) takes 3 s more, so that a second
    // run asked for while one applies always finds it running.
    let slow = p.wrapper("case \"$*\" in *--file*) sleep 3;; esac");
    let ui = Ui::start(&p, &[], &[("MIGRATE_WRANGLER", slow.to_str().unwrap())]);

    let status = ui.get("/api/status").json();
    let cli: Value = serde_json::from_str(&p.migrate(&["status", "--json"]).ok().stdout).unwrap();
    assert_eq!(status, cli, "/api/status is `status --json`");

    // Bad requests say what is wrong, and run nothing.
    for (path, body, says) in [
        ("/api/down", json!({}), "needs `to`"),
        ("/api/up", json!({"to": 99}), "no migration 99"),
        ("/api/up", json!({"db": ["NOPE"]}), "NOPE"),
        ("/api/up", json!({"sql": "DROP TABLE x"}), "unknown field"),
    ] {
        let reply = ui.post(path, &body);
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert!(
            reply.json()["error"].as_str().unwrap().contains(says),
            "{}",
            reply.body
        );
    }

    // A rehearsal writes nothing and streams the plan and its report.
    let reply = ui.post("/api/rehearse", &json!({"to": 4, "db": ["AUTH"]}));
    assert_eq!(reply.status, 202, "{}", reply.body);
    let events = ui.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|(_, d)| d["kind"].as_str().unwrap_or("?"))
        .collect();
    assert!(
        kinds.contains(&"planned") && kinds.contains(&"rehearsal"),
        "{kinds:?}"
    );
    let (name, done) = events.last().unwrap();
    assert_eq!(
        (name.as_str(), &done["ok"]),
        ("done", &json!(true)),
        "{events:?}"
    );
    assert_eq!(p.versions("AUTH"), Vec::<u64>::new());

    // Up to 4 on AUTH: applied, streamed, recorded.
    let reply = ui.post("/api/up", &json!({"to": 4, "db": ["AUTH"]}));
    assert_eq!(reply.status, 202, "{}", reply.body);
    let busy = ui.post("/api/down", &json!({"to": 0}));
    assert_eq!(
        busy.status, 409,
        "a second run while one runs: {}",
        busy.body
    );
    let events = ui.events();
    let (_, done) = events.last().unwrap();
    assert_eq!(done["ok"], true, "{events:?}");
    let applied: Vec<&Value> = events
        .iter()
        .filter(|(_, d)| d["kind"] == "migration_applied")
        .map(|(_, d)| &d["event"]["migration"]["version"])
        .collect();
    assert_eq!(applied, [&json!(2), &json!(4)]);
    assert_eq!(p.versions("AUTH"), [2, 4]);
    assert_eq!(p.versions("READ_REPLICA"), Vec::<u64>::new());
    let report = &done["report"];
    assert_eq!(report["outcome"], "succeeded");
    assert!(report["command"]
        .as_str()
        .unwrap()
        .contains("(from the web UI)"));

    // A failing migration: the stream ends with the failure, where it broke.
    p.write(
        "migrations/0007_notes.sql",
        "-- database: AUTH\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\nINSERT INTO missing_table VALUES (1);\n",
    );
    assert_eq!(ui.post("/api/up", &json!({"db": ["AUTH"]})).status, 202);
    let events = ui.events();
    let (_, done) = events.last().unwrap();
    assert_eq!(done["ok"], false);
    assert_eq!(done["report"], Value::Null);
    let failed = events
        .iter()
        .find(|(_, d)| d["kind"] == "failed")
        .expect("a failed event");
    assert_eq!(failed.1["event"]["at"]["line"], 3, "{failed:?}");
    assert_eq!(p.versions("AUTH"), [2, 4]);

    // The history has both runs, newest first, failure included.
    let runs = ui.get("/api/history").json()["runs"]
        .as_array()
        .unwrap()
        .clone();
    let outcomes: Vec<&str> = runs
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(&outcomes[..2], ["failed", "succeeded"], "{runs:?}");
    let failure = &runs[0]["databases"][0]["failure"];
    assert_eq!(failure["line"], 3);
    assert!(runs[0]["host"].is_string() && runs[0].get("user").is_some());

    // A migration's page: its SQL, rollback, lint, checksums and what it changes.
    let page = ui.get("/api/migration?db=AUTH&version=4").json();
    assert_eq!(page["state"], "applied");
    assert!(page["sql"]
        .as_str()
        .unwrap()
        .contains("CREATE TABLE IF NOT EXISTS rooms"));
    assert!(page["rollback_sql"]
        .as_str()
        .unwrap()
        .contains("DROP TABLE"));
    assert_eq!(page["checksum_file"], page["checksum_recorded"]);
    assert_eq!(page["changes"]["tables_added"], json!(["rooms"]));
    assert_eq!(
        page["changes"]["indexes_added"],
        json!(["idx_rooms_owner_user_id"])
    );

    // The schema: tables and foreign keys, and verify's report.
    p.migrate(&["up", "5"]).ok();
    p.remove("migrations/0007_notes.sql");
    let schema = ui.get("/api/schema?db=AUTH").json();
    let permissions = schema["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "room_permissions")
        .unwrap();
    assert_eq!(
        permissions["foreign_keys"][0],
        json!({"from": "room_id", "table": "rooms", "to": "id", "on_delete": "CASCADE"})
    );
    assert_eq!(schema["drift"]["ok"], true, "{schema}");

    // Backups, and a restore through restore's checks: a backup of another
    // database is refused; AUTH's own first backup puts it back at v0.
    let backups = ui.get("/api/backups").json()["backups"]
        .as_array()
        .unwrap()
        .clone();
    let of = |binding: &str| -> Vec<PathBuf> {
        backups
            .iter()
            .filter(|b| b["binding"] == binding)
            .map(|b| PathBuf::from(b["file"].as_str().unwrap()))
            .collect()
    };
    let auth = of("AUTH");
    assert!(!auth.is_empty(), "{backups:?}");
    let reply = ui.post(
        "/api/restore",
        &json!({"file": "/etc/passwd", "db": "AUTH"}),
    );
    assert_eq!(reply.status, 400, "only a listed backup: {}", reply.body);
    let first = auth.last().unwrap();
    let reply = ui.post("/api/restore", &json!({"file": first, "db": "AUTH"}));
    assert_eq!(reply.status, 202, "{}", reply.body);
    let events = ui.events();
    assert_eq!(events.last().unwrap().1["ok"], true, "{events:?}");
    assert_eq!(p.versions("AUTH"), Vec::<u64>::new());
    assert_eq!(ui.stop(), Some(0));
}

#[test]
fn the_pages_work_in_a_real_browser() {
    let browser = chromium();
    let p = Project::seed();
    // Each batch (`--file`) is held 2 s, so that a run's log has lines on
    // the page well before its report: the streaming check is strict.
    let slow = p.wrapper("case \"$*\" in *--file*) sleep 2;; esac");
    let ui = Ui::start(&p, &[], &[("MIGRATE_WRANGLER", slow.to_str().unwrap())]);
    let shots = artifacts();
    let script = root().join("xtask/ui/tests/browser.mjs");
    let output = Command::new("node")
        .arg(&script)
        .env("UI_URL", &ui.url)
        .env("UI_PROJECT", p.path(""))
        .env("UI_SHOTS", &shots)
        .env("UI_WRANGLER", wrangler_js())
        .env("UI_CHROMIUM", &browser)
        .env("CI", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .current_dir(root())
        .output()
        .unwrap();
    let said = format!(
        "{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(p.path("ui.log")).unwrap_or_default()
    );
    assert!(output.status.success(), "{said}");
    // What the pages did last (a restore of the backup the rollback took),
    // checked in the database itself.
    assert_eq!(p.versions("AUTH"), [2, 4, 5], "{said}");
    for shot in [
        "overview",
        "migration",
        "run",
        "schema",
        "history",
        "backups",
        "durations",
    ] {
        let file = shots.join(format!("{shot}.png"));
        assert!(
            std::fs::metadata(&file).is_ok_and(|m| m.len() > 5_000),
            "no screenshot {}",
            file.display()
        );
    }
    assert_eq!(ui.stop(), Some(0));
}

#[test]
fn the_remote_target_shows_the_overview_and_applies_only_when_confirmed_by_name() {
    const TOKEN: &str = "ui-remote-token-5e2d9a";
    let p = Project::seed();
    let (double, env) = api_double(TOKEN);
    let ui = Ui::start(&p, &["--remote"], &borrowed(&env));
    let info = ui.get("/api/info").json();
    assert_eq!(info["target"], "remote");
    let status = ui.get("/api/status");
    assert_eq!(status.status, 200, "{}", status.body);
    let status = status.json();
    let states: Vec<&str> = status["databases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|db| db["migrations"].as_array().unwrap())
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["pending"; 6]);

    // Not confirmed, or confirmed with the binding instead of the name: refused.
    for confirm in [json!([]), json!(["AUTH"])] {
        let reply = ui.post("/api/up", &json!({"db": ["AUTH"], "confirm": confirm}));
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.body.contains("nanotype-auth"), "{}", reply.body);
    }
    let reply = ui.post(
        "/api/up",
        &json!({"db": ["AUTH"], "confirm": ["nanotype-auth"]}),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let events = ui.events();
    assert_eq!(events.last().unwrap().1["ok"], true, "{events:?}");
    assert_eq!(remote_versions(&p, &double, "AUTH"), [2, 4, 5]);
    assert_eq!(
        remote_versions(&p, &double, "READ_REPLICA"),
        Vec::<u64>::new()
    );

    // No secret reaches the page.
    for path in ["/api/info", "/api/status", "/api/history", "/api/backups"] {
        assert!(
            !ui.get(path).body.contains(TOKEN),
            "{path} shows the API token"
        );
    }
    assert!(!events.iter().any(|(_, d)| d.to_string().contains(TOKEN)));
    assert_eq!(ui.stop(), Some(0));
}

/// wrangler's JS entry (what `node` runs).
fn wrangler_js() -> PathBuf {
    let bin = wrangler();
    let link = std::fs::canonicalize(bin).unwrap_or_else(|_| bin.to_path_buf());
    if link.extension().is_some_and(|e| e == "js") {
        return link;
    }
    root().join("node_modules/wrangler/bin/wrangler.js")
}

/// Debian's Chromium (or `UI_CHROMIUM`) and playwright-core: `cargo xtask
/// test` installs them; the tests do not.
fn chromium() -> PathBuf {
    let browser = require(xtask::tasks::test::chromium());
    require(xtask::tasks::test::node_modules(&root()));
    browser
}

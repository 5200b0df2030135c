//! `cargo migrate ui`, end to end: the real `migrate-ui` binary on a
//! throwaway project on local D1 (and on the Cloudflare API double for the
//! remote target), its security rules over real HTTP, and its pages in a
//! real Chromium driven by playwright-core (`browser.mjs`).

#[path = "../../tests/e2e/common/mod.rs"]
mod common;

#[path = "ui/api.rs"]
mod api;
#[path = "ui/browser.rs"]
mod browser;
#[path = "ui/remote.rs"]
mod remote;
#[path = "ui/security.rs"]
mod security;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

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

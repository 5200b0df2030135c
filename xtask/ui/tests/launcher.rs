//! `cargo migrate ui` as a user starts it: the real `xtask migrate ui`
//! launcher, from a project's folder with relative paths, building and
//! starting the real `migrate-ui`. It serves that folder's project, and the
//! server ends with the launcher, whatever signal ends the launcher.

#[path = "../../tests/e2e/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The `xtask` binary, built now: this crate's tests do not build it
/// themselves, and a stale one would test old code.
fn launcher_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        build
            .args(["build", "--quiet", "--package", "xtask", "--bin", "xtask"])
            .args(["--message-format", "json-render-diagnostics"])
            .current_dir(root())
            .stderr(Stdio::inherit());
        // What cargo told this test about its package would read as a
        // changed environment to build scripts (a rebuild): left out, as
        // the launcher leaves it out of its own build.
        let about_the_package = [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_BIN_",
            "CARGO_CRATE_",
        ];
        for (key, _) in std::env::vars() {
            let ours = about_the_package.iter().any(|p| key.starts_with(p))
                || matches!(
                    key.as_str(),
                    "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR"
                );
            if ours {
                build.env_remove(key);
            }
        }
        let output = build.output().unwrap();
        assert!(output.status.success(), "cannot build the xtask");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "xtask")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the xtask binary")
    })
}

/// `xtask migrate ui` running, in a process group of its own (as a shell
/// starts a job), from the project's folder; killed with its server when
/// dropped.
struct Launched {
    launcher: Child,
    /// The `migrate-ui` process the launcher started.
    server: i32,
    port: u16,
    token: String,
    log: PathBuf,
}

impl Launched {
    fn start(p: &Project, args: &[&str]) -> Launched {
        wrangler();
        let log = p.path("launcher.log");
        let mut command = Command::new(launcher_bin());
        command
            .args(["migrate", "ui", "--port", "0"])
            .args(args)
            .current_dir(p.path(""))
            .env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env_remove("MIGRATE_CONFIG")
            .env_remove("MIGRATE_MIGRATIONS_DIR")
            .env_remove("MIGRATE_LOG_FORMAT")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .process_group(0);
        match std::env::var_os(TEST_WRANGLER_VAR).filter(|p| !p.is_empty()) {
            Some(path) => command.env("MIGRATE_WRANGLER", path),
            None => command.env_remove("MIGRATE_WRANGLER"),
        };
        let mut launcher = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(launcher.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim();
        let (port, token) = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.split_once("/?token="))
            .unwrap_or_else(|| {
                panic!(
                    "the first line is the address: {url:?}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        let (port, token) = (port.parse().unwrap(), token.to_owned());
        let launcher_pid = launcher.id() as i32;
        let server = processes()
            .into_iter()
            .find(|p| p.parent == launcher_pid && p.name == "migrate-ui")
            .expect("the launcher's child migrate-ui")
            .pid;
        Launched {
            launcher,
            server,
            port,
            token,
            log,
        }
    }

    fn get(&self, path: &str) -> Value {
        let bearer = format!("Bearer {}", self.token);
        let reply = http_get(self.port, path, &[("Authorization", &bearer)]).unwrap();
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        reply.json()
    }

    /// Sends `signal` to the launcher process alone (not its group), and
    /// waits up to 30 s for it to exit; returns its exit code.
    fn signal_launcher(&mut self, signal: i32) -> Option<i32> {
        let pid = self.launcher.id() as i32;
        // SAFETY: kill(2) on one process id.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.launcher.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the launcher did not exit within 30 s of signal {signal}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the server process still runs (a zombie does not).
    fn server_alive(&self) -> bool {
        processes().iter().any(|p| p.pid == self.server)
    }

    fn port_open(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        // The server leads a group of its own; the launcher leads another.
        for group in [self.server, self.launcher.id() as i32] {
            if group > 1 && processes().iter().any(|p| p.group == group) {
                // SAFETY: a negative id signals exactly that process group.
                unsafe { libc::kill(-group, libc::SIGKILL) };
            }
        }
        self.launcher.wait().ok();
    }
}

/// A live process, from /proc.
struct Process {
    pid: i32,
    parent: i32,
    group: i32,
    name: String,
}

/// Every live process (zombies left out).
fn processes() -> Vec<Process> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") {
            continue;
        }
        let number = |i: usize| fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0);
        found.push(Process {
            pid,
            parent: number(1),
            group: number(2),
            name: head.split_once('(').map_or("", |(_, n)| n).to_owned(),
        });
    }
    found
}

#[test]
fn the_launcher_serves_the_project_of_the_folder_it_is_started_from() {
    let p = Project::seed();
    // A migration only this project has: the workspace's own folder (what
    // the relative paths would name if read from there) lacks it.
    let marker = "0007_launcher_marker";
    assert!(!root().join(format!("migrations/{marker}.sql")).exists());
    p.write(
        &format!("migrations/{marker}.sql"),
        "-- database: AUTH\nCREATE TABLE launcher_marker (id INTEGER PRIMARY KEY);\n",
    );
    let ui = Launched::start(
        &p,
        &[
            "--config",
            "wrangler.toml",
            "--migrations-dir",
            "migrations",
        ],
    );

    let info = ui.get("/api/info");
    let project = PathBuf::from(info["project"].as_str().unwrap());
    assert_eq!(
        project.canonicalize().unwrap(),
        p.path("").canonicalize().unwrap(),
        "{info}"
    );
    let status = ui.get("/api/status");
    let auth = status["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|db| db["binding"] == "AUTH")
        .unwrap_or_else(|| panic!("no AUTH: {status}"));
    let names: Vec<&str> = auth["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "0002_api_keys",
            "0004_rooms_table",
            "0005_add_permissions_table",
            marker
        ],
        "{status}"
    );
    // What the command line says of the same folder, from the same folder.
    let cli = Command::new(launcher_bin())
        .args(["migrate", "status", "--json"])
        .args([
            "--config",
            "wrangler.toml",
            "--migrations-dir",
            "migrations",
        ])
        .current_dir(p.path(""))
        .env_remove("MIGRATE_CONFIG")
        .env_remove("MIGRATE_MIGRATIONS_DIR")
        .output()
        .unwrap();
    let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(status, cli, "/api/status is `status --json` run there");
}

/// Starts the UI through the launcher, sends `signal` to the launcher
/// process alone, and checks that the server stopped cleanly before the
/// launcher exited.
fn a_signal_to_the_launcher_stops_the_server(signal: i32) {
    let p = Project::seed();
    let mut ui = Launched::start(&p, &[]);
    assert!(ui.server_alive() && ui.port_open());
    let code = ui.signal_launcher(signal);
    // Checked at once: the launcher waits for the server to end.
    assert!(
        !ui.server_alive(),
        "the server (pid {}) outlived the launcher:\n{}",
        ui.server,
        ui.log()
    );
    assert!(!ui.port_open(), "port {} still answers", ui.port);
    assert_eq!(
        code,
        Some(0),
        "stopping the UI is its success:\n{}",
        ui.log()
    );
    // The server's own last line: it was asked to stop, not killed.
    assert!(ui.log().contains("stopped"), "{}", ui.log());
}

#[test]
fn sigterm_to_the_launcher_leaves_no_server() {
    a_signal_to_the_launcher_stops_the_server(libc::SIGTERM);
}

#[test]
fn sigint_to_the_launcher_process_alone_stops_the_server() {
    a_signal_to_the_launcher_stops_the_server(libc::SIGINT);
}

#[test]
fn sighup_to_the_launcher_stops_the_server() {
    a_signal_to_the_launcher_stops_the_server(libc::SIGHUP);
}

#[test]
fn a_launcher_killed_outright_leaves_no_server() {
    let p = Project::seed();
    let mut ui = Launched::start(&p, &[]);
    assert!(ui.server_alive());
    assert_eq!(ui.signal_launcher(libc::SIGKILL), None);
    // Its last threads may still be closing the socket when the process
    // is gone from the list: both must end, within the wait.
    wait_until(
        10,
        "the server to end, and its port to close, after its launcher was killed",
        || !ui.server_alive() && !ui.port_open(),
    );
}

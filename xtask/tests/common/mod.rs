//! Test harness: a throwaway project (wrangler.toml + migrations/) in a temp
//! dir, the real `xtask` binary, and the real wrangler to look inside local D1.

#![allow(dead_code)] // each test file uses its own part of the harness

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The workspace root, where package.json pins wrangler.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The project's wrangler, installed with `npm ci` on first use.
pub fn wrangler() -> &'static Path {
    static WRANGLER: OnceLock<PathBuf> = OnceLock::new();
    WRANGLER.get_or_init(|| {
        let bin = root().join("node_modules/.bin/wrangler");
        if !bin.is_file() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(root())
                .status()
                .expect("npm must be installed to run these tests");
            assert!(status.success(), "npm ci failed");
        }
        bin
    })
}

/// What one run of a command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts a clean failure: non-zero exit, an `error:` line, no panic,
    /// no backtrace and no ANSI escapes anywhere.
    pub fn fails(self) -> Run {
        assert_ne!(
            self.code, 0,
            "expected failure\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        let all = format!("{}{}", self.stdout, self.stderr);
        assert!(!all.contains("panicked"), "panic:\n{all}");
        assert!(!all.contains("stack backtrace"), "backtrace:\n{all}");
        assert!(!all.contains('\u{1b}'), "ANSI escape:\n{all:?}");
        assert!(
            self.stderr.contains("error: "),
            "no error line:\n{}",
            self.stderr
        );
        self
    }

    /// Everything it printed.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A project in a temp dir.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// The repository's own wrangler.toml and migrations.
    pub fn seed() -> Project {
        let project = Project::bare();
        std::fs::create_dir_all(project.path("migrations")).unwrap();
        for entry in std::fs::read_dir(root().join("migrations")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.ends_with(".sql") || name == "migrate.toml" {
                std::fs::copy(&path, project.path("migrations").join(name)).unwrap();
            }
        }
        project
    }

    /// The repository's wrangler.toml and routing, with no migrations.
    pub fn empty() -> Project {
        let project = Project::bare();
        std::fs::create_dir_all(project.path("migrations")).unwrap();
        std::fs::copy(
            root().join("migrations/migrate.toml"),
            project.path("migrations/migrate.toml"),
        )
        .unwrap();
        project
    }

    fn bare() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("migrate-test-")
            .tempdir()
            .unwrap();
        std::fs::copy(
            root().join("wrangler.toml"),
            dir.path().join("wrangler.toml"),
        )
        .unwrap();
        Project { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path(rel)).unwrap();
    }

    /// Runs `xtask migrate ARGS` against this project.
    pub fn migrate(&self, args: &[&str]) -> Run {
        self.migrate_with(args, &[])
    }

    pub fn migrate_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        wrangler();
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .arg("migrate")
            .args(args)
            .arg("--config")
            .arg(self.path("wrangler.toml"))
            .arg("--migrations-dir")
            .arg(self.path("migrations"))
            .env_remove("MIGRATE_WRANGLER")
            .env_remove("MIGRATE_LOG_FORMAT")
            .env_remove("D1_DATABASE_NAME")
            .env_remove("RUST_LOG");
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs SQL on a local database with the real wrangler, bypassing the xtask.
    pub fn query(&self, binding: &str, sql: &str) -> Vec<Map<String, Value>> {
        let output = self.wrangler(&[
            "d1",
            "execute",
            binding,
            "--local",
            "--json",
            "--command",
            sql,
        ]);
        let results: Vec<Value> =
            serde_json::from_str(&output).unwrap_or_else(|err| panic!("{err}: {output}"));
        results
            .last()
            .and_then(|r| r["results"].as_array())
            .map(|rows| {
                rows.iter()
                    .map(|row| row.as_object().unwrap().clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn wrangler(&self, args: &[&str]) -> String {
        let output = Command::new(wrangler())
            .args(args)
            .arg("--config")
            .arg(self.path("wrangler.toml"))
            .env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "wrangler {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// The user tables (and `_migrations`) of a local database, sorted.
    pub fn tables(&self, binding: &str) -> Vec<String> {
        let rows = self.query(
            binding,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
        );
        rows.iter()
            .map(|row| row["name"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn columns(&self, binding: &str, table: &str) -> Vec<String> {
        let rows = self.query(
            binding,
            &format!("SELECT name FROM pragma_table_info('{table}')"),
        );
        rows.iter()
            .map(|row| row["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The versions recorded in `_migrations`.
    pub fn versions(&self, binding: &str) -> Vec<u64> {
        if !self.tables(binding).contains(&"_migrations".to_owned()) {
            return Vec::new();
        }
        let rows = self.query(binding, "SELECT version FROM _migrations ORDER BY version");
        rows.iter()
            .map(|row| row["version"].as_u64().unwrap())
            .collect()
    }

    /// `wrangler d1 export`: the whole database (schema and data) as SQL.
    pub fn export(&self, binding: &str) -> String {
        let file = self.path(&format!("export-{binding}.sql"));
        self.wrangler(&[
            "d1",
            "export",
            binding,
            "--local",
            "--output",
            file.to_str().unwrap(),
        ]);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        text
    }

    /// A script standing in for wrangler: logs each call's start and end to
    /// `calls.log`, runs `before` (shell), then the real wrangler.
    pub fn wrapper(&self, before: &str) -> PathBuf {
        let path = self.path("fake-wrangler.sh");
        let log = self.path("calls.log");
        let script = format!(
            "#!/bin/sh\necho \"start $(date +%s%N) $*\" >> '{log}'\n{before}\n'{real}' \"$@\"\ncode=$?\necho \"end $(date +%s%N) $*\" >> '{log}'\nexit $code\n",
            log = log.display(),
            real = wrangler().display(),
        );
        std::fs::write(&path, script).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    /// The calls `wrapper` logged: (start ns, end ns, arguments).
    pub fn calls(&self) -> Vec<(u128, u128, String)> {
        let log = std::fs::read_to_string(self.path("calls.log")).unwrap_or_default();
        let mut starts = Vec::new();
        let mut calls = Vec::new();
        for line in log.lines() {
            let mut parts = line.splitn(3, ' ');
            let (kind, at, args) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap_or(""),
            );
            let at: u128 = at.parse().unwrap();
            if kind == "start" {
                starts.push((at, args.to_owned()));
            } else {
                let index = starts.iter().position(|(_, a)| a == args).unwrap();
                let (start, args) = starts.remove(index);
                calls.push((start, at, args));
            }
        }
        std::fs::remove_file(self.path("calls.log")).ok();
        calls
    }
}

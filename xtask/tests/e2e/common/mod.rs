//! Test harness: a throwaway project (wrangler.toml + migrations/) in a temp
//! dir, the real `xtask` binary, and the real wrangler to look inside local D1.

#![allow(dead_code)] // each test file uses its own part of the harness

mod backups;
mod cloud;
mod http;
mod local_db;
mod project;
pub mod receivers;
mod wrapper;

// Each test binary uses its own part of the harness (see `dead_code` above).
#[allow(unused_imports)]
pub use {backups::*, cloud::*, http::*, local_db::*, project::*};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root, where package.json pins wrangler (these helpers also
/// serve the tests of `xtask/ui`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("the workspace holds Cargo.lock")
        .to_path_buf()
}

/// The `xtask` binary: cargo names it to the xtask's tests; the others find
/// it beside their own binary's folder (`target/debug/deps/..`).
pub fn xtask_bin() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_xtask") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()
            .unwrap()
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .join("xtask"),
    }
}

/// What `found` found; or the test fails, naming what is missing and the
/// command that sets it up. Tests install nothing themselves (`cargo xtask
/// test` does, saying so).
pub fn require<T>(found: Result<T, xtask::tasks::test::Missing>) -> T {
    found.unwrap_or_else(|missing| panic!("{missing}"))
}

/// The worker's build tools are installed (checked once per test binary):
/// a release or `build-worker` run by a test would otherwise install them.
pub fn require_worker_tools() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| require(xtask::tasks::test::worker_tools(&root())));
}

/// The environment variable that makes the tests run another wrangler than
/// the project's (`.ci/run` points it at the newest 4.x, under Node 22).
pub const TEST_WRANGLER_VAR: &str = "MIGRATE_TEST_WRANGLER";

/// The project's wrangler (`npm ci` installs it: the tests do not), or the
/// one `MIGRATE_TEST_WRANGLER` names.
pub fn wrangler() -> &'static Path {
    static WRANGLER: OnceLock<PathBuf> = OnceLock::new();
    WRANGLER.get_or_init(|| {
        if let Some(path) = std::env::var_os(TEST_WRANGLER_VAR).filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "{TEST_WRANGLER_VAR}: {} does not exist",
                path.display()
            );
            return path;
        }
        require(xtask::tasks::test::node_modules(&root()));
        root().join("node_modules/.bin/wrangler")
    })
}

/// A command that starts wrangler the way the xtask does: node on its CLI
/// directly, not through its launcher script (which costs a second node).
pub fn wrangler_command() -> Command {
    let bin = wrangler();
    // `<root>/node_modules/.bin/wrangler`
    let launcher = match bin.ancestors().nth(3) {
        Some(root) => xtask::wrangler::Launcher::project(root),
        None => xtask::wrangler::Launcher::project(&self::root()),
    };
    let mut command = Command::new(&launcher.program);
    command.args(&launcher.args);
    command
}

/// The same as a line of shell, for scripts standing in for wrangler.
pub fn wrangler_shell_words() -> String {
    let command = wrangler_command();
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| format!("'{}'", word.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
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

    /// Asserts a clean failure: non-zero exit, an `error:` line (or, with
    /// `--log-format json`, a JSON line of level `ERROR`), no panic, no
    /// backtrace and no ANSI escapes anywhere.
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
            self.stderr.contains("error: ") || self.stderr.contains(r#""level":"ERROR""#),
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

/// How many wrangler calls `run` said it retried (its log's "retrying in"
/// warnings) for `database` (a binding; "" for all): local D1 that did not
/// start or was busy, which the runner retries as the README documents.
pub fn retried(run: &Run, database: &str) -> usize {
    run.stderr
        .lines()
        .filter(|line| line.contains("retrying in") && line.contains(database))
        .count()
}

/// Asserts that some line of `text` contains every one of `needles`.
pub fn assert_line(text: &str, needles: &[&str]) {
    assert!(
        text.lines()
            .any(|line| needles.iter().all(|n| line.contains(n))),
        "no line contains all of {needles:?}:\n{text}"
    );
}

//! Test harness: a throwaway project (wrangler.toml + migrations/) in a temp
//! dir, the real `xtask` binary, and the real wrangler to look inside local D1.

#![allow(dead_code)] // each test file uses its own part of the harness

pub mod receivers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Map, Value};

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
    /// Its wrangler config's file name (`wrangler.toml`, `wrangler.jsonc`).
    pub config: &'static str,
    /// Whether runs get `--migrations-dir <dir>/migrations` (the seed's
    /// projects) or find their folders from the config alone (the corpus).
    explicit_migrations_dir: bool,
}

/// The folder of the test corpus: projects shaped like real ones.
pub fn corpus_dir() -> PathBuf {
    root().join("xtask/tests/corpus")
}

/// Copies `from` into `to`, folders included.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
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
        Project {
            dir,
            config: "wrangler.toml",
            explicit_migrations_dir: true,
        }
    }

    /// A copy of the corpus entry `name` (see `tests/corpus/README.md`):
    /// its runs find their migrations folders from its wrangler config alone.
    pub fn corpus(name: &str) -> Project {
        let dir = tempfile::Builder::new()
            .prefix(&format!("migrate-{name}-"))
            .tempdir()
            .unwrap();
        copy_tree(&corpus_dir().join(name), dir.path());
        let config = ["wrangler.toml", "wrangler.jsonc", "wrangler.json"]
            .into_iter()
            .find(|name| dir.path().join(name).is_file())
            .unwrap_or_else(|| panic!("corpus entry {name} has no wrangler config"));
        Project {
            dir,
            config,
            explicit_migrations_dir: false,
        }
    }

    /// The path of its wrangler config.
    pub fn config_path(&self) -> PathBuf {
        self.path(self.config)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Points the project's wrangler.toml at an already built worker
    /// (`entry`), without the `[build]` step; returns the config's path.
    pub fn use_built_worker(&self, entry: &Path) -> PathBuf {
        let path = self.path("wrangler.toml");
        let mut config: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        config.insert("main".into(), entry.to_str().unwrap().into());
        config.remove("build");
        std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
        path
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path(rel)).unwrap();
    }

    /// Runs `xtask migrate ARGS` against this project.
    pub fn migrate(&self, args: &[&str]) -> Run {
        self.migrate_with(args, &[])
    }

    pub fn migrate_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = self.migrate_command(args, env).output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The SQLite file local D1 keeps `binding` in.
    pub fn db_file(&self, binding: &str) -> PathBuf {
        let config = xtask::migrate::config::Config::load(&self.config_path(), None).unwrap();
        let db = config
            .database(binding)
            .unwrap_or_else(|| panic!("no database {binding} in {}", self.config))
            .clone();
        xtask::migrate::local_d1::database_file(
            &xtask::migrate::local_d1::default_local_state(self.dir.path()),
            &db,
        )
    }

    /// Runs SQL (statements separated by `;`, in one transaction, foreign
    /// keys on, as D1 runs them) on a local database's own SQLite file,
    /// bypassing the xtask; returns the last statement's rows. A database
    /// local D1 has not created yet is created by the real wrangler first.
    pub fn query(&self, binding: &str, sql: &str) -> Vec<Map<String, Value>> {
        let file = self.db_file(binding);
        if !file.is_file() {
            self.query_with_wrangler(binding, "SELECT 1");
        }
        let mut connection = rusqlite::Connection::open(&file).unwrap();
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .unwrap();
        let transaction = connection.transaction().unwrap();
        let mut last = Vec::new();
        for statement in xtask::migrate::sql::split(sql).unwrap() {
            let mut prepared = transaction
                .prepare(&statement.sql)
                .unwrap_or_else(|err| panic!("{err}: {}", statement.sql));
            let names: Vec<String> = prepared
                .column_names()
                .into_iter()
                .map(str::to_owned)
                .collect();
            let mut rows = prepared.query([]).unwrap();
            last.clear();
            while let Some(row) = rows.next().unwrap() {
                let mut map = Map::new();
                for (index, name) in names.iter().enumerate() {
                    let value = match row.get_ref(index).unwrap() {
                        rusqlite::types::ValueRef::Null => Value::Null,
                        rusqlite::types::ValueRef::Integer(n) => Value::from(n),
                        rusqlite::types::ValueRef::Real(x) => Value::from(x),
                        rusqlite::types::ValueRef::Text(t) => {
                            Value::from(String::from_utf8_lossy(t).into_owned())
                        }
                        rusqlite::types::ValueRef::Blob(b) => Value::from(b.to_vec()),
                    };
                    map.insert(name.clone(), value);
                }
                last.push(map);
            }
        }
        transaction.commit().unwrap();
        last
    }

    /// [`Project::query`] through the real wrangler (`d1 execute --local`).
    pub fn query_with_wrangler(&self, binding: &str, sql: &str) -> Vec<Map<String, Value>> {
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
        self.wrangler_with(args, &[])
    }

    /// Runs the real wrangler on this project's config with extra environment
    /// (e.g. the Cloudflare API double's), returning its stdout.
    pub fn wrangler_with(&self, args: &[&str], env: &[(&str, String)]) -> String {
        let output = wrangler_command()
            .args(args)
            .arg("--config")
            .arg(self.config_path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
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

    /// Creates the local databases `bindings` (if they do not exist yet) and
    /// forgets what this machine saw of them: the next run reads each one
    /// (taking its lock) before it writes, as a run without hints does.
    pub fn forget_hints(&self, bindings: &[&str]) {
        for binding in bindings {
            self.query(binding, "SELECT 1");
        }
        if let Err(err) = std::fs::remove_dir_all(self.path(".wrangler/migrate")) {
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
        }
    }

    /// The whole database (schema and data) as SQL: [`sqlite_dump`] of its
    /// SQLite file.
    pub fn export(&self, binding: &str) -> String {
        sqlite_dump(&self.db_file(binding))
    }

    /// `wrangler d1 export --local`: the whole database as wrangler writes it.
    pub fn wrangler_export(&self, binding: &str) -> String {
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
            "#!/bin/sh\necho \"start $(date +%s%N) $*\" >> '{log}'\n{before}\n{real} \"$@\"\ncode=$?\necho \"end $(date +%s%N) $*\" >> '{log}'\nexit $code\n",
            log = log.display(),
            real = wrangler_shell_words(),
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

/// How many wrangler calls `run` said it retried (its log's "retrying in"
/// warnings) for `database` (a binding; "" for all): local D1 that did not
/// start or was busy, which the runner retries as the README documents.
pub fn retried(run: &Run, database: &str) -> usize {
    run.stderr
        .lines()
        .filter(|line| line.contains("retrying in") && line.contains(database))
        .count()
}

/// Runs started in the background, for tests of concurrent and killed runs.
impl Project {
    /// The command [`Project::migrate_with`] runs, not started yet.
    pub fn migrate_command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        wrangler();
        let mut command = Command::new(xtask_bin());
        command
            .arg("migrate")
            .args(args)
            .arg("--config")
            .arg(self.config_path());
        if self.explicit_migrations_dir {
            command.arg("--migrations-dir").arg(self.path("migrations"));
        }
        match std::env::var_os(TEST_WRANGLER_VAR).filter(|p| !p.is_empty()) {
            Some(path) => command.env("MIGRATE_WRANGLER", path),
            None => command.env_remove("MIGRATE_WRANGLER"),
        };
        command
            .env_remove("MIGRATE_LOG_FORMAT")
            .env_remove("D1_DATABASE_NAME")
            .env_remove("RUST_LOG");
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    /// Starts `xtask migrate ARGS` without waiting for it, its output captured
    /// and stdin closed, in a process group of its own (its id is the child's
    /// pid) so that it and its wrangler processes can be killed together.
    pub fn spawn_migrate(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        self.migrate_command(args, env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap()
    }

    /// How many wrangler calls [`Project::wrapper`] has seen start so far
    /// whose arguments contain `what`, without consuming its log.
    pub fn started(&self, what: &str) -> usize {
        std::fs::read_to_string(self.path("calls.log"))
            .unwrap_or_default()
            .lines()
            .filter(|line| line.starts_with("start ") && line.contains(what))
            .count()
    }
}

/// Waits for a run started with [`Project::spawn_migrate`].
pub fn finish(child: std::process::Child) -> Run {
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Kills a run started with [`Project::spawn_migrate`] and every process of
/// its group (its wrangler calls and their children) with SIGKILL, and reaps it.
///
/// The `--` matters: procps-ng's kill (4.0.x) reads `kill -KILL -12345` as
/// `kill(-1, SIGKILL)`, which kills every process the user may signal.
pub fn kill_group(child: &mut std::process::Child) {
    let pid = child.id();
    assert!(pid > 1, "refusing to kill process group {pid}");
    let status = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(status.success(), "kill -KILL -- -{pid} failed");
    child.wait().unwrap();
}

/// Polls `condition` every 100 ms until it holds; panics after `seconds`.
pub fn wait_until(seconds: u64, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up after {seconds} s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The Cloudflare API double, started for `token` with an empty account,
/// and the environment that points wrangler at it.
pub fn api_double(token: &str) -> (cloudflare_double::Double, Vec<(&'static str, String)>) {
    let double = cloudflare_double::serve(cloudflare_double::Options {
        quiet: true,
        ..cloudflare_double::Options::new(token)
    })
    .unwrap();
    let env = vec![
        ("CLOUDFLARE_API_BASE_URL", double.api_base_url()),
        ("CLOUDFLARE_API_TOKEN", token.to_owned()),
        (
            "CLOUDFLARE_ACCOUNT_ID",
            "0123456789abcdef0123456789abcdef".to_owned(),
        ),
        ("WRANGLER_HIDE_BANNER", "true".to_owned()),
    ];
    (double, env)
}

/// A database file's schema and data as SQL, as SQLite's own shell dumps it
/// (`sqlite3 FILE .dump`: not this project's code), without miniflare's
/// `_cf_` tables. A database local D1 has not created yet holds nothing: it
/// dumps as an empty one.
pub fn sqlite_dump(file: &Path) -> String {
    let sqlite3 = require(xtask::tasks::test::sqlite3());
    let output = Command::new(sqlite3)
        .arg("-readonly")
        .arg(match file.is_file() {
            true => file.as_os_str(),
            false => std::ffi::OsStr::new(":memory:"),
        })
        .arg(".dump --nosys")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "sqlite3 {} .dump: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    // Leave out each statement about a `_cf_` table, however many lines it
    // spans (miniflare creates them when it first opens the file).
    let mut dump = String::new();
    let mut skipping = false;
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let ends = line.trim_end().ends_with(';');
        if skipping || line.contains("_cf_") {
            skipping = !ends;
            continue;
        }
        dump.push_str(line);
        dump.push('\n');
    }
    dump
}

/// [`sqlite_dump`] of a remote database: the double's SQLite file of it.
pub fn remote_dump(p: &Project, double: &cloudflare_double::Double, binding: &str) -> String {
    let config = xtask::migrate::config::Config::load(&p.config_path(), None).unwrap();
    let id = &config.database(binding).unwrap().id;
    sqlite_dump(&double.database_path(id.as_deref().unwrap()))
}

/// The versions recorded in a remote database (none without the table).
pub fn remote_versions(p: &Project, double: &cloudflare_double::Double, binding: &str) -> Vec<u64> {
    // The double keeps each database in an SQLite file: read it directly.
    let config = xtask::migrate::config::Config::load(&p.config_path(), None).unwrap();
    let id = &config.database(binding).unwrap().id;
    let file = double.database_path(id.as_deref().unwrap());
    if !file.is_file() {
        return Vec::new();
    }
    let connection = rusqlite::Connection::open(file).unwrap();
    let Ok(mut statement) = connection.prepare("SELECT version FROM _migrations ORDER BY version")
    else {
        return Vec::new();
    };
    statement
        .query_map([], |row| row.get::<_, i64>(0))
        .unwrap()
        .map(|v| v.unwrap() as u64)
        .collect()
}

/// How many export requests (each start and poll of `wrangler d1 export`)
/// the double has answered: D1 blocks a database while one runs.
pub fn export_requests(double: &cloudflare_double::Double) -> usize {
    double
        .requests()
        .iter()
        .filter(|r| r.kind == "export")
        .count()
}

/// Asserts that a run's log (`stderr`) warned before exporting `binding`.
pub fn assert_export_announced(stderr: &str, binding: &str) {
    assert_line(
        stderr,
        &[&format!(
            "exporting {binding}: D1 blocks the database's other requests while an export runs"
        )],
    );
}

/// The files of the project's backup folder ending in `.{extension}`, sorted.
pub fn backup_files(p: &Project, extension: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(p.path("backups")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// The backup file of `binding` ending in `-v{version}.{extension}`.
pub fn backup_of(p: &Project, binding: &str, version: u64, extension: &str) -> PathBuf {
    let suffix = format!("-v{version}.{extension}");
    backup_files(p, extension)
        .into_iter()
        .find(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with(&format!("{binding}-")) && name.ends_with(&suffix)
        })
        .unwrap_or_else(|| {
            panic!(
                "no backup {binding}-…{suffix} in {:?}",
                backup_files(p, extension)
            )
        })
}

/// `env` as [`Project::migrate_with`] takes it.
pub fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A free port on 127.0.0.1 (free when asked; the OS hands out another next time).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What an HTTP request got back.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON; panics (showing it) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {} {}", self.status, self.body))
    }
}

/// `GET http://127.0.0.1:PORT/PATH` with extra headers, through the
/// xtask's own HTTP client.
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<HttpReply> {
    let mut request = xtask::http::get(&format!("http://127.0.0.1:{port}{path}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let reply = request.send()?;
    Ok(HttpReply {
        status: reply.status,
        headers: reply.headers,
        body: reply.body,
    })
}

/// A running `wrangler dev` on 127.0.0.1, started by [`wrangler_dev`].
///
/// Dropping it stops wrangler and everything it started (workerd, esbuild):
/// they share a process group whose id is wrangler's pid, signalled by that id.
pub struct Dev {
    child: std::process::Child,
    pub port: u16,
    log: PathBuf,
}

/// Starts `wrangler dev --ip 127.0.0.1 --port <free> --config CONFIG` (local
/// D1 beside the config) and waits until it answers HTTP, for up to
/// `seconds`; its output goes to `dev-<port>.log` beside the config.
pub fn wrangler_dev(config: &Path, seconds: u64) -> Dev {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let port = free_port();
    let log = config.with_file_name(format!("dev-{port}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let child = wrangler_command()
        .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .arg("--config")
        .arg(config)
        .current_dir(config.parent().unwrap())
        .env("CI", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .process_group(0)
        .spawn()
        .unwrap();
    let mut dev = Dev { child, port, log };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if http_get(port, "/", &[]).is_ok() {
            return dev;
        }
        if let Ok(Some(status)) = dev.child.try_wait() {
            panic!(
                "wrangler dev exited ({status}) before answering:\n{}",
                dev.log()
            );
        }
        if std::time::Instant::now() >= deadline {
            panic!(
                "wrangler dev did not answer on port {port} within {seconds} s:\n{}",
                dev.log()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

impl Dev {
    /// `GET PATH` on the dev server; panics (with wrangler's log) when it does not answer.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpReply {
        http_get(self.port, path, headers)
            .unwrap_or_else(|err| panic!("GET {path}: {err}\nwrangler dev log:\n{}", self.log()))
    }

    /// Everything wrangler dev printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Dev {
    /// SIGTERM to the group, up to 5 s for wrangler to exit, then SIGKILL to
    /// whatever of the group is left. wrangler is reaped only at the end, so
    /// the group id cannot be reused by another process meanwhile.
    fn drop(&mut self) {
        let pid = self.child.id();
        assert!(pid > 1, "refusing to signal process group {pid}");
        let signal = |signal: &str| {
            // `--` before the negative id: see `kill_group`.
            Command::new("kill")
                .args([signal, "--", &format!("-{pid}")])
                .stderr(std::process::Stdio::null())
                .status()
                .ok();
        };
        // Exited (a zombie not reaped yet) or gone, without reaping it.
        let exited = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
            Err(_) => true,
        };
        signal("-TERM");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !exited() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        signal("-KILL");
        self.child.wait().ok();
    }
}

/// Asserts that some line of `text` contains every one of `needles`.
pub fn assert_line(text: &str, needles: &[&str]) {
    assert!(
        text.lines()
            .any(|line| needles.iter().all(|n| line.contains(n))),
        "no line contains all of {needles:?}:\n{text}"
    );
}

//! The throwaway project: its temp folder and files, and runs of the real
//! `xtask migrate` on it, waited for or in the background.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{root, wrangler, xtask_bin, Run, TEST_WRANGLER_VAR};

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

//! Running wrangler: the real D1 ([`d1`]), the account's database list,
//! deploys and `wrangler dev` all go through here.
//!
//! Every call gets `--config`, `--json` where the command has it and a
//! non-interactive, metrics-free environment, and runs through
//! [`crate::process`] (its own process group, a timeout). Failures become
//! errors that name the command and the database, with wrangler's ANSI
//! colouring stripped and the API token never shown ([`said`]).

mod d1_commands;
pub mod output_parse;
pub mod runner;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use crate::migrate::d1::{Call, D1Error, Target};
use crate::migrate::Project;
use crate::migrate::{Config, Database};
use crate::process::{Cmd, OnStop, Running};
use output_parse::{clean, d1_error_text, excerpt, json_part};

/// How to run wrangler for one project and target.
#[derive(Debug, Clone)]
pub struct Wrangler {
    launcher: Launcher,
    /// Its version, read from its package.json (`None` when it cannot be found).
    version: Option<String>,
    config: PathBuf,
    env: Option<String>,
    target: Target,
    /// How long one wrangler call may take before it is stopped.
    timeout: Duration,
    /// Variables its calls get besides the usual ones ([`Wrangler::passing`]).
    passed: Vec<(String, OsString)>,
    /// `--persist-to` for its local calls: where local state is kept when
    /// not in `.wrangler/state` beside the config.
    persist_to: Option<PathBuf>,
    /// Local writes in one node process for the run ([`runner`]); `None`
    /// remotely, or when each write is a wrangler call.
    runner: Option<std::sync::Arc<runner::Runner>>,
    /// The run's throwaway databases ([`Wrangler::local_copy`](crate::migrate::D1::local_copy)),
    /// shared by its clones.
    copies: std::sync::Arc<std::sync::OnceLock<Option<Copies>>>,
}

/// Where a run's throwaway databases (rehearsals, replays) live: one folder
/// of local state and one runner for all of them, each database under an id
/// of its own, so that the tenth rehearsal of a run costs no node start-up.
#[derive(Debug)]
struct Copies {
    runner: std::sync::Arc<runner::Runner>,
    state: tempfile::TempDir,
}

/// The environment variable that bounds one wrangler call, in seconds.
pub const TIMEOUT_VAR: &str = "MIGRATE_WRANGLER_TIMEOUT";

/// wrangler's own network timeouts are five minutes per request; a whole
/// call (an import polls many times) gets longer.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(900);

fn timeout_from_env() -> Result<Duration> {
    match std::env::var(TIMEOUT_VAR) {
        Err(_) => Ok(DEFAULT_TIMEOUT),
        Ok(value) => match value.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => bail!("{TIMEOUT_VAR}={value:?} is not a whole number of seconds above 0"),
        },
    }
}

/// The environment variable that points at a wrangler to use instead of the project's.
pub const WRANGLER_VAR: &str = "MIGRATE_WRANGLER";

/// The program (and its first arguments) that starts wrangler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

impl Launcher {
    /// wrangler as `root`'s npm install has it. Its `bin/wrangler.js` only
    /// starts a second node process, `node --no-warnings
    /// --experimental-vm-modules wrangler-dist/cli.js`, and relays its exit
    /// code; starting that directly saves a node start-up on every call.
    /// Falls back to `node_modules/.bin/wrangler` when the layout differs.
    pub fn project(root: &Path) -> Launcher {
        let package = root.join("node_modules").join("wrangler");
        let cli = package.join("wrangler-dist").join("cli.js");
        let shim =
            std::fs::read_to_string(package.join("bin").join("wrangler.js")).unwrap_or_default();
        if cli.is_file()
            && shim.contains("\"--experimental-vm-modules\"")
            && shim.contains("../wrangler-dist/cli.js")
        {
            return Launcher {
                program: PathBuf::from("node"),
                args: vec![
                    "--no-warnings".into(),
                    "--experimental-vm-modules".into(),
                    cli.into(),
                ],
            };
        }
        Launcher {
            program: root.join("node_modules").join(".bin").join("wrangler"),
            args: Vec::new(),
        }
    }

    /// The command that starts wrangler with `args`.
    fn command(&self, args: &[OsString]) -> Cmd {
        Cmd::new(&self.program).args(self.args.iter().chain(args).cloned())
    }
}

/// The version of the wrangler that `program` starts, read from the
/// package.json of the npm package it belongs to (`node_modules/.bin/wrangler`
/// links into `node_modules/wrangler/bin/`). `None` for anything else, such as
/// a script standing in for wrangler.
pub fn installed_version(program: &Path) -> Option<String> {
    let text = std::fs::read_to_string(package_dir(program)?.join("package.json")).ok()?;
    let package: Value = serde_json::from_str(&text).ok()?;
    package.get("version")?.as_str().map(str::to_owned)
}

/// The folder of the wrangler npm package `program` belongs to.
fn package_dir(program: &Path) -> Option<PathBuf> {
    let real = program.canonicalize().ok()?;
    real.ancestors()
        .skip(1)
        .take(3)
        .find(|dir| {
            std::fs::read_to_string(dir.join("package.json"))
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|package| {
                    package.get("name").and_then(Value::as_str) == Some("wrangler")
                })
        })
        .map(Path::to_path_buf)
}

/// The version of the project's own wrangler (`node_modules` under `root`),
/// or of the one `$MIGRATE_WRANGLER` names.
pub fn project_version(root: &Path) -> Option<String> {
    match std::env::var_os(WRANGLER_VAR) {
        Some(path) if !path.is_empty() => installed_version(Path::new(&path)),
        _ => installed_version(&root.join("node_modules").join(".bin").join("wrangler")),
    }
}

impl Wrangler {
    /// The wrangler of `project`, on its target's databases.
    pub fn for_project(project: &Project) -> Result<Wrangler> {
        for db in &project.selected {
            if let Some(var) = &db.renamed_by {
                tracing::info!(database = %db.binding, name = %db.name, "{var} renames {} to {}", db.binding, db.name);
            }
        }
        Wrangler::locate(&project.root, &project.config, project.target)
    }

    /// Finds wrangler (`$MIGRATE_WRANGLER`, then the one in `node_modules`
    /// under `root`), running `npm ci` in `root` when it is not installed yet.
    pub fn locate(root: &Path, config: &Config, target: Target) -> Result<Wrangler> {
        let launcher = match std::env::var_os(WRANGLER_VAR) {
            Some(path) if !path.is_empty() => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    bail!(
                        "{WRANGLER_VAR} points to {}, which does not exist: unset it to use the project's wrangler",
                        path.display()
                    );
                }
                Launcher {
                    program: path,
                    args: Vec::new(),
                }
            }
            _ => {
                let path = root.join("node_modules").join(".bin").join("wrangler");
                if !path.is_file() {
                    crate::note!(
                        "wrangler is not installed yet: installing the project's npm packages …"
                    );
                    crate::process::npm(root, &["ci"])?;
                }
                if !path.is_file() {
                    bail!(
                        "`npm ci` finished but {} is still missing: is wrangler in package.json's devDependencies?",
                        path.display()
                    );
                }
                Launcher::project(root)
            }
        };
        let mut wrangler = Wrangler {
            launcher,
            version: project_version(root),
            config: config.path.clone(),
            env: config.env.clone(),
            target,
            timeout: timeout_from_env()?,
            passed: Vec::new(),
            persist_to: config.persist_to.clone(),
            runner: None,
            copies: Default::default(),
        };
        wrangler.runner = wrangler.runner_for(&config.databases);
        Ok(wrangler)
    }

    /// The runner of its local writes, on `databases`.
    fn runner_for(
        &self,
        databases: &[crate::migrate::Database],
    ) -> Option<std::sync::Arc<runner::Runner>> {
        if self.target != Target::Local || !runner::enabled() {
            return None;
        }
        let Some(place) = runner::place(&self.launcher.program, &self.launcher.args) else {
            tracing::debug!(
                "local writes go through one wrangler call each: {} is not in a wrangler package",
                self.launcher.program.display()
            );
            return None;
        };
        let local_state = crate::migrate::d1::D1::local_state(self);
        Some(std::sync::Arc::new(runner::Runner::new(
            place,
            &local_state,
            databases.iter().map(|db| db.local_id.clone()).collect(),
            self.timeout,
        )))
    }

    /// The folder and runner of this run's throwaway databases, made on
    /// first use; `None` when writes go through wrangler calls.
    fn copies(&self) -> Option<&Copies> {
        self.copies
            .get_or_init(|| {
                if !runner::enabled() {
                    return None;
                }
                let place = runner::place(&self.launcher.program, &self.launcher.args)?;
                let state = tempfile::Builder::new()
                    .prefix("migrate-rehearsals-")
                    .tempdir()
                    .map_err(|err| tracing::info!("rehearsals get a runner each: {err}"))
                    .ok()?;
                let runner = runner::Runner::new(place, state.path(), Vec::new(), self.timeout);
                Some(Copies {
                    runner: std::sync::Arc::new(runner),
                    state,
                })
            })
            .as_ref()
    }

    /// How long one call may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Its version, when known.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// How a database is named on wrangler's command line: locally by binding
    /// (the local database is found through the config's id), remotely by name.
    fn database_arg<'a>(&self, db: &'a Database) -> &'a str {
        match self.target {
            Target::Local => &db.binding,
            Target::Remote => &db.name,
        }
    }

    /// The same wrangler, its calls getting the variables `vars` too.
    pub fn passing(mut self, vars: Vec<(String, OsString)>) -> Wrangler {
        self.passed.extend(vars);
        self
    }

    /// `--local` (with `--persist-to` when local state is elsewhere) or `--remote`.
    fn target_flags(&self) -> Vec<OsString> {
        match (self.target, &self.persist_to) {
            (Target::Local, None) => vec!["--local".into()],
            (Target::Local, Some(dir)) => {
                vec!["--local".into(), "--persist-to".into(), dir.into()]
            }
            (Target::Remote, _) => vec!["--remote".into()],
        }
    }

    /// `wrangler d1 list --json`: the names of the account's D1 databases.
    pub fn database_names(&self) -> Result<Vec<String>> {
        let args: Vec<OsString> = vec!["d1".into(), "list".into(), "--json".into()];
        let stdout = self.run_for(Call::Read, "the account", "d1 list", args)?;
        let list: Value = serde_json::from_str(json_part(&stdout)).map_err(|err| {
            anyhow!(
                "wrangler d1 list printed output that is not JSON ({err}): {}",
                excerpt(&clean(&stdout))
            )
        })?;
        Ok(list
            .as_array()
            .map(|dbs| {
                dbs.iter()
                    .filter_map(|db| db.get("name")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `wrangler deploy`, or with `dry_run_into` a dry run that writes the
    /// bundle there and uploads nothing. Returns what wrangler printed.
    pub fn deploy(&self, dry_run_into: Option<&Path>) -> Result<String> {
        let mut args: Vec<OsString> = vec!["deploy".into()];
        if let Some(dir) = dry_run_into {
            args.extend(["--dry-run".into(), "--outdir".into(), dir.into()]);
        }
        self.run_for(Call::Write, "the worker", "deploy", args)
    }

    /// Starts `wrangler dev` on 127.0.0.1:`port` against the local databases,
    /// its output going to `log`; it and the `workerd` it starts are stopped
    /// when the returned [`Running`] is dropped.
    pub fn dev(&self, port: u16, log: &Path) -> Result<Running> {
        let mut args: Vec<OsString> = vec![
            "dev".into(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string().into(),
        ];
        if let Some(dir) = &self.persist_to {
            args.extend(["--persist-to".into(), dir.into()]);
        }
        tracing::debug!(port, "starting wrangler dev");
        self.call(&args).start(log)
    }

    /// The command line of one call: `args`, the config, the environment.
    fn call(&self, args: &[OsString]) -> Cmd {
        let mut cmd = self
            .launcher
            .command(args)
            .arg("--config")
            .arg(&self.config);
        if let Some(env) = &self.env {
            cmd = cmd.args(["--env", env]);
        }
        for (key, value) in &self.passed {
            cmd = cmd.env(key, value);
        }
        cmd.env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("NO_COLOR", "1")
            .env("FORCE_COLOR", "0")
    }

    /// Runs wrangler for `subject` (a database's binding, the account, the
    /// worker) and returns its stdout, retrying what is safe to retry
    /// locally: a database busy with another writer, a runtime that did not
    /// start. D1's own refusals come back as a [`D1Error`] in the chain;
    /// anything else is a plain error.
    fn run_for(
        &self,
        call: Call,
        subject: &str,
        what: &str,
        args: Vec<OsString>,
    ) -> Result<String> {
        self.retrying(call, subject, || self.run_once(call, subject, what, &args))
    }

    /// Runs `attempt` until it succeeds or fails for good, retrying what is
    /// safe to retry locally ([`Wrangler::run_for`]).
    fn retrying<T>(
        &self,
        call: Call,
        subject: &str,
        mut attempt_once: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        let mut delay = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            let result = attempt_once();
            let why = match &result {
                Err(err) if self.target == Target::Local && is_busy(err) => {
                    "the local database is busy with another writer"
                }
                Err(err) if self.target == Target::Local && runtime_did_not_start(err) => {
                    "the local Workers runtime did not start (nothing ran)"
                }
                Err(err)
                    if self.target == Target::Local
                        && call == Call::Read
                        && runtime_assertion(err) =>
                {
                    "local D1 failed an internal check while reading (nothing was written)"
                }
                _ => return result,
            };
            if attempt == BUSY_ATTEMPTS {
                return result;
            }
            tracing::warn!(database = %subject, attempt, "{why}; retrying in {} ms", delay.as_millis());
            std::thread::sleep(delay);
            delay *= 2;
            attempt += 1;
        }
    }

    fn run_once(&self, call: Call, subject: &str, what: &str, args: &[OsString]) -> Result<String> {
        let shown = format!("wrangler {what} on {subject} ({})", self.target);
        let on_stop = match call {
            Call::Read => OnStop::End,
            Call::Write => OnStop::Finish,
            Call::Cleanup => OnStop::Always,
        };
        let output = match self.call(args).capture(self.timeout, on_stop) {
            Ok(output) => output,
            Err(err) if crate::process::timed_out(&err) => bail!(
                "{shown} did not finish within {} s ({TIMEOUT_VAR}), so it was stopped (with everything it started)",
                self.timeout.as_secs()
            ),
            Err(err) => return Err(err.context(format!("{shown} did not complete"))),
        };
        let stdout = output.stdout;
        let stderr = clean(&output.stderr);

        if output.status.success() {
            return Ok(stdout);
        }
        if let Ok(failure) = serde_json::from_str::<Value>(json_part(&stdout)) {
            if let Some(mut text) = d1_error_text(&failure) {
                // Local D1 sometimes reports a busy database as an opaque
                // internal error, with the real cause only on stderr.
                if text.contains("internal error")
                    && (stderr.contains("SQLITE_BUSY") || stderr.contains("database is locked"))
                {
                    text = format!("database is locked: SQLITE_BUSY ({text})");
                }
                let hint = if text.contains("Authentication error") {
                    ": Cloudflare refused the credentials (check CLOUDFLARE_API_TOKEN, a token with D1 edit rights, and CLOUDFLARE_ACCOUNT_ID)"
                } else {
                    ""
                };
                return Err(anyhow!(D1Error { text: clean(&text) })
                    .context(format!("{shown} failed{hint}")));
            }
        }
        let why = match output.status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".to_owned(),
        };
        let said = [clean(&stdout), stderr]
            .into_iter()
            .filter(|text| !text.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        if said.is_empty() {
            bail!("{shown} {why} without saying why");
        }
        bail!("{shown} {why}: {}", excerpt(&said))
    }
}

/// How often a busy local database is tried before giving up.
const BUSY_ATTEMPTS: u32 = 5;

/// True when local D1's runtime (workerd) exited before it served anything:
/// seen on a loaded machine, and harmless to retry since no SQL ran.
fn runtime_did_not_start(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains("The Workers runtime failed to start")
}

/// True when local D1 failed one of its runtime's own assertions, which it
/// reports as the bare text `false == true`: seen once in about seventy
/// runs of the team tests on a loaded machine, on a read, and gone on the
/// next try. Only reads are retried on it.
fn runtime_assertion(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<D1Error>())
        .any(|d1| d1.text.trim() == "false == true")
}

/// True when SQLite said another connection holds the write lock.
fn is_busy(err: &anyhow::Error) -> bool {
    let text = format!("{err:#}");
    text.contains("SQLITE_BUSY") || text.contains("database is locked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_carries_the_config_the_env_and_a_quiet_environment() {
        let wrangler = Wrangler {
            launcher: Launcher {
                program: "wrangler".into(),
                args: vec!["--x".into()],
            },
            version: None,
            config: "/w/wrangler.toml".into(),
            env: Some("staging".into()),
            target: Target::Remote,
            timeout: DEFAULT_TIMEOUT,
            passed: Vec::new(),
            persist_to: None,
            runner: None,
            copies: Default::default(),
        };
        let cmd = wrangler.call(&["d1".into(), "list".into()]);
        assert_eq!(
            cmd.printable(),
            "wrangler --x d1 list --config /w/wrangler.toml --env staging"
        );
    }

    #[test]
    fn falls_back_to_the_launcher_when_it_is_not_the_one_known() {
        // (The project's own install is checked by `tests/e2e/flow.rs`, which
        // installs it first.)
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("node_modules/wrangler");
        std::fs::create_dir_all(package.join("bin")).unwrap();
        std::fs::create_dir_all(package.join("wrangler-dist")).unwrap();
        std::fs::write(package.join("wrangler-dist/cli.js"), "").unwrap();
        std::fs::write(
            package.join("bin/wrangler.js"),
            "require('../wrangler-dist/cli.js')",
        )
        .unwrap();
        let launcher = Launcher::project(dir.path());
        assert_eq!(
            launcher.program,
            dir.path().join("node_modules/.bin/wrangler")
        );
        assert!(launcher.args.is_empty());
    }
}

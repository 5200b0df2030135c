//! The one place that runs wrangler, our only way to talk to D1.
//!
//! Every call gets `--config`, `--json` where the command has it and a
//! non-interactive, metrics-free environment. Failures become errors that name
//! the command and the database, with wrangler's ANSI colouring stripped and
//! the API token never shown.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::config::{Config, Database};

/// Which D1 a command talks to: miniflare's SQLite on this machine, or Cloudflare's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Local,
    Remote,
}

impl Target {
    fn flag(self) -> &'static str {
        match self {
            Target::Local => "--local",
            Target::Remote => "--remote",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Local => "local",
            Target::Remote => "remote",
        })
    }
}

/// D1 refused the SQL: the text of `{"error":{"text":…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct D1Error {
    pub text: String,
}

impl D1Error {
    /// True when SQLite refused a statement (rather than the API or wrangler
    /// failing around it): its messages end in a result code like `SQLITE_ERROR`.
    pub fn is_sql(&self) -> bool {
        self.text.contains("SQLITE_")
    }
}

impl fmt::Display for D1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for D1Error {}

/// A text cell of wrangler's `--json` output. Locally wrangler prints SQL
/// NULL as the string "null": both mean nothing.
pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if s == "null" => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One statement's outcome in wrangler's `--json` output.
#[derive(Debug, Clone, Deserialize)]
pub struct StatementResult {
    #[serde(default)]
    pub results: Vec<serde_json::Map<String, Value>>,
}

/// What a wrangler call does, for what an interrupted run does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// A read, an export: not started once the run is stopped, and ended
    /// (its whole process group) when the run is stopped during it.
    Read,
    /// A write D1 runs all-or-nothing (an apply, a restore, a deploy): not
    /// started once the run is stopped, but let finish once started, so that
    /// the database is never left in an unknown state.
    Write,
    /// Giving a lock back: started even when the run is stopped.
    Cleanup,
}

/// How to run wrangler for one project and target.
#[derive(Debug, Clone)]
pub struct Wrangler {
    launcher: Launcher,
    /// Its version, read from its package.json (`None` when it cannot be found).
    version: Option<String>,
    config: PathBuf,
    env: Option<String>,
    pub target: Target,
    /// How long one wrangler call may take before it is stopped.
    timeout: Duration,
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

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        command
    }
}

/// The version of the wrangler that `program` starts, read from the
/// package.json of the npm package it belongs to (`node_modules/.bin/wrangler`
/// links into `node_modules/wrangler/bin/`). `None` for anything else, such as
/// a script standing in for wrangler.
pub fn installed_version(program: &Path) -> Option<String> {
    let real = program.canonicalize().ok()?;
    real.ancestors().skip(1).take(3).find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
        let package: Value = serde_json::from_str(&text).ok()?;
        (package.get("name")?.as_str()? == "wrangler")
            .then(|| package.get("version")?.as_str().map(str::to_owned))
            .flatten()
    })
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
                    install(root)?;
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
        Ok(Wrangler {
            launcher,
            version: project_version(root),
            config: config.path.clone(),
            env: config.env.clone(),
            target,
            timeout: timeout_from_env()?,
        })
    }

    /// The same wrangler on the local databases of another config file
    /// (throwaway copies for rehearsals).
    pub fn local_copy(&self, config: &Path) -> Wrangler {
        Wrangler {
            launcher: self.launcher.clone(),
            version: self.version.clone(),
            config: config.to_path_buf(),
            env: None,
            target: Target::Local,
            timeout: self.timeout,
        }
    }

    /// The folder of the config file: wrangler keeps local state beside it.
    pub fn config_dir(&self) -> &Path {
        self.config.parent().unwrap_or(Path::new("."))
    }

    /// Its version, when known.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// How it splits a batch file into statements.
    pub fn splitter(&self) -> crate::sql::Splitter {
        crate::sql::Splitter::for_version(self.version.as_deref())
    }

    /// How a database is named on wrangler's command line: locally by binding
    /// (the local database is found through the config's id), remotely by name.
    fn database_arg<'a>(&self, db: &'a Database) -> &'a str {
        match self.target {
            Target::Local => &db.binding,
            Target::Remote => &db.name,
        }
    }

    /// `wrangler d1 execute DB --command SQL --json`.
    pub fn query(&self, db: &Database, sql: &str) -> Result<Vec<StatementResult>> {
        self.query_as(Call::Read, db, sql)
    }

    /// [`Wrangler::query`] for a call of the kind `call`.
    pub fn query_as(&self, call: Call, db: &Database, sql: &str) -> Result<Vec<StatementResult>> {
        let args = self.execute_args(db, ["--command".into(), sql.into()]);
        self.run_json(call, db, "d1 execute --command", args)
    }

    /// `wrangler d1 execute DB --file PATH --json`: one all-or-nothing batch.
    pub fn execute_file(&self, db: &Database, file: &Path) -> Result<Vec<StatementResult>> {
        let args = self.execute_args(db, ["--file".into(), file.into()]);
        self.run_json(Call::Write, db, "d1 execute --file", args)
    }

    fn execute_args(&self, db: &Database, input: [OsString; 2]) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "d1".into(),
            "execute".into(),
            self.database_arg(db).into(),
            self.target.flag().into(),
            "--json".into(),
            "--yes".into(),
        ];
        args.extend(input);
        args
    }

    /// `wrangler d1 export DB --output FILE`: the whole database as SQL.
    pub fn export(&self, db: &Database, output: &Path) -> Result<()> {
        let args: Vec<OsString> = vec![
            "d1".into(),
            "export".into(),
            self.database_arg(db).into(),
            self.target.flag().into(),
            "--output".into(),
            output.into(),
        ];
        self.run(Call::Read, db, "d1 export", args).map(drop)
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

    /// `wrangler d1 time-travel info DB --json`: the bookmark of the database as it is now.
    pub fn bookmark(&self, db: &Database) -> Result<String> {
        let args: Vec<OsString> = vec![
            "d1".into(),
            "time-travel".into(),
            "info".into(),
            self.database_arg(db).into(),
            "--json".into(),
        ];
        let shown = format!("wrangler d1 time-travel info on {}", db.binding);
        let stdout = self.run(Call::Read, db, "d1 time-travel info", args)?;
        let info: Value = serde_json::from_str(json_part(&stdout)).map_err(|err| {
            anyhow!(
                "{shown} printed output that is not JSON ({err}): {}",
                excerpt(&clean(&stdout))
            )
        })?;
        info.get("bookmark")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("{shown} returned no bookmark: {}", excerpt(&clean(&stdout))))
    }

    /// `wrangler d1 time-travel restore DB --bookmark ID --json`.
    pub fn restore_bookmark(&self, db: &Database, bookmark: &str) -> Result<()> {
        let args: Vec<OsString> = vec![
            "d1".into(),
            "time-travel".into(),
            "restore".into(),
            self.database_arg(db).into(),
            "--bookmark".into(),
            bookmark.into(),
            "--json".into(),
        ];
        self.run(Call::Write, db, "d1 time-travel restore", args)
            .map(drop)
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

    /// Starts `wrangler dev` on 127.0.0.1:`port` against the local databases;
    /// it is stopped (with everything it started) when the guard is dropped.
    pub fn dev(&self, port: u16, log: &Path) -> Result<DevServer> {
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = self.launcher.command();
        command
            .args(["dev", "--ip", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .arg("--config")
            .arg(&self.config)
            .args(self.env.iter().flat_map(|env| ["--env", env]))
            .env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().context("cannot share the dev log")?)
            .stderr(log_file);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        tracing::debug!(port, "starting wrangler dev");
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {} dev", self.launcher.program.display()))?;
        let _watched = crate::reaper::watch(child.id());
        Ok(DevServer { child, _watched })
    }

    /// Runs wrangler and parses its `--json` output.
    fn run_json(
        &self,
        call: Call,
        db: &Database,
        what: &str,
        args: Vec<OsString>,
    ) -> Result<Vec<StatementResult>> {
        let shown = format!("wrangler {what} on {} ({})", db.binding, self.target);
        let stdout = self.run(call, db, what, args)?;
        serde_json::from_str::<Vec<StatementResult>>(json_part(&stdout)).map_err(|err| {
            anyhow!(
                "{shown} succeeded but printed output that is not the expected JSON ({err}): {}",
                excerpt(&clean(&stdout))
            )
        })
    }

    /// Runs wrangler, retrying a local database that is busy with another
    /// writer, and returns its stdout. D1's own refusals come back as a
    /// [`D1Error`] in the chain; anything else is a plain error.
    fn run(&self, call: Call, db: &Database, what: &str, args: Vec<OsString>) -> Result<String> {
        self.run_for(call, &db.binding, what, args)
    }

    /// [`Wrangler::run`] for `subject` (a database's binding, or the worker).
    fn run_for(
        &self,
        call: Call,
        subject: &str,
        what: &str,
        args: Vec<OsString>,
    ) -> Result<String> {
        let mut delay = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            let result = self.run_once(call, subject, what, &args);
            let why = match &result {
                Err(err) if self.target == Target::Local && is_busy(err) => {
                    "the local database is busy with another writer"
                }
                Err(err) if self.target == Target::Local && runtime_did_not_start(err) => {
                    "the local Workers runtime did not start (nothing ran)"
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
        if call != Call::Cleanup {
            crate::interrupt::check()?;
        }
        let mut command = self.launcher.command();
        command
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .args(self.env.iter().flat_map(|env| ["--env", env]))
            .env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("NO_COLOR", "1")
            .env("FORCE_COLOR", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = format!("wrangler {what} on {subject} ({})", self.target);
        tracing::debug!(command = %printable(&self.launcher, args), database = %subject, "running wrangler");
        let started = Instant::now();
        let output = self.output_within_timeout(command, call, &shown)?;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(database = %subject, elapsed_ms, status = %output.status, "wrangler finished");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = clean(&String::from_utf8_lossy(&output.stderr));

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

/// The JSON document at the end of wrangler's stdout: remote commands print
/// progress lines before it even with `--json`.
fn json_part(stdout: &str) -> &str {
    let trimmed = stdout.trim();
    let mut offset = 0;
    for line in trimmed.split_inclusive('\n') {
        if line.starts_with('[') || line.starts_with('{') {
            return &trimmed[offset..];
        }
        offset += line.len();
    }
    trimmed
}

/// What D1 said in wrangler's `{"error": …}`: locally the SQLite message is
/// the text; remotely the text is a generic "request failed" and the message
/// is in the first note, followed by ` [code: NNNN]`.
fn d1_error_text(failure: &Value) -> Option<String> {
    let error = failure.get("error")?;
    let note = error
        .pointer("/notes/0/text")
        .and_then(Value::as_str)
        .map(|note| match note.rfind(" [code: ") {
            Some(at) if note.ends_with(']') => &note[..at],
            _ => note,
        });
    note.or_else(|| error.get("text").and_then(Value::as_str))
        .map(str::to_owned)
}

impl Wrangler {
    /// Runs the command to its end in a process group of its own, or ends
    /// that whole group (wrangler and the `workerd` it started) once it has
    /// taken longer than the timeout (a hung network must not hang a deploy
    /// forever), or when the run is stopped during a [`Call::Read`].
    fn output_within_timeout(
        &self,
        mut command: Command,
        call: Call,
        shown: &str,
    ) -> Result<Output> {
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().with_context(|| {
            format!(
                "cannot start {} for {shown}",
                self.launcher.program.display()
            )
        })?;
        let group = child.id();
        let _watched = crate::reaper::watch(group);
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    pipe.read_to_end(&mut bytes).ok();
                }
                bytes
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .with_context(|| format!("lost track of {shown}"))?
            {
                break status;
            }
            let stop = crate::interrupt::requested().filter(|_| call == Call::Read);
            if Instant::now() >= deadline || stop.is_some() {
                end_group(&mut child, group);
                if let Some(stop) = stop {
                    return Err(crate::interrupt::Interrupted(stop))
                        .with_context(|| format!("{shown} was stopped"));
                }
                bail!(
                    "{shown} did not finish within {} s ({TIMEOUT_VAR}), so it was stopped (with everything it started)",
                    self.timeout.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Whatever it left in its group (a workerd it did not stop) goes with it.
        crate::reaper::signal_group(group, libc::SIGKILL);
        let collect = |reader: std::thread::JoinHandle<Vec<u8>>| reader.join().unwrap_or_default();
        Ok(Output {
            status,
            stdout: collect(stdout),
            stderr: collect(stderr),
        })
    }
}

/// Ends a process group: SIGTERM, up to two seconds for its leader to
/// exit, then SIGKILL to whatever of the group is left; reaps the leader.
fn end_group(child: &mut std::process::Child, group: u32) {
    crate::reaper::signal_group(group, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    crate::reaper::signal_group(group, libc::SIGKILL);
    child.kill().ok();
    child.wait().ok();
}

/// A running `wrangler dev`.
pub struct DevServer {
    child: std::process::Child,
    _watched: crate::reaper::Watched,
}

impl DevServer {
    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for DevServer {
    /// Stops wrangler and the workerd processes it started: they share its
    /// process group.
    fn drop(&mut self) {
        let group = self.child.id();
        end_group(&mut self.child, group);
    }
}

/// How often a busy local database is tried before giving up.
const BUSY_ATTEMPTS: u32 = 5;

/// True when local D1's runtime (workerd) exited before it served anything:
/// seen on a loaded machine, and harmless to retry since no SQL ran.
fn runtime_did_not_start(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains("The Workers runtime failed to start")
}

/// True when SQLite said another connection holds the write lock.
fn is_busy(err: &anyhow::Error) -> bool {
    let text = format!("{err:#}");
    text.contains("SQLITE_BUSY") || text.contains("database is locked")
}

/// Runs `npm ci` in the workspace root so `node_modules/.bin/wrangler` exists.
fn install(root: &Path) -> Result<()> {
    eprintln!(
        "wrangler is not installed yet: running `npm ci` in {} …",
        root.display()
    );
    let status = Command::new("npm")
        .arg("ci")
        .arg("--no-audit")
        .arg("--no-fund")
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status();
    match status {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
            "wrangler is not installed and npm was not found: install Node.js 20 or newer (it brings npm), then run `npm ci` in {}",
            root.display()
        ),
        Err(err) => Err(err).context("cannot run `npm ci`"),
        Ok(status) if !status.success() => bail!(
            "`npm ci` failed in {} ({status}): run it yourself to see why",
            root.display()
        ),
        Ok(_) => Ok(()),
    }
}

/// The command line as a user could paste it, for logs.
fn printable(launcher: &Launcher, args: &[OsString]) -> String {
    let mut line = launcher.program.display().to_string();
    for arg in launcher.args.iter().chain(args) {
        let arg = arg.to_string_lossy();
        let arg = if arg.len() > 120 {
            format!("{}…", truncate(&arg, 120))
        } else {
            arg.into_owned()
        };
        if arg
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '"')
        {
            line.push_str(&format!(" '{}'", arg.replace('\'', "'\\''")));
        } else {
            line.push(' ');
            line.push_str(&arg);
        }
    }
    line
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// At most a screenful of what wrangler said.
fn excerpt(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty() && !line.contains("Logs were written to"))
        .collect();
    let shown = lines
        .iter()
        .take(20)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    let shown = truncate(&shown, 4000).to_owned();
    if lines.len() > 20 {
        format!("{shown}\n(… {} more lines)", lines.len() - 20)
    } else {
        shown
    }
}

/// Removes ANSI escape sequences and the API token from text we are about to show.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    redact(&out)
}

/// Replaces the Cloudflare API token, wherever it appears, with `***`.
pub fn redact(text: &str) -> String {
    match std::env::var("CLOUDFLARE_API_TOKEN") {
        Ok(token) if token.len() >= 4 => text.replace(&token, "***"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_ansi_sequences() {
        let raw = "\u{1b}[31m✘ \u{1b}[41;31m[\u{1b}[41;97mERROR\u{1b}[41;31m]\u{1b}[0m \u{1b}[1mCould not read file\u{1b}[0m";
        assert_eq!(clean(raw), "✘ [ERROR] Could not read file");
    }

    #[test]
    fn printable_quotes_arguments_with_spaces() {
        let args: Vec<OsString> = vec!["d1".into(), "--command".into(), "SELECT 'a'".into()];
        assert_eq!(
            printable(
                &Launcher {
                    program: "wrangler".into(),
                    args: Vec::new()
                },
                &args
            ),
            "wrangler d1 --command 'SELECT '\\''a'\\'''"
        );
    }

    #[test]
    fn falls_back_to_the_launcher_when_it_is_not_the_one_known() {
        // (The project's own install is checked by `tests/flow.rs`, which
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

    #[test]
    fn finds_the_json_after_progress_lines() {
        let stdout =
            "├ Checking if file needs uploading\n🌀 Uploading\n[\n  {\"results\": []}\n]\n";
        assert_eq!(json_part(stdout), "[\n  {\"results\": []}\n]");
        assert_eq!(json_part("  {\"a\": 1}\n"), "{\"a\": 1}");
    }

    #[test]
    fn reads_local_and_remote_error_shapes() {
        let local = serde_json::json!({"error": {"text": "no such table: x: SQLITE_ERROR"}});
        assert_eq!(
            d1_error_text(&local).unwrap(),
            "no such table: x: SQLITE_ERROR"
        );
        let remote = serde_json::json!({"error": {
            "text": "A request to the Cloudflare API (/accounts/a/d1/database/b/query) failed.",
            "notes": [{"text": "no such table: _migrations: SQLITE_ERROR [code: 7500]"}]
        }});
        assert_eq!(
            d1_error_text(&remote).unwrap(),
            "no such table: _migrations: SQLITE_ERROR"
        );
    }

    #[test]
    fn excerpt_keeps_twenty_lines() {
        let text: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let shown = excerpt(&text);
        assert!(shown.contains("line 19") && !shown.contains("line 20"));
        assert!(shown.ends_with("(… 10 more lines)"));
    }
}

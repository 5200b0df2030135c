//! Local writes for a whole run in one node process: `local_runner.mjs`
//! starts wrangler's own Miniflare once, with every database of the config,
//! and runs each batch as `wrangler d1 execute --local` does (one `db.batch`
//! of the statements wrangler's splitter cuts, all or nothing). A run that
//! writes to several local databases then pays one node and one workerd
//! start-up instead of one per database.
//!
//! The runner is started at the first write and ends when the run drops it
//! (its stdin closes; it finishes the batches in flight). When it cannot be
//! used (wrangler is a script standing in for it, its package has no
//! Miniflare this runner knows, it does not start), writes go through one
//! wrangler call each, as before, and the log says why once.
//! `MIGRATE_LOCAL_WRITES=wrangler` turns it off.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::json;

use crate::migrate::d1::{Call, D1Error, StatementResult};
use crate::process::{Cmd, Piped};

/// The variable that sends local writes through one wrangler call each.
pub const WRITES_VAR: &str = "MIGRATE_LOCAL_WRITES";

/// The runner's source, written to a file for node to load (node's `-e`
/// cannot reach Miniflare's Durable Objects).
const SCRIPT: &str = include_str!("local_runner.mjs");

/// How long the runner gets, once its stdin closes, to finish and leave.
const GRACE: Duration = Duration::from_secs(10);

/// True unless `MIGRATE_LOCAL_WRITES=wrangler`.
pub fn enabled() -> bool {
    !matches!(std::env::var(WRITES_VAR).as_deref(), Ok("wrangler"))
}

/// Where the runner finds node and wrangler's Miniflare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The node that starts wrangler.
    pub node: PathBuf,
    /// wrangler's npm package (its Miniflare is resolved from there).
    pub package: PathBuf,
}

/// One run's local writes ([`Runner::batch`]).
#[derive(Debug)]
pub struct Runner {
    place: Place,
    /// The local state folder (`.wrangler/state`, or `--persist-to`).
    local_state: PathBuf,
    /// Every database's local id, in config order.
    ids: Vec<String>,
    timeout: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
enum State {
    NotStarted,
    Up(Arc<Live>),
    /// It could not be used: why, said once.
    Unusable,
}

/// A started runner.
struct Live {
    stdin: Mutex<os_pipe::PipeWriter>,
    /// The batches sent and not yet answered, by request id.
    waiting: Arc<Mutex<HashMap<u64, mpsc::Sender<Answer>>>>,
    next_id: AtomicU64,
    process: Piped,
    log: tempfile::TempDir,
}

impl Drop for Live {
    /// Every batch sent has its answer, so each one's write is done (D1
    /// answers after its transaction commits): the runner is ended now
    /// rather than waited for while Miniflare tidies up. With a batch still
    /// out (a run ending on an error), it gets its grace to finish.
    fn drop(&mut self) {
        if lock(&self.waiting).is_empty() {
            self.process.kill();
        }
    }
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live")
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    fatal: Option<String>,
    #[serde(default)]
    results: Option<Vec<StatementResult>>,
    #[serde(default)]
    error: Option<String>,
}

impl Runner {
    pub fn new(place: Place, local_state: &Path, ids: Vec<String>, timeout: Duration) -> Runner {
        Runner {
            place,
            local_state: local_state.to_path_buf(),
            ids,
            timeout,
            state: Mutex::new(State::NotStarted),
        }
    }

    /// Whether the runner can take batches, starting it if it is not
    /// running; when not, the log has said why once, and writes go to
    /// wrangler.
    pub fn usable(&self) -> bool {
        self.live().is_some()
    }

    /// Runs `statements` on the local database `id` (named `binding` in
    /// messages) as one all-or-nothing batch. Once the run is stopped, only
    /// a [`Call::Cleanup`] is sent.
    pub fn batch(
        &self,
        call: Call,
        binding: &str,
        id: &str,
        statements: &[String],
    ) -> Result<Vec<StatementResult>> {
        if call != Call::Cleanup {
            crate::interrupt::check()?;
        }
        let _waiting = crate::process::waits::waiting(|| format!("local D1 on {binding}"));
        let live = self.live().with_context(|| {
            format!("local D1's runner could not start again, so nothing ran on {binding}")
        })?;
        self.send(&live, binding, id, statements)
    }

    /// The runner, started on first use.
    fn live(&self) -> Option<Arc<Live>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &*state {
            State::Up(live) if live.process.running() => return Some(live.clone()),
            State::Unusable => return None,
            _ => {}
        }
        match self.start() {
            Ok(live) => {
                let live = Arc::new(live);
                *state = State::Up(live.clone());
                Some(live)
            }
            Err(err) => {
                tracing::info!("local writes go through one wrangler call each: {err:#}");
                *state = State::Unusable;
                None
            }
        }
    }

    fn start(&self) -> Result<Live> {
        let log = tempfile::Builder::new()
            .prefix("migrate-local-d1-")
            .tempdir()
            .context("cannot make a folder for local D1's runner")?;
        let script = log.path().join("local_runner.mjs");
        std::fs::write(&script, SCRIPT)
            .with_context(|| format!("cannot write {}", script.display()))?;
        let mut process = Cmd::new(&self.place.node)
            .arg("--no-warnings")
            .arg(&script)
            .env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("NO_COLOR", "1")
            .start_piped(&log.path().join("stderr.log"), GRACE)?;
        let mut stdin = process.take_stdin().context("the runner has no stdin")?;
        let stdout = process.take_stdout().context("the runner has no stdout")?;
        let config = json!({
            "wrangler": self.place.package,
            "persist": self.local_state.join("v3"),
            "databases": self.ids,
        });
        writeln!(stdin, "{config}").context("cannot talk to local D1's runner")?;

        let waiting: Arc<Mutex<HashMap<u64, mpsc::Sender<Answer>>>> = Arc::default();
        let (ready_tx, ready_rx) = mpsc::channel::<Answer>();
        let answers = waiting.clone();
        std::thread::Builder::new()
            .name("local-d1-runner".into())
            .spawn(move || read_answers(stdout, ready_tx, answers))
            .context("cannot start a thread")?;
        let said = |log: &tempfile::TempDir| stderr_tail(&log.path().join("stderr.log"));
        match ready_rx.recv_timeout(self.timeout) {
            Ok(Answer { ready: true, .. }) => {}
            Ok(Answer {
                fatal: Some(why), ..
            }) => bail!("its runner could not start Miniflare: {}", first_line(&why)),
            Ok(other) => bail!("its runner said {other:?} instead of being ready"),
            Err(RecvTimeoutError::Timeout) => {
                process.kill();
                bail!(
                    "its runner was not ready within {} s, so it was stopped",
                    self.timeout.as_secs()
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                bail!("its runner ended before it was ready: {}", said(&log))
            }
        }
        tracing::debug!(databases = self.ids.len(), "local D1's runner is ready");
        Ok(Live {
            stdin: Mutex::new(stdin),
            waiting,
            next_id: AtomicU64::new(1),
            process,
            log,
        })
    }

    fn send(
        &self,
        live: &Live,
        binding: &str,
        id: &str,
        statements: &[String],
    ) -> Result<Vec<StatementResult>> {
        let shown = format!("local D1 (wrangler's Miniflare) on {binding}");
        let request_id = live.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        lock(&live.waiting).insert(request_id, tx);
        let request = json!({ "id": request_id, "db": id, "statements": statements });
        let sent = writeln!(lock(&live.stdin), "{request}");
        if let Err(err) = sent {
            lock(&live.waiting).remove(&request_id);
            bail!(
                "{shown}: the runner did not take the batch ({err}), so nothing ran: {}",
                stderr_tail(&live.log.path().join("stderr.log"))
            );
        }
        let started = std::time::Instant::now();
        let answer = rx.recv_timeout(self.timeout);
        tracing::debug!(
            database = %binding,
            statements = statements.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "local D1's runner ran a batch"
        );
        match answer {
            Ok(Answer {
                results: Some(results),
                ..
            }) => Ok(results),
            Ok(Answer {
                error: Some(text), ..
            }) => Err(anyhow!(D1Error { text }).context(format!("{shown} failed"))),
            Ok(other) => bail!("{shown} answered {other:?}"),
            Err(RecvTimeoutError::Timeout) => {
                lock(&live.waiting).remove(&request_id);
                live.process.kill();
                Err(anyhow::Error::new(crate::process::TimedOut(self.timeout))).context(format!(
                    "{shown} did not finish within {} s ({}), so it was stopped (with everything it started)",
                    self.timeout.as_secs(),
                    super::TIMEOUT_VAR
                ))
            }
            Err(RecvTimeoutError::Disconnected) => bail!(
                "{shown}: the runner ended while it ran the batch: {}",
                stderr_tail(&live.log.path().join("stderr.log"))
            ),
        }
    }
}

/// Hands each answer line to the batch waiting for it; the first goes to
/// `ready`. When the runner's stdout closes, every waiting batch learns it.
fn read_answers(
    stdout: os_pipe::PipeReader,
    ready: mpsc::Sender<Answer>,
    waiting: Arc<Mutex<HashMap<u64, mpsc::Sender<Answer>>>>,
) {
    let mut ready = Some(ready);
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let answer: Answer = match serde_json::from_str(&line) {
            Ok(answer) => answer,
            Err(_) => {
                tracing::debug!(line = %line, "local D1's runner printed a line that is not an answer");
                continue;
            }
        };
        match answer.id {
            Some(id) => {
                if let Some(tx) = lock(&waiting).remove(&id) {
                    tx.send(answer).ok();
                }
            }
            None => {
                if let Some(tx) = ready.take() {
                    tx.send(answer).ok();
                }
            }
        }
    }
    lock(&waiting).clear();
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// The end of what the runner said on stderr.
fn stderr_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let text = super::output_parse::clean(&text);
    let shown = super::output_parse::excerpt(&text);
    if shown.is_empty() {
        "it said nothing".to_owned()
    } else {
        shown
    }
}

/// Where node and wrangler's package are, for wrangler as `program` `args`
/// start it: `node … wrangler-dist/cli.js` ([`super::Launcher::project`]),
/// or a path into wrangler's npm package (`node_modules/.bin/wrangler`).
/// `None` for anything else (a script standing in for wrangler).
pub fn place(program: &Path, args: &[std::ffi::OsString]) -> Option<Place> {
    let from_cli = args
        .iter()
        .map(Path::new)
        .find(|arg| arg.ends_with("wrangler-dist/cli.js"))
        .and_then(|cli| cli.parent()?.parent().map(Path::to_path_buf));
    let package = match from_cli {
        Some(package) => package,
        None => super::package_dir(program)?,
    };
    let node = if program.file_name().is_some_and(|name| name == "node") {
        program.to_path_buf()
    } else {
        PathBuf::from("node")
    };
    Some(Place { node, package })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_package_from_the_launcher_or_the_bin_link() {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("node_modules/wrangler");
        std::fs::create_dir_all(package.join("bin")).unwrap();
        std::fs::create_dir_all(package.join("wrangler-dist")).unwrap();
        std::fs::write(
            package.join("package.json"),
            r#"{"name":"wrangler","version":"4.86.0"}"#,
        )
        .unwrap();
        std::fs::write(package.join("bin/wrangler.js"), "").unwrap();
        let cli = package.join("wrangler-dist/cli.js");
        let launched = place(
            Path::new("node"),
            &["--no-warnings".into(), cli.clone().into()],
        )
        .unwrap();
        assert_eq!(launched.package, package);
        assert_eq!(launched.node, Path::new("node"));

        std::fs::create_dir_all(dir.path().join("node_modules/.bin")).unwrap();
        let link = dir.path().join("node_modules/.bin/wrangler");
        std::os::unix::fs::symlink("../wrangler/bin/wrangler.js", &link).unwrap();
        let linked = place(&link, &[]).unwrap();
        assert_eq!(linked.package, package.canonicalize().unwrap());
        assert_eq!(linked.node, Path::new("node"));

        let script = dir.path().join("fake-wrangler.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert_eq!(place(&script, &[]), None);
    }

    #[test]
    fn answers_carry_rows_or_the_error() {
        let rows: Answer =
            serde_json::from_str(r#"{"id":3,"results":[{"results":[{"x":"[0, 255]"}],"success":true,"meta":{"duration":0}}]}"#)
                .unwrap();
        assert_eq!(rows.id, Some(3));
        assert_eq!(rows.results.unwrap()[0].results[0]["x"], "[0, 255]");
        let error: Answer =
            serde_json::from_str(r#"{"id":4,"error":"no such table: nope: SQLITE_ERROR"}"#)
                .unwrap();
        assert_eq!(
            error.error.as_deref(),
            Some("no such table: nope: SQLITE_ERROR")
        );
        let ready: Answer = serde_json::from_str(r#"{"ready":true}"#).unwrap();
        assert!(ready.ready && ready.id.is_none());
    }
}

//! The run the page started (one at a time), and its events as server-sent
//! events: every event the engine reports, with the lines `cargo migrate`
//! prints for it, kept so that a page that connects late sees the run from
//! its start, then a closing `done` with the outcome and the run's report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::Result;
use serde_json::{json, Value};
use xtask::migrate::events::{Event, Observer};
use xtask::output::Human;

/// One run: its messages so far, and whether it is over.
pub struct Run {
    pub id: String,
    /// `rehearse`, `up`, `down` or `restore`.
    pub kind: String,
    state: Mutex<Messages>,
    changed: Condvar,
}

#[derive(Default)]
struct Messages {
    sent: Vec<String>,
    over: bool,
}

impl Run {
    fn new(id: String, kind: &str) -> Run {
        Run {
            id,
            kind: kind.to_owned(),
            state: Mutex::new(Messages::default()),
            changed: Condvar::new(),
        }
    }

    /// No run at all: a stream that ends at once, `done` naming no run.
    pub fn none() -> Arc<Run> {
        let run = Run::new(String::new(), "none");
        run.push(
            "done",
            &json!({"run": null, "kind": null, "ok": null, "error": null, "report": null}),
        );
        if let Ok(mut state) = run.state.lock() {
            state.over = true;
        }
        Arc::new(run)
    }

    /// Adds a message (`event:` name and JSON data), secrets redacted.
    fn push(&self, name: &str, data: &Value) {
        let data = xtask::process::redact(&data.to_string());
        if let Ok(mut state) = self.state.lock() {
            state.sent.push(format!("event: {name}\ndata: {data}\n\n"));
        }
        self.changed.notify_all();
    }

    /// Lines printed by a step that reports no events (a restore).
    pub fn say(&self, line: String) {
        let seq = self.len();
        self.push(
            "step",
            &json!({"run": self.id, "seq": seq, "kind": "output", "binding": null, "lines": [line], "event": null}),
        );
    }

    fn len(&self) -> usize {
        self.state.lock().map(|s| s.sent.len()).unwrap_or_default()
    }

    /// Closes the run with its outcome and report.
    fn finish(&self, result: &Result<Option<Value>>) {
        let (ok, error, failures, report) = match result {
            Ok(report) => (true, None, Vec::new(), report.clone()),
            Err(err) => (
                false,
                Some(format!("{err:#}")),
                xtask::migrate::failures(err),
                None,
            ),
        };
        // What the error is made of, as the engine types it (a lock held, a
        // migration that failed at a statement, …): the page can act on it.
        self.push(
            "done",
            &json!({"run": self.id, "kind": self.kind, "ok": ok, "error": error, "failures": failures, "report": report}),
        );
        if let Ok(mut state) = self.state.lock() {
            state.over = true;
        }
        self.changed.notify_all();
    }

    /// Whether the run is over.
    pub fn over(&self) -> bool {
        self.state.lock().map(|s| s.over).unwrap_or(true)
    }

    /// Gives every message, from the first, to `send` as it comes, until the
    /// run is over or `send` says the reader is gone. A comment every 15 s
    /// keeps a quiet stream open.
    pub fn follow(&self, mut send: impl FnMut(&str) -> bool) {
        let mut next = 0;
        loop {
            let (batch, over) = {
                let Ok(mut state) = self.state.lock() else {
                    return;
                };
                if next == state.sent.len() && !state.over {
                    state = match self.changed.wait_timeout(state, Duration::from_secs(15)) {
                        Ok((state, _)) => state,
                        Err(_) => return,
                    };
                }
                (state.sent[next..].to_vec(), state.over)
            };
            next += batch.len();
            if batch.is_empty() && !over && !send(": still running\n\n") {
                return;
            }
            for message in &batch {
                if !send(message) {
                    return;
                }
            }
            if over && batch.is_empty() {
                return;
            }
        }
    }
}

impl Observer for Run {
    fn event(&self, event: &Event) {
        let typed = serde_json::to_value(event).unwrap_or(Value::Null);
        let seq = self.len();
        self.push(
            "step",
            &json!({
                "run": self.id,
                "seq": seq,
                "kind": typed["kind"],
                "binding": typed.get("binding").cloned().unwrap_or(Value::Null),
                "lines": Human::lines(event),
                "event": typed,
            }),
        );
    }
}

/// The page's runs: the latest, and whether it is still going.
#[derive(Default)]
pub struct Runs {
    latest: Mutex<Option<Arc<Run>>>,
    counter: AtomicU64,
}

/// Another run is in progress.
#[derive(Debug)]
pub struct Busy(pub String);

impl Runs {
    /// Starts `work` on a thread of its own as run `kind`, unless a run is in
    /// progress; `work` returns the run's report (its history entry).
    pub fn start(
        &self,
        kind: &str,
        work: impl FnOnce(&Run) -> Result<Option<Value>> + Send + 'static,
    ) -> Result<String, Busy> {
        let mut latest = self.latest.lock().map_err(|_| Busy("?".into()))?;
        if let Some(run) = latest.as_ref().filter(|run| !run.over()) {
            return Err(Busy(run.id.clone()));
        }
        let id = format!("r{}", self.counter.fetch_add(1, Ordering::Relaxed) + 1);
        let run = Arc::new(Run::new(id.clone(), kind));
        *latest = Some(Arc::clone(&run));
        std::thread::spawn(move || {
            let result = work(&run);
            if let Err(err) = &result {
                tracing::warn!(run = %run.id, "{} failed: {err:#}", run.kind);
            }
            run.finish(&result);
        });
        Ok(id)
    }

    /// The latest run, over or not.
    pub fn latest(&self) -> Option<Arc<Run>> {
        self.latest.lock().ok()?.clone()
    }

    /// The id of the run in progress.
    pub fn running(&self) -> Option<String> {
        self.latest()
            .filter(|run| !run.over())
            .map(|run| run.id.clone())
    }

    /// Waits for the run in progress to end; says whether there was one.
    pub fn wait(&self) -> bool {
        let Some(run) = self.latest().filter(|run| !run.over()) else {
            return false;
        };
        run.follow(|_| true);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_reader_gets_the_run_from_its_start_and_the_end() {
        let runs = Runs::default();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let id = runs
            .start("up", move |run| {
                run.say("first".into());
                wait.recv().ok();
                run.say("second".into());
                Ok(Some(json!({"outcome": "succeeded"})))
            })
            .unwrap();
        assert_eq!(id, "r1");
        assert_eq!(runs.running().as_deref(), Some("r1"));
        assert!(matches!(runs.start("down", |_| Ok(None)), Err(Busy(id)) if id == "r1"));
        go.send(()).unwrap();
        let mut seen = Vec::new();
        runs.latest().unwrap().follow(|message| {
            seen.push(message.to_owned());
            true
        });
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen[0].starts_with("event: step\n") && seen[0].contains("\"first\""));
        assert!(seen[1].contains("\"second\""));
        assert!(seen[2].starts_with("event: done\n"));
        assert!(seen[2].contains("\"ok\":true") && seen[2].contains("succeeded"));
        assert_eq!(runs.running(), None);
        // The next run may start now.
        assert_eq!(runs.start("down", |_| Ok(None)).unwrap(), "r2");
    }

    #[test]
    fn a_failed_run_ends_with_its_error() {
        let runs = Runs::default();
        runs.start("up", |_| Err(anyhow::anyhow!("no such table: x")))
            .unwrap();
        let mut last = String::new();
        runs.latest().unwrap().follow(|message| {
            last = message.to_owned();
            true
        });
        assert!(last.contains("\"ok\":false"), "{last}");
        assert!(last.contains("no such table: x"), "{last}");
        assert!(last.contains("\"kind\":\"other\""), "{last}");
    }

    #[test]
    fn a_failed_run_says_what_its_error_is_made_of() {
        let runs = Runs::default();
        runs.start("up", |_| {
            let held = xtask::migrate::Failure::LockHeld {
                binding: "AUTH".into(),
                owner: "ci:7 migrate up".into(),
                expires_in_ms: 60_000,
            };
            Err(xtask::migrate::Error::from_failures(
                "AUTH is locked",
                vec![held],
            ))
        })
        .unwrap();
        let mut last = String::new();
        runs.latest().unwrap().follow(|message| {
            last = message.to_owned();
            true
        });
        let data = last.split("data: ").nth(1).unwrap_or_default();
        let done: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
        assert_eq!(done["failures"][0]["kind"], "lock_held", "{last}");
        assert_eq!(done["failures"][0]["owner"], "ci:7 migrate up", "{last}");
    }
}

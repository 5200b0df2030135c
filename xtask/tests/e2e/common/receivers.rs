//! Real notification receivers on 127.0.0.1 (`receivers.py`: aiosmtpd for
//! mail, an HTTP server that checks Standard Webhooks signatures with the
//! `standardwebhooks` package), from the venv `cargo xtask test` makes under
//! `target/test-tools/`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use super::{free_port, root};

/// The SMTP user and password the receiver accepts.
pub const SMTP_USER: &str = "migrate";
pub const SMTP_PASSWORD: &str = "smtp-pass-5f2a9c";
/// The webhook secret, as Standard Webhooks writes one.
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The venv's python, with the receivers' packages installed (by `cargo
/// xtask test`: the tests install nothing).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| super::require(xtask::tasks::test::receivers_python(&root())))
}

/// Receivers listening on 127.0.0.1, stopped when dropped.
pub struct Receivers {
    child: std::process::Child,
    pub smtp_port: u16,
    pub http_port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receivers {
    /// Starts both; the HTTP one answers every request with `http_status`.
    pub fn start(http_status: u16) -> Receivers {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("received.jsonl");
        let (smtp_port, http_port) = (free_port(), free_port());
        let mut child = Command::new(python())
            .arg(root().join("xtask/tests/e2e/receivers.py"))
            .arg(&log)
            .args([
                smtp_port.to_string(),
                http_port.to_string(),
                http_status.to_string(),
            ])
            .args([SMTP_USER, SMTP_PASSWORD, WEBHOOK_SECRET])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "the receivers did not start");
        Receivers {
            child,
            smtp_port,
            http_port,
            log,
            _dir: dir,
        }
    }

    /// `MIGRATE_SMTP_URL` for the SMTP receiver, with its user and password.
    pub fn smtp_url(&self) -> String {
        format!(
            "smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{}",
            self.smtp_port
        )
    }

    /// A URL on the HTTP receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The mails received.
    pub fn mails(&self) -> Vec<Value> {
        self.kind("mail")
    }

    /// The HTTP requests received on `path`, their bodies as JSON.
    pub fn posts(&self, path: &str) -> Vec<Value> {
        self.kind("http")
            .into_iter()
            .filter(|entry| entry["path"] == path)
            .collect()
    }

    fn kind(&self, kind: &str) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|entry| entry["kind"] == kind)
            .collect()
    }
}

impl Drop for Receivers {
    fn drop(&mut self) {
        // SAFETY: a positive pid signals only that process.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait().ok();
    }
}

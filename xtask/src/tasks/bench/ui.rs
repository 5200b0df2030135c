//! `xtask bench --ui`: the web UI's overview against `cargo migrate status`
//! on the same project, measured in the same run, A and B alternating. The
//! overview is what the page asks for when it opens: `/api/info` (no D1
//! call) and `/api/status` (one per database, as `status` makes).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{generate, median, Bencher};
use crate::process::Cmd;

/// The overview's target: at most this many times `status`.
const TARGET: f64 = 1.5;

impl Bencher {
    /// Measures the overview and `status` `runs` times each on a project of
    /// `size` migrations, all applied; returns the report's Markdown.
    pub(super) fn ui_overview(&self, size: usize, runs: usize) -> Result<String> {
        crate::note!("building the web UI …");
        let server = crate::process::cargo_build::build_ui()?;
        let template = self.scratch.path().join(format!("ui-template-{size}"));
        generate(&template, size)?;
        let project = self.fresh(&template, &format!("ui-{size}"))?;
        self.ours(&project, &["up", "--no-backup"])?;

        let log = project.join("ui.log");
        let _running = Cmd::new(&server)
            .arg("--config")
            .arg(project.join("wrangler.toml"))
            .arg("--migrations-dir")
            .arg(project.join("migrations"))
            .args(["--port", "0"])
            .env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .start(&log)?;
        let address = wait_for_address(&log)?;
        let (base, token) = address
            .split_once("/?token=")
            .context("the server printed no token")?;
        let get = |path: &str| -> Result<()> {
            let reply = crate::http::get(&format!("{base}{path}"))
                .header("Authorization", &format!("Bearer {token}"))
                .timeout(Duration::from_secs(600))
                .send()?;
            if reply.status != 200 {
                bail!("{path}: {} {}", reply.status, reply.body);
            }
            Ok(())
        };
        let overview = || -> Result<Duration> {
            let started = Instant::now();
            get("/api/info")?;
            get("/api/status")?;
            Ok(started.elapsed())
        };
        let (mut page, mut status) = (Vec::new(), Vec::new());
        for run in 0..runs {
            if run % 2 == 0 {
                page.push(overview()?);
                status.push(self.ours(&project, &["status"])?.0);
            } else {
                status.push(self.ours(&project, &["status"])?.0);
                page.push(overview()?);
            }
        }
        let (page, status) = (median(page), median(status));
        let ratio = page.as_secs_f64() / status.as_secs_f64();
        Ok(format!(
            "| N | the UI's overview (`/api/info` + `/api/status`) | `cargo migrate status` | ratio | target |\n\
             |---|---|---|---|---|\n\
             | {size} | {:.2} s | {:.2} s | {ratio:.2} | ≤ {TARGET} ({}) |\n",
            page.as_secs_f64(),
            status.as_secs_f64(),
            if ratio <= TARGET { "met" } else { "missed" },
        ))
    }
}

/// The address the server prints first, once it is listening.
fn wait_for_address(log: &Path) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.starts_with("http://127.0.0.1:")) {
            return Ok(line.trim().to_owned());
        }
        if Instant::now() > deadline {
            bail!("the web UI did not start within 60 s:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

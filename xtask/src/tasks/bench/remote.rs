//! `xtask bench --remote`: remote `status` and `up` on two databases through
//! the Cloudflare API double (started on 127.0.0.1 for the run): our runner
//! on the direct D1 API path and on the wrangler path, and wrangler's own
//! `d1 migrations list|apply --remote`, measured in turns in one run, with
//! one `wrangler d1 execute --remote` call as the yardstick. Target: the
//! direct path's `status` and `up` each take less than that one call.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{generate, median, wrangler_timed, Bencher, BINDINGS};
use crate::process::{Cmd, Running};

const TOKEN: &str = "bench-token";
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

/// The double, running, and the environment that points at it.
struct Cloud {
    _running: Running,
    env: Vec<(&'static str, String)>,
}

impl Cloud {
    fn start(scratch: &Path) -> Result<Cloud> {
        crate::note!("building the Cloudflare API double …");
        let double = crate::process::cargo_build::build_bin("cloudflare-double", "the API double")?;
        let log = scratch.join("double.log");
        let running = Cmd::new(&double)
            .args(["--port", "0", "--quiet", "--token", TOKEN])
            .arg("--data-dir")
            .arg(scratch.join("double"))
            .start(&log)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let base = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .find_map(|l| l.strip_prefix("CLOUDFLARE_API_BASE_URL="))
            {
                break url.trim().to_owned();
            }
            if Instant::now() > deadline {
                bail!("the API double did not start within 60 s:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Ok(Cloud {
            _running: running,
            env: vec![
                ("CLOUDFLARE_API_BASE_URL", base),
                ("CLOUDFLARE_API_TOKEN", TOKEN.to_owned()),
                ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT.to_owned()),
                ("WRANGLER_HIDE_BANNER", "true".to_owned()),
            ],
        })
    }
}

/// The medians of one way of doing a thing.
#[derive(Default)]
struct Column {
    status: Vec<Duration>,
    up: Vec<Duration>,
    processes: Vec<usize>,
}

impl Bencher {
    /// Measures `runs` rounds on `size` migrations; returns the report's Markdown.
    pub(super) fn remote(&self, size: usize, runs: usize) -> Result<String> {
        let cloud = Cloud::start(self.scratch.path())?;
        let template = self.scratch.path().join(format!("remote-template-{size}"));
        generate(&template, size)?;
        let (mut direct, mut via_wrangler, mut theirs) =
            (Column::default(), Column::default(), Column::default());
        let mut yardstick = Vec::new();
        let wrangler_env = {
            let mut env = cloud.env.clone();
            env.push(("MIGRATE_REMOTE_VIA", "wrangler".to_owned()));
            env
        };
        crate::note!("N = {size}, remote: {runs} rounds …");
        for run in 0..runs {
            // Each way gets databases of its own (new ids: new databases in the double).
            let ours = self.remote_copy(&template, &format!("remote-{run}-api"))?;
            let through = self.remote_copy(&template, &format!("remote-{run}-wrangler"))?;
            let plain = self.remote_copy(&template, &format!("remote-{run}-theirs"))?;
            // The order turns with each round.
            for turn in 0..4 {
                match (turn + run) % 4 {
                    0 => {
                        let (up, n) = self.ours_with(&ours, &["up", "--remote"], &cloud.env)?;
                        let (status, _) =
                            self.ours_with(&ours, &["status", "--remote"], &cloud.env)?;
                        direct.up.push(up);
                        direct.status.push(status);
                        direct.processes.push(n);
                    }
                    1 => {
                        let (up, n) =
                            self.ours_with(&through, &["up", "--remote"], &wrangler_env)?;
                        let (status, _) =
                            self.ours_with(&through, &["status", "--remote"], &wrangler_env)?;
                        via_wrangler.up.push(up);
                        via_wrangler.status.push(status);
                        via_wrangler.processes.push(n);
                    }
                    2 => {
                        theirs.up.push(self.remote_each(
                            &plain,
                            &["d1", "migrations", "apply"],
                            &cloud,
                        )?);
                        theirs.status.push(self.remote_each(
                            &plain,
                            &["d1", "migrations", "list"],
                            &cloud,
                        )?);
                    }
                    _ => yardstick.push(self.remote_one(
                        &plain,
                        &[
                            "d1",
                            "execute",
                            BINDINGS[0],
                            "--json",
                            "--command",
                            "SELECT 1",
                        ],
                        &cloud,
                    )?),
                }
            }
        }
        Ok(report(
            size,
            runs,
            &direct,
            &via_wrangler,
            &theirs,
            median(yardstick),
        ))
    }

    /// A copy of the template whose databases have ids of their own.
    fn remote_copy(&self, template: &Path, name: &str) -> Result<PathBuf> {
        let dir = self.fresh(template, name)?;
        let config = dir.join("wrangler.toml");
        let text = std::fs::read_to_string(&config)?;
        let tag: String = format!("{:x}", md5_of(name)).chars().take(8).collect();
        std::fs::write(
            &config,
            text.replace("00000000-0000-4000", &format!("{tag}-0000-4000")),
        )
        .with_context(|| format!("cannot write {}", config.display()))?;
        Ok(dir)
    }

    /// wrangler's own command once per database, one after the other, remotely.
    fn remote_each(&self, project: &Path, args: &[&str], cloud: &Cloud) -> Result<Duration> {
        let started = Instant::now();
        for binding in BINDINGS {
            let mut full = args.to_vec();
            full.push(binding);
            self.remote_one(project, &full, cloud)?;
        }
        Ok(started.elapsed())
    }

    fn remote_one(&self, project: &Path, args: &[&str], cloud: &Cloud) -> Result<Duration> {
        let mut command = Cmd::new(&self.wrangler);
        for (key, value) in &cloud.env {
            command = command.env(key, value);
        }
        wrangler_timed(command, project, args, "--remote")
    }
}

/// A number from a name, for ids that differ per copy.
fn md5_of(name: &str) -> u128 {
    use md5::{Digest, Md5};
    u128::from_be_bytes(Md5::digest(name.as_bytes()).into())
}

fn report(
    size: usize,
    runs: usize,
    direct: &Column,
    via_wrangler: &Column,
    theirs: &Column,
    yardstick: Duration,
) -> String {
    let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let verdict = |d: Duration| match d < yardstick {
        true => "met",
        false => "missed",
    };
    let processes = |c: &Column| {
        let mut n = c.processes.clone();
        n.sort_unstable();
        n.get(n.len() / 2).copied().unwrap_or_default()
    };
    let (d_status, d_up) = (median(direct.status.clone()), median(direct.up.clone()));
    format!(
        "Remote, through the Cloudflare API double on 127.0.0.1: N = {size} migrations on two databases, medians of {runs} rounds.\n\n\
         | | `status --remote` | `up --remote` | wrangler processes per `up` |\n\
         |---|---|---|---|\n\
         | direct D1 API path | {} | {} | {} |\n\
         | wrangler path (`MIGRATE_REMOTE_VIA=wrangler`) | {} | {} | {} |\n\
         | wrangler's `d1 migrations list\\|apply --remote`, per database | {} | {} | {} |\n\
         | one `wrangler d1 execute --remote --command 'SELECT 1'` | {} | | 1 |\n\n\
         Target: the direct path's `status` and `up` each under one `wrangler d1 execute --remote` call: \
         `status` {} ({:.2}×), `up` {} ({:.2}×).\n",
        s(d_status),
        s(d_up),
        processes(direct),
        s(median(via_wrangler.status.clone())),
        s(median(via_wrangler.up.clone())),
        processes(via_wrangler),
        s(median(theirs.status.clone())),
        s(median(theirs.up.clone())),
        BINDINGS.len(),
        s(yardstick),
        verdict(d_status),
        d_status.as_secs_f64() / yardstick.as_secs_f64(),
        verdict(d_up),
        d_up.as_secs_f64() / yardstick.as_secs_f64(),
    )
}

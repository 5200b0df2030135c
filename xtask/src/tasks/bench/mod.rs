//! `xtask bench`: our runner against wrangler's own `d1 migrations`, measured
//! side by side in the same run on generated migration sets, A and B
//! alternating, medians and per-pair ratios reported.

mod remote;
mod report;
mod sets;
mod ui;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::migrate::workspace_root;
use crate::process::{self, Cmd, OnStop};
use crate::wrangler::Launcher;
use clap::Args;
use xshell::cmd;

use sets::{concatenated, copy_dir, generate};

#[derive(Debug, Args)]
pub struct Bench {
    /// Migration counts to measure (comma-separated)
    #[arg(long, value_delimiter = ',', default_values_t = [10, 40, 160])]
    pub sizes: Vec<usize>,

    /// Repetitions of each measurement (medians are reported)
    #[arg(long, default_value_t = 5)]
    pub runs: usize,

    /// Where the Markdown and JSON reports go [default: target/bench]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Measure the web UI's overview against `cargo migrate status` instead
    /// (on the first size; builds the UI first)
    #[arg(long)]
    pub ui: bool,

    /// Measure remote `status` and `up` instead, through the Cloudflare API
    /// double on 127.0.0.1 (built first): the direct D1 API path, the
    /// wrangler path, and wrangler's own `d1 migrations`, against one
    /// `wrangler d1 execute --remote` call (on the first size)
    #[arg(long, conflicts_with = "ui")]
    pub remote: bool,
}

/// How long one measured command may take.
const TIMEOUT: Duration = Duration::from_secs(1800);

const BINDINGS: [&str; 2] = ["READ_REPLICA", "AUTH"];

/// One comparison: our command against wrangler's, per repetition.
#[derive(Default)]
struct Pairs {
    ours: Vec<Duration>,
    theirs: Vec<Duration>,
    our_processes: Vec<usize>,
    their_processes: usize,
}

impl Pairs {
    /// Our median over theirs.
    fn ratio(&self) -> f64 {
        median(self.ours.clone()).as_secs_f64() / median(self.theirs.clone()).as_secs_f64()
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// The tools being compared, and a template project per size.
struct Bencher {
    xtask: PathBuf,
    wrangler: PathBuf,
    /// How our runner starts wrangler (see [`Launcher::project`]).
    launcher: Launcher,
    /// The node on `PATH`, which our runner starts.
    node: PathBuf,
    scratch: tempfile::TempDir,
}

impl Bench {
    pub fn run(self) -> Result<()> {
        if self.runs == 0 || self.sizes.is_empty() {
            bail!("--runs and --sizes must not be empty");
        }
        let root = workspace_root();
        let wrangler = root.join("node_modules/.bin/wrangler");
        if !wrangler.is_file() {
            bail!(
                "{} is missing: run `npm ci` (or any `cargo migrate` command) first",
                wrangler.display()
            );
        }
        let bench = Bencher {
            xtask: std::env::current_exe().context("cannot find the xtask binary")?,
            launcher: Launcher::project(&root),
            node: on_path("node").context("node is not on PATH")?,
            wrangler,
            scratch: tempfile::Builder::new()
                .prefix("migrate-bench-")
                .tempdir()?,
        };
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| root.join("target").join("bench"));
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create {}", out.display()))?;

        if self.remote {
            let size = self.sizes[0];
            let markdown = bench.remote(size, self.runs)?;
            crate::out!("{markdown}");
            std::fs::write(out.join("bench-remote.md"), &markdown)?;
            crate::note!("wrote {}", out.join("bench-remote.md").display());
            return Ok(());
        }
        if self.ui {
            let size = self.sizes[0];
            crate::note!(
                "N = {size}: the web UI's overview against `status`, {} repetitions …",
                self.runs
            );
            let markdown = bench.ui_overview(size, self.runs)?;
            crate::out!("{markdown}");
            std::fs::write(out.join("bench-ui.md"), &markdown)?;
            crate::note!("wrote {}", out.join("bench-ui.md").display());
            return Ok(());
        }
        let help = bench.time_help()?;
        crate::note!(
            "`cargo migrate --help` on a built tree: {} ms",
            help.as_millis()
        );
        let mut rows = Vec::new();
        for &size in &self.sizes {
            crate::note!("N = {size}: {} repetitions …", self.runs);
            rows.push((size, bench.measure(size, self.runs)?));
        }
        let (markdown, json) = report::report(&rows, help, self.runs);
        crate::out!("{markdown}");
        std::fs::write(out.join("bench.md"), &markdown)?;
        std::fs::write(out.join("bench.json"), serde_json::to_string_pretty(&json)?)?;
        crate::note!(
            "wrote {} and {}",
            out.join("bench.md").display(),
            out.join("bench.json").display()
        );
        Ok(())
    }
}

/// The four comparisons for one size.
struct Row {
    up: Pairs,
    up_with_backup: Pairs,
    up_read_first: Pairs,
    /// `up` of one database alone, against one `SELECT 1` call.
    up_one: Pairs,
    status: Pairs,
    noop: Pairs,
    /// One `SELECT 1` started the way our runner starts wrangler.
    direct_floor: Vec<Duration>,
    /// One call, started the same way, that runs all of one database's
    /// migrations as one file: the least a wrangler-based `up` can spend.
    carrying: Vec<Duration>,
}

impl Bencher {
    /// `cargo migrate --help` as a user runs it: cargo's freshness check included.
    fn time_help(&self) -> Result<Duration> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let sh = process::shell()?;
        sh.change_dir(workspace_root());
        let mut times = Vec::new();
        for _ in 0..5 {
            times.push(timed(Cmd::from(cmd!(sh, "{cargo} migrate --help")))?);
        }
        Ok(median(times))
    }

    fn measure(&self, size: usize, runs: usize) -> Result<Row> {
        let template = self.scratch.path().join(format!("template-{size}"));
        generate(&template, size)?;
        let mut row = Row {
            up: Pairs::default(),
            up_with_backup: Pairs::default(),
            up_read_first: Pairs::default(),
            up_one: Pairs::default(),
            status: Pairs::default(),
            noop: Pairs::default(),
            direct_floor: Vec::new(),
            carrying: Vec::new(),
        };
        for run in 0..runs {
            let ours = self.fresh(&template, &format!("{size}-{run}-ours"))?;
            let theirs = self.fresh(&template, &format!("{size}-{run}-theirs"))?;
            let backed_up = self.fresh(&template, &format!("{size}-{run}-backup"))?;
            // A and B alternate which goes first.
            let ours_first = run % 2 == 0;
            let apply_theirs = || self.wrangler_each(&theirs, &["d1", "migrations", "apply"]);
            let (a, b) = if ours_first {
                let a = self.ours(&ours, &["up", "--no-backup"])?;
                (a, apply_theirs()?)
            } else {
                let b = apply_theirs()?;
                (self.ours(&ours, &["up", "--no-backup"])?, b)
            };
            row.up.push(a, b, BINDINGS.len());
            let with_backup = self.ours(&backed_up, &["up"])?;
            row.up_with_backup.push(with_backup, b, BINDINGS.len());
            // Databases that exist, which this machine has no record of:
            // `up` reads each one before it applies.
            let unknown = self.fresh(&template, &format!("{size}-{run}-unknown"))?;
            for binding in BINDINGS {
                self.wrangler_one(
                    &unknown,
                    &["d1", "execute", binding, "--command", "SELECT 1"],
                )?;
            }
            let read_first = self.ours(&unknown, &["up", "--no-backup"])?;
            row.up_read_first.push(read_first, b, BINDINGS.len());

            let list_theirs = || self.wrangler_each(&theirs, &["d1", "migrations", "list"]);
            let (status, list) = if ours_first {
                let a = self.ours(&ours, &["status"])?;
                (a, list_theirs()?)
            } else {
                let b = list_theirs()?;
                (self.ours(&ours, &["status"])?, b)
            };
            row.status.push(status, list, BINDINGS.len());

            let select = [
                "d1",
                "execute",
                BINDINGS[0],
                "--json",
                "--command",
                "SELECT 1",
            ];
            let (noop, floor) = if ours_first {
                let a = self.ours(&ours, &["up"])?;
                (a, self.wrangler_one(&theirs, &select)?)
            } else {
                let b = self.wrangler_one(&theirs, &select)?;
                (self.ours(&ours, &["up"])?, b)
            };
            row.noop.push(noop, floor, 1);
            // One database's `up` alone: its one call, nothing beside it.
            let alone = self.fresh(&template, &format!("{size}-{run}-alone"))?;
            let one = self.ours(&alone, &["up", "--no-backup", "--db", BINDINGS[0]])?;
            row.up_one.push(one, floor, 1);
            row.direct_floor.push(self.launched_one(&theirs, &select)?);
            let carrying = self.fresh(&template, &format!("{size}-{run}-carrying"))?;
            let file = carrying.join("one-database.sql");
            std::fs::write(
                &file,
                concatenated(&carrying.join("wrangler-migrations").join(BINDINGS[0]))?,
            )?;
            let file = file.to_string_lossy().into_owned();
            row.carrying.push(self.launched_one(
                &carrying,
                &["d1", "execute", BINDINGS[0], "--yes", "--file", &file],
            )?);
        }
        Ok(row)
    }

    /// A copy of the template with no local state yet.
    fn fresh(&self, template: &Path, name: &str) -> Result<PathBuf> {
        let dir = self.scratch.path().join(name);
        copy_dir(template, &dir)?;
        Ok(dir)
    }

    /// Runs `xtask migrate ARGS` on a project, counting the node processes
    /// it starts (wrangler calls, local D1's runner) through a `node` first
    /// on its `PATH` that notes each start and runs the real one.
    fn ours(&self, project: &Path, args: &[&str]) -> Result<(Duration, usize)> {
        self.ours_with(project, args, &[])
    }

    /// [`Bencher::ours`] with the variables `env` set.
    fn ours_with(
        &self,
        project: &Path,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Result<(Duration, usize)> {
        let counter = project.join("node-starts");
        std::fs::write(&counter, "")?;
        let bin = project.join("counting-bin");
        std::fs::create_dir_all(&bin)?;
        let shim = bin.join("node");
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\necho x >> '{}'\nexec '{}' \"$@\"\n",
                counter.display(),
                self.node.display()
            ),
        )?;
        make_executable(&shim)?;
        let path = std::env::join_paths(std::iter::once(bin.clone()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))?;
        let mut command = Cmd::new(&self.xtask)
            .arg("migrate")
            .args(args.iter().copied())
            .arg("--config")
            .arg(project.join("wrangler.toml"))
            .arg("--migrations-dir")
            .arg(project.join("migrations"))
            .env("PATH", path);
        for (key, value) in env {
            command = command.env(key, value);
        }
        let elapsed = timed(command)?;
        let calls = std::fs::read_to_string(&counter)?.lines().count();
        Ok((elapsed, calls))
    }

    /// wrangler's own command once per database, one after the other (as a script would).
    fn wrangler_each(&self, project: &Path, args: &[&str]) -> Result<Duration> {
        let started = Instant::now();
        for binding in BINDINGS {
            let mut full = args.to_vec();
            full.push(binding);
            self.wrangler_one(project, &full)?;
        }
        Ok(started.elapsed())
    }

    fn wrangler_one(&self, project: &Path, args: &[&str]) -> Result<Duration> {
        wrangler_timed(Cmd::new(&self.wrangler), project, args, "--local")
    }

    /// [`Bencher::wrangler_one`], with wrangler started as our runner starts it.
    fn launched_one(&self, project: &Path, args: &[&str]) -> Result<Duration> {
        let command = Cmd::new(&self.launcher.program).args(self.launcher.args.iter().cloned());
        wrangler_timed(command, project, args, "--local")
    }
}

/// A wrangler command on `project`'s databases (`target`: `--local` or
/// `--remote`), timed.
fn wrangler_timed(command: Cmd, project: &Path, args: &[&str], target: &str) -> Result<Duration> {
    let command = command
        .args(args.iter().copied())
        .arg(target)
        .arg("--config")
        .arg(project.join("wrangler.toml"))
        .env("CI", "1")
        .env("WRANGLER_SEND_METRICS", "false");
    timed(command)
}

/// Runs `command` to its end and returns how long it took; it must succeed.
fn timed(command: Cmd) -> Result<Duration> {
    let started = Instant::now();
    let output = command
        .clone()
        .env("WRANGLER_HIDE_BANNER", "true")
        .capture(TIMEOUT, OnStop::End)?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!(
            "`{}` failed: {}{}",
            command.printable(),
            output.stdout,
            output.stderr
        );
    }
    // What explains a call more than planned: a retry, a plan made again.
    for line in output.stderr.lines().filter(|line| {
        ["retrying in", "planning again", "through wrangler"]
            .iter()
            .any(|why| line.contains(why))
    }) {
        crate::note!("  (a call more than planned) {}", line.trim());
    }
    Ok(elapsed)
}

impl Pairs {
    fn push(
        &mut self,
        (ours, processes): (Duration, usize),
        theirs: Duration,
        their_processes: usize,
    ) {
        self.ours.push(ours);
        self.our_processes.push(processes);
        self.theirs.push(theirs);
        self.their_processes = their_processes;
    }
}

/// `program` as `PATH` finds it.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

fn make_executable(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;

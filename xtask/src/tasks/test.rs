//! `cargo xtask test`: the README's test command. It checks for everything
//! the tests need, installs what is missing while saying what it installs and
//! where, then runs `cargo test`.
//!
//! What the tests need beyond Rust and Node.js:
//!
//! - wrangler and playwright-core: `npm ci` into `node_modules/`;
//! - the worker's build tools: the wasm target (`rustup target add`),
//!   wasm-bindgen, worker-build and esbuild (into the tools folder, as
//!   `cargo xtask build-worker` installs them);
//! - system packages, with apt-get when this is root or `sudo -n` works
//!   (otherwise the one command to run): Chromium for the web UI's browser
//!   tests, the `sqlite3` shell the tests compare databases with, and
//!   python3's venv for the notification receivers;
//! - the receivers' venv, `target/test-tools/receivers`, from
//!   `xtask/tests/e2e/receivers.txt` (aiosmtpd, standardwebhooks).
//!
//! Test functions install nothing: they call the checks here
//! ([`node_modules`], [`chromium`], [`sqlite3`], [`receivers_python`],
//! [`worker_tools`]) and fail with the command that sets up what they miss.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::migrate::workspace_root;
use crate::migrate::Config;
use crate::process::cargo_build::cargo;
use crate::process::{self, Cmd, OnStop};
use crate::tasks::build_worker;
use clap::Args;

#[derive(Debug, Args)]
pub struct Test {
    /// Say what is there and what is missing; install nothing, test nothing
    #[arg(long, conflicts_with = "setup_only")]
    pub check: bool,

    /// Set up, but run no test
    #[arg(long)]
    pub setup_only: bool,

    /// Passed to `cargo test` (after `--`)
    #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

/// The command that sets up everything the tests need, and runs nothing.
pub const SETUP: &str = "cargo xtask test --setup-only";

/// The variable that names the Chromium the browser tests drive.
pub const CHROMIUM_VAR: &str = "UI_CHROMIUM";

/// The oldest Node.js wrangler 4 runs on.
const NODE_MAJOR: u32 = 20;

/// Something a test needs that this machine lacks, and what sets it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub what: String,
    /// The command (or step) that sets up this one thing.
    pub fix: String,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is missing: {} (or `{SETUP}`, which sets up everything the tests need and says what it installs)",
            self.what, self.fix
        )
    }
}

/// The folder cargo builds into: `$CARGO_TARGET_DIR`, else `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// `name` as the PATH finds it.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// wrangler and playwright-core in the workspace's `node_modules/`.
pub fn node_modules(root: &Path) -> Result<(), Missing> {
    let wanted = [
        ("wrangler", "node_modules/.bin/wrangler"),
        (
            "playwright-core",
            "node_modules/playwright-core/package.json",
        ),
    ];
    for (what, path) in wanted {
        if !root.join(path).is_file() {
            return Err(Missing {
                what: format!("{what} (in {})", root.join("node_modules").display()),
                fix: format!("run `npm ci` in {}", root.display()),
            });
        }
    }
    Ok(())
}

/// The Chromium the browser tests drive: `$UI_CHROMIUM`, else `chromium`
/// on the PATH.
pub fn chromium() -> Result<PathBuf, Missing> {
    if let Some(path) = std::env::var_os(CHROMIUM_VAR).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return match path.is_file() {
            true => Ok(path),
            false => Err(Missing {
                what: format!("Chromium at {CHROMIUM_VAR}={}", path.display()),
                fix: format!("point {CHROMIUM_VAR} at a Chromium binary, or unset it"),
            }),
        };
    }
    on_path("chromium").ok_or_else(|| Missing {
        what: "Chromium (for the web UI's browser tests)".to_owned(),
        fix: "run `sudo apt-get install chromium` (Debian, Ubuntu), or set UI_CHROMIUM to a Chromium binary"
            .to_owned(),
    })
}

/// The `sqlite3` shell, which the tests compare databases with
/// (`sqlite3 FILE .dump`), independently of this project's own code.
pub fn sqlite3() -> Result<PathBuf, Missing> {
    on_path("sqlite3").ok_or_else(|| Missing {
        what: "the sqlite3 shell (the tests compare databases with `sqlite3 .dump`)".to_owned(),
        fix: "run `sudo apt-get install sqlite3`".to_owned(),
    })
}

/// The notification receivers' venv.
fn receivers_venv(root: &Path) -> PathBuf {
    target_dir(root).join("test-tools").join("receivers")
}

fn receivers_requirements(root: &Path) -> PathBuf {
    root.join("xtask/tests/e2e/receivers.txt")
}

/// The python of the notification receivers' venv, with the packages
/// `receivers.txt` lists installed.
pub fn receivers_python(root: &Path) -> Result<PathBuf, Missing> {
    let venv = receivers_venv(root);
    let python = venv.join("bin").join("python");
    let wanted = std::fs::read_to_string(receivers_requirements(root)).unwrap_or_default();
    let installed = std::fs::read_to_string(venv.join("installed.txt")).ok();
    match python.is_file() && installed.as_deref() == Some(wanted.as_str()) {
        true => Ok(python),
        false => Err(Missing {
            what: format!(
                "the notification receivers' Python venv (in {})",
                venv.display()
            ),
            fix: format!(
                "run `python3 -m venv {venv}` and `{venv}/bin/pip install -r {}`",
                receivers_requirements(root).display(),
                venv = venv.display()
            ),
        }),
    }
}

/// The worker's build tools, at the versions Cargo.lock wants.
pub fn worker_tools(root: &Path) -> Result<(), Missing> {
    let missing = build_worker::missing_tools(root).map_err(|err| Missing {
        what: "the worker's build tools".to_owned(),
        fix: format!("{err:#}"),
    })?;
    match missing.is_empty() {
        true => Ok(()),
        false => Err(Missing {
            what: format!("the worker's build tools: {}", missing.join(", ")),
            fix: "run `cargo xtask build-worker`, which installs them".to_owned(),
        }),
    }
}

/// Whether `python3` can make a venv (Debian ships `venv` apart, as
/// `python3-venv`).
fn python_venv() -> Result<(), Missing> {
    let can = Cmd::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .capture(Duration::from_secs(60), OnStop::End)
        .is_ok_and(|run| run.status.success());
    match can {
        true => Ok(()),
        false => Err(Missing {
            what: "python3 with venv (for the notification tests' receivers)".to_owned(),
            fix: "run `sudo apt-get install python3-venv`".to_owned(),
        }),
    }
}

/// The Debian packages that provide what [`chromium`], [`sqlite3`] and
/// [`python_venv`] find missing.
fn missing_packages() -> Vec<(&'static str, Missing)> {
    let mut packages = Vec::new();
    // A Chromium named by UI_CHROMIUM is not apt-get's to provide.
    if std::env::var_os(CHROMIUM_VAR).is_none_or(|p| p.is_empty()) {
        if let Err(missing) = chromium() {
            packages.push(("chromium", missing));
        }
    }
    if let Err(missing) = sqlite3() {
        packages.push(("sqlite3", missing));
    }
    if let Err(missing) = python_venv() {
        packages.push(("python3-venv", missing));
    }
    packages
}

impl Test {
    pub fn run(self) -> Result<()> {
        if !cfg!(target_os = "linux") {
            bail!(
                "the tests run on Linux only (process groups, /proc, Debian's Chromium); \
                 `cargo migrate` itself runs wherever wrangler does"
            );
        }
        let root = workspace_root();
        if self.check {
            return check(&root);
        }
        let started = Instant::now();
        set_up(&root)?;
        crate::out!(
            "Set-up done in {:.1} s: everything the tests need is here.",
            started.elapsed().as_secs_f64()
        );
        if self.setup_only {
            return Ok(());
        }
        let built = Instant::now();
        build_for_tests(&root, &self.args)?;
        crate::out!("Built in {:.1} s.", built.elapsed().as_secs_f64());
        let test = cargo().arg("test").args(self.args).dir(&root);
        crate::out!("Running `{}` …", test.printable());
        let tested = Instant::now();
        let code = test.foreground()?;
        let took = tested.elapsed().as_secs_f64();
        match code {
            0 => {
                crate::out!("`cargo test` passed in {took:.1} s.");
                Ok(())
            }
            code => bail!("`cargo test` failed (exit {code}) after {took:.1} s"),
        }
    }
}

/// Builds, each step said with its time, what the tests would otherwise
/// build on first use, so that `cargo test` then spends its time testing:
/// the test binaries (`cargo test --no-run` with the cargo arguments given)
/// and, for the whole suite (no cargo arguments), the worker's wasm (which
/// the worker's and the release's tests serve; a minute from cold on two
/// cores) and the web UI binary (which `cargo migrate ui` builds in the
/// launcher's tests). Each is next to nothing once built.
fn build_for_tests(root: &Path, args: &[OsString]) -> Result<()> {
    let step = |what: &str, build: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        crate::out!("Building {what} …");
        let started = Instant::now();
        build().with_context(|| format!("cannot build {what}"))?;
        crate::out!("Built {what} in {:.1} s.", started.elapsed().as_secs_f64());
        Ok(())
    };
    let cargo_args: Vec<&OsString> = args.iter().take_while(|arg| *arg != "--").collect();
    let tests = cargo()
        .args(["test", "--no-run"])
        .args(cargo_args.iter().copied())
        .dir(root);
    step("the tests", &mut || match tests.foreground()? {
        0 => Ok(()),
        code => bail!("`{}` failed (exit {code})", tests.printable()),
    })?;
    if !cargo_args.is_empty() {
        return Ok(());
    }
    step("the worker", &mut || {
        let paths = crate::migrate::Paths {
            wrangler_version: crate::wrangler::project_version(root),
            root: root.to_path_buf(),
            config: None,
            env: None,
            migrations_dir: None,
            databases: Vec::new(),
            persist_to: None,
        };
        let project = crate::migrate::Project::load(&paths, crate::migrate::Target::Local)?;
        build_worker::build(&project, false)
    })?;
    step("the web UI", &mut || {
        process::cargo_build::build_ui().map(drop)
    })
}

/// Lists what the tests need and whether it is here; installs nothing.
fn check(root: &Path) -> Result<()> {
    let mut lacking = 0;
    let mut show = |what: &str, found: Result<String, Missing>| match found {
        Ok(found) => crate::out!("✅ {what}: {found}"),
        Err(missing) => {
            lacking += 1;
            crate::out!("❌ {missing}");
        }
    };
    show("Node.js", node_version().map(|v| format!("{v}")));
    show(
        "wrangler and playwright-core",
        node_modules(root).map(|()| root.join("node_modules").display().to_string()),
    );
    show(
        "the worker's build tools",
        worker_tools(root).map(|()| build_worker::tools_dir(root).display().to_string()),
    );
    show("Chromium", chromium().map(|p| p.display().to_string()));
    show("sqlite3", sqlite3().map(|p| p.display().to_string()));
    show(
        "python3 with venv",
        python_venv().map(|()| "python3".to_owned()),
    );
    show(
        "the receivers' venv",
        receivers_python(root).map(|p| p.display().to_string()),
    );
    match lacking {
        0 => Ok(()),
        n => bail!("{n} of the tests' needs missing: `{SETUP}` sets them up"),
    }
}

/// The major version of the PATH's Node.js, when it is new enough.
fn node_version() -> Result<u32, Missing> {
    let missing = |found: &str| Missing {
        what: format!("Node.js {NODE_MAJOR} or newer ({found})"),
        fix: "install it from https://nodejs.org or your package manager".to_owned(),
    };
    let said = Cmd::new("node")
        .arg("--version")
        .read()
        .ok_or_else(|| missing("no `node` on the PATH"))?;
    let major = said
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or_else(|| missing(&format!("`node --version` said {said:?}")))?;
    match major >= NODE_MAJOR {
        true => Ok(major),
        false => Err(missing(&format!("found {}", said.trim()))),
    }
}

/// Installs what is missing, each step saying what and where.
fn set_up(root: &Path) -> Result<()> {
    let node = node_version().map_err(|m| anyhow::anyhow!("{m}"))?;
    crate::out!("✅ Node.js {node}");

    if node_modules(root).is_err() {
        crate::out!(
            "⏳ installing wrangler and playwright-core (package-lock.json) into {}: npm ci",
            root.join("node_modules").display()
        );
        process::npm(root, &["ci"])?;
    }
    crate::out!(
        "✅ wrangler and playwright-core in {}",
        root.join("node_modules").display()
    );

    if let Err(missing) = worker_tools(root) {
        crate::out!("⏳ installing {} (a few minutes, once)", missing.what);
        let config = Config::load(&Config::find_in(root), None)?;
        build_worker::install_build_tools(root, &config)?;
    }
    crate::out!(
        "✅ the worker's build tools in {}",
        build_worker::tools_dir(root).display()
    );

    let packages = missing_packages();
    if !packages.is_empty() {
        install_packages(&packages)?;
    }
    crate::out!("✅ Chromium, sqlite3 and python3's venv");

    if receivers_python(root).is_err() {
        let venv = receivers_venv(root);
        crate::out!(
            "⏳ making the notification receivers' Python venv in {} (python3 -m venv; pip install -r {})",
            venv.display(),
            receivers_requirements(root).display()
        );
        make_receivers_venv(root, &venv)?;
    }
    let python = receivers_python(root).map_err(|m| anyhow::anyhow!("{m}"))?;
    crate::out!("✅ the receivers' venv: {}", python.display());
    Ok(())
}

/// `apt-get install` of `packages`, as root or through `sudo -n`; otherwise
/// the command to run.
fn install_packages(packages: &[(&'static str, Missing)]) -> Result<()> {
    let names: Vec<&str> = packages.iter().map(|(name, _)| *name).collect();
    let wanted: Vec<String> = packages.iter().map(|(_, m)| m.what.clone()).collect();
    let command = format!("sudo apt-get install {}", names.join(" "));
    if on_path("apt-get").is_none() {
        bail!(
            "missing: {}. This is not a Debian or Ubuntu system: install them with its package manager \
             (on Debian: `{command}`), or set UI_CHROMIUM for Chromium",
            wanted.join("; ")
        );
    }
    // SAFETY: geteuid has no preconditions.
    let root_user = unsafe { libc::geteuid() } == 0;
    let sudo = !root_user
        && Cmd::new("sudo")
            .args(["-n", "true"])
            .capture(Duration::from_secs(30), OnStop::End)
            .is_ok_and(|run| run.status.success());
    if !root_user && !sudo {
        bail!(
            "missing: {}. Installing them needs root: run `{command}`, then this command again",
            wanted.join("; ")
        );
    }
    let apt = |args: &[&str]| {
        let mut cmd = match sudo {
            true => Cmd::new("sudo").args(["-n", "apt-get"]),
            false => Cmd::new("apt-get"),
        };
        cmd = cmd
            .args(args.iter().copied())
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd.stream(Duration::from_secs(1800), OnStop::End)
    };
    crate::out!(
        "⏳ installing {} with apt-get (system packages, for the whole machine): {}apt-get install -y {}",
        wanted.join("; "),
        if sudo { "sudo " } else { "" },
        names.join(" ")
    );
    apt(&["update", "-qq"]).context("apt-get update failed")?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&names);
    apt(&install).with_context(|| format!("`{command}` failed"))?;
    let still: Vec<String> = missing_packages()
        .into_iter()
        .map(|(_, m)| m.to_string())
        .collect();
    if !still.is_empty() {
        bail!("after apt-get install: {}", still.join("; "));
    }
    Ok(())
}

fn make_receivers_venv(root: &Path, venv: &Path) -> Result<()> {
    let requirements = receivers_requirements(root);
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("cannot read {}", requirements.display()))?;
    let quiet = |cmd: Cmd| -> Result<()> {
        let shown = cmd.printable();
        let run = cmd.capture(Duration::from_secs(900), OnStop::End)?;
        if !run.status.success() {
            bail!("`{shown}` failed ({}): {}", run.status, run.stderr.trim());
        }
        Ok(())
    };
    quiet(
        Cmd::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(venv),
    )?;
    quiet(
        Cmd::new(venv.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
    )?;
    let stamp = venv.join("installed.txt");
    std::fs::write(&stamp, wanted).with_context(|| format!("cannot write {}", stamp.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_missing_names_its_own_fix_and_the_set_up_command() {
        let missing = Missing {
            what: "Chromium".to_owned(),
            fix: "run `sudo apt-get install chromium`".to_owned(),
        };
        let said = missing.to_string();
        assert!(said.starts_with("Chromium is missing: run `sudo apt-get install chromium`"));
        assert!(said.contains(SETUP), "{said}");
    }

    #[test]
    fn a_venv_that_is_not_there_or_is_stale_is_missing() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("xtask/tests/e2e")).unwrap();
        std::fs::write(
            root.path().join("xtask/tests/e2e/receivers.txt"),
            "aiosmtpd==1\n",
        )
        .unwrap();
        let missing = receivers_python(root.path()).unwrap_err();
        assert!(missing.fix.contains("python3 -m venv"), "{missing}");
        assert!(missing.fix.contains("receivers.txt"), "{missing}");
        let venv = receivers_venv(root.path());
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv.join("bin/python"), "").unwrap();
        std::fs::write(venv.join("installed.txt"), "aiosmtpd==0\n").unwrap();
        assert!(receivers_python(root.path()).is_err(), "stale packages");
        std::fs::write(venv.join("installed.txt"), "aiosmtpd==1\n").unwrap();
        assert_eq!(
            receivers_python(root.path()).unwrap(),
            venv.join("bin/python")
        );
    }

    #[test]
    fn node_modules_without_playwright_is_missing_with_npm_ci() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("node_modules/.bin")).unwrap();
        std::fs::write(root.path().join("node_modules/.bin/wrangler"), "").unwrap();
        let missing = node_modules(root.path()).unwrap_err();
        assert!(missing.what.starts_with("playwright-core"), "{missing}");
        assert!(missing.fix.contains("npm ci"), "{missing}");
    }
}

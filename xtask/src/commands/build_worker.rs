//! `xtask build-worker`: builds `worker/` to wasm for wrangler.
//!
//! wrangler.toml's `[build] command` runs this, so `wrangler dev` and
//! `wrangler deploy` build the worker themselves. The build is worker-build
//! (the workers-rs build tool) run in `worker/`, with everything it would
//! otherwise download supplied from the registries this project uses:
//!
//! - the `wasm32-unknown-unknown` target, with `rustup target add`;
//! - `wasm-bindgen` at exactly the version in Cargo.lock, with `cargo install
//!   wasm-bindgen-cli` into `target/tools`, passed as `WASM_BINDGEN_BIN`;
//! - `worker-build` at the version of the `worker` crate in Cargo.lock, with
//!   `cargo install` into `target/tools`;
//! - esbuild [`ESBUILD_VERSION`] (worker-build's own; the 0.25 wrangler
//!   brings cannot parse wasm-bindgen's `import source`), with `npm install`
//!   into `target/tools/esbuild`, passed as `ESBUILD_BIN`; the project's
//!   `node_modules/.bin/esbuild` is used instead once it is that new;
//! - no wasm-opt: worker/Cargo.toml turns it off.
//!
//! `WASM_BINDGEN_BIN` and `ESBUILD_BIN`, when already set, are used as they
//! are. The output is `worker/build/` (`index.js` + `index_bg.wasm`), which
//! wrangler.toml's `main` points at.
//!
//! Each tool is installed only when it is missing or `--version` says it is
//! not the wanted one. The schema version each database must have (the
//! highest migration routed to it, with the same loader and routing as
//! `migrate`) goes into the compile as `EXPECTED_SCHEMA_VERSIONS`, which the
//! worker's `/health` compares against the databases.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use serde::Deserialize;

use crate::flags::{self, Global};
use crate::project::{workspace_root, Project};
use crate::wrangler::{Target, Wrangler};

/// The Rust target Workers run.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The worker crate's folder and package name.
pub const WORKER_DIR: &str = "worker";
pub const WORKER_PACKAGE: &str = "nanotype-worker";
/// The variable that carries the expected schema versions into the wasm build.
pub const EXPECTED_VAR: &str = "EXPECTED_SCHEMA_VERSIONS";

impl flags::BuildWorker {
    pub fn run(self) -> Result<()> {
        let started = Instant::now();
        let root = workspace_root();
        let (project, expected) = expected_versions()?;
        tracing::info!("schema versions this build expects: {expected}");
        let profile = if self.dev { "--dev" } else { "--release" };
        let crate_dir = root.join(WORKER_DIR);
        // wrangler builds again before every `deploy` and `dev`: skip a
        // build whose inputs have not changed since the last one.
        let inputs = fingerprint(&root, &expected, profile)?;
        let stamp = crate_dir.join("build").join(".inputs");
        let entry = crate_dir.join("build").join("index.js");
        let wasm = crate_dir.join("build").join("index_bg.wasm");
        if entry.is_file()
            && wasm.is_file()
            && std::fs::read_to_string(&stamp).is_ok_and(|s| s == inputs)
        {
            tracing::info!("{} is up to date", entry.display());
            return Ok(());
        }

        let lock = Lockfile::read(&root.join("Cargo.lock"))?;
        let tools_dir = tools_dir(&root);
        // One build at a time (wrangler dev, a release and a test may start
        // one together): two would install the same tools into one folder.
        std::fs::create_dir_all(&tools_dir)
            .with_context(|| format!("cannot create {}", tools_dir.display()))?;
        let guard_path = tools_dir.join(".build.lock");
        let guard = std::fs::File::create(&guard_path)
            .with_context(|| format!("cannot create {}", guard_path.display()))?;
        if guard.try_lock().is_err() {
            tracing::info!("another build-worker is running: waiting for it");
            guard
                .lock()
                .with_context(|| format!("cannot lock {}", guard_path.display()))?;
        }
        ensure_wasm_target()?;
        let bindgen_version = lock.version_of("wasm-bindgen", "worker")?;
        let wasm_bindgen = ensure_wasm_bindgen(&tools_dir, &bindgen_version)?;
        let worker_version = lock.version_of("worker", WORKER_PACKAGE)?;
        let worker_build = ensure_worker_build(&tools_dir, &worker_version)?;
        let esbuild = ensure_esbuild(&root, &tools_dir, &project)?;

        tracing::info!(
            "building {} to wasm: worker-build {profile} (worker {worker_version}, wasm-bindgen {bindgen_version})",
            crate_dir.display()
        );
        let build_started = Instant::now();
        // Until this build has written everything, the outputs are not of these inputs.
        std::fs::remove_file(&stamp).ok();
        let status = Command::new(&worker_build)
            .arg(profile)
            .current_dir(&crate_dir)
            .env(EXPECTED_VAR, &expected)
            .env("WASM_BINDGEN_BIN", &wasm_bindgen)
            .env("ESBUILD_BIN", &esbuild)
            // Its errors are enough: no Rust backtraces in the output.
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()))
            .status()
            .with_context(|| format!("cannot run {}", worker_build.display()))?;
        if !status.success() {
            bail!(
                "worker-build {profile} failed in {} ({status}): the compiler's messages are above",
                crate_dir.display()
            );
        }
        for file in [&entry, &wasm] {
            if !file.is_file() {
                bail!(
                    "worker-build succeeded but did not write {}: is worker-build {worker_version} the right tool for this worker crate?",
                    file.display()
                );
            }
        }
        std::fs::write(&stamp, &inputs)
            .with_context(|| format!("cannot write {}", stamp.display()))?;
        let size = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
        tracing::info!(
            "built {} ({} KiB of wasm) in {:.1} s ({:.1} s in all)",
            entry.display(),
            size / 1024,
            build_started.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// A hash of everything a build depends on: the worker crate's sources and
/// manifest, Cargo.lock, the expected versions and the profile.
fn fingerprint(root: &Path, expected: &str, profile: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    fn files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            match path.is_dir() {
                true => files(&path, found)?,
                false => found.push(path),
            }
        }
        Ok(())
    }
    let worker = root.join(WORKER_DIR);
    let mut inputs = vec![root.join("Cargo.lock"), worker.join("Cargo.toml")];
    let mut sources = Vec::new();
    files(&worker.join("src"), &mut sources)
        .with_context(|| format!("cannot list {}", worker.join("src").display()))?;
    sources.sort();
    inputs.extend(sources);
    let mut hash = Sha256::new();
    hash.update(format!("{expected}\n{profile}\n"));
    for path in inputs {
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        hash.update(
            path.strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .as_bytes(),
        );
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    Ok(format!("{:x}\n", hash.finalize()))
}

/// The workspace's migrations, loaded like `migrate` loads them, and per
/// database of the workspace's wrangler.toml the highest version routed to it
/// (0 when none is), as `BINDING=VERSION,…`.
pub fn expected_versions() -> Result<(Project, String)> {
    #[derive(Parser)]
    struct Defaults {
        #[command(flatten)]
        global: Global,
    }
    let global = Defaults::try_parse_from(["build-worker"])
        .map_err(|err| anyhow!("{err}"))?
        .global;
    let project = Project::load(&global)
        .context("cannot work out the schema versions the worker expects from migrations/")?;
    let expected = format_expected(project.config.databases.iter().map(|db| {
        let latest = project
            .files_for(&db.binding)
            .iter()
            .map(|m| m.version)
            .max();
        (db.binding.as_str(), latest.unwrap_or(0))
    }));
    Ok((project, expected))
}

/// `READ_REPLICA=6,AUTH=5`: what the worker's `health::parse_expected` reads.
pub fn format_expected<'a>(versions: impl IntoIterator<Item = (&'a str, u64)>) -> String {
    versions
        .into_iter()
        .map(|(binding, version)| format!("{binding}={version}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Where the build tools are installed: `target/tools` (under
/// `$CARGO_TARGET_DIR` when that is set), so `cargo clean` removes them too.
pub fn tools_dir(root: &Path) -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    };
    target.join("tools")
}

/// The parts of Cargo.lock this command reads.
#[derive(Debug, Deserialize)]
pub struct Lockfile {
    #[serde(default, rename = "package")]
    packages: Vec<LockedPackage>,
}

#[derive(Debug, Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    #[serde(default)]
    dependencies: Vec<String>,
}

impl Lockfile {
    pub fn read(path: &Path) -> Result<Lockfile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Lockfile::parse(&text).with_context(|| format!("{} is not a Cargo.lock", path.display()))
    }

    pub fn parse(text: &str) -> Result<Lockfile> {
        Ok(toml::from_str(text)?)
    }

    /// The locked version of `name`. When several versions are locked, the
    /// one `dependent` uses (Cargo.lock then lists it as `name version`).
    pub fn version_of(&self, name: &str, dependent: &str) -> Result<String> {
        let versions: Vec<&str> = self
            .packages
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.version.as_str())
            .collect();
        match versions[..] {
            [] => bail!(
                "Cargo.lock has no {name}: is {WORKER_DIR}/ a member of the workspace, with its wasm dependencies?"
            ),
            [only] => Ok(only.to_owned()),
            _ => self
                .packages
                .iter()
                .filter(|p| p.name == dependent)
                .flat_map(|p| &p.dependencies)
                .find_map(|dep| {
                    let (dep_name, version) = dep.split_once(' ')?;
                    let version = version.split(' ').next()?;
                    (dep_name == name).then(|| version.to_owned())
                })
                .ok_or_else(|| {
                    anyhow!(
                        "Cargo.lock has several versions of {name} ({}) and none is {dependent}'s",
                        versions.join(", ")
                    )
                }),
        }
    }
}

/// The version a tool's `--version` printed: the first word that starts
/// with a digit (`wasm-bindgen 0.2.130` → `0.2.130`, `0.8.7` → `0.8.7`).
pub fn version_in(output: &str) -> Option<&str> {
    output
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
}

/// What `<bin> --version` says, or `None` when it does not run.
fn installed_version(bin: &Path) -> Option<String> {
    let output = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    version_in(&String::from_utf8_lossy(&output.stdout)).map(str::to_owned)
}

/// The cargo that runs this xtask (`$CARGO`), else the one on the PATH.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Adds the wasm target with rustup when the toolchain does not have it.
fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .stdin(Stdio::null())
        .output();
    match installed {
        Ok(output) if output.status.success() => {
            let listed = String::from_utf8_lossy(&output.stdout);
            if listed.lines().any(|line| line.trim() == WASM_TARGET) {
                tracing::debug!("the {WASM_TARGET} target is installed");
                return Ok(());
            }
            tracing::info!("installing the {WASM_TARGET} target: rustup target add {WASM_TARGET}");
            let started = Instant::now();
            let status = Command::new("rustup")
                .args(["target", "add", WASM_TARGET])
                .stdin(Stdio::null())
                .stdout(Stdio::from(std::io::stderr()))
                .status()
                .context("cannot run rustup")?;
            if !status.success() {
                bail!(
                    "`rustup target add {WASM_TARGET}` failed ({status}): the worker cannot be built without that target; run it yourself to see why"
                );
            }
            tracing::info!(
                "installed the {WASM_TARGET} target in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        // No rustup (a distribution's Rust, say): look in the sysroot.
        _ => {
            let sysroot = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
                .args(["--print", "sysroot"])
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
            match sysroot {
                Some(sysroot) if sysroot.join("lib/rustlib").join(WASM_TARGET).is_dir() => Ok(()),
                _ => bail!(
                    "the Rust toolchain has no {WASM_TARGET} target and rustup is not there to add it: \
                     install rustup (https://rustup.rs) or your distribution's {WASM_TARGET} standard library"
                ),
            }
        }
    }
}

/// `cargo install KRATE --version =VERSION --root DIR …`, saying so: with
/// the crate's own Cargo.lock first, then (when the registry no longer has a
/// version it locks, say) resolving its dependencies afresh.
fn cargo_install(krate: &str, bin: &str, version: &str, dir: &Path, extra: &[&str]) -> Result<()> {
    let shown = |locked: bool| {
        format!(
            "cargo install {krate} --version ={version}{} --debug --bin {bin} --root {}{}",
            if locked { " --locked" } else { "" },
            dir.display(),
            extra
                .iter()
                .map(|arg| format!(" {arg}"))
                .collect::<String>()
        )
    };
    tracing::info!(
        "installing {krate} {version} (a minute or two, once): {}",
        shown(true)
    );
    let started = Instant::now();
    let mut last = None;
    for locked in [true, false] {
        let mut command = Command::new(cargo());
        command
            .args(["install", krate, "--version"])
            .arg(format!("={version}"))
            .args(locked.then_some("--locked"))
            .args(["--force", "--debug", "--bin", bin, "--root"])
            .arg(dir)
            .args(extra)
            // A build tool needs no debug info: it only makes it slower to link.
            .env("CARGO_PROFILE_DEV_DEBUG", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()));
        let status = command
            .status()
            .with_context(|| format!("cannot run cargo to install {krate}"))?;
        if status.success() {
            tracing::info!(
                "installed {krate} {version} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if locked {
            tracing::warn!(
                "`{}` failed ({status}); trying again without --locked",
                shown(true)
            );
        }
        last = Some(status);
    }
    bail!(
        "cannot install {krate} {version} ({}): the worker build needs it. \
         Install it yourself with `{}` (it needs crates.io)",
        last.map(|status| status.to_string()).unwrap_or_default(),
        shown(false)
    )
}

/// wasm-bindgen must be exactly the version the worker was locked with.
/// `$WASM_BINDGEN_BIN`, when set, is used as it is.
fn ensure_wasm_bindgen(tools: &Path, version: &str) -> Result<PathBuf> {
    if let Some(custom) = std::env::var_os("WASM_BINDGEN_BIN").filter(|v| !v.is_empty()) {
        let custom = PathBuf::from(custom);
        match installed_version(&custom) {
            Some(found) if found == version => {}
            Some(found) => tracing::warn!(
                "WASM_BINDGEN_BIN={} is wasm-bindgen {found}, but Cargo.lock has {version}: the build will likely fail",
                custom.display()
            ),
            None => bail!(
                "WASM_BINDGEN_BIN={} does not run: unset it to let build-worker install wasm-bindgen {version}",
                custom.display()
            ),
        }
        return Ok(custom);
    }
    let bin = tools.join("bin").join(exe("wasm-bindgen"));
    match installed_version(&bin) {
        Some(found) if found == version => return Ok(bin),
        Some(found) => {
            tracing::info!("wasm-bindgen {found} is installed, but Cargo.lock has {version}")
        }
        None => tracing::info!("wasm-bindgen {version} is not installed yet"),
    }
    // Without default features: the CLI's test runner downloads browsers, the build needs none of it.
    cargo_install(
        "wasm-bindgen-cli",
        "wasm-bindgen",
        version,
        tools,
        &["--no-default-features"],
    )?;
    match installed_version(&bin) {
        Some(found) if found == version => Ok(bin),
        found => bail!(
            "installed wasm-bindgen-cli {version}, but {} reports {}",
            bin.display(),
            found.as_deref().unwrap_or("no version")
        ),
    }
}

/// worker-build is released with the worker crate: use the same version.
fn ensure_worker_build(tools: &Path, version: &str) -> Result<PathBuf> {
    let bin = tools.join("bin").join(exe("worker-build"));
    match installed_version(&bin) {
        Some(found) if found == version => return Ok(bin),
        Some(found) => {
            tracing::info!("worker-build {found} is installed, but the worker crate is {version}")
        }
        None => tracing::info!("worker-build {version} is not installed yet"),
    }
    cargo_install("worker-build", "worker-build", version, tools, &[])?;
    match installed_version(&bin) {
        Some(found) if found == version => Ok(bin),
        found => bail!(
            "installed worker-build {version}, but {} reports {}",
            bin.display(),
            found.as_deref().unwrap_or("no version")
        ),
    }
}

/// The esbuild worker-build 0.8 bundles with (its `CUR_ESBUILD_VERSION`): it
/// needs one that parses `import source` (wasm-bindgen's module output), which
/// the esbuild wrangler 4.50 brings (0.25) does not.
pub const ESBUILD_VERSION: &str = "0.28.2";

/// esbuild: the project's own (`node_modules/`, wrangler's dependency) when it
/// is recent enough, else [`ESBUILD_VERSION`] installed with npm into the
/// tools folder. `$ESBUILD_BIN`, when set, is used as it is.
fn ensure_esbuild(root: &Path, tools: &Path, project: &Project) -> Result<PathBuf> {
    if let Some(custom) = std::env::var_os("ESBUILD_BIN").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(custom));
    }
    let project_bin = root.join("node_modules").join(".bin").join(exe("esbuild"));
    if !project_bin.is_file() {
        // Installs the npm packages (wrangler, and esbuild with it) if needed.
        Wrangler::locate(root, &project.config, Target::Local)?;
    }
    if let Some(found) = installed_version(&project_bin) {
        if at_least(&found, ESBUILD_VERSION) {
            return Ok(project_bin);
        }
        tracing::debug!("the project's esbuild is {found}; worker-build needs {ESBUILD_VERSION}");
    }
    let dir = tools.join("esbuild");
    let bin = dir.join("node_modules").join(".bin").join(exe("esbuild"));
    match installed_version(&bin) {
        Some(found) if found == ESBUILD_VERSION => return Ok(bin),
        Some(found) => {
            tracing::info!("esbuild {found} is installed, but worker-build needs {ESBUILD_VERSION}")
        }
        None => tracing::info!("esbuild {ESBUILD_VERSION} is not installed yet"),
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let manifest = serde_json::json!({
        "private": true,
        "description": "esbuild for worker-build, installed by `cargo xtask build-worker`",
        "dependencies": { "esbuild": ESBUILD_VERSION },
    });
    std::fs::write(dir.join("package.json"), format!("{manifest:#}\n"))
        .with_context(|| format!("cannot write {}", dir.join("package.json").display()))?;
    let shown = format!(
        "npm install --no-audit --no-fund --prefix {} (esbuild {ESBUILD_VERSION})",
        dir.display()
    );
    tracing::info!("installing esbuild {ESBUILD_VERSION}: {shown}");
    let started = Instant::now();
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status();
    match status {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
            "esbuild {ESBUILD_VERSION} is needed to bundle the worker and npm was not found: \
             install Node.js 20 or newer (it brings npm), or set ESBUILD_BIN to an esbuild {ESBUILD_VERSION}"
        ),
        Err(err) => return Err(err).context("cannot run npm to install esbuild"),
        Ok(status) if !status.success() => bail!(
            "cannot install esbuild {ESBUILD_VERSION} ({status}): run `{shown}` yourself to see why, \
             or set ESBUILD_BIN to an esbuild {ESBUILD_VERSION}"
        ),
        Ok(_) => {}
    }
    match installed_version(&bin) {
        Some(found) if found == ESBUILD_VERSION => {
            tracing::info!(
                "installed esbuild {ESBUILD_VERSION} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(bin)
        }
        found => bail!(
            "installed esbuild {ESBUILD_VERSION}, but {} reports {}",
            bin.display(),
            found.as_deref().unwrap_or("no version")
        ),
    }
}

/// `found >= wanted`, comparing dotted numbers (`0.28.10` > `0.28.2`).
pub fn at_least(found: &str, wanted: &str) -> bool {
    let parse = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .map_while(|part| part.parse().ok())
            .collect()
    };
    parse(found) >= parse(wanted)
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "nanotype-worker"
version = "0.1.0"
dependencies = ["serde", "worker"]

[[package]]
name = "wasm-bindgen"
version = "0.2.130"

[[package]]
name = "worker"
version = "0.8.7"
dependencies = ["wasm-bindgen 0.2.130", "js-sys"]

[[package]]
name = "wasm-bindgen"
version = "0.2.99"
"#;

    #[test]
    fn the_fingerprint_follows_sources_lockfile_versions_and_profile() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        std::fs::create_dir_all(root.join("worker/src/deep")).unwrap();
        std::fs::write(root.join("Cargo.lock"), "lock").unwrap();
        std::fs::write(root.join("worker/Cargo.toml"), "toml").unwrap();
        std::fs::write(root.join("worker/src/lib.rs"), "fn a() {}").unwrap();
        std::fs::write(root.join("worker/src/deep/m.rs"), "fn b() {}").unwrap();
        let first = fingerprint(root, "AUTH=5", "--release").unwrap();
        assert_eq!(fingerprint(root, "AUTH=5", "--release").unwrap(), first);
        assert_ne!(fingerprint(root, "AUTH=6", "--release").unwrap(), first);
        assert_ne!(fingerprint(root, "AUTH=5", "--dev").unwrap(), first);
        std::fs::write(root.join("worker/src/deep/m.rs"), "fn c() {}").unwrap();
        assert_ne!(fingerprint(root, "AUTH=5", "--release").unwrap(), first);
    }

    #[test]
    fn reads_locked_versions() {
        let lock = Lockfile::parse(LOCK).unwrap();
        assert_eq!(lock.version_of("worker", WORKER_PACKAGE).unwrap(), "0.8.7");
        // Two versions locked: the one the worker crate depends on.
        assert_eq!(
            lock.version_of("wasm-bindgen", "worker").unwrap(),
            "0.2.130"
        );
        let err = lock
            .version_of("wasm-bindgen", "nanotype-worker")
            .unwrap_err();
        assert!(err.to_string().contains("several versions"), "{err}");
        let err = lock.version_of("esbuild", "worker").unwrap_err();
        assert!(
            err.to_string().contains("Cargo.lock has no esbuild"),
            "{err}"
        );
    }

    #[test]
    fn the_workspace_lock_has_the_worker_toolchain() {
        let lock = Lockfile::read(&workspace_root().join("Cargo.lock")).unwrap();
        let worker = lock.version_of("worker", WORKER_PACKAGE).unwrap();
        assert!(worker.starts_with("0."), "{worker}");
        lock.version_of("wasm-bindgen", "worker").unwrap();
    }

    #[test]
    fn reads_tool_versions() {
        assert_eq!(version_in("wasm-bindgen 0.2.130\n"), Some("0.2.130"));
        assert_eq!(version_in("0.8.7\n"), Some("0.8.7"));
        assert_eq!(version_in("esbuild: unknown"), None);
    }

    #[test]
    fn compares_dotted_versions() {
        assert!(at_least("0.28.2", "0.28.2"));
        assert!(at_least("0.28.10", "0.28.2"));
        assert!(at_least("1.0.0", "0.28.2"));
        assert!(!at_least("0.25.4", "0.28.2"));
        assert!(!at_least("0.28", "0.28.2"));
    }

    #[test]
    fn formats_expected_versions_for_the_worker() {
        assert_eq!(
            format_expected([("READ_REPLICA", 6), ("AUTH", 5)]),
            "READ_REPLICA=6,AUTH=5"
        );
        assert_eq!(format_expected([]), "");
    }

    #[test]
    fn expects_the_highest_migration_routed_to_each_database() {
        let (_, expected) = expected_versions().unwrap();
        let mut parts: Vec<&str> = expected.split(',').collect();
        parts.sort();
        // The repository's migrations: 1, 3, 6 go to READ_REPLICA, 2, 4, 5 to AUTH.
        assert_eq!(parts, ["AUTH=5", "READ_REPLICA=6"]);
    }
}

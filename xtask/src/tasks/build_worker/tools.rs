//! The tools the worker build needs, each installed only when missing or not
//! the wanted version: the wasm target (rustup), wasm-bindgen and
//! worker-build (`cargo install` into `target/tools`), esbuild (npm).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use xshell::cmd;

use super::{STEP_TIMEOUT, WASM_TARGET, WORKER_DIR};
use crate::migrate::d1::Target;
use crate::migrate::Config;
use crate::process::{self, Cmd, OnStop};
use crate::wrangler::Wrangler;

/// The environment variable that puts the build tools elsewhere (CI keeps
/// them outside `target/`, which its cargo cache cleans before saving).
pub const TOOLS_DIR_VAR: &str = "MIGRATE_TOOLS_DIR";

/// Where the build tools are installed: `$MIGRATE_TOOLS_DIR` when set, else
/// `target/tools` (under `$CARGO_TARGET_DIR` when that is set), so `cargo
/// clean` removes them too.
pub fn tools_dir(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os(TOOLS_DIR_VAR).filter(|d| !d.is_empty()) {
        return root.join(dir);
    }
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
pub(super) fn installed_version(bin: &Path) -> Option<String> {
    let said = Cmd::new(bin).arg("--version").read()?;
    version_in(&said).map(str::to_owned)
}

/// The cargo that runs this xtask (`$CARGO`), else the one on the PATH.
pub(super) fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Whether the toolchain can build for the wasm target.
enum WasmTarget {
    Installed,
    /// rustup can add it.
    Missing,
    /// No rustup, and the sysroot lacks it.
    Unavailable,
}

fn wasm_target() -> Result<WasmTarget> {
    let sh = process::shell()?;
    let Some(listed) = Cmd::from(cmd!(sh, "rustup target list --installed")).read() else {
        // No rustup (a distribution's Rust, say): look in the sysroot.
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let sysroot = Cmd::from(cmd!(sh, "{rustc} --print sysroot"))
            .read()
            .map(|said| PathBuf::from(said.trim()));
        return Ok(match sysroot {
            Some(sysroot) if sysroot.join("lib/rustlib").join(WASM_TARGET).is_dir() => {
                WasmTarget::Installed
            }
            _ => WasmTarget::Unavailable,
        });
    };
    Ok(
        match listed.lines().any(|line| line.trim() == WASM_TARGET) {
            true => WasmTarget::Installed,
            false => WasmTarget::Missing,
        },
    )
}

/// Adds the wasm target with rustup when the toolchain does not have it.
pub(super) fn ensure_wasm_target() -> Result<()> {
    match wasm_target()? {
        WasmTarget::Installed => {
            tracing::debug!("the {WASM_TARGET} target is installed");
            return Ok(());
        }
        WasmTarget::Unavailable => bail!(
            "the Rust toolchain has no {WASM_TARGET} target and rustup is not there to add it: \
             install rustup (https://rustup.rs) or your distribution's {WASM_TARGET} standard library"
        ),
        WasmTarget::Missing => {}
    }
    tracing::info!("installing the {WASM_TARGET} target: rustup target add {WASM_TARGET}");
    let started = Instant::now();
    let sh = process::shell()?;
    Cmd::from(cmd!(sh, "rustup target add {WASM_TARGET}"))
        .stream(STEP_TIMEOUT, OnStop::End)
        .context("the worker cannot be built without that target; run it yourself to see why")?;
    tracing::info!(
        "installed the {WASM_TARGET} target in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What the worker build would install if it ran now, each as "what (where
/// or how)"; installs nothing. Tools named by `WASM_BINDGEN_BIN` and
/// `ESBUILD_BIN` count as there.
pub fn missing(root: &Path) -> Result<Vec<String>> {
    let lock = Lockfile::read(&root.join("Cargo.lock"))?;
    let tools = tools_dir(root);
    let mut missing = Vec::new();
    match wasm_target()? {
        WasmTarget::Installed => {}
        WasmTarget::Missing => missing.push(format!(
            "the {WASM_TARGET} target (rustup target add {WASM_TARGET})"
        )),
        WasmTarget::Unavailable => missing.push(format!(
            "the {WASM_TARGET} target (no rustup to add it: install rustup from https://rustup.rs)"
        )),
    }
    let set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    let bindgen = lock.version_of("wasm-bindgen", "worker")?;
    let worker = lock.version_of("worker", super::WORKER_PACKAGE)?;
    for (name, version, skip) in [
        ("wasm-bindgen", bindgen, set("WASM_BINDGEN_BIN")),
        ("worker-build", worker, false),
    ] {
        let bin = tools.join("bin").join(exe(name));
        if !skip && installed_version(&bin).as_deref() != Some(version.as_str()) {
            missing.push(format!("{name} {version} (in {})", tools.display()));
        }
    }
    let project_esbuild = root.join("node_modules").join(".bin").join(exe("esbuild"));
    let tools_esbuild = tools
        .join("esbuild")
        .join("node_modules")
        .join(".bin")
        .join(exe("esbuild"));
    let esbuild_there = set("ESBUILD_BIN")
        || installed_version(&project_esbuild).is_some_and(|v| at_least(&v, ESBUILD_VERSION))
        || installed_version(&tools_esbuild).as_deref() == Some(ESBUILD_VERSION);
    if !esbuild_there {
        missing.push(format!(
            "esbuild {ESBUILD_VERSION} (in {})",
            tools.join("esbuild").display()
        ));
    }
    Ok(missing)
}

/// `cargo install KRATE --version =VERSION --root DIR …`, saying so: with
/// the crate's own Cargo.lock first, then (when the registry no longer has a
/// version it locks, say) resolving its dependencies afresh.
pub(super) fn cargo_install(
    krate: &str,
    bin: &str,
    version: &str,
    dir: &Path,
    extra: &[&str],
) -> Result<()> {
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
    let sh = process::shell()?;
    let cargo = cargo();
    let mut last = None;
    for locked in [true, false] {
        let locked_flag = locked.then_some("--locked");
        let install = cmd!(
            sh,
            "{cargo} install {krate} --version ={version} {locked_flag...} --force --debug --bin {bin} --root {dir} {extra...}"
        )
        // A build tool needs no debug info: it only makes it slower to link.
        .env("CARGO_PROFILE_DEV_DEBUG", "0");
        match Cmd::from(install).stream(STEP_TIMEOUT, OnStop::End) {
            Ok(()) => {
                tracing::info!(
                    "installed {krate} {version} in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            Err(err) if locked => {
                tracing::warn!("{err:#}; trying again without --locked");
                last = Some(err);
            }
            Err(err) => last = Some(err),
        }
    }
    bail!(
        "cannot install {krate} {version} ({}): the worker build needs it. \
         Install it yourself with `{}` (it needs crates.io)",
        last.map(|err| format!("{err:#}")).unwrap_or_default(),
        shown(false)
    )
}

/// wasm-bindgen must be exactly the version the worker was locked with.
/// `$WASM_BINDGEN_BIN`, when set, is used as it is.
pub(super) fn ensure_wasm_bindgen(tools: &Path, version: &str) -> Result<PathBuf> {
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
pub(super) fn ensure_worker_build(tools: &Path, version: &str) -> Result<PathBuf> {
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
pub(super) fn ensure_esbuild(root: &Path, tools: &Path, config: &Config) -> Result<PathBuf> {
    if let Some(custom) = std::env::var_os("ESBUILD_BIN").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(custom));
    }
    let project_bin = root.join("node_modules").join(".bin").join(exe("esbuild"));
    if !project_bin.is_file() {
        // Installs the npm packages (wrangler, and esbuild with it) if needed.
        Wrangler::locate(root, config, Target::Local)?;
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
    tracing::info!(
        "installing esbuild {ESBUILD_VERSION} into {}",
        dir.display()
    );
    let started = Instant::now();
    process::npm(&dir, &["install"]).with_context(|| {
        format!("cannot install esbuild {ESBUILD_VERSION} (or set ESBUILD_BIN to an esbuild {ESBUILD_VERSION})")
    })?;
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

pub(super) fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_go_where_migrate_tools_dir_says() {
        // No other test reads this variable.
        std::env::set_var(TOOLS_DIR_VAR, ".tools");
        assert_eq!(tools_dir(Path::new("/w")), PathBuf::from("/w/.tools"));
        std::env::set_var(TOOLS_DIR_VAR, "/cache/tools");
        assert_eq!(tools_dir(Path::new("/w")), PathBuf::from("/cache/tools"));
        std::env::remove_var(TOOLS_DIR_VAR);
        assert!(tools_dir(Path::new("/w")).ends_with("tools"));
    }
}

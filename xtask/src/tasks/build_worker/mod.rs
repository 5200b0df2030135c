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

mod tools;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use xshell::cmd;

use clap::Args;

use crate::args::ProjectFlags;
use crate::migrate::d1::Target;
use crate::migrate::Config;
use crate::migrate::{workspace_root, Project};
use crate::process::{self, Cmd, OnStop};
pub use tools::{
    at_least, missing as missing_tools, tools_dir, version_in, Lockfile, ESBUILD_VERSION,
};
use tools::{ensure_esbuild, ensure_wasm_bindgen, ensure_wasm_target, ensure_worker_build};

#[derive(Debug, Args)]
pub struct BuildWorker {
    /// Build without optimisations (faster to build, larger to ship)
    #[arg(long)]
    pub dev: bool,

    /// The project whose migrations the worker expects (a release passes
    /// its own through the environment to the build `wrangler deploy` starts)
    #[command(flatten)]
    pub project: ProjectFlags,
}

/// The Rust target Workers run.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The worker crate's folder and package name.
pub const WORKER_DIR: &str = "worker";
pub const WORKER_PACKAGE: &str = "nanotype-worker";
/// The variable that carries the expected schema versions into the wasm build.
pub const EXPECTED_VAR: &str = "EXPECTED_SCHEMA_VERSIONS";

/// How long one build step (an install, the compile) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(3600);

impl BuildWorker {
    pub fn run(self) -> Result<()> {
        let paths = self.project.paths();
        let project = Project::load(&paths, Target::Local).with_context(|| {
            "cannot work out the schema versions the worker expects from the migrations"
        })?;
        build(&project, self.dev)
    }
}

/// Builds the worker for `project`'s migrations (`dev`: without optimisations).
pub fn build(project: &Project, dev: bool) -> Result<()> {
    let started = Instant::now();
    let root = workspace_root();
    let expected = expected_versions(project);
    tracing::info!("schema versions this build expects: {expected}");
    let profile = if dev { "--dev" } else { "--release" };
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
    let Tools {
        wasm_bindgen,
        worker_build,
        esbuild,
        bindgen_version,
        worker_version,
    } = install_tools(&root, &lock, &project.config)?;

    tracing::info!(
        "building {} to wasm: worker-build {profile} (worker {worker_version}, wasm-bindgen {bindgen_version})",
        crate_dir.display()
    );
    let build_started = Instant::now();
    // Until this build has written everything, the outputs are not of these inputs.
    std::fs::remove_file(&stamp).ok();
    let sh = process::shell()?;
    sh.change_dir(&crate_dir);
    Cmd::from(
        cmd!(sh, "{worker_build} {profile}")
            .env(EXPECTED_VAR, &expected)
            .env("WASM_BINDGEN_BIN", &wasm_bindgen)
            .env("ESBUILD_BIN", &esbuild)
            // Its errors are enough: no Rust backtraces in the output.
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0"),
    )
    .stream(STEP_TIMEOUT, OnStop::End)
    .with_context(|| {
        format!(
            "worker-build {profile} failed in {}: the compiler's messages are above",
            crate_dir.display()
        )
    })?;
    for file in [&entry, &wasm] {
        if !file.is_file() {
            bail!(
                "worker-build succeeded but did not write {}: is worker-build {worker_version} the right tool for this worker crate?",
                file.display()
            );
        }
    }
    std::fs::write(&stamp, &inputs).with_context(|| format!("cannot write {}", stamp.display()))?;
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

/// The tools a build runs, installed.
struct Tools {
    wasm_bindgen: PathBuf,
    worker_build: PathBuf,
    esbuild: PathBuf,
    bindgen_version: String,
    worker_version: String,
}

/// Installs what the build needs and is missing (each install says what it
/// installs and where).
fn install_tools(root: &Path, lock: &Lockfile, config: &Config) -> Result<Tools> {
    let tools_dir = tools_dir(root);
    ensure_wasm_target()?;
    let bindgen_version = lock.version_of("wasm-bindgen", "worker")?;
    let wasm_bindgen = ensure_wasm_bindgen(&tools_dir, &bindgen_version)?;
    let worker_version = lock.version_of("worker", WORKER_PACKAGE)?;
    let worker_build = ensure_worker_build(&tools_dir, &worker_version)?;
    let esbuild = ensure_esbuild(root, &tools_dir, config)?;
    Ok(Tools {
        wasm_bindgen,
        worker_build,
        esbuild,
        bindgen_version,
        worker_version,
    })
}

/// `cargo xtask test`'s set-up: every tool a worker build needs, installed
/// now, without building. `config` is the project whose wrangler brings
/// esbuild.
pub fn install_build_tools(root: &Path, config: &Config) -> Result<()> {
    let lock = Lockfile::read(&root.join("Cargo.lock"))?;
    let tools_dir = tools_dir(root);
    std::fs::create_dir_all(&tools_dir)
        .with_context(|| format!("cannot create {}", tools_dir.display()))?;
    install_tools(root, &lock, config).map(drop)
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

/// Per database of `project`'s config, the highest migration version routed
/// to it (0 when none is), as `BINDING=VERSION,…`.
pub fn expected_versions(project: &Project) -> String {
    format_expected(project.config.databases.iter().map(|db| {
        let latest = project
            .files_for(&db.binding)
            .iter()
            .map(|m| m.version)
            .max();
        (db.binding.as_str(), latest.unwrap_or(0))
    }))
}

/// `READ_REPLICA=6,AUTH=5`: what the worker's `health::parse_expected` reads.
pub fn format_expected<'a>(versions: impl IntoIterator<Item = (&'a str, u64)>) -> String {
    versions
        .into_iter()
        .map(|(binding, version)| format!("{binding}={version}"))
        .collect::<Vec<_>>()
        .join(",")
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
        let root = workspace_root();
        let paths = crate::migrate::Paths {
            root: root.clone(),
            ..Default::default()
        };
        let project = Project::load(&paths, Target::Local).unwrap();
        let expected = expected_versions(&project);
        let mut parts: Vec<&str> = expected.split(',').collect();
        parts.sort();
        // The repository's migrations: 1, 3, 6 go to READ_REPLICA, 2, 4, 5 to AUTH.
        assert_eq!(parts, ["AUTH=5", "READ_REPLICA=6"]);
    }
}

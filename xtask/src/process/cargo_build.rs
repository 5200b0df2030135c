//! Building the workspace's own binaries (the web UI, the API double) with
//! the cargo that runs this xtask, quietly, and finding where cargo put them.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::process::{Cmd, OnStop};

/// The workspace this xtask was built in.
pub fn workspace_root() -> PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// How long the first build of a binary (the UI: axum, tokio) may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1800);

/// Builds the `migrate-ui` binary (next to nothing once it is built) and
/// returns its path, as cargo reports it: wherever the target folder is.
pub fn build_ui() -> Result<PathBuf> {
    build_bin("migrate-ui", "the web UI")
}

/// Builds the binary `name` of the workspace's package of the same name
/// (`what` names it in errors) and returns its path.
pub fn build_bin(name: &str, what: &str) -> Result<PathBuf> {
    let root = workspace_root();
    // In the workspace, so that its `.cargo/config.toml` applies as it does
    // to `cargo migrate` itself.
    let build = cargo()
        .args(["build", "--quiet", "--package", name, "--bin", name])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .dir(&root);
    // Quiet, but for errors: a wait shown like the others.
    let _waiting = crate::process::waits::waiting(|| format!("cargo to build {what}"));
    let messages = build
        .stream_keeping_stdout(BUILD_TIMEOUT, OnStop::End)
        .with_context(|| format!("cannot build {what}"))?;
    executable(&messages, name)
        .with_context(|| format!("cargo built {what} but did not say where its binary is"))
}

/// The cargo that runs this xtask, without what `cargo run` told us about
/// our own package ([`set_by_cargo_run`]).
pub fn cargo() -> Cmd {
    let mut cargo = Cmd::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(set_by_cargo_run) {
            cargo = cargo.env_remove(key);
        }
    }
    cargo
}

/// Whether `name` is one of the variables `cargo run` sets for the program
/// it runs (us), about that program's package. A nested cargo that inherits
/// them hands them to build scripts that watch them (ring's
/// `CARGO_MANIFEST_DIR`), which then count as changed: the build would
/// redo them and everything above them, and the next `cargo migrate` would
/// redo it all again without them.
fn set_by_cargo_run(name: &str) -> bool {
    const PREFIXES: [&str; 4] = [
        "CARGO_MANIFEST_",
        "CARGO_PKG_",
        "CARGO_BIN_",
        "CARGO_CRATE_",
    ];
    PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || matches!(
            name,
            "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR" | "OUT_DIR"
        )
}

/// The executable `name` named in cargo's JSON messages.
fn executable(messages: &str, name: &str) -> Option<PathBuf> {
    // The last one: the binary as this build left it.
    messages
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == name
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_binary_among_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"xtask","kind":["lib"]},"executable":null}
{"reason":"compiler-artifact","target":{"name":"migrate-ui","kind":["bin"]},"executable":"/w/target/debug/migrate-ui"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable(messages, "migrate-ui"),
            Some(PathBuf::from("/w/target/debug/migrate-ui"))
        );
        assert_eq!(
            executable(r#"{"reason":"build-finished"}"#, "migrate-ui"),
            None
        );
    }

    #[test]
    fn a_nested_build_leaves_out_what_cargo_run_said_about_our_package() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_BIN_NAME",
            "OUT_DIR",
        ] {
            assert!(set_by_cargo_run(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_JOBS",
        ] {
            assert!(!set_by_cargo_run(name), "{name}");
        }
    }
}

//! The GitHub Actions workflows parse as YAML and run the commands the README and docs/ document.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn workflow(name: &str) -> Yaml {
    let path = root().join(".github/workflows").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut docs =
        YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{name}: one document");
    docs.remove(0)
}

/// Every `run:` of every step of `job`.
fn runs(workflow: &Yaml, job: &str) -> Vec<String> {
    let steps = workflow["jobs"][job]["steps"]
        .as_vec()
        .unwrap_or_else(|| panic!("job {job} has steps"));
    steps
        .iter()
        .filter_map(|s| s["run"].as_str().map(str::to_owned))
        .collect()
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// A page of the reference under `docs/`.
fn doc(name: &str) -> String {
    let path = root().join("docs").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A workflow's `on:` key (YAML 1.1 would read a bare `on` as true; this parser keeps it a string).
fn triggers(workflow: &Yaml) -> &Yaml {
    &workflow["on"]
}

#[test]
fn ci_runs_the_readme_test_command_on_pushes_and_pull_requests() {
    let ci = workflow("ci.yml");
    assert!(
        !triggers(&ci)["pull_request"].is_badvalue(),
        "runs on pull requests"
    );
    assert_eq!(triggers(&ci)["push"]["branches"][0].as_str(), Some("main"));
    let runs = runs(&ci, "test");
    for command in [
        "npm ci",
        "cargo fmt --all -- --check",
        "cargo clippy --all-targets -- -D warnings",
        "cargo xtask test",
    ] {
        assert!(
            runs.iter().any(|r| r == command),
            "ci.yml runs {command:?}: {runs:?}"
        );
    }
    // The README's test command, in its first lines, is what CI and .ci/run run.
    let readme = readme();
    let first_screen: String = readme.lines().take(40).collect::<Vec<_>>().join("\n");
    assert!(
        first_screen.contains("cargo xtask test "),
        "the README's first screen gives the test command: {first_screen}"
    );
    let ci_script = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci_script.lines().any(|l| l.trim() == "cargo xtask test")
            && ci_script.contains("clippy --all-targets -- -D warnings"),
        "{ci_script}"
    );
    // Set-up is the command's, in the open: the script installs nothing itself.
    assert!(!ci_script.contains("apt-get install"), "{ci_script}");
    // Both run the flow, interop, team and local-reads tests again with the newest wrangler.
    for (name, text) in [("ci.yml", runs.join("\n")), (".ci/run", ci_script)] {
        assert!(
            text.contains("npm ci --prefix compat/wrangler-latest")
                && text.contains("MIGRATE_TEST_WRANGLER=")
                && text.contains("--test e2e -- flow:: interop:: team:: reads::"),
            "{name} runs the tests with the newest wrangler:\n{text}"
        );
    }
}

#[test]
fn deploy_releases_main_and_rehearses_pull_requests_with_secrets() {
    let deploy = workflow("deploy.yml");
    // Releases follow a successful CI run on main, never untested code.
    let after = &triggers(&deploy)["workflow_run"];
    assert_eq!(after["workflows"][0].as_str(), Some("CI"));
    assert_eq!(after["branches"][0].as_str(), Some("main"));
    assert_eq!(workflow("ci.yml")["name"].as_str(), Some("CI"));
    let release = runs(&deploy, "release");
    let dry_run = runs(&deploy, "dry-run");
    // The release smoke-checks production at the repository's SMOKE_URL.
    assert!(
        release.iter().any(|r| r
            .lines()
            .any(|l| l.trim().starts_with("cargo xtask release --remote")
                && l.contains("--smoke-url \"$SMOKE_URL\""))),
        "{release:?}"
    );
    assert!(
        !release.iter().any(|r| r.contains("--dry-run")),
        "{release:?}"
    );
    assert!(
        dry_run
            .iter()
            .any(|r| r == "cargo xtask release --remote --dry-run"),
        "{dry_run:?}"
    );
    // The release passes the notification channels' secrets through.
    let steps = deploy["jobs"]["release"]["steps"].as_vec().unwrap();
    let release_env = &steps
        .iter()
        .find(|step| step["name"].as_str() == Some("Release"))
        .unwrap()["env"];
    assert_eq!(
        release_env["SMOKE_URL"].as_str(),
        Some("${{ vars.SMOKE_URL }}")
    );
    // Every notification variable docs/notifications.md's table lists.
    let notifications = doc("notifications.md");
    let table = notifications
        .split("| variable | channel |")
        .nth(1)
        .expect("docs/notifications.md's table of notification variables");
    let listed: Vec<&str> = table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| l.split('|').nth(1).unwrap_or("").split('`'))
        .filter(|word| word.starts_with("MIGRATE_"))
        .collect();
    assert!(
        listed.len() >= 7,
        "docs/notifications.md's notification table: {listed:?}"
    );
    for var in listed {
        assert!(
            release_env[var].as_str().is_some_and(|v| v.contains(var)),
            "the release step does not pass {var}"
        );
    }
    // The backup folder outlives the runner, privately and briefly.
    let kept = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .expect("the release uploads the backup folder");
    assert_eq!(kept["with"]["path"].as_str(), Some("backups/"));
    assert_eq!(kept["if"].as_str(), Some("always()"));
    assert!(kept["with"]["retention-days"]
        .as_i64()
        .is_some_and(|d| d <= 7));
    let gate = deploy["jobs"]["release"]["if"].as_str().unwrap();
    assert!(
        gate.contains("conclusion == 'success'") && gate.contains("'push'"),
        "{gate}"
    );
    // Only releases queue behind each other: a pull request's dry run cannot
    // cancel a pending release.
    assert!(
        deploy["concurrency"].is_badvalue(),
        "no workflow-wide group"
    );
    assert_eq!(
        deploy["jobs"]["release"]["concurrency"]["group"].as_str(),
        Some("production-release")
    );
    // Pull requests from this repository only, in their own environment
    // (a read-only token); forks are told why they get no dry run.
    let dry_if = deploy["jobs"]["dry-run"]["if"].as_str().unwrap();
    assert!(
        dry_if.contains("pull_request")
            && dry_if.contains("head.repo.full_name == github.repository"),
        "{dry_if}"
    );
    assert_eq!(
        deploy["jobs"]["dry-run"]["environment"].as_str(),
        Some("dry-run")
    );
    let fork_if = deploy["jobs"]["dry-run-skipped"]["if"].as_str().unwrap();
    assert!(
        fork_if.contains("head.repo.full_name != github.repository"),
        "{fork_if}"
    );
    assert!(runs(&deploy, "dry-run-skipped")
        .iter()
        .any(|r| r.contains("forks get no Cloudflare credentials")));
    for job in ["release", "dry-run"] {
        let steps = deploy["jobs"][job]["steps"].as_vec().unwrap();
        let with_secrets = steps
            .iter()
            .find(|s| {
                s["run"].as_str().is_some_and(|r| {
                    r.lines()
                        .any(|l| l.trim().starts_with("cargo xtask release"))
                })
            })
            .unwrap();
        for secret in ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"] {
            let value = with_secrets["env"][secret].as_str().unwrap_or_default();
            assert_eq!(
                value,
                format!("${{{{ secrets.{secret} }}}}"),
                "{job}: {secret}"
            );
        }
    }
    let release_doc = doc("release.md");
    for command in [
        "cargo xtask release --remote",
        "cargo xtask release --remote --dry-run",
        "cargo xtask release --local",
    ] {
        assert!(
            release_doc.contains(command),
            "docs/release.md documents {command:?}"
        );
    }
}

/// The worker's build tools (minutes to install) are cached where
/// rust-cache leaves them: it empties every folder of `target/` that is not
/// a cargo profile before it saves (its `cleanTargetDir`), so they live in
/// `$MIGRATE_TOOLS_DIR`, outside `target/`, cached by `actions/cache` on
/// `Cargo.lock`, in every job that builds the worker.
#[test]
fn ci_caches_the_worker_tools_where_rust_cache_leaves_them() {
    for (file, jobs) in [
        ("ci.yml", &["test"][..]),
        ("deploy.yml", &["dry-run", "release"][..]),
    ] {
        let workflow = workflow(file);
        let dir = workflow["env"]["MIGRATE_TOOLS_DIR"]
            .as_str()
            .unwrap_or_else(|| panic!("{file} sets MIGRATE_TOOLS_DIR"));
        assert!(
            !dir.trim_start_matches("./").starts_with("target"),
            "{file}: {dir} is under target/"
        );
        for job in jobs {
            let steps = workflow["jobs"][*job]["steps"].as_vec().unwrap();
            let uses = |prefix: &str| {
                steps
                    .iter()
                    .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)))
                    .collect::<Vec<_>>()
            };
            let cached = uses("actions/cache@");
            assert!(
                cached
                    .iter()
                    .any(|s| s["with"]["path"].as_str() == Some(dir)
                        && s["with"]["key"]
                            .as_str()
                            .is_some_and(|k| k.contains("hashFiles('Cargo.lock')"))),
                "{file} {job}: no actions/cache of {dir} keyed on Cargo.lock"
            );
            for step in uses("Swatinem/rust-cache@") {
                let dirs = step["with"]["cache-directories"].as_str().unwrap_or("");
                assert!(
                    !dirs.contains("target/"),
                    "{file} {job}: rust-cache would empty {dirs} before saving"
                );
            }
        }
    }
    let gitignore = std::fs::read_to_string(root().join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == ".tools/"), "{gitignore}");
}

/// `cargo xtask test --check` on a machine that lacks what the tests need
/// (here: a Chromium that is not there, empty tool and target folders) names
/// each missing thing with the command that sets it up, exits 1, and
/// installs nothing.
#[test]
fn the_test_command_checks_what_is_missing_and_installs_nothing_when_asked_to_check() {
    let empty = tempfile::tempdir().unwrap();
    let tools = empty.path().join("tools");
    let target = empty.path().join("target");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["test", "--check"])
        .env("UI_CHROMIUM", empty.path().join("no-chromium"))
        .env("MIGRATE_TOOLS_DIR", &tools)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("WASM_BINDGEN_BIN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    for (what, fix) in [
        (
            "❌ Chromium at UI_CHROMIUM=",
            "point UI_CHROMIUM at a Chromium binary",
        ),
        ("❌ the worker's build tools: ", "cargo xtask build-worker"),
        (
            "❌ the notification receivers' Python venv",
            "python3 -m venv",
        ),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(what))
            .unwrap_or_else(|| panic!("no {what:?} line:\n{stdout}"));
        assert!(line.contains(fix), "{line}");
        assert!(line.contains("cargo xtask test --setup-only"), "{line}");
    }
    assert!(stdout.contains("wasm-bindgen "), "{stdout}");
    assert!(stdout.contains(&tools.display().to_string()), "{stdout}");
    assert!(
        stderr.contains("missing: `cargo xtask test --setup-only` sets them up"),
        "{stderr}"
    );
    // Nothing was installed or created.
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

//! `cargo xtask release` end to end: the real binary, the real wrangler, local
//! D1 and `wrangler dev` for `--local`, the Cloudflare API double for `--remote`.
//!
//! Every release builds the worker first, with the tools `cargo xtask test`
//! installed (a test that finds them missing fails, saying so); later builds
//! are incremental.

use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::common::*;
use cloudflare_double::{serve, Double, Fault, Options};

const TOKEN: &str = "release-test-token-41b7";
const ACCOUNT: &str = "fedcba9876543210fedcba9876543210";

/// Runs `xtask release ARGS` against the project, whose config points at the built worker.
fn release(p: &Project, args: &[&str], env: &[(&str, String)]) -> Run {
    require_worker_tools();
    let config = p.use_built_worker(&root().join("worker/build/index.js"));
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("release")
        .args(args)
        .arg("--config")
        .arg(&config)
        .arg("--migrations-dir")
        .arg(p.path("migrations"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("MIGRATE_WRANGLER")
        .env_remove("RUST_LOG")
        .env_remove("MIGRATE_LOG_FORMAT")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The double, with this project's two databases in its account.
fn double(options: Options) -> Double {
    let databases = [
        (
            "nanotype-read-replica",
            "8f2c1d4e-5a6b-4c7d-9e0f-1a2b3c4d5e6f",
        ),
        ("nanotype-auth", "3b9e7f1a-2c4d-4e6f-8a0b-c1d2e3f4a5b6"),
    ]
    .iter()
    .map(|(name, id)| format!("{name}={id}").parse().unwrap())
    .collect();
    serve(Options {
        quiet: true,
        databases,
        ..options
    })
    .expect("the double starts")
}

fn remote_env(double: &Double) -> Vec<(&'static str, String)> {
    vec![
        ("CLOUDFLARE_API_BASE_URL", double.api_base_url()),
        ("CLOUDFLARE_API_TOKEN", TOKEN.to_owned()),
        ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT.to_owned()),
        ("WRANGLER_HIDE_BANNER", "true".to_owned()),
    ]
}

/// The report line of a step: `✅ migrate`, `❌ rehearse`, `·  deploy  not run`…
fn step_line<'a>(run: &'a Run, step: &str) -> &'a str {
    let (_, report) = run
        .stdout
        .rsplit_once("Release steps:")
        .unwrap_or_else(|| panic!("no report:\n{}", run.all()));
    report
        .lines()
        .find(|line| {
            let mut words = line.split_whitespace();
            words.next();
            words.collect::<Vec<_>>().join(" ").starts_with(step)
        })
        .unwrap_or_else(|| panic!("no report line for {step}:\n{}", run.stdout))
}

#[test]
fn a_local_release_runs_every_step_and_the_worker_reports_current_databases() {
    let p = Project::seed();
    let run = release(&p, &["--local"], &[]).ok();
    for step in [
        "check",
        "build worker",
        "plan",
        "back up",
        "rehearse",
        "migrate",
        "deploy",
        "smoke check",
    ] {
        assert!(
            step_line(&run, step).contains('✅'),
            "{step}: {}",
            run.stdout
        );
    }
    // The smoke check's /health, as the worker served it from wrangler dev.
    assert!(
        run.stdout
            .contains("READ_REPLICA: version 6 (worker built for 6)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("AUTH: version 5 (worker built for 5)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Released."), "{}", run.stdout);
    assert_eq!(p.versions("READ_REPLICA"), [1, 3, 6]);
    assert_eq!(p.versions("AUTH"), [2, 4, 5]);
    let backups = std::fs::read_dir(p.path("backups")).unwrap().count();
    assert_eq!(backups, 2, "one backup per database changed");
    assert!(
        p.path(".wrangler/release-dry-run").is_dir(),
        "wrangler deploy --dry-run wrote its bundle"
    );
}

#[test]
fn a_broken_migration_stops_the_release_before_anything_is_applied_or_deployed() {
    let p = Project::seed();
    // The newest migration broken in place: the worker expects the same
    // versions as the workspace's, so the build step has nothing to rebuild.
    p.write(
        "migrations/0005_add_permissions_table.sql",
        "-- database: AUTH\nCREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY);\nINSERT INTO missing_table VALUES (1);\n",
    );
    let run = release(&p, &["--local"], &[]).fails();
    assert!(step_line(&run, "rehearse").contains('❌'), "{}", run.stdout);
    for step in ["migrate", "deploy", "smoke check"] {
        assert!(
            step_line(&run, step).contains("not run"),
            "{step}: {}",
            run.stdout
        );
    }
    assert!(
        run.all().contains("0005_add_permissions_table.sql:3"),
        "names the failing statement:\n{}",
        run.all()
    );
    assert!(
        run.stderr.contains("release stopped at `rehearse`"),
        "{}",
        run.stderr
    );
    assert_eq!(p.versions("READ_REPLICA"), Vec::<u64>::new());
    assert_eq!(p.versions("AUTH"), Vec::<u64>::new());
    assert!(
        !p.path(".wrangler/release-dry-run").exists(),
        "nothing was deployed"
    );
}

#[test]
fn a_dry_run_release_stops_after_the_rehearsal() {
    let p = Project::seed();
    let run = release(&p, &["--local", "--dry-run"], &[]).ok();
    assert!(step_line(&run, "rehearse").contains('✅'), "{}", run.stdout);
    for step in ["back up", "migrate", "deploy", "smoke check"] {
        assert!(
            step_line(&run, step).contains("--dry-run"),
            "{step}: {}",
            run.stdout
        );
    }
    // Read only: no lock or tracking table written, no backup taken.
    for binding in ["READ_REPLICA", "AUTH"] {
        assert_eq!(p.tables(binding), Vec::<String>::new(), "{binding}");
    }
    assert!(!p.path("backups").exists());
}

#[test]
fn a_remote_release_backs_up_migrates_and_uploads_the_worker() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    // The deployed worker's /health, as the double cannot run the worker.
    // The deployed worker's /health, as the double cannot run the worker:
    // the old worker answers first (the deploy is still on its way).
    let (health, asked) = health_server(vec![OLD_WORKER, NEW_WORKER]);
    let run = release(
        &p,
        &["--remote", "--log-format", "json", "--smoke-url", &health],
        &remote_env(&cloud),
    )
    .ok();
    assert!(run.stdout.contains("Released."), "{}", run.all());

    // The restore point of each database is its Time Travel bookmark: no
    // export blocked it, and the rehearsal ran on what the backup folder
    // had (nothing, here: the schema alone).
    assert_eq!(
        backup_files(&p, "bookmark").len(),
        2,
        "a Time Travel bookmark per database"
    );
    assert_eq!(backup_files(&p, "sql"), Vec::<std::path::PathBuf>::new());
    assert_eq!(export_requests(&cloud), 0);
    assert_line(
        &run.stdout,
        &[
            "✅ AUTH: rehearsal passed on its schema alone: ",
            "has no export of AUTH",
        ],
    );

    let deploys = cloud.deploys();
    assert_eq!(deploys.len(), 1, "one worker upload");
    assert_eq!(deploys[0].script_name, "nanotype");
    let bindings = deploys[0].metadata["bindings"].to_string();
    for name in ["READ_REPLICA", "AUTH"] {
        assert!(
            bindings.contains(name),
            "the upload binds {name}: {bindings}"
        );
    }

    // Every step logged as JSON, with its duration.
    let steps: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["status"] == "done")
        .collect();
    let names: Vec<&str> = steps.iter().map(|e| e["step"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "preflight",
            "check",
            "build worker",
            "plan",
            "back up",
            "rehearse",
            "migrate",
            "deploy",
            "smoke check"
        ]
    );
    assert!(steps.iter().all(|e| e["duration_ms"].is_u64()));
    assert_eq!(
        *asked.lock().unwrap(),
        ["/health", "/health"],
        "the smoke check asked the deployed worker until the new one answered"
    );
    assert!(
        run.stderr.contains("is not the one this release built")
            && run.stderr.contains("asking again in 2 s"),
        "{}",
        run.stderr
    );

    let status = p.migrate_with(
        &["status", "--remote"],
        &remote_env(&cloud)
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    );
    assert!(!status.ok().stdout.contains("Pending"));
}

#[test]
fn a_remote_release_asked_for_exports_rehearses_on_them() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    let run = release(&p, &["--remote", "--backup", "export"], &remote_env(&cloud)).ok();
    assert!(run.stdout.contains("Released."), "{}", run.all());
    for binding in ["READ_REPLICA", "AUTH"] {
        assert_export_announced(&run.stderr, binding);
        assert_line(
            &run.stdout,
            &[&format!(
                "✅ {binding}: rehearsal passed on the export this run just took ("
            )],
        );
        assert_line(
            &run.stdout,
            &["backup: ", &format!("{binding}-"), ".sql, exported in "],
        );
    }
    assert_eq!(backup_files(&p, "sql").len(), 2);
    assert_eq!(backup_files(&p, "bookmark").len(), 2);
    assert!(export_requests(&cloud) > 0);
}

/// A deployed worker's `/health` on 127.0.0.1: the n-th GET gets `bodies[n]`
/// as JSON (the last one from then on). Returns its URL and the paths asked.
fn health_server(bodies: Vec<&'static str>) -> (String, Arc<Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let paths = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut request = String::new();
            reader.read_line(&mut request).ok();
            let mut paths = paths.lock().unwrap();
            let body = bodies[paths.len().min(bodies.len() - 1)];
            paths.push(
                request
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned(),
            );
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            reader.into_inner().write_all(reply.as_bytes()).ok();
        }
    });
    (url, asked)
}

/// `/health` of the worker this release replaced: it expects READ_REPLICA
/// at 3 (healthy, as the databases are ahead of it).
const OLD_WORKER: &str = r#"{"status":"ok","databases":[{"binding":"READ_REPLICA","version":6,"expected":3,"current":true},{"binding":"AUTH","version":5,"expected":5,"current":true}]}"#;

/// `/health` of the worker this release built, with every database current.
const NEW_WORKER: &str = r#"{"status":"ok","databases":[{"binding":"READ_REPLICA","version":6,"expected":6,"current":true},{"binding":"AUTH","version":5,"expected":5,"current":true}]}"#;

#[test]
fn a_release_whose_old_worker_keeps_answering_fails_its_smoke_check_saying_so() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    let (health, asked) = health_server(vec![OLD_WORKER]);
    let mut env = remote_env(&cloud);
    env.push(("MIGRATE_SMOKE_WAIT", "3".to_owned()));
    let run = release(&p, &["--remote", "--smoke-url", &health], &env).fails();
    assert!(
        step_line(&run, "smoke check").contains('❌'),
        "{}",
        run.stdout
    );
    assert_line(
        &run.all(),
        &[
            "did not answer as the new worker in 3 s",
            "MIGRATE_SMOKE_WAIT",
        ],
    );
    assert_line(&run.all(), &["expects READ_REPLICA at 3, not 6"]);
    let tries = asked.lock().unwrap().len();
    assert!((2..=4).contains(&tries), "asked every 2 s for 3 s: {tries}");
    // The migrations ran: the report says the databases are ahead of the live worker.
    assert_eq!(remote_versions(&p, &cloud, "READ_REPLICA"), vec![1, 3, 6]);
    assert_line(
        &run.all(),
        &["the migrations WERE applied", "ahead of the running worker"],
    );
}

/// A double whose worker uploads all fail (wrangler tries three times).
fn double_refusing_deploys() -> Double {
    let mut options = Options::new(TOKEN);
    for n in 1..=3 {
        options
            .fail
            .push(Fault::parse_fail(&format!("deploy:{n}")).unwrap());
    }
    double(options)
}

#[test]
fn a_failed_deploy_after_migrating_says_so_and_can_roll_back() {
    let cloud = double_refusing_deploys();
    let p = Project::seed();
    let run = release(&p, &["--remote"], &remote_env(&cloud)).fails();
    assert!(step_line(&run, "deploy").contains('❌'), "{}", run.stdout);
    assert!(
        run.stderr.contains("the migrations WERE applied"),
        "{}",
        run.stderr
    );
    assert!(cloud.deploys().is_empty());

    let cloud = double_refusing_deploys();
    let q = Project::seed();
    let run = release(
        &q,
        &["--remote", "--rollback-on-failure"],
        &remote_env(&cloud),
    )
    .fails();
    assert!(
        run.stderr
            .contains("rolled back to where the release found them"),
        "{}",
        run.stderr
    );
    let env = remote_env(&cloud);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let status = q.migrate_with(&["status", "--remote", "--json"], &env).ok();
    assert!(
        !status.stdout.contains("\"applied\""),
        "every database is back at version 0: {}",
        status.stdout
    );
}

#[test]
fn a_remote_release_without_credentials_or_databases_stops_before_building() {
    let p = Project::seed();
    let started = std::time::Instant::now();
    let run = release(&p, &["--remote"], &[]).fails();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_line(
        &run.stderr,
        &["CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID"],
    );
    assert!(
        step_line(&run, "preflight").contains('❌'),
        "{}",
        run.stdout
    );
    assert!(
        step_line(&run, "build worker").contains("not run"),
        "{}",
        run.stdout
    );

    // With credentials, but an account without the databases.
    let cloud = serve(Options {
        quiet: true,
        ..Options::new(TOKEN)
    })
    .unwrap();
    let run = release(&p, &["--remote"], &remote_env(&cloud)).fails();
    assert_line(
        &run.stderr,
        &[
            "no D1 database called",
            "nanotype-read-replica (READ_REPLICA)",
        ],
    );
    assert!(
        step_line(&run, "build worker").contains("not run"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_release_builds_the_worker_for_the_migrations_it_was_given() {
    let p = Project::seed();
    // AUTH's newest migration here is 7; the workspace's own folder stops at 5.
    p.write(
        "migrations/0007_notes.sql",
        "-- database: AUTH\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n",
    );
    // A wasm-bindgen that does not exist stops the build right after it has
    // worked out what the worker expects, before compiling anything.
    let run = release(
        &p,
        &["--local", "--dry-run"],
        &[("WASM_BINDGEN_BIN", "/nonexistent/wasm-bindgen".to_owned())],
    )
    .fails();
    assert_line(
        &run.stderr,
        &[
            "schema versions this build expects",
            "READ_REPLICA=6",
            "AUTH=7",
        ],
    );
    assert!(
        step_line(&run, "build worker").contains('❌'),
        "{}",
        run.stdout
    );
}

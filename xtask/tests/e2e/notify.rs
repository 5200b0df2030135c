//! Notifications end to end: the real binary on local D1, telling real
//! receivers on 127.0.0.1 (an SMTP server, a Slack-shaped webhook, a JSON
//! webhook whose Standard Webhooks signature an existing verifier checks).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::receivers::{Receivers, SMTP_PASSWORD, WEBHOOK_SECRET};
use crate::common::*;

const SLACK_PATH: &str = "/services/T000/B000/slack-token-8d7c6b";
const HOOK_PATH: &str = "/hooks/migrate";

/// Every channel, pointed at `receivers`, as a CI run in GitHub Actions has it.
fn channels(receivers: &Receivers) -> Vec<(&'static str, String)> {
    vec![
        ("MIGRATE_SMTP_URL", receivers.smtp_url()),
        (
            "MIGRATE_EMAIL_TO",
            "oncall@example.com, lead@example.com".into(),
        ),
        ("MIGRATE_EMAIL_FROM", "migrate@example.com".into()),
        ("MIGRATE_SLACK_WEBHOOK_URL", receivers.url(SLACK_PATH)),
        ("MIGRATE_WEBHOOK_URL", receivers.url(HOOK_PATH)),
        ("MIGRATE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ("GITHUB_SERVER_URL", "https://github.com".into()),
        ("GITHUB_REPOSITORY", "acme/nanotype".into()),
        ("GITHUB_RUN_ID", "4242".into()),
    ]
}

/// The seed project with a migration that breaks at its third line.
fn broken() -> Project {
    let p = Project::seed();
    p.write(
        "migrations/0007_notes.sql",
        "-- database: AUTH\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\nINSERT INTO missing_table VALUES (1);\n",
    );
    p
}

/// No secret of any channel is in `text`.
fn assert_no_secret(text: &str) {
    for secret in [
        SMTP_PASSWORD,
        WEBHOOK_SECRET,
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "slack-token-8d7c6b",
    ] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}

#[test]
fn a_failing_migration_tells_every_channel_what_failed_and_what_to_run_next() {
    let receivers = Receivers::start(200);
    let p = broken();
    let env = channels(&receivers);
    let run = p.migrate_with(&["up"], &borrowed(&env)).fails();
    assert_eq!(run.code, 1, "{}", run.all());
    assert_no_secret(&run.all());

    let mails = receivers.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail["auth"], "migrate", "it logged in");
    assert_eq!(
        mail["to"],
        serde_json::json!(["oncall@example.com", "lead@example.com"])
    );
    let subject = mail["subject"].as_str().unwrap();
    assert!(subject.contains("failed on AUTH"), "{subject}");
    let text = mail["text"].as_str().unwrap();
    // What to run next finds this project (its own config) from anywhere.
    let again = format!(
        "cargo migrate up --config {} --db AUTH",
        p.config_path().display()
    );
    for needle in [
        "cargo migrate up",
        "AUTH (nanotype-auth): failed",
        "0007_notes.sql:3",
        "INSERT INTO missing_table VALUES (1)",
        "no such table: missing_table",
        again.as_str(),
        "https://github.com/acme/nanotype/actions/runs/4242",
        "Target:   local",
    ] {
        assert!(text.contains(needle), "the mail lacks {needle:?}:\n{text}");
    }
    // READ_REPLICA ran its three migrations: the mail says so.
    assert!(text.contains("applied: v6 0006_add_task_user_id"), "{text}");

    let hooks = receivers.posts(HOOK_PATH);
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["verified"], true, "the signature checks out");
    let notice: Value = serde_json::from_str(hooks[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(notice["schema"], "cargo-migrate.notification.v1");
    assert_eq!(notice["event"], "migrate.up");
    assert_eq!(notice["outcome"], "failed");
    assert_eq!(notice["target"], "local");
    assert_eq!(notice["run_id"], "4242");
    let auth = notice["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|db| db["binding"] == "AUTH")
        .unwrap();
    assert_eq!(auth["outcome"], "failed");
    assert_eq!(
        (
            auth["version_before"].as_u64(),
            auth["version_now"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(auth["failure"]["line"], 3);
    assert!(auth["failure"]["file"]
        .as_str()
        .unwrap()
        .ends_with("0007_notes.sql"));
    assert!(auth["backup"]["file"].as_str().unwrap().contains("AUTH-"));
    assert_eq!(auth["holds"], "untouched");
    assert_eq!(auth["next"][0]["command"], again.as_str());

    // The same document is the run's line in the project's history.
    let history = std::fs::read_to_string(p.path(".wrangler/migrate/history.jsonl")).unwrap();
    let logged: Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert_eq!(logged["id"], notice["id"]);
    assert_eq!(logged["databases"], notice["databases"]);

    let slack = receivers.posts(SLACK_PATH);
    assert_eq!(slack.len(), 1);
    let message: Value = serde_json::from_str(slack[0]["body"].as_str().unwrap()).unwrap();
    // The top-level text is all a phone shows: one paragraph naming the
    // database, where it broke and what to run next.
    let text = message["text"].as_str().unwrap_or_default();
    let quoted = format!("`{again}`");
    for needle in [
        "failed on AUTH",
        "AUTH (nanotype-auth) failed at migration 7",
        "0007_notes.sql:3: no such table: missing_table",
        quoted.as_str(),
    ] {
        assert!(
            text.contains(needle),
            "Slack's text lacks {needle:?}: {text:?}"
        );
    }
    assert!(!text.contains('\n'), "one paragraph: {text:?}");
    assert!(message["blocks"].to_string().contains("0007_notes.sql:3"));

    // What was sent (the Slack URL's path is its token, and the receiver
    // saw it as the address it was sent to, not in a message).
    for entry in receivers.received() {
        let sent = [
            &entry["body"],
            &entry["text"],
            &entry["subject"],
            &entry["headers"],
        ];
        assert_no_secret(&serde_json::json!(sent).to_string());
    }
}

#[test]
fn a_success_is_told_only_when_asked() {
    let receivers = Receivers::start(200);
    let p = Project::seed();
    let env = channels(&receivers);
    p.migrate_with(&["up", "4"], &borrowed(&env)).ok();
    assert!(
        receivers.received().is_empty(),
        "{:?}",
        receivers.received()
    );

    p.migrate_with(&["up", "--notify", "always"], &borrowed(&env))
        .ok();
    assert_eq!(receivers.mails().len(), 1);
    assert_eq!(receivers.posts(SLACK_PATH).len(), 1);
    let hooks = receivers.posts(HOOK_PATH);
    assert_eq!(hooks.len(), 1);
    let notice: Value = serde_json::from_str(hooks[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(notice["outcome"], "succeeded");
    let auth = notice["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|db| db["binding"] == "AUTH")
        .unwrap();
    assert_eq!(
        (
            auth["version_before"].as_u64(),
            auth["version_now"].as_u64()
        ),
        (Some(4), Some(5))
    );
    assert_eq!(auth["migrations"][0]["version"], 5);
    // The way back: roll back to where it was.
    assert_eq!(
        auth["next"][0]["command"],
        format!(
            "cargo migrate down 4 --config {} --db AUTH",
            p.config_path().display()
        )
    );
}

#[test]
fn a_receiver_that_fails_or_is_gone_changes_nothing_and_costs_bounded_time() {
    let receivers = Receivers::start(500);
    let p = broken();
    let mut env = channels(&receivers);
    // Nothing listens there.
    env[0].1 = format!("smtp://migrate:{SMTP_PASSWORD}@127.0.0.1:{}", free_port());
    let started = Instant::now();
    let run = p.migrate_with(&["up"], &borrowed(&env)).fails();
    let took = started.elapsed();
    assert_eq!(run.code, 1, "the run's own exit code");
    assert!(
        run.stderr.contains("error: 1 of 2 databases failed: AUTH"),
        "{}",
        run.stderr
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
    for channel in [
        "email via 127.0.0.1",
        "Slack (127.0.0.1",
        "webhook (127.0.0.1",
    ] {
        assert_line(&run.stderr, &["could not notify", channel]);
    }
    assert_no_secret(&run.all());
    // The webhooks were tried again after their 500s.
    assert!(
        receivers.posts(HOOK_PATH).len() >= 2,
        "{:?}",
        receivers.received()
    );
}

#[test]
fn a_failing_release_step_is_told_with_the_steps() {
    let receivers = Receivers::start(200);
    let p = Project::seed();
    // Broken in place, so that the worker needs no new build.
    p.write(
        "migrations/0005_add_permissions_table.sql",
        "-- database: AUTH\nINSERT INTO missing_table VALUES (1);\n",
    );
    require_worker_tools();
    let config = p.use_built_worker(&root().join("worker/build/index.js"));
    let env = channels(&receivers);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["release", "--local", "--config"])
        .arg(&config)
        .arg("--migrations-dir")
        .arg(p.path("migrations"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("MIGRATE_WRANGLER")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let hooks = receivers.posts(HOOK_PATH);
    assert_eq!(hooks.len(), 1, "{:?}", receivers.received());
    let notice: Value = serde_json::from_str(hooks[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(notice["event"], "release");
    assert_eq!(notice["outcome"], "failed");
    let steps: Vec<(String, String)> = notice["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        steps.contains(&("rehearse".into(), "failed".into())),
        "{steps:?}"
    );
    assert!(
        steps.contains(&("deploy".into(), "not run".into())),
        "{steps:?}"
    );
    assert!(notice["error"]
        .as_str()
        .unwrap()
        .contains("release stopped at `rehearse`"));
    assert_eq!(receivers.mails().len(), 1);
}

#[test]
fn notify_test_sends_to_each_channel_and_says_how_each_went() {
    let receivers = Receivers::start(200);
    let p = Project::seed();
    let mut env = channels(&receivers);
    env.push(("MIGRATE_DISCORD_WEBHOOK_URL", receivers.url("/discord")));
    let run = p.migrate_with(&["notify", "--test"], &borrowed(&env)).ok();
    for channel in ["email via", "Slack", "Discord", "webhook"] {
        assert_line(&run.stdout, &["✅", channel, "sent"]);
    }
    assert_eq!(receivers.mails().len(), 1);
    assert_eq!(receivers.posts("/discord").len(), 1);
    // Without channels it says what to set.
    let none = p.migrate(&["notify", "--test"]).fails();
    assert!(none.stderr.contains("MIGRATE_SMTP_URL"), "{}", none.stderr);
}

#[test]
fn a_lock_that_outlasts_the_wait_is_told_with_its_holder() {
    let receivers = Receivers::start(200);
    let p = Project::seed();
    let env = channels(&receivers);
    p.migrate_with(&["up", "4"], &borrowed(&env)).ok();
    p.query(
        "AUTH",
        "INSERT INTO _migrations_lock (id, owner, acquired_at, expires_at) \
         VALUES (1, 'ci-7:4242 migrate up', unixepoch() * 1000, (unixepoch() + 3600) * 1000)",
    );
    let run = p
        .migrate_with(&["up", "--wait", "2"], &borrowed(&env))
        .fails();
    assert_eq!(run.code, 1, "{}", run.all());
    let hooks = receivers.posts(HOOK_PATH);
    assert_eq!(hooks.len(), 1, "{:?}", receivers.received());
    let notice: Value = serde_json::from_str(hooks[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(notice["outcome"], "failed");
    let said = notice.to_string();
    assert!(said.contains("ci-7:4242 migrate up"), "{said}");
    let unlock = format!(
        "cargo migrate unlock --config {} --db AUTH",
        p.config_path().display()
    );
    assert!(said.contains(&unlock), "{said}");
    assert_eq!(receivers.mails().len(), 1);
}

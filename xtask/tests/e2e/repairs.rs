//! Repairs that say the right thing: `status` shows what it can and fails
//! for CI when something is wrong; `verify` tells an edited file from a
//! database changed by hand; `mark --checksum` accepts a cosmetic edit and
//! refuses a changed statement; renumbered and mis-routed files are named
//! for what they are. The real binary and wrangler on local D1, in a project
//! that is a git repository (where the applied texts are found).

use crate::common::*;

use std::process::Command;

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

/// The seed project, migrated, committed in a git repository of its own.
fn migrated_in_git() -> Project {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    git(&p, &["init", "-q"]);
    git(&p, &["add", "migrations"]);
    git(&p, &["commit", "-q", "-m", "migrations as applied"]);
    p
}

fn git(p: &Project, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(p.dir.path())
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.test",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn edit(p: &Project, rel: &str, change: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(p.path(rel)).unwrap();
    p.write(rel, change(text));
}

#[test]
fn status_shows_what_it_can_and_fails_for_ci_when_something_is_wrong() {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    p.migrate(&["status"]).ok();

    // A gap in the folder: every migration is still shown, the problem after.
    p.write("migrations/0008_later.sql", "CREATE TABLE later (x);\n");
    let run = p.migrate(&["status"]).fails();
    for line in [
        "✅ Applied - v1: 0001_read_replica_schema",
        "✅ Applied - v5: 0005_add_permissions_table",
    ] {
        assert!(run.stdout.contains(line), "{}", run.all());
    }
    assert_line(&run.stdout, &["0008_later.sql", "expected version 7"]);
    assert!(run.stderr.contains("1 problem"), "{}", run.stderr);
    let json = p.migrate(&["status", "--json"]).fails();
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        report["databases"][1]["migrations"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    p.remove("migrations/0008_later.sql");

    // A modified applied migration: shown as such, and a failure.
    edit(&p, "migrations/0002_api_keys.sql", |t| {
        t + "\nCREATE INDEX IF NOT EXISTS x ON api_keys(name);\n"
    });
    let run = p.migrate(&["status"]).fails();
    assert!(
        run.stdout.contains("✏️ Modified - v2: 0002_api_keys"),
        "{}",
        run.stdout
    );
    assert_line(
        &run.stdout,
        &["migration 2 (0002_api_keys)", "has changed since"],
    );
}

#[test]
fn verify_tells_an_edited_file_from_a_changed_database() {
    let p = migrated_in_git();
    p.migrate(&["verify"]).ok();

    // A cosmetic edit: same statements, new comments and layout.
    edit(&p, "migrations/0002_api_keys.sql", |t| {
        format!(
            "-- API keys, hashed; see docs/keys.md\n{}\n\n",
            t.replace("    ", "  ")
        )
    });
    let run = p.migrate(&["verify"]).fails();
    // The command it suggests reaches this project (its own config).
    let mark = format!(
        "`cargo migrate mark 2 --checksum --config {} --db AUTH`",
        p.config_path().display()
    );
    assert_line(&run.stdout, &[AUTH, "only in comments or layout", &mark]);
    assert!(!run.stdout.contains("changed by hand"), "{}", run.stdout);
    let run = p.migrate(&["mark", "2", "--checksum"]).ok();
    assert_line(
        &run.stdout,
        &[AUTH, "v2 0002_api_keys now records the checksum"],
    );
    p.migrate(&["status"]).ok();
    p.migrate(&["verify"]).ok();

    // A changed statement: refused by `mark --checksum`; verify says the
    // database is what the migrations made as they were applied.
    edit(&p, "migrations/0004_rooms_table.sql", |t| {
        t.replace("name TEXT NOT NULL", "name TEXT NOT NULL, topic TEXT")
    });
    let run = p.migrate(&["verify"]).fails();
    assert_line(
        &run.stdout,
        &[
            "migration 4 (0004_rooms_table)",
            "statements changed",
            "topic",
        ],
    );
    assert_line(
        &run.stdout,
        &["exactly what the migrations made as they were applied"],
    );
    let run = p.migrate(&["mark", "4", "--checksum"]).fails();
    assert_line(
        &run.stderr,
        &["changed more than comments or layout", "topic"],
    );
    git(&p, &["checkout", "--", "migrations/0004_rooms_table.sql"]);

    // The database changed by hand: said so, with the difference.
    p.query(RR, "CREATE TABLE scratch (x)");
    let run = p.migrate(&["verify"]).fails();
    assert_line(&run.stdout, &[RR, "changed by hand"]);
    assert_line(
        &run.stdout,
        &["table scratch is not created by any applied migration"],
    );
    assert!(run.stdout.contains("✅ AUTH"), "{}", run.stdout);
}

#[test]
fn renumbered_and_mis_routed_files_are_named_for_what_they_are() {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();

    // 0006 renumbered to 0007 after it ran.
    for suffix in [".sql", ".rollback.sql"] {
        std::fs::rename(
            p.path(&format!("migrations/0006_add_task_user_id{suffix}")),
            p.path(&format!("migrations/0007_add_task_user_id{suffix}")),
        )
        .unwrap();
    }
    let run = p.migrate(&["status"]).fails();
    assert_line(
        &run.stdout,
        &[
            "migration 6 (0006_add_task_user_id)",
            "renumbered",
            "0007_add_task_user_id.sql (version 7)",
        ],
    );
    for suffix in [".sql", ".rollback.sql"] {
        std::fs::rename(
            p.path(&format!("migrations/0007_add_task_user_id{suffix}")),
            p.path(&format!("migrations/0006_add_task_user_id{suffix}")),
        )
        .unwrap();
    }

    // 0006 now routed to AUTH by a header: mis-routed, and `up` says so.
    edit(&p, "migrations/0006_add_task_user_id.sql", |t| {
        format!("-- database: AUTH\n{t}")
    });
    let run = p.migrate(&["up"]).fails();
    assert_line(
        &run.stderr,
        &[
            "migration 6 (0006_add_task_user_id)",
            "mis-routed",
            "now goes to AUTH",
            "-- database: READ_REPLICA",
        ],
    );
    assert_eq!(p.versions(AUTH), [2, 4, 5], "nothing ran");
}

//! Unit tests for the notification notice, and the fixtures other notify tests share.

use super::*;

fn context() -> Context {
    Context {
        event: "migrate.up".into(),
        command: "cargo migrate up --remote".into(),
        target: "remote".into(),
        environment: None,
        target_flags: " --remote".into(),
        again: "cargo migrate up".into(),
    }
}

/// AUTH failing at v5 line 3 after a backup; READ_REPLICA with nothing to do.
pub(crate) fn failed_run() -> Notice {
    let collector = Collector::default();
    for event in [
        Event::NothingToDo {
            binding: "READ_REPLICA".into(),
            direction: Direction::Up,
            at: Some(6),
        },
        Event::Planned {
            binding: "AUTH".into(),
            name: "nanotype-auth".into(),
            target: crate::migrate::d1::Target::Remote,
            direction: Direction::Up,
            at: 4,
            steps: Vec::new(),
            adopt: Vec::new(),
            ledger_only: false,
            ledger_table: "d1_migrations".into(),
            dry_run: false,
        },
        Event::BackupWritten {
            binding: "AUTH".into(),
            backup: BackupRef {
                path: "backups/AUTH-20261130T101010Z-v4.sql".into(),
                bookmark: Some("0000a-bookmark".into()),
                exported_ms: Some(1200),
            },
        },
        Event::Failed {
            binding: "AUTH".into(),
            direction: Direction::Up,
            now: Some(4),
            error: "migration 5 (add_permissions_table) failed at migrations/0005_add_permissions_table.sql:3".into(),
            at: Some(FailedAt {
                version: 5,
                name: "add_permissions_table".into(),
                path: "migrations/0005_add_permissions_table.sql".into(),
                line: 3,
                statement: "INSERT INTO missing VALUES (1)".into(),
                error: "no such table: missing: SQLITE_ERROR".into(),
            }),
            holds: Holds::Untouched,
            done: Vec::new(),
            not_done: vec![5],
            backup: None,
        },
    ] {
        collector.event(&event);
    }
    let context = context();
    let databases = collector.databases(&context);
    Notice::new(
        &context,
        Outcome::Failed,
        Some("1 of 2 databases failed: AUTH".into()),
        databases,
        Vec::new(),
    )
}

#[test]
fn a_failure_notice_names_the_statement_the_backup_and_what_to_run() {
    let notice = failed_run();
    let json = serde_json::to_value(&notice).unwrap();
    assert_eq!(json["schema"], SCHEMA);
    assert_eq!(json["outcome"], "failed");
    assert_eq!(json["command"], "cargo migrate up --remote");
    let auth = &json["databases"][1];
    assert_eq!(auth["binding"], "AUTH");
    assert_eq!(
        (
            auth["version_before"].as_u64(),
            auth["version_now"].as_u64()
        ),
        (Some(4), Some(4))
    );
    assert_eq!(
        auth["failure"]["file"],
        "migrations/0005_add_permissions_table.sql"
    );
    assert_eq!(auth["failure"]["line"], 3);
    assert_eq!(
        auth["failure"]["statement"],
        "INSERT INTO missing VALUES (1)"
    );
    assert_eq!(
        auth["failure"]["error"],
        "no such table: missing: SQLITE_ERROR"
    );
    assert_eq!(auth["backup"]["bookmark"], "0000a-bookmark");
    assert_eq!(auth["backup"]["exported_ms"], 1200);
    assert_eq!(auth["holds"], "untouched");
    // Untouched: fix and run again, for this database and target.
    assert_eq!(
        auth["next"][0]["command"],
        "cargo migrate up --remote --db AUTH"
    );
    let rr = &json["databases"][0];
    assert_eq!(
        (rr["outcome"].as_str(), rr["version_now"].as_u64()),
        (Some("untouched"), Some(6))
    );
}

#[test]
fn a_database_left_half_done_gets_status_restore_and_roll_back() {
    let context = context();
    let db = DatabaseNotice {
        binding: "AUTH".into(),
        outcome: "failed",
        direction: Some("up"),
        version_before: Some(4),
        holds: Some("kept"),
        backup: Some(BackupNotice {
            file: "backups/AUTH-v4.sql".into(),
            bookmark: Some("bm-1".into()),
            exported_ms: Some(1200),
        }),
        ..DatabaseNotice::default()
    };
    let next: Vec<String> = next_steps(&db, &context)
        .into_iter()
        .map(|s| s.command)
        .collect();
    assert_eq!(
        next,
        [
            "cargo migrate status --remote --db AUTH",
            "cargo migrate restore --bookmark bm-1 --remote --db AUTH --yes",
            "cargo migrate down 4 --remote --db AUTH",
            "cargo migrate up --remote --db AUTH",
        ]
    );
}

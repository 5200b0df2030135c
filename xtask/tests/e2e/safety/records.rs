//! Recording migrations without running them (mark, baseline, adopt), and
//! the durations `status` shows from the records.

use super::*;

use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------
// Helpers

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs the real wrangler on the project's config (for what the xtask must
/// not do itself, like wrangler's own `d1 migrations apply`).
fn real_wrangler(p: &Project, args: &[&str]) -> String {
    let output = wrangler_command()
        .args(args)
        .arg("--config")
        .arg(p.path("wrangler.toml"))
        .env("CI", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "wrangler {args:?} failed:\n{text}");
    text
}

// ---------------------------------------------------------------------------
// 10. Recording without running

#[test]
fn mark_and_baseline_record_without_running() {
    let p = Project::seed();

    let run = p.migrate(&["mark", "4", "--applied"]).fails();
    assert_line(&run.stderr, &["migration 2", "0002_api_keys", "pending"]);
    let run = p.migrate(&["mark", "99", "--applied"]).fails();
    assert_line(&run.stderr, &["no migration 99"]);

    p.migrate(&["mark", "2", "--applied"]).ok();
    let rows = p.query(
        AUTH,
        "SELECT version, name, checksum, \
         (SELECT count(*) FROM sqlite_master WHERE name = 'api_keys') AS made \
         FROM _migrations",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["version"], 2);
    assert_eq!(rows[0]["name"], "0002_api_keys");
    let file = std::fs::read(p.path("migrations/0002_api_keys.sql")).unwrap();
    assert_eq!(rows[0]["checksum"], sha256_hex(&file));
    assert_eq!(rows[0]["made"], 0, "mark ran the migration's SQL");

    p.migrate(&["mark", "2", "--pending"]).ok();

    let run = p.migrate(&["baseline", "99"]).fails();
    assert!(run.stderr.contains("99"), "{}", run.stderr);
    // v2 is recorded again: `mark --pending` had removed it.
    let run = p.migrate(&["baseline", "3"]).ok();
    assert_line(&run.stdout, &[RR, "v1, v3"]);
    assert_line(&run.stdout, &[AUTH, "v2"]);
    assert_eq!(applied(&p), (vec![1, 3], vec![2]));
    assert_eq!(
        p.tables(RR),
        ["_migrations", "d1_migrations", "sqlite_sequence"],
        "baseline ran migrations"
    );

    p.migrate(&["mark", "4", "--applied"]).ok();
    let run = p.migrate(&["mark", "2", "--pending"]).fails();
    assert_line(
        &run.stderr,
        &["migration 4", "0004_rooms_table", "after it"],
    );
    assert_eq!(applied(&p), (vec![1, 3], vec![2, 4]));
}

#[test]
fn adopt_takes_over_wranglers_own_migrations() {
    // READ_REPLICA keeps its migrations in a folder of its own (`wr`), which
    // wrangler's own `d1 migrations apply` ran first.
    let p = Project::seed();
    std::fs::create_dir_all(p.path("wr")).unwrap();
    for (from, to) in [
        (
            "0001_read_replica_schema.sql",
            "0001_read_replica_schema.sql",
        ),
        ("0003_add_vector_status.sql", "0002_add_vector_status.sql"),
    ] {
        std::fs::copy(
            p.path(&format!("migrations/{from}")),
            p.path(&format!("wr/{to}")),
        )
        .unwrap();
    }
    let config = std::fs::read_to_string(p.path("wrangler.toml")).unwrap();
    let id = "database_id = \"8f2c1d4e-5a6b-4c7d-9e0f-1a2b3c4d5e6f\"\n";
    assert!(
        config.contains(id),
        "READ_REPLICA's id changed: update this test"
    );
    p.write(
        "wrangler.toml",
        config.replace(id, &format!("{id}migrations_dir = \"wr\"\n")),
    );
    // The shared folder routes nothing to READ_REPLICA any more.
    for file in [
        "0001_read_replica_schema",
        "0003_add_vector_status",
        "0006_add_task_user_id",
    ] {
        for suffix in [".sql", ".rollback.sql"] {
            p.remove(&format!("migrations/{file}{suffix}"));
        }
    }
    for (from, to) in [
        ("0002_api_keys", "0001_api_keys"),
        ("0004_rooms_table", "0002_rooms_table"),
        ("0005_add_permissions_table", "0003_add_permissions_table"),
    ] {
        for suffix in [".sql", ".rollback.sql"] {
            std::fs::rename(
                p.path(&format!("migrations/{from}{suffix}")),
                p.path(&format!("migrations/{to}{suffix}")),
            )
            .unwrap();
        }
    }
    let out = real_wrangler(&p, &["d1", "migrations", "apply", RR, "--local"]);
    assert!(out.contains("0002_add_vector_status.sql"), "{out}");
    std::fs::copy(
        root().join("migrations/0006_add_task_user_id.sql"),
        p.path("wr/0003_add_task_user_id.sql"),
    )
    .unwrap();

    // A row for a file we do not have: refused, nothing recorded.
    p.query(
        RR,
        "INSERT INTO d1_migrations (name) VALUES ('0009_unknown.sql')",
    );
    let run = p.migrate(&["adopt", "--db", RR]).fails();
    assert_line(&run.stdout, &["0009_unknown.sql"]);
    assert!(!p.tables(RR).contains(&"_migrations".to_owned()));
    p.query(
        RR,
        "DELETE FROM d1_migrations WHERE name = '0009_unknown.sql'",
    );

    let run = p.migrate(&["adopt", "--db", RR]).ok();
    assert_line(&run.stdout, &[RR, "v1, v2"]);
    let rows = p.query(
        RR,
        "SELECT m.version, m.checksum, m.applied_at, unixepoch(d.applied_at) * 1000 AS wrangler_at \
         FROM _migrations m JOIN d1_migrations d ON d.name = m.name || '.sql' ORDER BY m.version",
    );
    let versions: Vec<u64> = rows
        .iter()
        .map(|r| r["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2], "{rows:?}");
    for (row, file) in rows
        .iter()
        .zip(["0001_read_replica_schema.sql", "0002_add_vector_status.sql"])
    {
        let bytes = std::fs::read(p.path(&format!("wr/{file}"))).unwrap();
        assert_eq!(row["checksum"], sha256_hex(&bytes), "{row:?}");
        assert_eq!(row["applied_at"], row["wrangler_at"], "{row:?}");
    }

    let run = p.migrate(&["up", "--db", RR, "--no-backup"]).ok();
    assert!(
        run.stdout.contains("1 migration to apply"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("v3 0003_add_task_user_id"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("v1 "), "{}", run.stdout);
    // wrangler agrees: nothing left for it to run.
    let out = real_wrangler(&p, &["d1", "migrations", "apply", RR, "--local"]);
    assert!(out.contains("No migrations to apply"), "{out}");
}

// ---------------------------------------------------------------------------
// 11. Durations

#[test]
fn status_shows_how_long_each_migration_took() {
    let p = Project::seed();
    p.migrate(&["up", "4", "--no-backup", "--db", AUTH]).ok();

    let run = p.migrate(&["status", "--verbose", "--db", AUTH]).ok();
    let took = |line: &str| -> Option<u64> {
        let rest = line.split("took ").nth(1)?;
        rest.strip_suffix(" ms)")?.parse().ok()
    };
    for version in ["v2:", "v4:"] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(version))
            .unwrap_or_else(|| panic!("{}", run.stdout));
        assert!(line.starts_with("✅ Applied"), "{line}");
        assert!(took(line).is_some(), "no `took N ms` in {line}");
    }
    let pending = run.stdout.lines().find(|l| l.contains("v5:")).unwrap();
    assert!(!pending.contains("took"), "{pending}");

    let run = p.migrate(&["status", "--json", "--db", AUTH]).ok();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let mut seen = 0;
    for db in report["databases"].as_array().unwrap() {
        for m in db["migrations"].as_array().unwrap() {
            match m["state"].as_str().unwrap() {
                "applied" => {
                    assert!(m["duration_ms"].is_u64(), "{m}");
                    seen += 1;
                }
                _ => assert!(m["duration_ms"].is_null(), "{m}"),
            }
        }
    }
    assert_eq!(seen, 2, "{report}");
}

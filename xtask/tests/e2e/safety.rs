//! End-to-end safety: backups before every change and restoring them, the
//! migration lock against concurrent and killed runs, retries of a busy local
//! database, schema snapshots and drift checks, and recording migrations
//! without running them (mark, baseline, adopt) — the real `xtask` binary and
//! the real wrangler on local D1, with fake wranglers to inject faults.

use crate::common::*;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use sha2::{Digest, Sha256};

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

// ---------------------------------------------------------------------------
// Helpers

/// The environment that makes the xtask use `wrapper` as its wrangler.
fn fake(wrapper: &Path) -> [(&'static str, &str); 1] {
    [("MIGRATE_WRANGLER", wrapper.to_str().unwrap())]
}

/// The applied versions of (READ_REPLICA, AUTH), as `status --json` reports them.
fn applied(p: &Project) -> (Vec<u64>, Vec<u64>) {
    let run = p.migrate(&["status", "--json"]).ok();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let of = |binding: &str| -> Vec<u64> {
        report["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|db| db["binding"] == binding)
            .unwrap_or_else(|| panic!("no {binding} in {report}"))["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["state"] == "applied")
            .map(|m| m["version"].as_u64().unwrap())
            .collect()
    };
    (of(RR), of(AUTH))
}

/// The backup files of a folder (`.sqlite` locally, `.sql` exports), sorted
/// by name (so by database, then time).
fn sql_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|name| name.ends_with(".sql") || name.ends_with(".sqlite"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The schema (`sqlite_master`'s `sql`) of a local backup file.
fn backup_schema(path: &Path) -> String {
    let connection = rusqlite::Connection::open(path).unwrap();
    let mut statement = connection
        .prepare("SELECT group_concat(sql, ';\n') FROM sqlite_master WHERE sql IS NOT NULL")
        .unwrap();
    statement.query_row([], |row| row.get(0)).unwrap()
}

/// A backup's name, `<BINDING>-<YYYYMMDDTHHMMSSZ>-v<version>.sqlite` (or `.sql`), taken apart.
#[derive(Debug)]
struct BackupName {
    binding: String,
    stamp: String,
    version: u64,
}

fn backup_name(name: &str) -> BackupName {
    let parse = || -> Option<BackupName> {
        let stem = name
            .strip_suffix(".sqlite")
            .or_else(|| name.strip_suffix(".sql"))?;
        let (rest, version) = stem.rsplit_once("-v")?;
        let (binding, stamp) = rest.rsplit_once('-')?;
        let well_formed = stamp.len() == 16
            && stamp.char_indices().all(|(i, c)| match i {
                8 => c == 'T',
                15 => c == 'Z',
                _ => c.is_ascii_digit(),
            });
        let version = version.parse().ok().filter(|_| well_formed)?;
        Some(BackupName {
            binding: binding.to_owned(),
            stamp: stamp.to_owned(),
            version,
        })
    };
    parse().unwrap_or_else(|| panic!("{name} is not named <BINDING>-<YYYYMMDDTHHMMSSZ>-v<N>.sql"))
}

/// Now, in the backups' time format (UTC, to the second).
fn stamp_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(['-', ':'], "")
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

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

/// A wrapper whose `--file` calls (the batches that apply migrations) first
/// sleep `seconds`.
fn slow_applies(p: &Project, seconds: &str) -> PathBuf {
    p.wrapper(&format!(
        "case \"$*\" in *\"--file\"*) sleep {seconds};; esac"
    ))
}

/// How an owner of the lock started by the process `pid` shows in messages.
fn owner_of(pid: u32) -> String {
    format!(":{pid} migrate up")
}

// ---------------------------------------------------------------------------
// 1. Backups

#[test]
fn up_backs_up_each_database_it_changes_privately_and_keeps_the_newest() {
    let p = Project::seed();
    let dir = p.path("backups");

    let before = stamp_now();
    let run = p.migrate(&["up", "4"]).ok();
    let after = stamp_now();
    let files = sql_files(&dir);
    assert_eq!(files.len(), 2, "one backup per changed database: {files:?}");
    for (file, binding) in files.iter().zip([AUTH, RR]) {
        let name = backup_name(file);
        assert_eq!(name.binding, binding, "{files:?}");
        assert_eq!(name.version, 0, "named after the version before the run");
        assert!(
            before <= name.stamp && name.stamp <= after,
            "{} is not the UTC time of the run ({before}..{after})",
            name.stamp
        );
        let path = dir.join(file);
        assert_eq!(
            mode(&path),
            0o600,
            "{file} must be readable by its owner only"
        );
        assert!(
            run.stdout.contains(&format!("backup: {}", path.display())),
            "the report names the backup:\n{}",
            run.stdout
        );
    }
    assert_eq!(mode(&dir), 0o700, "the backup folder must be private");

    // Only AUTH has work up to 5: one backup, of AUTH as it was before v5, in
    // the folder given (created, private).
    let elsewhere = p.path("elsewhere/kept");
    let elsewhere_arg = elsewhere.to_str().unwrap();
    let keep = ["--backup-dir", elsewhere_arg, "--keep-backups", "2"];
    p.migrate(&[&["up", "5"][..], &keep[..]].concat()).ok();
    assert_eq!(sql_files(&dir), files, "nothing new in the default folder");
    let kept = sql_files(&elsewhere);
    assert_eq!(
        kept.len(),
        1,
        "no backup of READ_REPLICA, which had nothing to do: {kept:?}"
    );
    assert_eq!(backup_name(&kept[0]).binding, AUTH);
    assert_eq!(backup_name(&kept[0]).version, 4);
    assert_eq!(mode(&elsewhere), 0o700);
    let text = backup_schema(&elsewhere.join(&kept[0]));
    assert!(text.contains("CREATE TABLE rooms"), "{text}");
    assert!(
        !text.contains("room_permissions"),
        "the backup was taken after v5 ran:\n{text}"
    );

    // --no-backup: applied, no backup anywhere, and a warning.
    let run = p.migrate(&["up", "--no-backup"]).ok();
    assert!(
        run.stdout.contains("v6 0006_add_task_user_id"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("backup:"), "{}", run.stdout);
    assert_line(&run.stderr, &["WARN", "--no-backup"]);
    assert_eq!(sql_files(&dir), files);
    assert_eq!(sql_files(&elsewhere), kept);

    // Two more runs that change AUTH (the first READ_REPLICA too), keeping 2
    // per database: AUTH's first backup (v4, from `up 5`) is the one that
    // goes, and READ_REPLICA's one backup is not counted against AUTH.
    p.migrate(&[&["down", "4"][..], &keep[..]].concat()).ok();
    p.migrate(&[&["down", "2", "--db", AUTH][..], &keep[..]].concat())
        .ok();
    let kept = sql_files(&elsewhere);
    let versions = |binding: &str| -> Vec<u64> {
        kept.iter()
            .map(|f| backup_name(f))
            .filter(|n| n.binding == binding)
            .map(|n| n.version)
            .collect()
    };
    assert_eq!(
        versions(AUTH),
        [5, 4],
        "the 2 newest, oldest first: {kept:?}"
    );
    assert_eq!(versions(RR), [6], "{kept:?}");

    // `backup --db AUTH`: one more backup, of AUTH alone.
    let run = p.migrate(&["backup", "--db", AUTH]).ok();
    let now = sql_files(&dir);
    let new: Vec<&String> = now.iter().filter(|f| !files.contains(f)).collect();
    assert_eq!(new.len(), 1, "{now:?}");
    let name = backup_name(new[0]);
    assert_eq!((name.binding.as_str(), name.version), (AUTH, 2));
    assert_eq!(mode(&dir.join(new[0])), 0o600);
    assert!(run.stdout.contains(new[0].as_str()), "{}", run.stdout);
    assert!(!run.stdout.contains(RR), "{}", run.stdout);
}

// ---------------------------------------------------------------------------
// 2. Restore

const TRICKY_ROWS: &str =
    "INSERT INTO api_keys (id, key_hash, name, user_id, last_used_at) VALUES \
    ('k1', 'h1', 'it''s; a \"key\"; DROP TABLE rooms;--', 'u1', NULL), \
    ('k2', 'h2', 'line one\nline two', 'u2', 5); \
    INSERT INTO rooms (id, name, owner_user_id) VALUES ('r1', 'Room; ''one''', 'u1')";

#[test]
fn restore_puts_back_exactly_what_the_backup_holds() {
    let p = Project::seed();
    p.migrate(&["up", "4", "--no-backup"]).ok();
    p.query(AUTH, TRICKY_ROWS);

    let run = p.migrate(&["backup", "--db", AUTH]).ok();
    let dir = p.path("backups");
    let backup = sql_files(&dir)
        .into_iter()
        .find(|f| backup_name(f).binding == AUTH && backup_name(f).version == 4)
        .unwrap_or_else(|| panic!("no AUTH backup at v4:\n{}", run.stdout));
    let backup = dir.join(backup);
    assert!(
        backup.to_string_lossy().ends_with(".sqlite"),
        "{}",
        backup.display()
    );
    // What the database held when it was backed up, as wrangler exports it.
    let bytes = p.export(AUTH).into_bytes();
    let text = String::from_utf8_lossy(&bytes);
    for needle in [
        "'it''s; a \"key\"; DROP TABLE rooms;--'",
        "'Room; ''one'''",
        "NULL",
    ] {
        assert!(
            text.contains(needle),
            "the database lacks {needle}:\n{text}"
        );
    }

    p.migrate(&["up", "--no-backup"]).ok();
    p.query(
        AUTH,
        "INSERT INTO api_keys (id, key_hash, name, user_id) VALUES ('k3', 'h3', 'later', 'u3'); \
         INSERT INTO room_permissions (room_id, user_id, role) VALUES ('r1', 'u2', 'editor')",
    );

    // Refusals come before any wrangler call, so they cannot change anything.
    let wrapper = p.wrapper("");
    let file = backup.to_str().unwrap();
    let run = p
        .migrate_with(&["restore", file, "--db", AUTH], &fake(&wrapper))
        .fails();
    assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);
    let run = p
        .migrate_with(&["restore", file, "--yes"], &fake(&wrapper))
        .fails();
    assert!(run.stderr.contains("--db"), "{}", run.stderr);
    assert_eq!(p.started("d1 "), 0, "a refused restore ran wrangler");

    p.migrate(&["restore", file, "--db", AUTH, "--yes"]).ok();
    assert!(
        p.export(AUTH).as_bytes() == bytes,
        "the restored database does not export to what it held when backed up"
    );
    assert_eq!(applied(&p), (vec![1, 3, 6], vec![2, 4]));
}

// ---------------------------------------------------------------------------
// 3. A backup that fails

#[test]
fn a_failing_backup_stops_the_run_before_anything_is_applied() {
    let p = Project::seed();
    p.migrate(&["up", "4", "--no-backup"]).ok();
    // Read first, so the run holds its locks while it backs up.
    p.forget_hints(&[RR, AUTH]);
    // A backup folder that cannot be made: under a file.
    let nowhere = p.path("wrangler.toml").join("backups");
    let wrapper = p.wrapper("");
    let run = p
        .migrate_with(
            &["up", "--backup-dir", nowhere.to_str().unwrap()],
            &fake(&wrapper),
        )
        .fails();
    let out = run.all();
    assert!(out.contains("nothing was applied"), "{out}");
    assert!(out.contains("backup"), "{out}");
    assert!(out.contains("--no-backup"), "{out}");
    assert!(
        out.contains(nowhere.to_str().unwrap()),
        "names the folder:\n{out}"
    );
    assert!(!run.stdout.contains('✅'), "{out}");
    assert_eq!(p.started("--file"), 0, "an apply was attempted");
    // The lock was given back, and a plain run finds exactly the migrations
    // that were pending before (so the failed run applied none).
    for binding in [RR, AUTH] {
        let locks = p.query(binding, "SELECT count(*) AS n FROM _migrations_lock");
        assert_eq!(locks[0]["n"], 0, "{binding}: {locks:?}");
    }
    let run = p.migrate(&["up", "--no-backup"]).ok();
    for line in [
        "✅ READ_REPLICA: applied 1 migration",
        "   v6 0006_add_task_user_id",
        "✅ AUTH: applied 1 migration",
        "   v5 0005_add_permissions_table",
    ] {
        assert!(run.stdout.contains(line), "{}", run.stdout);
    }
}

// ---------------------------------------------------------------------------
// 4.–6. The lock

/// A run killed while applying leaves its lock: the next run stops at once,
/// naming it; `unlock` clears it; then everything applies.
#[test]
fn a_killed_run_leaves_a_lock_that_unlock_clears() {
    let p = Project::seed();
    p.forget_hints(&[RR, AUTH]);
    let wrapper = slow_applies(&p, "30");
    // The careful way, reading through wrangler: a read that takes the lock
    // in a call of its own, then the apply (killed). Planned on the files,
    // the lock would ride in the apply, and die with it.
    let mut killed = p.spawn_migrate(
        &["up", "--no-backup"],
        &[fake(&wrapper)[0], ("MIGRATE_LOCAL_READS", "wrangler")],
    );
    let owner = owner_of(killed.id());
    wait_until(60, "the run to start applying", || p.started("--file") > 0);
    kill_group(&mut killed);

    let started = Instant::now();
    let run = p.migrate(&["up"]).fails();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "a locked run must fail at once, not wait"
    );
    let out = run.all();
    for binding in [RR, AUTH] {
        let unlock = format!("cargo migrate unlock --db {binding}");
        assert_line(
            &out,
            &[
                binding,
                "locked by another migration run",
                &owner,
                " s ago",
                &unlock,
            ],
        );
    }
    assert!(!run.stdout.contains('✅'), "{out}");

    // `status` names the holder, read in its one call per database.
    let status = p.migrate(&["status", "--json"]).ok();
    let report: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    for db in report["databases"].as_array().unwrap() {
        let holder = db["lock"]["owner"].as_str().unwrap_or_default();
        assert!(holder.ends_with(&owner), "{db}");
    }
    let status = p.migrate(&["status"]).ok();
    for binding in [RR, AUTH] {
        let unlock = format!("cargo migrate unlock --db {binding}");
        assert_line(&status.stdout, &["🔒 Locked by", &owner, &unlock]);
    }

    let run = p.migrate(&["unlock", "--db", AUTH, "--db", RR]).ok();
    for binding in [RR, AUTH] {
        assert_line(&run.stdout, &[binding, "cleared the lock held by", &owner]);
    }

    // The killed run applied nothing: everything is still to do.
    let run = p.migrate(&["up", "--no-backup"]).ok();
    assert_applied_everything(&run);
}

// ---------------------------------------------------------------------------
// 7. A busy local database

#[test]
fn a_busy_database_is_retried() {
    let p = Project::seed();
    let marker = p.path("busy-once");
    let wrapper = p.wrapper(&format!(
        "case \"$*\" in *\"--file\"*) if mkdir '{}' 2>/dev/null; then \
         echo '{{\"error\":{{\"text\":\"database is locked: SQLITE_BUSY\"}}}}'; exit 1; fi;; esac",
        marker.display()
    ));
    let run = p
        .migrate_with(&["up", "--db", AUTH, "--no-backup"], &fake(&wrapper))
        .ok();
    assert!(marker.exists(), "the fault was not injected");
    // The first attempt, then one call per retry the log tells: the busy
    // one, and any of a runtime that did not start on a loaded machine.
    assert_eq!(
        p.started("--file"),
        1 + retried(&run, AUTH),
        "one busy attempt, one retry: {}",
        run.stderr
    );
    assert_line(&run.stderr, &["WARN", "busy", "retrying"]);
    assert!(
        run.stdout.contains("✅ AUTH: applied 3 migrations"),
        "{}",
        run.stdout
    );
    let rows = p.query(AUTH, "SELECT version FROM _migrations ORDER BY version");
    assert_eq!(rows.len(), 3, "{rows:?}");
}

// ---------------------------------------------------------------------------
// 8.–9. Snapshots and drift

#[test]
fn snapshots_are_written_deterministically_and_follow_down() {
    let p = Project::seed();
    let q = Project::seed();
    let (a, b) = (
        p.spawn_migrate(&["up", "--no-backup"], &[]),
        q.spawn_migrate(&["up", "--no-backup"], &[]),
    );
    finish(a).ok();
    finish(b).ok();

    let read = |p: &Project, binding: &str| {
        std::fs::read_to_string(p.path(&format!("migrations/schema/{binding}.sql")))
            .unwrap_or_else(|e| panic!("no snapshot of {binding}: {e}"))
    };
    let rr = read(&p, RR);
    let auth = read(&p, AUTH);
    assert!(
        rr.starts_with("-- Schema of READ_REPLICA after migrations 1, 3, 6.\n"),
        "{rr}"
    );
    assert!(
        auth.starts_with("-- Schema of AUTH after migrations 2, 4, 5.\n"),
        "{auth}"
    );
    assert!(rr.contains("CREATE TABLE tasks"), "{rr}");
    assert!(rr.contains("user_id TEXT"), "{rr}");
    assert!(auth.contains("CREATE TABLE room_permissions"), "{auth}");
    for text in [&rr, &auth] {
        assert!(!text.contains("_migrations"), "tracking tables in:\n{text}");
    }
    assert_eq!(
        read(&q, RR),
        rr,
        "snapshots differ between two fresh projects"
    );
    assert_eq!(read(&q, AUTH), auth);

    p.migrate(&["down", "3", "--no-backup"]).ok();
    let rr = read(&p, RR);
    let auth = read(&p, AUTH);
    assert!(
        rr.starts_with("-- Schema of READ_REPLICA after migrations 1, 3.\n"),
        "{rr}"
    );
    assert!(!rr.contains("user_id"), "{rr}");
    assert!(rr.contains("CREATE TABLE tasks"), "{rr}");
    assert!(
        auth.starts_with("-- Schema of AUTH after migrations 2.\n"),
        "{auth}"
    );
    assert!(auth.contains("CREATE TABLE api_keys"), "{auth}");
    assert!(!auth.contains("rooms"), "{auth}");
}

#[test]
fn verify_names_hand_made_changes_and_edited_migrations() {
    let p = Project::seed();
    p.migrate(&["up", "4", "--no-backup"]).ok();
    let run = p.migrate(&["verify"]).ok();
    assert!(run.stdout.contains("✅ READ_REPLICA"), "{}", run.stdout);
    assert!(run.stdout.contains("✅ AUTH"), "{}", run.stdout);

    // An applied migration's file edited (the database itself untouched).
    let path = "migrations/0002_api_keys.sql";
    let original = std::fs::read_to_string(p.path(path)).unwrap();
    p.write(path, format!("{original}-- edited after it was applied\n"));
    let run = p.migrate(&["verify", "--db", AUTH]).fails();
    assert_line(&run.stdout, &["❌", AUTH]);
    // What was applied is stored in the database: the edit is told apart.
    assert_line(
        &run.stdout,
        &[
            "0002_api_keys",
            "only in comments or layout",
            "mark 2 --checksum",
        ],
    );
    assert!(run.stderr.contains(AUTH), "{}", run.stderr);
    p.write(path, original);

    // A table made by hand and an index a migration made dropped by hand.
    p.query(
        AUTH,
        "CREATE TABLE hand_made(x); DROP INDEX idx_rooms_owner_user_id",
    );
    let run = p.migrate(&["verify"]).fails();
    assert_line(&run.stdout, &["✅", RR]);
    assert_line(&run.stdout, &["❌", AUTH, "changed by hand"]);
    assert_line(&run.stdout, &["+ table hand_made"]);
    assert_line(&run.stdout, &["- index idx_rooms_owner_user_id"]);
    assert_line(
        &run.stderr,
        &["error: the schema of AUTH does not match the migrations"],
    );
}

/// `up` checks the schema it leaves: by replaying the migrations when the
/// database did not match its snapshot before the run, and against the
/// committed snapshot when there is one for the versions after the run.
#[test]
fn up_and_down_report_a_schema_changed_by_hand() {
    let p = Project::seed();
    p.migrate(&["up", "4", "--no-backup"]).ok();
    let snapshot = p.path("migrations/schema/AUTH.sql");
    let auth_snapshot = std::fs::read_to_string(&snapshot).unwrap();
    assert!(auth_snapshot.starts_with("-- Schema of AUTH after migrations 2, 4.\n"));
    p.query(AUTH, "CREATE TABLE hand_made(x)");

    let run = p.migrate(&["up", "--no-backup"]).fails();
    let out = run.all();
    // The run itself applied (and says so), then found the drift.
    assert!(run.stdout.contains("✅ AUTH: applied 1 migration"), "{out}");
    assert!(
        run.stdout.contains("✅ READ_REPLICA: applied 1 migration"),
        "{out}"
    );
    assert_line(
        &run.stdout,
        &["❌ AUTH", "the schema is not what they produce"],
    );
    assert_line(&run.stdout, &["+ table hand_made"]);
    assert_line(&run.stderr, &["error: ", "1 of 2 databases failed: AUTH"]);
    // A drifted schema is not written as the snapshot; a clean one is.
    assert_eq!(std::fs::read_to_string(&snapshot).unwrap(), auth_snapshot);
    let rr = std::fs::read_to_string(p.path("migrations/schema/READ_REPLICA.sql")).unwrap();
    assert!(
        rr.starts_with("-- Schema of READ_REPLICA after migrations 1, 3, 6.\n"),
        "{rr}"
    );

    // Back to 2, 4, for which the committed snapshot exists: compared with it.
    let run = p
        .migrate(&["down", "4", "--db", AUTH, "--no-backup"])
        .fails();
    let out = run.all();
    assert!(
        run.stdout.contains("✅ AUTH: rolled back 1 migration"),
        "{out}"
    );
    assert_line(
        &run.stdout,
        &[
            "differs from the committed snapshot",
            "AUTH.sql",
            "cargo migrate verify",
        ],
    );
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

/// Both databases got all three of their migrations in this run.
fn assert_applied_everything(run: &Run) {
    for binding in [RR, AUTH] {
        let line = format!("✅ {binding}: applied 3 migrations");
        assert!(run.stdout.contains(&line), "{line}:\n{}", run.stdout);
    }
}

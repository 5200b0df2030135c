//! Backups before every change (named, private, kept to a number), restoring
//! one exactly, and a backup that fails stopping the run before it applies.

use super::*;

use std::time::SystemTime;

// ---------------------------------------------------------------------------
// Helpers

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
        // The log says it once (a backup's line is the run's, with its
        // event's details, not the engine's too).
        let said = run
            .stderr
            .lines()
            .filter(|l| l.contains("backed up") && l.contains(&format!("database={binding}")))
            .count();
        assert_eq!(said, 1, "{}", run.stderr);
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

//! `restore` puts back only a whole backup of the database it replaces, and
//! backs up what it replaces first, so that a wrong restore can be undone.
//! The real binary and wrangler, on local D1 and through the API double.

use crate::common::*;

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

/// The backup files (not bookmarks) of `binding` in `dir`, oldest first.
fn backups_of(dir: &std::path::Path, binding: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(&format!("{binding}-"))
                && (name.ends_with(".sqlite") || name.ends_with(".sql"))
        })
        .collect();
    found.sort();
    found
}

fn restore(p: &Project, file: &std::path::Path, extra: &[&str]) -> Run {
    let mut args = vec!["restore", file.to_str().unwrap(), "--db", AUTH, "--yes"];
    args.extend_from_slice(extra);
    p.migrate(&args)
}

#[test]
fn only_a_whole_backup_of_that_database_is_restored_and_what_it_replaces_is_kept() {
    let p = Project::seed();
    p.migrate(&["up", "4", "--no-backup"]).ok();
    p.query(
        AUTH,
        "INSERT INTO api_keys (id, key_hash, name, user_id) VALUES ('k1', 'h1', 'first', 'u1')",
    );
    p.migrate(&["backup"]).ok();
    let dir = p.path("backups");
    let (auth_backup, rr_backup) = (
        backups_of(&dir, AUTH)[0].clone(),
        backups_of(&dir, RR)[0].clone(),
    );
    let at_backup = p.export(AUTH);
    p.query(
        AUTH,
        "INSERT INTO api_keys (id, key_hash, name, user_id) VALUES ('k2', 'h2', 'later', 'u2')",
    );
    let now = p.export(AUTH);

    // Another database's backup.
    let run = restore(&p, &rr_backup, &[]).fails();
    assert_line(
        &run.stderr,
        &["is a backup of READ_REPLICA (nanotype-read-replica), not of AUTH"],
    );
    // A migration file, and wrangler's own export.
    let run = restore(&p, &p.path("migrations/0002_api_keys.sql"), &[]).fails();
    assert_line(&run.stderr, &["not a backup made by `cargo migrate`"]);
    let plain = p.path("plain-export.sql");
    std::fs::write(&plain, &now).unwrap();
    let run = restore(&p, &plain, &[]).fails();
    assert_line(&run.stderr, &["not a backup made by `cargo migrate`"]);
    // A backup cut short.
    let cut = p.path("cut.sqlite");
    let bytes = std::fs::read(&auth_backup).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let run = restore(&p, &cut, &[]).fails();
    assert_line(&run.stderr, &["is not whole", "cut short"]);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(
        p.export(AUTH),
        now,
        "a refused restore changed the database"
    );

    // The right one: what it replaces is backed up first, and restoring that undoes it.
    let before = backups_of(&dir, AUTH);
    let run = restore(&p, &auth_backup, &[]).ok();
    assert_eq!(p.export(AUTH), at_backup);
    let replaced = backups_of(&dir, AUTH);
    assert_eq!(replaced.len(), before.len() + 1, "{}", run.all());
    // The new one (taken in the same second as another, it gets a suffix).
    let undo = replaced.iter().find(|b| !before.contains(b)).unwrap();
    // The command it gives for that reaches this project (its own config).
    let again = format!(
        "`cargo migrate restore {} --config {} --db AUTH` undoes this",
        undo.display(),
        p.config_path().display()
    );
    assert_line(
        &run.stdout,
        &[
            "what it replaced is backed up in",
            undo.to_str().unwrap(),
            &again,
        ],
    );
    restore(&p, undo, &["--no-backup"]).ok();
    assert_eq!(
        p.export(AUTH),
        now,
        "restoring what was replaced undoes the restore"
    );

    // What there is to restore.
    let list = p.migrate(&["backup", "--list", "--db", AUTH]).ok();
    assert_line(
        &list.stdout,
        &["at v4, local", auth_backup.to_str().unwrap()],
    );
    assert!(!list.stdout.contains("READ_REPLICA-"), "{}", list.stdout);
}

#[test]
fn a_remote_export_cut_short_is_refused() {
    let token = "restore-test-token-7c3d";
    let (double, env_owned) = api_double(token);
    let env = borrowed(&env_owned);
    let p = Project::seed();
    p.migrate_with(&["up", "--remote", "--no-backup"], &env)
        .ok();
    // `backup` exports, as asked: announced (D1 blocks the database
    // meanwhile) and timed.
    let backup = p
        .migrate_with(&["backup", "--remote", "--db", AUTH], &env)
        .ok();
    assert_export_announced(&backup.stderr, AUTH);
    assert_line(&backup.stdout, &["✅ AUTH: ", ".sql, exported in "]);
    let export = backups_of(&p.path("backups"), AUTH).remove(0);
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(text.starts_with("-- cargo migrate backup: "), "{text}");
    // Cut at a line break: every line whole, the last ones missing.
    let lines: Vec<&str> = text.lines().collect();
    let cut: String = lines[..lines.len() - 3]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&export, cut).unwrap();
    let args = [
        "restore",
        export.to_str().unwrap(),
        "--db",
        AUTH,
        "--yes",
        "--remote",
    ];
    let run = p.migrate_with(&args, &env).fails();
    assert_line(&run.stderr, &["is not whole"]);
    // The whole one restores, after backing up what it replaces by its
    // bookmark: a restore exports nothing unasked.
    std::fs::write(&export, &text).unwrap();
    let exported = export_requests(&double);
    let run = p.migrate_with(&args, &env).ok();
    assert_line(&run.stdout, &["✅ AUTH: restored from", "at v5"]);
    // (Named `-v5-2` when the export above was taken in the same second.)
    assert_line(
        &run.stdout,
        &["what it replaced is backed up in", "-v5", ".bookmark"],
    );
    assert_eq!(export_requests(&double), exported);
    assert_eq!(backups_of(&p.path("backups"), AUTH), [export]);
}

/// Everything in the backup folder, sorted.
fn folder(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that `dir` holds `count` local backups and nothing else: no
/// `-wal`, `-shm` or `-journal` beside them, and none still named `v-`;
/// and that each is in rollback-journal mode, so that no reader of it ever
/// makes them.
fn assert_backups_only(dir: &std::path::Path, count: usize, after: &str) {
    let names = folder(dir);
    assert_eq!(names.len(), count, "after {after}: {names:?}");
    for name in &names {
        assert!(
            name.ends_with(".sqlite") && !name.contains("-v-"),
            "after {after}: {name} in {names:?}"
        );
        let header = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            (header[18], header[19]),
            (1, 1),
            "after {after}: {name} is in WAL mode"
        );
    }
}

#[test]
fn the_backup_folder_holds_nothing_but_backups() {
    let p = Project::seed();
    p.migrate(&["up", "4", "--no-backup"]).ok();
    let dir = p.path("backups");
    // `backup` learns each version from the copy itself (written `v-` first).
    p.migrate(&["backup"]).ok();
    assert_backups_only(&dir, 2, "backup");
    let list = p.migrate(&["backup", "--list"]).ok();
    assert_backups_only(&dir, 2, "backup --list");
    assert_line(&list.stdout, &["at v4, local"]);
    // `up` backs up each database it changes, at a version it knows.
    p.migrate(&["up", "5"]).ok();
    assert_backups_only(&dir, 3, "up");
    // A restore reads a backup and backs up what it replaces.
    let auth_backup = backups_of(&dir, AUTH)[0].clone();
    restore(&p, &auth_backup, &[]).ok();
    assert_eq!(p.versions(AUTH), [2, 4]);
    assert_backups_only(&dir, 4, "restore");
    p.migrate(&["backup", "--list", "--db", AUTH]).ok();
    assert_backups_only(&dir, 4, "the last backup --list");
}

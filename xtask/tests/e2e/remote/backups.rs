//! Remote backups: Time Travel bookmarks by default and restores from them,
//! exports only when asked (announced and timed), and dry runs rehearsing
//! on an export there is or on the schema.

use super::*;

#[test]
fn a_remote_database_is_restored_from_its_time_travel_bookmark() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    remote(&p, &cloud, &["up", "4", "--db", AUTH]).ok();
    remote(&p, &cloud, &["up", "--db", AUTH]).ok();
    // The bookmark recorded before the second run is where AUTH was at v4.
    let before_v5 = backup_of(&p, AUTH, 4, "bookmark");
    // The file's first line is the bookmark (then its manifest).
    let text = std::fs::read_to_string(&before_v5).unwrap();
    let bookmark = text.lines().next().unwrap();
    let refused = remote(
        &p,
        &cloud,
        &["restore", "--bookmark", bookmark.trim(), "--db", AUTH],
    )
    .fails();
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    remote(
        &p,
        &cloud,
        &[
            "restore",
            "--bookmark",
            bookmark.trim(),
            "--db",
            AUTH,
            "--yes",
        ],
    )
    .ok();
    let status = remote(&p, &cloud, &["status", "--db", AUTH]).ok();
    assert!(
        status.stdout.contains("✅ Applied - v4: 0004_rooms_table"),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("⏳ Pending - v5: 0005_add_permissions_table"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_remote_up_and_down_keep_a_bookmark_export_nothing_and_the_bookmark_puts_it_back() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    let up = remote(&p, &cloud, &["up"]).ok();
    for binding in [RR, AUTH] {
        assert_line(
            &up.stdout,
            &[
                "backup: ",
                &format!("{binding}-"),
                "-v0.bookmark (Time Travel bookmark ",
            ],
        );
    }
    assert!(!up.all().contains("exporting"), "{}", up.all());
    assert_eq!(held(&p, &cloud), (vec![1, 3, 6], vec![2, 4, 5]));

    let down = remote(&p, &cloud, &["down", "3"]).ok();
    assert_line(
        &down.stdout,
        &["backup: ", "AUTH-", "-v5.bookmark (Time Travel bookmark "],
    );
    assert_eq!(held(&p, &cloud), (vec![1, 3], vec![2]));
    // Nothing but bookmarks, and not one export request.
    assert_eq!(backup_files(&p, "bookmark").len(), 4);
    assert_eq!(backup_files(&p, "sql"), Vec::<std::path::PathBuf>::new());
    assert_eq!(export_requests(&cloud), 0);
    assert!(
        cloud.requests().iter().any(|r| r.kind == "time-travel"),
        "no bookmark was asked for"
    );

    // The bookmark file taken before `down` puts AUTH back, in the double's
    // own file; what the restore replaced is kept as a bookmark too.
    let before_down = backup_of(&p, AUTH, 5, "bookmark");
    let restored = remote(
        &p,
        &cloud,
        &[
            "restore",
            before_down.to_str().unwrap(),
            "--db",
            AUTH,
            "--yes",
        ],
    )
    .ok();
    assert_line(&restored.stdout, &["✅ AUTH: restored from", "at v5"]);
    assert_line(
        &restored.stdout,
        &["what it replaced is backed up in", ".bookmark"],
    );
    assert_eq!(held(&p, &cloud), (vec![1, 3], vec![2, 4, 5]));
    // And by its id: the bookmark taken before `up` empties READ_REPLICA.
    let before_up = std::fs::read_to_string(backup_of(&p, RR, 0, "bookmark")).unwrap();
    let id = before_up.lines().next().unwrap().trim();
    remote(
        &p,
        &cloud,
        &["restore", "--bookmark", id, "--db", RR, "--yes"],
    )
    .ok();
    assert_eq!(held(&p, &cloud), (Vec::new(), vec![2, 4, 5]));
    assert_eq!(export_requests(&cloud), 0);
    assert_eq!(backup_files(&p, "sql"), Vec::<std::path::PathBuf>::new());
    remote(&p, &cloud, &["verify", "--db", AUTH]).ok();
}

#[test]
fn a_remote_dry_run_rehearses_on_an_export_there_is_or_the_schema_and_exports_only_with_data() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    remote(&p, &cloud, &["up", "4", "--no-backup"]).ok();

    // No export anywhere: each database is rehearsed on its schema alone.
    let dry = remote(&p, &cloud, &["up", "--dry-run"]).ok();
    for binding in [RR, AUTH] {
        assert_line(
            &dry.stdout,
            &[
                &format!("✅ {binding}: rehearsal passed on its schema alone: "),
                &format!("has no export of {binding} (`--with-data` exports it first"),
            ],
        );
    }
    assert_eq!(export_requests(&cloud), 0);

    // An export taken on purpose (`backup`), announced and timed.
    let backup = remote(&p, &cloud, &["backup", "--db", AUTH]).ok();
    assert_export_announced(&backup.stderr, AUTH);
    assert_line(
        &backup.stdout,
        &[
            "✅ AUTH: ",
            "-v4.sql, exported in ",
            "(Time Travel bookmark ",
        ],
    );
    let exported = export_requests(&cloud);
    assert!(exported > 0);

    // AUTH is rehearsed on that export, saying when it was taken; nothing is exported.
    let dry = remote(&p, &cloud, &["up", "--dry-run"]).ok();
    assert_line(
        &dry.stdout,
        &[
            "✅ AUTH: rehearsal passed on AUTH's export of ",
            " UTC (",
            " s old; ",
            " rows)",
        ],
    );
    assert_line(
        &dry.stdout,
        &["✅ READ_REPLICA: rehearsal passed on its schema alone: "],
    );
    assert!(!dry.all().contains("exporting"), "{}", dry.all());
    assert_eq!(export_requests(&cloud), exported);

    // --with-data: a fresh export of each, announced and timed, kept nowhere.
    let exports = backup_files(&p, "sql");
    let dry = remote(&p, &cloud, &["up", "--dry-run", "--with-data"]).ok();
    for binding in [RR, AUTH] {
        assert_export_announced(&dry.stderr, binding);
        assert_line(
            &dry.stdout,
            &[
                &format!(
                    "✅ {binding}: rehearsal passed on a fresh export of its data (exported in "
                ),
                " rows)",
            ],
        );
    }
    assert!(export_requests(&cloud) > exported);
    assert_eq!(backup_files(&p, "sql"), exports);
    assert_eq!(held(&p, &cloud), (vec![1, 3], vec![2, 4]));
}

#[test]
fn an_export_is_taken_when_asked_with_a_warning_before_it_and_its_duration_after() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    let run = remote(&p, &cloud, &["up", "4", "--backup", "export"]).ok();
    for binding in [RR, AUTH] {
        assert_export_announced(&run.stderr, binding);
        assert_line(
            &run.stdout,
            &[
                "backup: ",
                &format!("{binding}-"),
                "-v0.sql, exported in ",
                "(Time Travel bookmark ",
            ],
        );
    }
    // The warning comes before the export, and the export before the apply.
    let warned = run.stderr.find("exporting AUTH: D1 blocks").unwrap();
    let exported = run.stderr.find("exported AUTH in ").unwrap();
    assert!(warned < exported, "{}", run.stderr);
    assert_eq!(backup_files(&p, "sql").len(), 2);
    assert_eq!(backup_files(&p, "bookmark").len(), 2);
    let requests = export_requests(&cloud);
    assert!(requests > 0);
    assert_eq!(held(&p, &cloud), (vec![1, 3], vec![2, 4]));

    // migrate.toml's `[backup] export` names AUTH: AUTH alone is exported.
    let routing = std::fs::read_to_string(p.path("migrations/migrate.toml")).unwrap();
    p.write(
        "migrations/migrate.toml",
        format!("{routing}\n[backup]\nexport = [\"AUTH\"]\n"),
    );
    let run = remote(&p, &cloud, &["up"]).ok();
    assert_line(&run.stdout, &["backup: ", "AUTH-", "-v4.sql, exported in "]);
    assert_line(
        &run.stdout,
        &[
            "backup: ",
            "READ_REPLICA-",
            "-v3.bookmark (Time Travel bookmark ",
        ],
    );
    assert!(
        !run.stderr.contains("exporting READ_REPLICA"),
        "{}",
        run.stderr
    );
    assert_eq!(backup_files(&p, "sql").len(), 3);
    assert!(export_requests(&cloud) > requests);

    // `--backup bookmark` on the command line wins over migrate.toml.
    let requests = export_requests(&cloud);
    let run = remote(
        &p,
        &cloud,
        &["down", "4", "--db", AUTH, "--backup", "bookmark"],
    )
    .ok();
    assert_line(
        &run.stdout,
        &["backup: ", "AUTH-", "-v5.bookmark (Time Travel bookmark "],
    );
    assert_eq!(export_requests(&cloud), requests);
    assert_eq!(backup_files(&p, "sql").len(), 3);
    assert_eq!(held(&p, &cloud), (vec![1, 3, 6], vec![2, 4]));

    // A database migrate.toml names that the config does not have.
    p.write(
        "migrations/migrate.toml",
        format!("{routing}\n[backup]\nexport = [\"AUTHH\"]\n"),
    );
    let run = p.migrate(&["check"]).fails();
    assert_line(
        &run.stderr,
        &["migrate.toml: [backup] export names AUTHH, which is not a D1 database"],
    );
}

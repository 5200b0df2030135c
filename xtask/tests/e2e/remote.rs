//! Remote mode, end to end: the real `xtask` binary and the real wrangler,
//! whose real remote code path talks to the Cloudflare API double on 127.0.0.1.
//! With a token and an account the xtask speaks the API itself; the tests
//! of wrangler's own failures ask for the wrangler path
//! (`MIGRATE_REMOTE_VIA=wrangler`). The direct path's retries are in
//! `remote_api.rs`.

use crate::common::*;
use cloudflare_double::{serve, Double, Fault, Options};

pub(crate) const TOKEN: &str = "remote-test-token-8c1f2e";
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub(crate) const RR: &str = "READ_REPLICA";
pub(crate) const AUTH: &str = "AUTH";

pub(crate) fn double(options: Options) -> Double {
    serve(Options {
        quiet: true,
        ..options
    })
    .expect("the double starts")
}

fn env(double: &Double) -> Vec<(&'static str, String)> {
    vec![
        ("CLOUDFLARE_API_BASE_URL", double.api_base_url()),
        ("CLOUDFLARE_API_TOKEN", TOKEN.to_owned()),
        ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT.to_owned()),
        ("WRANGLER_HIDE_BANNER", "true".to_owned()),
    ]
}

pub(crate) fn remote(p: &Project, double: &Double, args: &[&str]) -> Run {
    remote_with(p, double, args, &[])
}

pub(crate) fn remote_with(
    p: &Project,
    double: &Double,
    args: &[&str],
    extra: &[(&str, &str)],
) -> Run {
    let env = env(double);
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    let mut args = args.to_vec();
    args.push("--remote");
    p.migrate_with(&args, &all)
}

/// Runs the real wrangler against the double, returning its stdout.
fn wrangler_remote(p: &Project, double: &Double, args: &[&str]) -> String {
    let mut args = args.to_vec();
    args.push("--remote");
    p.wrangler_with(&args, &env(double))
}

/// A remote database exported the way wrangler exports a local one.
fn remote_export(p: &Project, double: &Double, binding: &str) -> String {
    let file = p.path(&format!("remote-{binding}.sql"));
    wrangler_remote(
        p,
        double,
        &["d1", "export", binding, "--output", file.to_str().unwrap()],
    );
    std::fs::read_to_string(file).unwrap()
}

/// An export without the tracking tables' times, which differ between runs:
/// `_migrations`' rows left out, wrangler's ledger's rows without `applied_at`.
fn app_content(export: &str) -> String {
    export
        .lines()
        .filter(|line| !line.starts_with("INSERT INTO \"_migrations"))
        .map(
            |line| match line.starts_with("INSERT INTO \"d1_migrations\"") {
                true => line.rsplit_once(",'").map_or(line, |(row, _)| row),
                false => line,
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn seed_flow_works_remotely_and_matches_local() {
    let cloud = double(Options::new(TOKEN));
    let (p, local) = (Project::seed(), Project::seed());

    remote(&p, &cloud, &["up", "5"]).ok();
    local.migrate(&["up", "5"]).ok();
    let status = remote(&p, &cloud, &["status"]).ok();
    assert_eq!(status.stdout, local.migrate(&["status"]).ok().stdout);
    assert!(
        status
            .stdout
            .contains("✅ Applied - v5: 0005_add_permissions_table"),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("⏳ Pending - v6: 0006_add_task_user_id"),
        "{}",
        status.stdout
    );

    // Each changing run records D1's Time Travel bookmark first, and
    // exports nothing (an export blocks the database).
    let bookmarks = backup_files(&p, "bookmark");
    assert_eq!(bookmarks.len(), 2, "{bookmarks:?}");
    assert_eq!(backup_files(&p, "sql"), Vec::<std::path::PathBuf>::new());
    assert_eq!(export_requests(&cloud), 0);

    // A dry run writes nothing remotely: the double's database files are
    // byte for byte what they were.
    let files = |cloud: &Double| -> Vec<Vec<u8>> {
        let config = xtask::migrate::config::Config::load(&p.config_path(), None).unwrap();
        config
            .databases
            .iter()
            .map(|db| std::fs::read(cloud.database_path(db.id.as_deref().unwrap())).unwrap())
            .collect()
    };
    let before = files(&cloud);
    let dry = remote(&p, &cloud, &["up", "--dry-run"]).ok();
    assert!(dry.stdout.contains("rehearsal passed"), "{}", dry.stdout);
    assert!(
        files(&cloud) == before,
        "the dry run changed a remote database"
    );

    remote(&p, &cloud, &["up"]).ok();
    local.migrate(&["up"]).ok();
    remote(&p, &cloud, &["down", "3"]).ok();
    local.migrate(&["down", "3"]).ok();

    let json = remote(&p, &cloud, &["status", "--json"]).ok();
    let states = |text: &str| -> Vec<(u64, String)> {
        let report: serde_json::Value = serde_json::from_str(text).unwrap();
        report["databases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|db| db["migrations"].as_array().unwrap().clone())
            .map(|m| {
                (
                    m["version"].as_u64().unwrap(),
                    m["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        states(&json.stdout),
        states(&local.migrate(&["status", "--json"]).ok().stdout)
    );

    // The double's databases hold exactly what the local run holds.
    for binding in [RR, AUTH] {
        assert_eq!(
            app_content(&remote_export(&p, &cloud, binding)),
            app_content(&local.wrangler_export(binding)),
            "{binding}"
        );
        let recorded =
            |rows: Vec<serde_json::Map<String, serde_json::Value>>| -> Vec<(u64, String, String)> {
                rows.iter()
                    .map(|r| {
                        (
                            r["version"].as_u64().unwrap(),
                            r["name"].as_str().unwrap().to_owned(),
                            r["checksum"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            };
        let query = "SELECT version, name, checksum FROM _migrations ORDER BY version";
        let remote_rows: serde_json::Value = {
            let out = wrangler_remote(
                &p,
                &cloud,
                &["d1", "execute", binding, "--json", "--command", query],
            );
            let start = out.find('[').unwrap();
            serde_json::from_str(&out[start..]).unwrap()
        };
        let remote_rows: Vec<serde_json::Map<String, serde_json::Value>> = remote_rows[0]
            ["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_object().unwrap().clone())
            .collect();
        assert_eq!(
            recorded(remote_rows),
            recorded(local.query(binding, query)),
            "{binding}"
        );
    }
    remote(&p, &cloud, &["verify"]).ok();
}

/// Remotely too, a run plans on what this machine last saw of a database
/// and its import opens with the guard: one import per database when the
/// record holds, and a refused import (nothing changed) when it does not.
#[test]
fn a_remote_run_plans_on_the_last_read_and_its_guard_refuses_a_stale_one() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    let hint = p.path(".wrangler/migrate/remote/AUTH.json");
    remote(&p, &cloud, &["up", "4", "--no-backup"]).ok();
    let seen = std::fs::read_to_string(&hint).unwrap();
    remote(&p, &cloud, &["down", "3", "--db", AUTH, "--no-backup"]).ok();

    // Known and current: one import and one read after it per database.
    let wrapper = p.wrapper("");
    let calls = [
        ("MIGRATE_WRANGLER", wrapper.to_str().unwrap()),
        ("MIGRATE_REMOTE_VIA", "wrangler"),
    ];
    let run = remote_with(&p, &cloud, &["up", "--db", AUTH, "--no-backup"], &calls).ok();
    assert!(
        run.stdout.contains("✅ AUTH: applied 2 migrations"),
        "{}",
        run.all()
    );
    // (Any other call is a local rehearsal working out the expected schema.)
    let log = p.calls();
    let remote_calls = log.iter().filter(|c| c.2.contains("--remote")).count();
    assert_eq!(
        remote_calls, 2,
        "AUTH: the import and the read after it: {log:?}"
    );

    // As if another machine had rolled AUTH back since this one looked.
    remote(&p, &cloud, &["down", "3", "--db", AUTH, "--no-backup"]).ok();
    std::fs::write(&hint, seen).unwrap();
    let run = remote(&p, &cloud, &["up", "--no-backup"]).ok();
    assert_line(
        &run.stdout,
        &["AUTH: it changed since this machine last read it"],
    );
    assert!(
        run.stdout.contains("✅ AUTH: applied 2 migrations"),
        "{}",
        run.all()
    );
    let status = remote(&p, &cloud, &["status"]).ok();
    assert!(!status.stdout.contains("Pending"), "{}", status.stdout);
    remote(&p, &cloud, &["verify"]).ok();
}

#[test]
fn a_wrong_or_missing_token_is_a_clear_error_that_never_shows_the_token() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    let wrong = "wrong-token-3d9a7b";
    let run = remote_with(&p, &cloud, &["up"], &[("CLOUDFLARE_API_TOKEN", wrong)]).fails();
    let out = run.all();
    assert!(out.contains("Authentication error"), "{out}");
    assert!(out.contains("CLOUDFLARE_API_TOKEN"), "{out}");
    assert!(!out.contains(wrong), "the token leaked:\n{out}");

    let run = remote_with(&p, &cloud, &["status"], &[("CLOUDFLARE_API_TOKEN", "")]).fails();
    assert!(run.all().contains("CLOUDFLARE_API_TOKEN"), "{}", run.all());
    assert!(!run.all().contains(TOKEN));
    let requests = cloud.requests();
    assert!(!requests.is_empty(), "wrangler never reached the double");
    assert!(
        requests.iter().all(|r| r.status == 401 || r.status == 403),
        "nothing was let through"
    );
}

/// Runs `up --remote` through wrangler against a double with `fault`,
/// checks every database holds what the run said of it and is consistent,
/// then re-runs on a healthy double over the same data.
fn fault_case(name: &str, fault: impl Fn(&mut Options), expect: &str, extra: &[(&str, &str)]) {
    fault_case_with(name, fault, expect, &["up"], extra);
}

/// [`fault_case`] for `up` with other arguments (`args`).
fn fault_case_with(
    name: &str,
    fault: impl Fn(&mut Options),
    expect: &str,
    args: &[&str],
    extra: &[(&str, &str)],
) {
    let extra = [&[("MIGRATE_REMOTE_VIA", "wrangler")], extra].concat();
    let extra = &extra[..];
    let data = tempfile::tempdir().unwrap();
    let p = Project::seed();
    let said;
    {
        let mut options = Options::new(TOKEN);
        options.data_dir = Some(data.path().to_path_buf());
        fault(&mut options);
        let cloud = double(options);
        let run = remote_with(&p, &cloud, args, extra).fails();
        said = run.stdout.clone();
        assert!(
            run.all().contains(expect),
            "{name}: expected {expect:?} in:\n{}",
            run.all()
        );
        assert!(!run.all().contains(TOKEN), "{name}: the token leaked");
    }
    let mut options = Options::new(TOKEN);
    options.data_dir = Some(data.path().to_path_buf());
    let cloud = double(options);
    // What each database holds is what the run said: all of its batch, or none.
    for (binding, all) in [(RR, vec![1, 3, 6]), (AUTH, vec![2, 4, 5])] {
        let ran = said.contains(&format!("✅ {binding}: applied"))
            || said
                .lines()
                .any(|l| l.contains(&format!("❌ {binding}")) && l.contains("did run"));
        let want = if ran { all } else { Vec::new() };
        assert_eq!(
            remote_versions(&p, &cloud, binding),
            want,
            "{name}: {binding}\n{said}"
        );
    }
    // Each recorded migration is wholly there and each other one wholly absent.
    let verify = remote(&p, &cloud, &["verify"]);
    assert_eq!(
        verify.code,
        0,
        "{name}: inconsistent after the fault:\n{}",
        verify.all()
    );
    // A lock left by the failed run would stop the re-run; it must not be there.
    remote(&p, &cloud, &["up"]).ok();
    for (binding, all) in [(RR, vec![1, 3, 6]), (AUTH, vec![2, 4, 5])] {
        assert_eq!(
            remote_versions(&p, &cloud, binding),
            all,
            "{name}: {binding}"
        );
    }
}

fn fail(kind: &str, n: u32) -> impl Fn(&mut Options) {
    let fault = Fault::parse_fail(&format!("{kind}:{n}")).unwrap();
    move |options: &mut Options| options.fail.push(fault.clone())
}

#[test]
fn a_failed_state_read_applies_nothing() {
    fault_case("query 1", fail("query", 1), "cannot read the state", &[]);
}

#[test]
fn a_failed_backup_applies_nothing() {
    // The default restore point, the Time Travel bookmark.
    fault_case(
        "time-travel 1",
        fail("time-travel", 1),
        "the backup before the change failed",
        &[],
    );
    // An export, when asked for.
    fault_case_with(
        "export 1",
        fail("export", 1),
        "the backup before the change failed",
        &["up", "--backup", "export"],
        &[],
    );
}

#[test]
fn a_failed_import_upload_or_ingest_applies_nothing() {
    fault_case(
        "import-upload 1",
        fail("import-upload", 1),
        "showed the batch did not run",
        &[],
    );
    fault_case(
        "import-ingest 2",
        fail("import-ingest", 2),
        "showed the batch did not run",
        &[],
    );
}

#[test]
fn a_failed_import_poll_applies_nothing() {
    fault_case(
        "poll",
        |o: &mut Options| o.fail_import_poll = true,
        "showed the batch did not run",
        &[],
    );
}

#[test]
fn a_failed_read_after_the_import_says_the_batch_ran() {
    // Queries 1 and 2 read the two databases' state; 3 and 4 read them after their imports.
    fault_case("query 3", fail("query", 3), "showed the batch did run", &[]);
}

#[test]
fn a_response_slower_than_the_timeout_is_stopped_and_settled() {
    // Every wrangler call of the run gets the timeout: long enough for a
    // node start on a loaded machine (the read and the lock's release that
    // follow the stopped call must not time out too).
    let delay = Fault::parse_delay("import-poll:1:60000").unwrap();
    fault_case(
        "slow poll",
        move |o: &mut Options| o.delay.push(delay.clone()),
        "did not finish within 15 s",
        &[("MIGRATE_WRANGLER_TIMEOUT", "15")],
    );
}

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

/// The databases' newest versions as the double's SQLite files hold them.
fn held(p: &Project, cloud: &Double) -> (Vec<u64>, Vec<u64>) {
    (
        remote_versions(p, cloud, RR),
        remote_versions(p, cloud, AUTH),
    )
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

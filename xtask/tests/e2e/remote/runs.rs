//! Whole runs remotely: the seed's flow matching local, planning on the last
//! read with its guard, and a wrong or missing token.

use super::*;

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
        let config = xtask::migrate::Config::load(&p.config_path(), None).unwrap();
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

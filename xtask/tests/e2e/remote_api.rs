//! The D1 REST API spoken directly (a token and an account are set): the
//! real `xtask` binary against the Cloudflare API double, no wrangler
//! process for a remote call, and every kind of request of a remote run
//! failing once on cue (HTTP 500, 429 with `Retry-After`, an answer lost
//! after the request was carried out, an answer slower than the timeout):
//! the run succeeds after its retries with every migration recorded once,
//! or, when the failure lasts, fails clearly within its time limit with
//! nothing applied.

use crate::common::*;
use crate::remote::{double, remote, remote_with, AUTH, RR, TOKEN};
use cloudflare_double::{Double, Fault, Options};

const ALL: [(&str, [u64; 3]); 2] = [(RR, [1, 3, 6]), (AUTH, [2, 4, 5])];

/// How many rows `_migrations` and wrangler's ledger hold in a remote
/// database, and how many of the ledger's are the applied migrations'.
fn ledger_rows(p: &Project, cloud: &Double, binding: &str) -> (i64, i64) {
    let config = xtask::migrate::Config::load(&p.config_path(), None).unwrap();
    let id = config.database(binding).unwrap().id.clone().unwrap();
    let connection = rusqlite::Connection::open(cloud.database_path(&id)).unwrap();
    let count = |sql: &str| connection.query_row(sql, [], |row| row.get(0)).unwrap();
    (
        count("SELECT count(*) FROM _migrations"),
        count("SELECT count(*) FROM d1_migrations WHERE applied_at > '1970-01-02'"),
    )
}

#[test]
fn remote_runs_speak_the_api_and_start_no_wrangler_for_it() {
    let cloud = double(Options::new(TOKEN));
    let p = Project::seed();
    let wrapper = p.wrapper("");
    let calls = [("MIGRATE_WRANGLER", wrapper.to_str().unwrap())];
    let run = remote_with(&p, &cloud, &["up"], &calls).ok();
    assert!(
        run.all()
            .contains("remote calls go to the D1 REST API directly"),
        "the log says which path: {}",
        run.all()
    );
    let status = remote_with(&p, &cloud, &["status"], &calls).ok();
    assert!(!status.stdout.contains("Pending"), "{}", status.stdout);
    let remote_calls: Vec<_> = p
        .calls()
        .into_iter()
        .filter(|c| c.2.contains("--remote"))
        .collect();
    assert!(
        remote_calls.is_empty(),
        "wrangler ran remotely: {remote_calls:?}"
    );
    for (binding, all) in ALL {
        assert_eq!(remote_versions(&p, &cloud, binding), all, "{binding}");
    }
    let kinds: Vec<String> = cloud.requests().into_iter().map(|r| r.kind).collect();
    for kind in [
        "query",
        "import-init",
        "import-upload",
        "import-ingest",
        "import-poll",
        "time-travel",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} request: {kinds:?}"
        );
    }

    // Asked for, the wrangler path; the log says so.
    let run = remote_with(
        &p,
        &cloud,
        &["status"],
        &[
            ("MIGRATE_WRANGLER", wrapper.to_str().unwrap()),
            ("MIGRATE_REMOTE_VIA", "wrangler"),
        ],
    )
    .ok();
    assert!(
        run.all().contains("remote calls go through wrangler"),
        "{}",
        run.all()
    );
    assert!(
        p.calls().iter().any(|c| c.2.contains("--remote")),
        "MIGRATE_REMOTE_VIA=wrangler ran no wrangler"
    );
}

/// `up --remote` on a fresh double with `faults` and `env`: it succeeds,
/// says it tried again, and every migration is recorded exactly once in
/// both ledgers; `verify` agrees with the files.
fn recovers(name: &str, faults: impl Fn(&mut Options), env: &[(&str, &str)], said: &str) {
    let mut options = Options::new(TOKEN);
    faults(&mut options);
    let cloud = double(options);
    let p = Project::seed();
    let run = remote_with(&p, &cloud, &["up"], env);
    assert_eq!(run.code, 0, "{name}: the run failed:\n{}", run.all());
    assert!(
        run.all().contains(said),
        "{name}: expected {said:?} in:\n{}",
        run.all()
    );
    for (binding, all) in ALL {
        assert_eq!(
            remote_versions(&p, &cloud, binding),
            all,
            "{name}: {binding}"
        );
        assert_eq!(
            ledger_rows(&p, &cloud, binding),
            (3, 3),
            "{name}: {binding}'s ledgers"
        );
    }
    remote(&p, &cloud, &["verify"]).ok();
}

fn fail(spec: &str) -> impl Fn(&mut Options) {
    let fault = Fault::parse_fail(spec).unwrap();
    move |o: &mut Options| o.fail.push(fault.clone())
}

fn lose(spec: &str) -> impl Fn(&mut Options) {
    let fault = Fault::parse_fail(spec).unwrap();
    move |o: &mut Options| o.lose.push(fault.clone())
}

const TRIED: &str = "trying again";

#[test]
fn a_failed_read_bookmark_or_import_step_is_retried() {
    // The state reads, the bookmark before the change, the import's init,
    // upload and polls: none changes anything, so each is simply sent again.
    for kind in [
        "query",
        "time-travel",
        "import-init",
        "import-upload",
        "import-poll",
    ] {
        recovers(&format!("{kind} 1"), fail(&format!("{kind}:1")), &[], TRIED);
    }
}

#[test]
fn a_failed_ingest_is_settled_by_reading_the_ledger_then_sent_again() {
    // Refused before it ran, or carried out with its answer lost: either
    // way the ledger is read before the batch goes again.
    recovers(
        "import-ingest 1",
        fail("import-ingest:1"),
        &[],
        "showed the batch did not run",
    );
    recovers(
        "import-ingest 1 lost",
        lose("import-ingest:1"),
        &[],
        "showed the batch did not run",
    );
}

#[test]
fn lost_answers_throttling_and_slow_answers_are_retried_without_applying_twice() {
    recovers("import-poll 1 lost", lose("import-poll:1"), &[], TRIED);
    recovers("query 3 lost", lose("query:3"), &[], TRIED);
    let throttle = Fault::parse_delay("query:1:2").unwrap();
    recovers(
        "query 1 throttled",
        move |o: &mut Options| o.throttle.push(throttle.clone()),
        &[],
        "trying again in 2.0 s",
    );
    let slow = Fault::parse_delay("import-poll:1:4000").unwrap();
    recovers(
        "import-poll 1 slow",
        move |o: &mut Options| o.delay.push(slow.clone()),
        &[("MIGRATE_API_TIMEOUT", "1")],
        TRIED,
    );
}

/// A double whose first `times` requests of `kind` fail.
fn failing(kind: &str, times: u32) -> Double {
    let mut options = Options::new(TOKEN);
    for n in 1..=times {
        let fault = Fault::parse_fail(&format!("{kind}:{n}")).unwrap();
        options.fail.push(fault);
    }
    double(options)
}

fn nothing_applied(p: &Project, cloud: &Double) {
    for (binding, _) in ALL {
        let versions = remote_versions(p, cloud, binding);
        assert_eq!(versions, Vec::<u64>::new(), "{binding}");
    }
}

#[test]
fn a_failure_that_lasts_fails_clearly_within_the_time_limit_and_applies_nothing() {
    let cloud = failing("query", 40);
    let p = Project::seed();
    let started = std::time::Instant::now();
    let run = remote_with(&p, &cloud, &["up"], &[("MIGRATE_API_RETRY_SECS", "2")]).fails();
    let took = started.elapsed();
    assert!(run.all().contains("failed after"), "{}", run.all());
    assert!(run.all().contains("tries in"), "{}", run.all());
    assert!(
        took.as_secs() < 60,
        "the retries ignored their limit: {took:?}"
    );
    nothing_applied(&p, &cloud);

    // An ingest that keeps failing: tried once more after the ledger showed
    // it did not run, then reported; nothing is applied.
    let cloud = failing("import-ingest", 8);
    let p = Project::seed();
    let run = remote(&p, &cloud, &["up"]).fails();
    assert!(run.all().contains("did not run"), "{}", run.all());
    assert!(run.all().contains("failed again"), "{}", run.all());
    nothing_applied(&p, &cloud);
}

#[test]
fn a_rollback_whose_ingest_answer_is_lost_runs_once() {
    let data = tempfile::tempdir().unwrap();
    let p = Project::seed();
    {
        let mut options = Options::new(TOKEN);
        options.data_dir = Some(data.path().to_path_buf());
        let cloud = double(options);
        remote(&p, &cloud, &["up"]).ok();
    }
    let mut options = Options::new(TOKEN);
    options.data_dir = Some(data.path().to_path_buf());
    options
        .lose
        .push(Fault::parse_fail("import-ingest:1").unwrap());
    let cloud = double(options);
    let run = remote(&p, &cloud, &["down", "3", "--db", AUTH]).ok();
    assert!(run.all().contains("did not run"), "{}", run.all());
    assert_eq!(remote_versions(&p, &cloud, AUTH), [2]);
    assert_eq!(ledger_rows(&p, &cloud, AUTH), (1, 1));
    remote(&p, &cloud, &["verify", "--db", AUTH]).ok();
}

/// The double answers many clients at once (a fleet's runs send it 16 or
/// more requests in parallel): it holds each of 16 queries until all 16 are
/// in flight together, which a double serving one at a time never reaches
/// (it answers 503 then).
#[test]
fn the_double_serves_many_clients_at_once() {
    let mut options = Options::new(TOKEN);
    options.gather = Some(("query".into(), 16));
    let cloud = double(options);
    let answers: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let url = format!(
                    "{}/accounts/acc/d1/database/tenant-{i}/query",
                    cloud.api_base_url()
                );
                scope.spawn(move || {
                    xtask::http::post(&url)
                        .header("Authorization", &format!("Bearer {TOKEN}"))
                        .header("Content-Type", "application/json")
                        .body(r#"{"sql":"SELECT 1 AS one"}"#)
                        .send()
                        .unwrap()
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers, vec![200; 16]);
}

/// The account's database list, every page of it, and one database's info,
/// through the client the runner uses.
#[test]
fn the_database_list_is_read_page_by_page() {
    let mut options = Options::new(TOKEN);
    for n in 0..2345 {
        let name = format!("tenant-{n:04}");
        options
            .databases
            .push(format!("{name}=id-{n:04}").parse().unwrap());
    }
    let cloud = double(options);
    let p = Project::seed();
    let config = xtask::migrate::Config::load(&p.config_path(), None).unwrap();
    let wrangler =
        xtask::wrangler::Wrangler::locate(&root(), &config, xtask::migrate::d1::Target::Remote)
            .unwrap();
    let api = xtask::cloudflare::Api::new(
        &cloud.api_base_url(),
        TOKEN,
        "0123456789abcdef0123456789abcdef",
        wrangler,
        &p.path(""),
    )
    .unwrap();
    let names = api.database_names().unwrap();
    assert_eq!(names.len(), 2345);
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 2345, "a page was read twice");
    let pages = cloud.requests().iter().filter(|r| r.kind == "list").count();
    assert_eq!(pages, 3, "1000 per page");

    let mut db = config.databases[0].clone();
    db.id = None;
    db.name = "tenant-0042".to_owned();
    let info = api.info(&db).unwrap();
    assert_eq!(info["uuid"], "id-0042", "{info}");
    // A query with parameters, bound by D1 (never spliced into the SQL).
    let rows = api
        .query_with(
            xtask::migrate::d1::Call::Read,
            &db,
            "SELECT ?1 AS name, ?2 + 1 AS next",
            &[serde_json::json!("it's"), serde_json::json!(41)],
        )
        .unwrap();
    assert_eq!(rows[0].results[0]["name"], "it's");
    assert_eq!(rows[0].results[0]["next"], 42);
}

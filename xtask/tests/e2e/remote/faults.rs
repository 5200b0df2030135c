//! Faults injected into the double's API on the wrangler path: each run says
//! what it did, leaves every database consistent, and a re-run completes.

use super::*;

use cloudflare_double::Fault;

/// Runs `up --remote --db AUTH` through wrangler against a double with
/// `fault`, checks every database holds what the run said of it and is
/// consistent, then re-runs on a healthy double over the same data. (One
/// database: each wrangler call is a node start-up; the fault of one of two
/// databases is `import-ingest 2`.)
fn fault_case(name: &str, fault: impl Fn(&mut Options), expect: &str, extra: &[(&str, &str)]) {
    fault_case_with(name, fault, expect, &["up", "--db", AUTH], extra);
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
        &["up", "--db", AUTH, "--backup", "export"],
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
    // The second database's: the first one's batch ran.
    fault_case_with(
        "import-ingest 2",
        fail("import-ingest", 2),
        "showed the batch did not run",
        &["up"],
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
    // Query 1 reads the database's state; 2 reads it after its import.
    fault_case("query 2", fail("query", 2), "showed the batch did run", &[]);
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

//! The migration lock against killed runs (and `unlock`), and retries of a
//! busy local database.

use super::*;

use std::path::PathBuf;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Helpers

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
        // On this project (its own config), from anywhere.
        let unlock = format!(
            "cargo migrate unlock --config {} --db {binding}",
            p.config_path().display()
        );
        assert_line(
            &out,
            &[
                binding,
                "locked by another migration run",
                &owner,
                // "(taken 1.2 s ago" or, when it was under a second, "914 ms ago".
                "(taken ",
                " ago,",
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
        // On this project (its own config), from anywhere.
        let unlock = format!(
            "cargo migrate unlock --config {} --db {binding}",
            p.config_path().display()
        );
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

/// Both databases got all three of their migrations in this run.
fn assert_applied_everything(run: &Run) {
    for binding in [RR, AUTH] {
        let line = format!("✅ {binding}: applied 3 migrations");
        assert!(run.stdout.contains(&line), "{line}:\n{}", run.stdout);
    }
}

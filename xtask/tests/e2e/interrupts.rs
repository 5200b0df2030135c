//! Stopping a run: Ctrl-C (SIGINT) and SIGTERM give every lock back and leave
//! no process behind; an apply in flight is let finish; a run killed outright
//! leaves no wrangler or workerd running; a closed stdout ends a run quietly.
//! The real `xtask` binary in a process group of its own, signalled as a
//! terminal would, with stand-in wranglers that hold a call open on cue.

use crate::common::*;

use std::time::{Duration, Instant};

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

/// Sends `signal` to the process group the run leads (its pid), as a
/// terminal sends Ctrl-C to its foreground group.
fn signal_run(child: &std::process::Child, signal: i32) {
    let group = i32::try_from(child.id()).unwrap();
    assert!(group > 1);
    // SAFETY: a negative id signals exactly that process group.
    assert_eq!(unsafe { libc::kill(-group, signal) }, 0);
}

/// True while some process (not a zombie waiting to be reaped) is in the group `group`.
fn group_alive(group: i32) -> bool {
    !group_members(group).is_empty()
}

/// The command names of the live processes in the group `group`, from /proc
/// (zombies left for init to reap are not counted).
fn group_members(group: i32) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let in_group = fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(group);
        if in_group && fields.first() != Some(&"Z") {
            names.push(head.split_once('(').map_or("", |(_, n)| n).to_owned());
        }
    }
    names
}

/// Lock rows left in a local database.
fn locks(p: &Project, binding: &str) -> u64 {
    p.query(binding, "SELECT count(*) AS n FROM _migrations_lock")[0]["n"]
        .as_u64()
        .unwrap()
}

/// A stand-in wrangler that writes its process group id (its pid: the
/// runner starts each call as a group of its own) to `<dir>/<tag>.pgid` and
/// sleeps `seconds` first when its arguments contain `when`.
fn holding_wrapper(p: &Project, when: &str, seconds: u32) -> std::path::PathBuf {
    p.wrapper(&format!(
        "case \"$*\" in *\"{when}\"*) echo $$ >> '{}'; sleep {seconds};; esac",
        p.path("held.pgid").display()
    ))
}

fn held_groups(p: &Project) -> Vec<i32> {
    std::fs::read_to_string(p.path("held.pgid"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// Ctrl-C to a run that has applied nothing yet: it stops within 20 s,
/// exits 130 and says nothing was applied. Returns what it printed.
fn ctrl_c_before_anything_ran(child: std::process::Child) -> String {
    let signalled = Instant::now();
    signal_run(&child, libc::SIGINT);
    let run = finish(child);
    assert!(
        signalled.elapsed() < Duration::from_secs(20),
        "stopping took {:?}",
        signalled.elapsed()
    );
    assert_eq!(run.code, 130, "{}", run.all());
    let out = run.all();
    assert!(out.contains("interrupted"), "{out}");
    assert!(out.contains("nothing was applied"), "{out}");
    out
}

#[test]
fn ctrl_c_during_a_read_gives_every_lock_back_and_leaves_no_process() {
    // Remote, through the double: the run reads and locks both databases,
    // then its backup export (asked for: the default is a bookmark) hangs;
    // Ctrl-C then.
    let token = "interrupt-test-token-1a2b";
    let (_double, env_owned) = api_double(token);
    let p = Project::seed();
    let wrapper = holding_wrapper(&p, "d1 export", 60);
    let mut env = borrowed(&env_owned);
    env.push(("MIGRATE_WRANGLER", wrapper.to_str().unwrap()));
    // The stand-in holds wrangler's export: the wrangler path, asked for.
    env.push(("MIGRATE_REMOTE_VIA", "wrangler"));
    let child = p.spawn_migrate(&["up", "--remote", "--backup", "export"], &env);
    // Started and holding: its group written (just after the start is logged).
    wait_until(120, "the backup export to start", || {
        p.started("d1 export") > 0 && !held_groups(&p).is_empty()
    });
    let held = held_groups(&p);
    let out = ctrl_c_before_anything_ran(child);
    assert!(!out.contains("panicked"), "{out}");
    for group in held {
        assert!(
            !group_alive(group),
            "the export's process group {group} outlived the run"
        );
    }
    // No lock is left, nothing was applied: a plain run does everything.
    let wrangler_env: Vec<(&str, String)> = env_owned.to_vec();
    for binding in [RR, AUTH] {
        let out = p.wrangler_with(
            &[
                "d1",
                "execute",
                binding,
                "--remote",
                "--json",
                "--command",
                "SELECT (SELECT count(*) FROM _migrations_lock) AS locks, (SELECT count(*) FROM _migrations) AS applied",
            ],
            &wrangler_env,
        );
        assert!(
            out.contains("\"locks\": 0") && out.contains("\"applied\": 0"),
            "{binding}: {out}"
        );
    }
}

/// The same on the direct API path: the double holds the export's request
/// for a minute; Ctrl-C abandons it at once, the locks are given back and
/// nothing is applied.
#[test]
fn ctrl_c_during_a_remote_api_read_abandons_it_and_gives_every_lock_back() {
    let token = "interrupt-test-token-3c4d";
    let mut options = cloudflare_double::Options::new(token);
    options.quiet = true;
    options
        .delay
        .push(cloudflare_double::Fault::parse_delay("export:1:60000").unwrap());
    let double = cloudflare_double::serve(options).unwrap();
    let env_owned = [
        ("CLOUDFLARE_API_BASE_URL", double.api_base_url()),
        ("CLOUDFLARE_API_TOKEN", token.to_owned()),
        (
            "CLOUDFLARE_ACCOUNT_ID",
            "0123456789abcdef0123456789abcdef".to_owned(),
        ),
    ];
    let p = Project::seed();
    let child = p.spawn_migrate(
        &["up", "--remote", "--backup", "export"],
        &borrowed(&env_owned),
    );
    // The export's file is reserved in backups/ before its request goes.
    wait_until(120, "the backup export to start", || {
        std::fs::read_dir(p.path("backups"))
            .is_ok_and(|mut d| d.any(|e| e.unwrap().path().extension().is_some_and(|x| x == "sql")))
    });
    std::thread::sleep(Duration::from_millis(500));
    let out = ctrl_c_before_anything_ran(child);
    assert!(
        out.contains("abandoned") || out.contains("stopped"),
        "{out}"
    );
    let config = xtask::migrate::Config::load(&p.config_path(), None).unwrap();
    for binding in [RR, AUTH] {
        let id = config.database(binding).unwrap().id.clone().unwrap();
        let db = rusqlite::Connection::open(double.database_path(&id)).unwrap();
        let count = |table: &str| -> i64 {
            db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count("_migrations_lock"), 0, "{binding}: a lock was left");
        assert_eq!(count("_migrations"), 0, "{binding}: something was applied");
    }
}

#[test]
fn sigterm_during_an_apply_lets_it_finish_and_gives_the_locks_back() {
    let p = Project::seed();
    p.forget_hints(&[RR, AUTH]);
    let wrapper = holding_wrapper(&p, "--file", 3);
    let child = p.spawn_migrate(
        &["up", "--no-backup"],
        &[("MIGRATE_WRANGLER", wrapper.to_str().unwrap())],
    );
    wait_until(120, "the applies to start", || p.started("--file") >= 2);
    signal_run(&child, libc::SIGTERM);
    let run = finish(child);
    assert_eq!(run.code, 143, "{}", run.all());
    // The applies were let finish: everything landed, and the report says so.
    assert!(
        run.stdout.contains("✅ READ_REPLICA: applied 3 migrations"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.contains("✅ AUTH: applied 3 migrations"),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("terminated"), "{}", run.stderr);
    assert_eq!(
        (p.versions(RR), p.versions(AUTH)),
        (vec![1, 3, 6], vec![2, 4, 5])
    );
    assert_eq!((locks(&p, RR), locks(&p, AUTH)), (0, 0));
}

/// A stand-in wrangler whose every call runs a long query in a real local D1
/// (so that wrangler has started workerd), writing its group id first.
fn slow_wrapper(p: &Project) -> std::path::PathBuf {
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000000) SELECT count(*) FROM c";
    let wrapper = p.path("slow-wrangler.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho $$ >> '{}'\nexec {} d1 execute AUTH --local --json --command '{slow}' --config '{}'\n",
            p.path("held.pgid").display(),
            wrangler_shell_words(),
            p.config_path().display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    wrapper
}

#[test]
fn a_wrangler_call_stopped_for_its_timeout_leaves_no_workerd() {
    let p = Project::seed();
    let wrapper = slow_wrapper(&p);
    let run = p
        .migrate_with(
            &["status"],
            &[
                ("MIGRATE_WRANGLER", wrapper.to_str().unwrap()),
                ("MIGRATE_WRANGLER_TIMEOUT", "8"),
                // Reads through wrangler: local reads start nothing.
                ("MIGRATE_LOCAL_READS", "wrangler"),
            ],
        )
        .fails();
    assert!(
        run.stderr.contains("did not finish within 8 s")
            && run.stderr.contains("MIGRATE_WRANGLER_TIMEOUT"),
        "{}",
        run.stderr
    );
    // Each call's group led wrangler and workerd; the timeout ended them all.
    let held = held_groups(&p);
    assert!(!held.is_empty());
    for group in held {
        assert!(
            !group_alive(group),
            "group {group} outlived its timeout: {:?}",
            group_members(group)
        );
    }
}

#[test]
fn a_run_killed_outright_leaves_no_wrangler_or_workerd_running() {
    let p = Project::seed();
    let wrapper = slow_wrapper(&p);
    // Reads through wrangler: local reads start nothing.
    let mut child = p.spawn_migrate(
        &["status"],
        &[
            ("MIGRATE_WRANGLER", wrapper.to_str().unwrap()),
            ("MIGRATE_LOCAL_READS", "wrangler"),
        ],
    );
    wait_until(60, "the calls to start", || held_groups(&p).len() >= 2);
    let held = held_groups(&p);
    wait_until(30, "workerd to start in each call's group", || {
        held.iter().all(|g| {
            group_members(*g)
                .iter()
                .any(|name| name.starts_with("workerd"))
        })
    });
    kill_group(&mut child);
    wait_until(10, "every call's process group to be gone", || {
        held.iter().all(|g| !group_alive(*g))
    });
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    // `cargo migrate status | true`: the reader is gone before it prints.
    let mut child = p
        .migrate_command(&["status"], &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );

    // `up` whose reader went away while the plan was printed: it stops
    // before applying, gives its locks back and exits without a word.
    p.write(
        "migrations/0007_notes.sql",
        "-- database: AUTH\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n",
    );
    p.forget_hints(&[RR, AUTH]);
    let mut child = p
        .migrate_command(&["up"], &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error:"),
        "{stderr}"
    );
    assert_eq!(p.versions(AUTH), [2, 4, 5]);
    assert_eq!(locks(&p, AUTH), 0);
}

//! Local writes through one node process: an `up` on several local
//! databases starts node once (local D1's runner, wrangler's own Miniflare)
//! and leaves the databases as one wrangler call each leaves them; a
//! wrangler whose package has no Miniflare the runner can use gets one call
//! per database, and the log says why; `--persist-to` is followed; Ctrl-C
//! while the runner applies lets the batch finish and leaves no process
//! behind; a remote dry run rehearses on local copies through the runner.

use std::path::{Path, PathBuf};

use crate::common::*;

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

/// A `node` first on `PATH` that notes each start in the project's
/// `node-starts` and runs the real one: the env for a run, and the file.
fn counting_node(p: &Project) -> (String, PathBuf) {
    let real = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join("node"))
        .find(|path| path.is_file())
        .expect("node on PATH");
    let counter = p.path("node-starts");
    p.write(
        "counting-bin/node",
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            counter.display(),
            real.display()
        ),
    );
    make_executable(&p.path("counting-bin/node"));
    let path = std::env::join_paths(
        std::iter::once(p.path("counting-bin"))
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    (path.into_string().unwrap(), counter)
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The command lines node was started with since the counter was last cleared.
fn node_starts(counter: &Path) -> Vec<String> {
    let starts = std::fs::read_to_string(counter)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    std::fs::write(counter, "").unwrap();
    starts
}

/// The schema and rows of a database, without the times a run records.
fn content(p: &Project, binding: &str) -> String {
    let dump = sqlite_dump(&p.db_file(binding));
    dump.lines()
        .filter(|line| {
            !line.starts_with("INSERT INTO _migrations VALUES")
                && !line.starts_with("INSERT INTO d1_migrations VALUES")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn one_node_process_writes_every_local_database_and_leaves_what_wrangler_calls_leave() {
    let ours = Project::seed();
    let (path, counter) = counting_node(&ours);
    let run = ours
        .migrate_with(&["up", "--no-backup"], &[("PATH", &path)])
        .ok();
    let starts = node_starts(&counter);
    assert_eq!(starts.len(), 1, "node started {starts:?}\n{}", run.all());
    assert!(starts[0].contains("local_runner.mjs"), "{starts:?}");
    assert_eq!(ours.versions(RR), vec![1, 3, 6], "{}", run.all());
    assert_eq!(ours.versions(AUTH), vec![2, 4, 5], "{}", run.all());
    // Reads need no node at all.
    ours.migrate_with(&["status"], &[("PATH", &path)]).ok();
    ours.migrate_with(&["up"], &[("PATH", &path)]).ok();
    assert_eq!(node_starts(&counter), Vec::<String>::new());

    // The same migrations through one wrangler call per database.
    let theirs = Project::seed();
    let (path, counter) = counting_node(&theirs);
    let run = theirs
        .migrate_with(
            &["up", "--no-backup"],
            &[("PATH", &path), ("MIGRATE_LOCAL_WRITES", "wrangler")],
        )
        .ok();
    let starts = node_starts(&counter);
    // (Two wrangler calls starting local D1 side by side may have to retry
    // one, as documented.)
    assert_eq!(
        starts.len(),
        2 + retried(&run, ""),
        "node started {starts:?}\n{}",
        run.all()
    );
    assert!(
        starts.iter().all(|s| s.contains("d1 execute")),
        "{starts:?}"
    );
    for binding in [RR, AUTH] {
        assert_eq!(ours.versions(binding), theirs.versions(binding));
        assert_eq!(
            content(&ours, binding),
            content(&theirs, binding),
            "{binding}"
        );
    }

    // A rollback and a failing batch go through the runner too: all or nothing.
    let run = ours
        .migrate_with(&["down", "4", "--no-backup"], &[("PATH", &path)])
        .ok();
    assert_eq!(ours.versions(RR), vec![1, 3], "{}", run.all());
    assert_eq!(ours.versions(AUTH), vec![2, 4], "{}", run.all());
    ours.write(
        "migrations/0007_notes.sql",
        "-- database: READ_REPLICA\n\
         CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n\
         INSERT INTO notes (body) VALUES ('kept?');\n\
         INSERT INTO no_such_table (x) VALUES (1);\n",
    );
    let before = content(&ours, RR);
    let run = ours
        .migrate_with(&["up", "--no-backup"], &[("PATH", &path)])
        .fails();
    assert!(
        run.all().contains("no such table: no_such_table"),
        "{}",
        run.all()
    );
    assert_eq!(content(&ours, RR), before, "{}", run.all());
    assert_eq!(ours.versions(RR), vec![1, 3]);

    // A plan refused on what the files say (here a statement D1 refuses)
    // is refused at once: no node process, no lock taken.
    ours.write(
        "migrations/0007_notes.sql",
        "-- database: READ_REPLICA\nBEGIN;\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\nCOMMIT;\n",
    );
    node_starts(&counter);
    let run = ours
        .migrate_with(&["up", "--no-backup"], &[("PATH", &path)])
        .fails();
    assert_line(&run.stderr, &["0007_notes.sql:2", "BEGIN"]);
    assert_eq!(node_starts(&counter), Vec::<String>::new(), "{}", run.all());
    assert_eq!(ours.versions(RR), vec![1, 3]);
}

#[test]
fn a_wrangler_without_a_miniflare_the_runner_can_use_gets_one_call_per_database() {
    // A wrangler package of its own, whose bin starts the real wrangler:
    // node finds no Miniflare from it, so the runner cannot start.
    let p = Project::seed();
    let real = root().join("node_modules/wrangler/bin/wrangler.js");
    let version =
        std::fs::read_to_string(root().join("node_modules/wrangler/package.json")).unwrap();
    p.write("elsewhere/node_modules/wrangler/package.json", version);
    p.write(
        "elsewhere/node_modules/wrangler/bin/wrangler.js",
        format!("#!/bin/sh\nexec node '{}' \"$@\"\n", real.display()),
    );
    let bin = p.path("elsewhere/node_modules/wrangler/bin/wrangler.js");
    make_executable(&bin);
    std::fs::create_dir_all(p.path("elsewhere/node_modules/.bin")).unwrap();
    let link = p.path("elsewhere/node_modules/.bin/wrangler");
    std::os::unix::fs::symlink(&bin, &link).unwrap();
    let run = p
        .migrate_with(
            &["up", "--no-backup"],
            &[("MIGRATE_WRANGLER", link.to_str().unwrap())],
        )
        .ok();
    assert_line(
        &run.stderr,
        &[
            "local writes go through one wrangler call each",
            "miniflare",
        ],
    );
    assert_eq!(p.versions(RR), vec![1, 3, 6], "{}", run.all());
    assert_eq!(p.versions(AUTH), vec![2, 4, 5], "{}", run.all());
}

/// The process groups whose leader runs local D1's runner.
fn runner_groups() -> Vec<i32> {
    let mut groups = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmdline).contains("local_runner.mjs") {
            continue;
        }
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // SAFETY: getpgid(2) only reads.
        let group = unsafe { libc::getpgid(pid) };
        if group == pid {
            groups.push(group);
        }
    }
    groups
}

/// Whether `table` is in the committed schema of the database `file`, as
/// SQLite's own shell sees it read-only (a write in progress is not seen).
fn committed(file: &Path, table: &str) -> bool {
    let sqlite3 = require(xtask::tasks::test::sqlite3());
    let output = std::process::Command::new(sqlite3)
        .arg("-readonly")
        .arg(file)
        .arg(format!(
            "SELECT count(*) FROM sqlite_master WHERE name = '{table}'"
        ))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim() == "1"
}

fn group_alive(group: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    unsafe { libc::kill(-group, 0) == 0 }
}

#[test]
fn ctrl_c_while_the_runner_applies_lets_the_batch_finish_and_leaves_no_process() {
    let p = Project::seed();
    p.migrate(&["up", "--no-backup"]).ok();
    // A migration that keeps local D1 busy for several seconds.
    p.write(
        "migrations/0007_slow.sql",
        "-- database: READ_REPLICA\n\
         CREATE TABLE slow (n INTEGER);\n\
         INSERT INTO slow SELECT count(*) FROM (WITH RECURSIVE c(x) AS \
         (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT x FROM c);\n",
    );
    let before: Vec<i32> = runner_groups();
    let child = p.spawn_migrate(&["up", "--no-backup"], &[]);
    let mut groups = Vec::new();
    wait_until(120, "local D1's runner to start", || {
        groups = runner_groups()
            .into_iter()
            .filter(|g| !before.contains(g))
            .collect();
        !groups.is_empty()
    });
    // Miniflare's start-up, then the batch is in flight: not committed yet.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        !committed(&p.db_file(RR), "slow"),
        "the batch ended before the signal: make the migration slower"
    );
    let group = i32::try_from(child.id()).unwrap();
    // SAFETY: a negative id signals exactly that process group.
    assert_eq!(unsafe { libc::kill(-group, libc::SIGINT) }, 0);
    let run = finish(child);
    let out = run.all();
    assert!(!out.contains("panicked"), "{out}");
    assert_eq!(run.code, 130, "{out}");
    // The batch ran to its end: the migration and its ledger row, no lock.
    assert_eq!(p.versions(RR), vec![1, 3, 6, 7], "{out}");
    let rows = p.query(RR, "SELECT n FROM slow");
    assert_eq!(rows[0]["n"], 30_000_000, "{out}");
    let locks = p.query(RR, "SELECT count(*) AS n FROM _migrations_lock");
    assert_eq!(locks[0]["n"], 0, "{out}");
    for group in groups {
        wait_until(10, "the runner's group to end", || !group_alive(group));
    }
}

#[test]
fn the_runner_writes_where_persist_to_says() {
    let p = Project::seed();
    let state = p.path("elsewhere/state");
    let (path, counter) = counting_node(&p);
    let run = p
        .migrate_with(
            &["up", "--no-backup", "--persist-to", state.to_str().unwrap()],
            &[("PATH", &path)],
        )
        .ok();
    let starts = node_starts(&counter);
    assert_eq!(starts.len(), 1, "{starts:?}\n{}", run.all());
    assert!(starts[0].contains("local_runner.mjs"), "{starts:?}");
    let config = xtask::migrate::Config::load(&p.config_path(), None).unwrap();
    for binding in [RR, AUTH] {
        let db = config.database(binding).unwrap();
        let file = xtask::migrate::local_files::database_file(&state, db);
        assert!(
            file.is_file(),
            "{binding}: {}\n{}",
            file.display(),
            run.all()
        );
    }
    assert!(!p.path(".wrangler/state").exists(), "{}", run.all());
}

#[test]
fn a_remote_dry_run_rehearses_on_local_copies_through_the_runner() {
    let (_double, env_owned) = api_double("writes-rehearsal-token-3d7a");
    let p = Project::seed();
    let (path, counter) = counting_node(&p);
    let mut env = borrowed(&env_owned);
    env.push(("PATH", &path));
    let run = p.migrate_with(&["up", "--dry-run", "--remote"], &env).ok();
    assert!(run.stdout.contains("rehearsal passed"), "{}", run.all());
    // The remote reads are HTTP requests; each database's rehearsal is a
    // local copy, and one runner writes them all (not a wrangler call, nor
    // a node start-up per copy).
    let starts = node_starts(&counter);
    assert_eq!(starts.len(), 1, "node started {starts:?}\n{}", run.all());
    assert!(
        starts.iter().all(|s| s.contains("local_runner.mjs")),
        "{starts:?}"
    );
}

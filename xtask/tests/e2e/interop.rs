//! Projects shaped like real ones (`tests/corpus`: drizzle-kit, Prisma,
//! wrangler-created sets, FTS5, one folder per database), run by our runner
//! and by wrangler's own `d1 migrations apply`: both leave the same schema and
//! rows, and each takes over a database the other migrated (or half
//! migrated) without running anything twice, locally and remotely.

use crate::common::*;

use cloudflare_double::{serve, Double, Options};
use serde_json::Value;

/// A corpus entry and its databases (binding, wrangler's ledger table).
struct Entry {
    name: &'static str,
    databases: &'static [(&'static str, &'static str)],
}

const DRIZZLE: Entry = Entry {
    name: "drizzle",
    databases: &[("DB", "d1_migrations")],
};
const PRISMA: Entry = Entry {
    name: "prisma",
    databases: &[("DB", "d1_migrations")],
};
const WRANGLER_CREATED: Entry = Entry {
    name: "wrangler-created",
    databases: &[("DB", "d1_migrations")],
};
const PER_DATABASE: Entry = Entry {
    name: "per-database",
    databases: &[("USERS", "d1_migrations"), ("EVENTS", "schema_history")],
};

/// The entries `wrangler d1 export` can export (FTS5 has its own tests).
const EXPORTABLE: [&Entry; 4] = [&DRIZZLE, &PRISMA, &WRANGLER_CREATED, &PER_DATABASE];

/// `wrangler d1 migrations apply BINDING --local` (or with `env`, remotely):
/// wrangler's own runner. Returns what it printed.
fn wrangler_apply(p: &Project, binding: &str, env: &[(&str, String)]) -> String {
    let target = if env.is_empty() {
        "--local"
    } else {
        "--remote"
    };
    p.wrangler_with(&["d1", "migrations", "apply", binding, target], env)
}

/// A time or a Unix timestamp written by a column default (`datetime('now')`,
/// `unixepoch()`, `CURRENT_TIMESTAMP`): the one thing two runs may not share.
fn is_clock_value(token: &str) -> bool {
    let bytes = token.as_bytes();
    let epoch = bytes.len() == 10
        && bytes.iter().all(u8::is_ascii_digit)
        && (token.starts_with("17") || token.starts_with("18"));
    let datetime = bytes.len() >= 19
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && (bytes[10] == b' ' || bytes[10] == b'T')
        && bytes[13] == b':'
        && bytes[16] == b':'
        && bytes[..4].iter().all(u8::is_ascii_digit);
    epoch || datetime
}

/// An export's app content, statement by statement: the tracking tables'
/// statements left out, `CREATE` statements without their comments and
/// layout (the two splitters treat comments inside a statement differently),
/// and clock values masked.
fn app_content(export: &str, ledger: &str) -> String {
    let tracking = ["_migrations", "sqlite_sequence", ledger];
    xtask::migrate::sql::split(export)
        .unwrap()
        .into_iter()
        .map(|statement| statement.sql)
        .filter(|sql| !tracking.iter().any(|t| sql.contains(t)))
        .map(|sql| {
            if sql.starts_with("CREATE ") {
                return xtask::migrate::sql::canonical(&sql);
            }
            // wrangler 4.1xx's local export names the columns of each INSERT;
            // older ones (and the API double's) do not.
            let sql = match sql.split_once(" VALUES(") {
                Some((head, rest)) if head.starts_with("INSERT INTO ") && head.ends_with(')') => {
                    let table = head.rsplit_once(" (").map_or(head, |(table, _)| table);
                    format!("{table} VALUES({rest}")
                }
                _ => sql,
            };
            let mut out = String::new();
            for (index, part) in sql.split('\'').enumerate() {
                if index > 0 {
                    out.push('\'');
                }
                let masked: Vec<&str> = part
                    .split(',')
                    .map(
                        |cell| match is_clock_value(cell.trim_matches(['(', ')', ';'])) {
                            true => "<clock>",
                            false => cell,
                        },
                    )
                    .collect();
                out.push_str(&masked.join(","));
            }
            out
        })
        .collect::<Vec<_>>()
        .join(";\n")
}

/// The names wrangler's ledger records, in its order.
fn ledger_names(p: &Project, binding: &str, ledger: &str) -> Vec<String> {
    p.query(
        binding,
        &format!("SELECT name FROM \"{ledger}\" ORDER BY id"),
    )
    .iter()
    .map(|row| row["name"].as_str().unwrap().to_owned())
    .collect()
}

/// Every migration of every database with its state, from `status --json`.
fn states(run: &Run) -> Vec<(String, u64, String)> {
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|err| panic!("{err}: {}", run.all()));
    report["databases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|db| {
            let binding = db["binding"].as_str().unwrap().to_owned();
            db["migrations"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |m| {
                    (
                        binding.clone(),
                        m["version"].as_u64().unwrap(),
                        m["state"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn assert_all_applied(run: &Run) {
    let states = states(run);
    assert!(!states.is_empty(), "{}", run.all());
    assert!(
        states.iter().all(|(_, _, state)| state == "applied"),
        "{states:?}"
    );
}

/// The `.sql` files of a migrations folder, sorted.
fn migration_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

/// The folder each database of `entry` keeps its migrations in.
fn folders(entry: &Entry, p: &Project) -> Vec<std::path::PathBuf> {
    match entry.name {
        "drizzle" => vec![p.path("drizzle")],
        "per-database" => vec![p.path("migrations/users"), p.path("migrations/events")],
        _ => vec![p.path("migrations")],
    }
}

#[test]
fn ours_and_wranglers_own_apply_leave_the_same_databases() {
    for entry in EXPORTABLE {
        let (theirs, ours) = (Project::corpus(entry.name), Project::corpus(entry.name));
        for (binding, _) in entry.databases {
            wrangler_apply(&theirs, binding, &[]);
        }
        let run = ours.migrate(&["up"]).ok();
        for (binding, ledger) in entry.databases {
            assert_eq!(
                app_content(&ours.export(binding), ledger),
                app_content(&theirs.export(binding), ledger),
                "{}: {binding} differs\n{}",
                entry.name,
                run.all()
            );
            assert_eq!(
                ledger_names(&ours, binding, ledger),
                ledger_names(&theirs, binding, ledger),
                "{}: wrangler's ledger {ledger} of {binding}",
                entry.name
            );
        }
        assert_all_applied(&ours.migrate(&["status", "--json"]).ok());
    }
}

#[test]
fn ours_takes_over_what_wranglers_apply_migrated_and_runs_nothing_again() {
    for entry in EXPORTABLE {
        let p = Project::corpus(entry.name);
        for (binding, _) in entry.databases {
            wrangler_apply(&p, binding, &[]);
        }
        let before: Vec<String> = entry
            .databases
            .iter()
            .map(|(binding, ledger)| app_content(&p.export(binding), ledger))
            .collect();
        let status = p.migrate(&["status", "--json"]).ok();
        assert_all_applied(&status);
        assert!(
            status.stdout.contains("\"recorded_by\":\"wrangler\""),
            "{}",
            status.stdout
        );

        let run = p.migrate(&["up"]).ok();
        assert!(run.stdout.contains("recorded"), "{}", run.all());
        assert!(
            !run.stdout.contains("migration to apply")
                && !run.stdout.contains("migrations to apply"),
            "{}",
            run.all()
        );
        for ((binding, ledger), before) in entry.databases.iter().zip(&before) {
            assert_eq!(
                &app_content(&p.export(binding), ledger),
                before,
                "{}: `up` changed {binding}",
                entry.name
            );
            // Both ledgers now record every migration, ours with checksums.
            let rows = p.query(
                binding,
                "SELECT count(*) AS n, count(checksum) AS sums FROM _migrations",
            );
            let files: usize = folders(entry, &p)
                .iter()
                .filter(|dir| {
                    entry.databases.len() == 1
                        || dir.to_string_lossy().contains(&binding.to_lowercase())
                })
                .map(|dir| migration_files(dir).len())
                .sum();
            assert_eq!(rows[0]["n"], files, "{}: {binding}: {rows:?}", entry.name);
            assert_eq!(
                rows[0]["sums"], files,
                "{}: {binding}: {rows:?}",
                entry.name
            );
        }
        let again = p.migrate(&["up"]).ok();
        assert!(again.stdout.contains("nothing to apply"), "{}", again.all());
    }
}

#[test]
fn wranglers_apply_finds_nothing_to_do_after_ours() {
    for entry in EXPORTABLE {
        let p = Project::corpus(entry.name);
        p.migrate(&["up"]).ok();
        for (binding, _) in entry.databases {
            let before = p.export(binding);
            let out = wrangler_apply(&p, binding, &[]);
            assert!(
                out.contains("No migrations to apply"),
                "{}: {out}",
                entry.name
            );
            assert_eq!(
                p.export(binding),
                before,
                "{}: wrangler changed {binding}",
                entry.name
            );
        }
    }
}

/// Moves all but the first `keep` migration files of `dir` into `aside`.
fn hold_back(dir: &std::path::Path, aside: &std::path::Path, keep: usize) -> Vec<String> {
    std::fs::create_dir_all(aside).unwrap();
    let held: Vec<String> = migration_files(dir).into_iter().skip(keep).collect();
    for name in &held {
        std::fs::rename(dir.join(name), aside.join(name)).unwrap();
    }
    held
}

fn put_back(dir: &std::path::Path, aside: &std::path::Path, held: &[String]) {
    for name in held {
        std::fs::rename(aside.join(name), dir.join(name)).unwrap();
    }
}

/// Where a test runs its commands: local D1, or a fresh Cloudflare API double.
struct Side {
    double: Option<Double>,
    env: Vec<(&'static str, String)>,
}

impl Side {
    fn new(remote: bool) -> Side {
        match remote {
            true => {
                let (double, env) = cloud();
                Side {
                    double: Some(double),
                    env,
                }
            }
            false => Side {
                double: None,
                env: Vec::new(),
            },
        }
    }

    /// `cargo migrate ARGS` there.
    fn migrate(&self, p: &Project, args: &[&str]) -> Run {
        let mut args = args.to_vec();
        if self.double.is_some() {
            args.push("--remote");
        }
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        p.migrate_with(&args, &env)
    }

    /// wrangler's own `d1 migrations apply` there.
    fn wrangler_apply(&self, p: &Project, binding: &str) -> String {
        wrangler_apply(p, binding, &self.env)
    }

    /// The database as SQLite's shell dumps it (the double's file of it, remotely).
    fn export(&self, p: &Project, binding: &str) -> String {
        match &self.double {
            None => p.export(binding),
            Some(double) => remote_dump(p, double, binding),
        }
    }
}

/// Half by wrangler then the rest by us, and half by us then the rest by
/// wrangler, for one corpus entry (with one database), locally or (`remote`)
/// through a fresh Cloudflare API double for each order.
fn half_by_each(entry: &Entry, remote: bool) {
    let (binding, ledger) = entry.databases[0];
    let reference = Project::corpus(entry.name);
    wrangler_apply(&reference, binding, &[]);
    let want = app_content(&reference.export(binding), ledger);

    // wrangler applies the first two, then we apply the rest.
    let side = Side::new(remote);
    let p = Project::corpus(entry.name);
    let dir = folders(entry, &p).remove(0);
    let total = migration_files(&dir).len();
    let aside = p.path("aside");
    let held = hold_back(&dir, &aside, 2);
    side.wrangler_apply(&p, binding);
    put_back(&dir, &aside, &held);
    let run = side.migrate(&p, &["up"]).ok();
    assert!(
        run.stdout.contains(&format!("{} migration", total - 2)),
        "{}: we run only the rest:\n{}",
        entry.name,
        run.all()
    );
    assert!(run.stdout.contains("recording"), "{}", run.all());
    let out = side.wrangler_apply(&p, binding);
    assert!(
        out.contains("No migrations to apply"),
        "{}: {out}",
        entry.name
    );
    assert_eq!(
        app_content(&side.export(&p, binding), ledger),
        want,
        "{}: wrangler, then us",
        entry.name
    );

    // We apply the first two, then wrangler the rest; then we adopt those.
    let side = Side::new(remote);
    let p = Project::corpus(entry.name);
    let dir = folders(entry, &p).remove(0);
    let files = migration_files(&dir);
    let second = files[1][..4].parse::<u64>().unwrap().to_string();
    side.migrate(&p, &["up", &second]).ok();
    let out = side.wrangler_apply(&p, binding);
    for name in files.iter().skip(2) {
        assert!(
            out.contains(name.as_str()),
            "{}: wrangler runs {name}:\n{out}",
            entry.name
        );
    }
    for name in files.iter().take(2) {
        assert!(
            !out.contains(name.as_str()),
            "{}: wrangler ran {name} again:\n{out}",
            entry.name
        );
    }
    assert_all_applied(&side.migrate(&p, &["status", "--json"]).ok());
    let before = side.export(&p, binding);
    let run = side.migrate(&p, &["up"]).ok();
    assert!(run.stdout.contains("recorded"), "{}", run.all());
    assert_eq!(
        app_content(&side.export(&p, binding), ledger),
        app_content(&before, ledger)
    );
    assert_eq!(
        app_content(&before, ledger),
        want,
        "{}: us, then wrangler",
        entry.name
    );
}

#[test]
fn half_by_each_in_both_orders_locally() {
    half_by_each(&PRISMA, false);
    half_by_each(&DRIZZLE, false);
}

const TOKEN: &str = "interop-test-token-5e2d9a";
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

fn cloud() -> (Double, Vec<(&'static str, String)>) {
    let double = serve(Options {
        quiet: true,
        ..Options::new(TOKEN)
    })
    .expect("the double starts");
    let env = vec![
        ("CLOUDFLARE_API_BASE_URL", double.api_base_url()),
        ("CLOUDFLARE_API_TOKEN", TOKEN.to_owned()),
        ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT.to_owned()),
        ("WRANGLER_HIDE_BANNER", "true".to_owned()),
    ];
    (double, env)
}

#[test]
fn half_by_each_in_both_orders_remotely() {
    half_by_each(&PRISMA, true);
}

#[test]
fn each_takes_over_from_the_other_remotely() {
    let (_double, env) = cloud();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let entry = &PER_DATABASE;
    let p = Project::corpus(entry.name);
    // wrangler migrates USERS, we migrate EVENTS (ledger `schema_history`).
    wrangler_apply(&p, "USERS", &env);
    p.migrate_with(&["up", "--db", "EVENTS", "--remote"], &env_refs)
        .ok();
    let status = p
        .migrate_with(&["status", "--json", "--remote"], &env_refs)
        .ok();
    assert_all_applied(&status);
    let run = p.migrate_with(&["up", "--remote"], &env_refs).ok();
    assert!(
        run.stdout.contains("USERS: recorded v1, v2"),
        "{}",
        run.all()
    );
    let out = wrangler_apply(&p, "EVENTS", &env);
    assert!(out.contains("No migrations to apply"), "{out}");
    let out = wrangler_apply(&p, "USERS", &env);
    assert!(out.contains("No migrations to apply"), "{out}");
}

// ---------------------------------------------------------------------------
// FTS5: virtual tables and their shadow tables

const SEARCH: &str = "SEARCH";

/// The rowids `MATCH term` finds, through the real wrangler.
fn matches(p: &Project, term: &str, env: &[(&str, String)]) -> Vec<u64> {
    let sql = format!("SELECT rowid FROM notes_fts WHERE notes_fts MATCH '{term}' ORDER BY rowid");
    let target = if env.is_empty() {
        "--local"
    } else {
        "--remote"
    };
    let out = p.wrangler_with(
        &["d1", "execute", SEARCH, target, "--json", "--command", &sql],
        env,
    );
    let start = out.find('[').unwrap_or(0);
    let results: Value =
        serde_json::from_str(&out[start..]).unwrap_or_else(|e| panic!("{e}: {out}"));
    results[0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["rowid"].as_u64().unwrap())
        .collect()
}

/// Every note, as (id, title, body).
fn notes(p: &Project) -> Vec<(u64, String, String)> {
    p.query(SEARCH, "SELECT id, title, body FROM notes ORDER BY id")
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["title"].as_str().unwrap().to_owned(),
                r["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_fts5_database_is_rehearsed_backed_up_located_and_restored_exactly() {
    let p = Project::corpus("fts5");
    p.migrate(&["up", "1"]).ok();
    // A rehearsal rebuilds the schema with its virtual table (whose shadow
    // tables it makes itself) and runs the rest on it.
    let dry = p.migrate(&["up", "--dry-run"]).ok();
    assert!(dry.stdout.contains("rehearsal passed"), "{}", dry.all());
    assert!(notes(&p).is_empty());

    // `up` backs up first: SQLite's online backup, FTS index included.
    let run = p.migrate(&["up"]).ok();
    assert!(run.stdout.contains("backup: "), "{}", run.all());
    assert_eq!(matches(&p, "basil", &[]), [1, 4]);
    assert_eq!(matches(&p, "lighthouse*", &[]), [3, 5]);
    assert!(matches(&p, "sourdough", &[]).is_empty());
    let reference = Project::corpus("fts5");
    wrangler_apply(&reference, SEARCH, &[]);
    assert_eq!(
        notes(&p),
        notes(&reference),
        "ours and wrangler's apply agree"
    );
    assert_eq!(matches(&reference, "basil", &[]), [1, 4]);
    p.migrate(&["verify"]).ok();

    // A failing migration on it is located by replaying on copies of the schema.
    p.write(
        "migrations/0004_archive.sql",
        "CREATE TABLE archive (id INTEGER PRIMARY KEY);\nINSERT INTO archive SELECT id FROM notes;\nUPDATE notes SET no_such_column = 1;\n",
    );
    let bad = p.migrate(&["up"]).fails();
    assert_line(&bad.stdout, &["0004_archive.sql:3", "no_such_column"]);
    assert!(!p.tables(SEARCH).contains(&"archive".to_owned()));
    p.remove("migrations/0004_archive.sql");

    // Backed up now, then emptied: the restore gives back rows and index.
    let backup = p.migrate(&["backup"]).ok();
    let file = backup
        .stdout
        .split_whitespace()
        .find(|w| w.ends_with(".sqlite"))
        .unwrap_or_else(|| panic!("no backup file named:\n{}", backup.all()))
        .to_owned();
    p.query(SEARCH, "DELETE FROM note_tags; DELETE FROM notes");
    assert!(matches(&p, "basil", &[]).is_empty());
    p.migrate(&["restore", &file, "--db", SEARCH, "--yes"]).ok();
    assert_eq!(notes(&p), notes(&reference));
    assert_eq!(matches(&p, "basil", &[]), [1, 4]);
    assert_eq!(matches(&p, "rye", &[]), [1]);
    let tags = p.query(SEARCH, "SELECT count(*) AS n FROM note_tags");
    assert_eq!(tags[0]["n"], 4);
    assert_all_applied(&p.migrate(&["status", "--json"]).ok());
}

#[test]
fn a_remote_fts5_database_is_backed_up_by_its_bookmark_and_restored_by_it() {
    let (_double, env) = cloud();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = Project::corpus("fts5");
    p.migrate_with(&["up", "--remote"], &env_refs).ok();
    assert_eq!(matches(&p, "basil", &env), [1, 4]);
    // Asked for an export, which `wrangler d1 export` refuses for it: the
    // backup is the bookmark alone, as by default.
    p.write(
        "migrations/0004_forget.sql",
        "DELETE FROM note_tags;\nDELETE FROM notes;\n",
    );
    let run = p
        .migrate_with(&["up", "--remote", "--backup", "export"], &env_refs)
        .ok();
    assert!(run.stderr.contains("virtual tables"), "{}", run.all());
    assert_line(
        &run.stdout,
        &["backup: ", ".bookmark", "Time Travel bookmark"],
    );
    assert!(matches(&p, "basil", &env).is_empty());
    let bookmark_file = std::fs::read_dir(p.path("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| path.to_string_lossy().contains("-v3.bookmark"))
        .unwrap_or_else(|| panic!("no bookmark of v3:\n{}", run.all()));
    p.migrate_with(
        &[
            "restore",
            bookmark_file.to_str().unwrap(),
            "--db",
            SEARCH,
            "--yes",
            "--remote",
        ],
        &env_refs,
    )
    .ok();
    assert_eq!(matches(&p, "basil", &env), [1, 4]);
    assert_eq!(matches(&p, "lighthouse*", &env), [3, 5]);
}

// ---------------------------------------------------------------------------
// The lint on generated folders, and a file only the newer splitter reads right

/// What `check` says of each corpus folder: no error, and exactly the
/// warnings each folder earns, each where it belongs (the file and line of
/// a `PRAGMA foreign_keys`, one line per folder naming every migration
/// without a rollback). `--guards` adds warnings, never removes one.
#[test]
fn the_lint_on_each_corpus_folder_is_short() {
    const PRAGMA: &str = "`PRAGMA foreign_keys` is ignored inside D1's transaction";
    const NO_ROLLBACK: &str = "have no rollback file";
    let mut report = Vec::new();
    for (name, expected) in [
        (
            "drizzle",
            &[
                ("0002_brave_karma.sql:1: warning: ", PRAGMA),
                ("0002_brave_karma.sql:15: warning: ", PRAGMA),
                ("drizzle: warning: 4 migrations ", NO_ROLLBACK),
            ][..],
        ),
        (
            "prisma",
            &[
                ("0004_post-published-default.sql:4: warning: ", PRAGMA),
                ("0004_post-published-default.sql:19: warning: ", PRAGMA),
                ("migrations: warning: 4 migrations ", NO_ROLLBACK),
            ][..],
        ),
        (
            "wrangler-created",
            &[("migrations: warning: 4 migrations ", NO_ROLLBACK)][..],
        ),
        (
            "fts5",
            &[("migrations: warning: 4 migrations ", NO_ROLLBACK)][..],
        ),
        // Missing rollbacks are one line for each folder, and it has two.
        (
            "per-database",
            &[
                ("migrations/events: warning: 3 migrations ", NO_ROLLBACK),
                ("migrations/users: warning: 2 migrations ", NO_ROLLBACK),
            ][..],
        ),
        (
            "drizzle-folders",
            &[("drizzle: warning: 3 migrations ", NO_ROLLBACK)][..],
        ),
        (
            "prisma-folders",
            &[("prisma/migrations: warning: 2 migrations ", NO_ROLLBACK)][..],
        ),
    ] {
        let p = Project::corpus(name);
        let run = p.migrate(&["check"]).ok();
        let warnings: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.contains(": warning: "))
            .collect();
        let errors = run.stdout.matches(": error: ").count();
        let opt_in = p.migrate(&["check", "--guards"]).ok();
        let with_guards = opt_in.stdout.matches(": warning: ").count();
        report.push(format!(
            "{name}: {errors} errors, {} warnings ({with_guards} with --guards)",
            warnings.len()
        ));
        assert_eq!(errors, 0, "{}", run.stdout);
        assert_eq!(warnings.len(), expected.len(), "{name}:\n{}", run.stdout);
        for (place, what) in expected {
            assert!(
                warnings
                    .iter()
                    .any(|w| w.contains(place) && w.contains(what)),
                "{name}: no warning {place:?} … {what:?}:\n{}",
                run.stdout
            );
        }
        assert!(with_guards >= warnings.len(), "{}", opt_in.stdout);
        for warning in &warnings {
            assert!(opt_in.stdout.contains(warning), "--guards lost {warning:?}");
        }
    }
    eprintln!(
        "lint warnings per corpus folder:\n  {}",
        report.join("\n  ")
    );
}

#[test]
fn a_lower_case_end_is_applied_as_sqlite_reads_it() {
    let p = Project::seed();
    let sql = "-- database: READ_REPLICA\n\
               create table if not exists audit (id integer primary key, task_id text);\n\
               create trigger if not exists tasks_audit after insert on tasks begin\n  \
                 insert into audit (task_id) values (case when new.id is null then 'none' else new.id end);\n\
               end;\n\
               create table if not exists after_the_trigger (id text primary key);\n";
    p.write("migrations/0007_audit.sql", sql);
    p.write(
        "migrations/0007_audit.rollback.sql",
        "DROP TABLE IF EXISTS after_the_trigger;\nDROP TRIGGER IF EXISTS tasks_audit;\nDROP TABLE IF EXISTS audit;\n",
    );
    let check = p.migrate(&["check"]).ok();
    assert!(check.stdout.contains("0 errors"), "{}", check.stdout);
    p.migrate(&["up", "--dry-run"]).ok();
    p.migrate(&["up"]).ok();
    let tables = p.tables("READ_REPLICA");
    for table in ["audit", "after_the_trigger"] {
        assert!(tables.contains(&table.to_owned()), "{table}: {tables:?}");
    }
    p.query(
        "READ_REPLICA",
        "INSERT INTO tasks (id, title, status, created_at) VALUES ('t1', 'x', 'todo', 1)",
    );
    let audit = p.query("READ_REPLICA", "SELECT task_id FROM audit");
    assert_eq!(audit.len(), 1, "the trigger fired once: {audit:?}");
    p.migrate(&["verify"]).ok();
    p.migrate(&["down", "6"]).ok();
    p.migrate(&["up"]).ok();
}

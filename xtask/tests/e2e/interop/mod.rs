//! Projects shaped like real ones (`tests/corpus`: drizzle-kit, Prisma,
//! wrangler-created sets, FTS5, one folder per database), run by our runner
//! and by wrangler's own `d1 migrations apply`: both leave the same schema and
//! rows, and each takes over a database the other migrated (or half
//! migrated) without running anything twice, locally and remotely.

use crate::common::*;

use cloudflare_double::{serve, Double, Options};
use serde_json::Value;

mod both_ways;
mod fts5;
mod halves;

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

// ---------------------------------------------------------------------------
// The lint on generated folders, and a file only the newer splitter reads right
// (kept in this file: docs/lint.md runs
// `interop::the_lint_on_each_corpus_folder_is_short` by that path)

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

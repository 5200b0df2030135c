//! Half of a folder migrated by one runner and the rest by the other, in
//! both orders, locally and remotely; and each taking over a database the
//! other migrated, remotely.

use super::*;

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

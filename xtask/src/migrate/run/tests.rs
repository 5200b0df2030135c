//! The run's logic on SQLite files standing in for D1 ([`SqliteD1`]): the
//! session, the acquire loop, the hinted plan and its guard, settling a call
//! whose outcome is unknown, and locating a failure. What only the real
//! wrangler can show (its splitter, miniflare, the API) is in `tests/`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::migrate::backup::RestorePoint;
use crate::migrate::config::Database;
use crate::migrate::d1::{Call, Target};
use crate::migrate::events::{BackupRef, Event, Holds, Recorder};
use crate::migrate::project::Paths;
use crate::migrate::sqlite_d1::{Fault, Kind, SqliteD1};

/// A project in a temp folder: two databases (MAIN, and AUX for files with a
/// `-- database: AUX` header), its migrations, and its SQLite "D1".
struct Fixture {
    dir: tempfile::TempDir,
    target: Target,
    d1: Arc<SqliteD1>,
}

const CONFIG: &str = r#"name = "fixture"
[[d1_databases]]
binding = "MAIN"
database_name = "fixture-main"
database_id = "11111111-1111-4111-8111-111111111111"

[[d1_databases]]
binding = "AUX"
database_name = "fixture-aux"
database_id = "22222222-2222-4222-8222-222222222222"
"#;

impl Fixture {
    fn new(target: Target) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("wrangler.toml"), CONFIG).unwrap();
        std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
        std::fs::write(
            dir.path().join("migrations/migrate.toml"),
            "default = \"MAIN\"\n",
        )
        .unwrap();
        let d1 = Arc::new(SqliteD1::new(dir.path(), target));
        Fixture { dir, target, d1 }
    }

    fn local() -> Fixture {
        Fixture::new(Target::Local)
    }

    /// The same project, its "D1" reading the files for reads without a
    /// call, as local wrangler reads are answered.
    fn reading_files(self) -> Fixture {
        let d1 = Arc::new(SqliteD1::new(self.dir.path(), self.target).reading_files());
        Fixture { d1, ..self }
    }

    /// Writes `migrations/NAME` (and, for `.rollback.sql` names, a rollback).
    fn file(&self, name: &str, sql: &str) -> &Fixture {
        std::fs::write(self.dir.path().join("migrations").join(name), sql).unwrap();
        self
    }

    fn project(&self) -> Project {
        let paths = Paths {
            root: self.dir.path().to_path_buf(),
            ..Paths::default()
        };
        Project::load(&paths, self.target).unwrap()
    }

    fn db(&self, binding: &str) -> Database {
        self.project().config.database(binding).unwrap().clone()
    }

    /// Runs `direction` to `version` with `options`; returns the result and
    /// what it reported.
    fn run(
        &self,
        direction: Direction,
        version: Option<u64>,
        options: &Options,
    ) -> (Result<()>, Vec<Event>) {
        self.run_on(self.d1.clone(), direction, version, options)
    }

    fn run_on(
        &self,
        d1: Arc<SqliteD1>,
        direction: Direction,
        version: Option<u64>,
        options: &Options,
    ) -> (Result<()>, Vec<Event>) {
        let project = self.project();
        let recorder = Recorder::default();
        let result = run(&project, d1, direction, version, options, &recorder);
        (result, recorder.events())
    }

    fn up(&self) -> (Result<()>, Vec<Event>) {
        self.run(Direction::Up, None, &options(self))
    }

    /// The versions `_migrations` records in `binding`.
    fn recorded(&self, binding: &str) -> Vec<i64> {
        self.d1
            .sql(
                &self.db(binding),
                "SELECT version FROM _migrations ORDER BY version",
            )
            .unwrap_or_default()
            .iter()
            .filter_map(|row| row["version"].as_i64())
            .collect()
    }

    fn tables(&self, binding: &str) -> Vec<String> {
        self.d1
            .sql(
                &self.db(binding),
                "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
            )
            .unwrap()
            .iter()
            .filter_map(|row| row["name"].as_str().map(str::to_owned))
            // The app's tables: not the ledgers, the lock or SQLite's own.
            .filter(|name| {
                !name.starts_with('_') && !name.starts_with("sqlite_") && name != "d1_migrations"
            })
            .collect()
    }

    /// Puts a lock row of `owner`, expiring at `expires_at` (ms), in `binding`.
    fn lock_held_by(&self, binding: &str, owner: &str, expires_at: i64) {
        self.d1
            .sql(
                &self.db(binding),
                &format!(
                    "CREATE TABLE IF NOT EXISTS _migrations_lock (id INTEGER PRIMARY KEY CHECK (id = 1), \
                     owner TEXT NOT NULL, acquired_at INTEGER NOT NULL, expires_at INTEGER NOT NULL); \
                     INSERT INTO _migrations_lock VALUES (1, '{owner}', 0, {expires_at})"
                ),
            )
            .unwrap();
    }

    fn lock_rows(&self, binding: &str) -> Vec<String> {
        self.d1
            .sql(&self.db(binding), "SELECT owner FROM _migrations_lock")
            .unwrap_or_default()
            .iter()
            .filter_map(|row| row["owner"].as_str().map(str::to_owned))
            .collect()
    }
}

/// `up`'s defaults, without backups (they have tests of their own), the
/// backup folder `backups/` in `fixture`'s folder.
fn options(fixture: &Fixture) -> Options {
    Options {
        mode: Mode::Apply,
        batching: Batching::PerDatabase,
        backups: Backups::new(&fixture.project().config, None, 3),
        backing: Backing::Skip,
        data_loss: DataLoss::Refuse,
        locking: Locking {
            wait: Duration::ZERO,
            ttl: Duration::from_secs(900),
        },
    }
}

/// [`options`] for a dry run on a copy of the data.
fn dry_run(fixture: &Fixture) -> Options {
    Options {
        mode: Mode::DryRun(Seeding::Data),
        ..options(fixture)
    }
}

fn seeded() -> Fixture {
    let fixture = Fixture::local();
    fixture
        .file(
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
        )
        .file("0001_users.rollback.sql", "DROP TABLE users;\n")
        .file(
            "0002_keys.sql",
            "-- database: AUX\nCREATE TABLE keys (id INTEGER PRIMARY KEY, secret TEXT);\n",
        )
        .file("0002_keys.rollback.sql", "-- database: AUX\nDROP TABLE keys;\n")
        .file(
            "0003_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), body TEXT);\n",
        )
        .file("0003_posts.rollback.sql", "DROP TABLE posts;\n");
    fixture
}

fn failed(events: &[Event], binding: &str) -> Option<(String, Option<FailedAtSummary>, Holds)> {
    events.iter().find_map(|event| match event {
        Event::Failed {
            binding: b,
            error,
            at,
            holds,
            ..
        } if b == binding => Some((
            error.clone(),
            at.as_ref()
                .map(|at| (at.version, at.line, at.statement.clone())),
            holds.clone(),
        )),
        _ => None,
    })
}

type FailedAtSummary = (u64, usize, String);

fn writes(d1: &SqliteD1, binding: &str) -> usize {
    d1.calls()
        .iter()
        .filter(|c| c.binding == binding && c.kind == Kind::File)
        .count()
}

#[test]
fn a_run_applies_each_databases_migrations_in_one_batch_and_reports_every_step() {
    let fixture = seeded();
    let (result, events) = fixture.up();
    result.unwrap();
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
    assert_eq!(fixture.recorded("AUX"), [2]);
    assert_eq!(fixture.tables("MAIN"), ["posts", "users"]);
    // One batch per database, after a locking read of it (none for a local
    // database not created yet: this machine knows it is empty).
    for binding in ["MAIN", "AUX"] {
        let calls: Vec<Kind> = fixture
            .d1
            .calls()
            .iter()
            .filter(|c| c.binding == binding)
            .map(|c| c.kind)
            .collect();
        assert!(
            calls == [Kind::Query(Call::Read), Kind::File] || calls == [Kind::File],
            "{binding}: {calls:?}"
        );
        assert!(
            fixture.lock_rows(binding).is_empty(),
            "{binding} still locked"
        );
    }
    let applied: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::MigrationApplied {
                binding, migration, ..
            } if binding == "MAIN" => Some(migration.version),
            _ => None,
        })
        .collect();
    assert_eq!(applied, [1, 3]);
    for kind in ["Planned", "LockTaken", "Succeeded", "LockReleased"] {
        let count = events
            .iter()
            .filter(|e| format!("{e:?}").starts_with(kind))
            .count();
        assert_eq!(count, 2, "{kind} once per database: {events:#?}");
    }
    assert!(
        matches!(events.last(), Some(Event::Finished { total: 2, failed, .. }) if failed.is_empty())
    );
}

#[test]
fn a_second_run_plans_on_what_this_machine_saw_and_sends_only_its_guarded_batch() {
    let fixture = seeded();
    fixture.up().0.unwrap();
    fixture.file("0004_tags.sql", "CREATE TABLE tags (name TEXT);\n");
    let before = fixture.d1.calls().len();
    let (result, _) = fixture.up();
    result.unwrap();
    let main: Vec<Kind> = fixture.d1.calls()[before..]
        .iter()
        .filter(|c| c.binding == "MAIN")
        .map(|c| c.kind)
        .collect();
    // No read first: the batch itself checks the database is as last seen.
    assert_eq!(main, [Kind::File]);
    assert_eq!(fixture.recorded("MAIN"), [1, 3, 4]);
}

#[test]
fn a_hinted_batch_on_a_database_changed_elsewhere_is_refused_whole_then_read_and_run() {
    let fixture = seeded();
    fixture.up().0.unwrap();
    // What this machine saw, before another machine applies 0004.
    let hints = fixture.dir.path().join(".wrangler/migrate");
    let seen = fixture.dir.path().join("seen");
    copy_dir(&hints, &seen);
    fixture.file("0004_tags.sql", "CREATE TABLE tags (name TEXT);\n");
    fixture.up().0.unwrap();
    std::fs::remove_dir_all(&hints).unwrap();
    copy_dir(&seen, &hints);
    // This machine, planning on what it saw, would run 0004 and 0005.
    fixture.file("0005_notes.sql", "CREATE TABLE notes (body TEXT);\n");
    let (result, events) = fixture.up();
    let failures: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Failed { .. } | Event::Problem { .. }))
        .collect();
    assert!(result.is_ok(), "{failures:#?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::PlanningAgain { binding, .. } if binding == "MAIN")),
        "{events:#?}"
    );
    // The guarded batch was refused whole; after a read only 0005 ran.
    let applied: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::MigrationApplied { migration, .. } => Some(migration.version),
            _ => None,
        })
        .collect();
    assert_eq!(applied, [5]);
    assert_eq!(fixture.recorded("MAIN"), [1, 3, 4, 5]);
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, target).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => files.extend(walk(&path)),
            false => files.push(path),
        }
    }
    files
}

#[test]
fn a_lock_held_by_another_run_stops_the_run_before_anything_is_written() {
    let fixture = seeded();
    fixture.lock_held_by("MAIN", "elsewhere:7 migrate up", 99_999_999_999_999);
    let (result, _) = fixture.up();
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.contains("locked by another migration run") && err.contains("elsewhere:7"),
        "{err}"
    );
    // Nothing was written anywhere: AUX comes after MAIN and gave its lock back.
    assert!(fixture.tables("MAIN").is_empty() && fixture.tables("AUX").is_empty());
    assert_eq!(writes(&fixture.d1, "AUX"), 0);
    assert_eq!(fixture.lock_rows("MAIN"), ["elsewhere:7 migrate up"]);
    assert!(fixture.lock_rows("AUX").is_empty());
}

#[test]
fn an_expired_lock_is_taken_over_and_its_owner_named() {
    let fixture = seeded();
    fixture.lock_held_by("MAIN", "dead:1 migrate up", 1);
    let (result, events) = fixture.up();
    result.unwrap();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::LockTaken { binding, took_over: Some((owner, _)) } if binding == "MAIN" && owner == "dead:1 migrate up"
    )));
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
    assert!(fixture.lock_rows("MAIN").is_empty());
}

#[test]
fn of_two_runs_started_together_each_migration_runs_once_and_the_loser_waits() {
    let fixture = seeded();
    let mut waiting = options(&fixture);
    waiting.locking.wait = Duration::from_secs(30);
    let results: Vec<(Result<()>, Vec<Event>)> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let d1 = Arc::new(SqliteD1::new(fixture.dir.path(), Target::Local));
                let waiting = &waiting;
                let fixture = &fixture;
                scope.spawn(move || fixture.run_on(d1, Direction::Up, None, waiting))
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for (result, events) in &results {
        assert!(result.is_ok(), "{result:?}: {events:#?}");
    }
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
    assert_eq!(fixture.recorded("AUX"), [2]);
    let applied = results
        .iter()
        .flat_map(|(_, events)| events)
        .filter(|e| matches!(e, Event::MigrationApplied { .. }))
        .count();
    assert_eq!(
        applied, 3,
        "each migration applied by exactly one of the runs"
    );
}

#[test]
fn a_call_that_dies_after_committing_is_read_again_and_counted_as_done() {
    let fixture = seeded();
    fixture.d1.inject(
        |seen| seen.binding == "MAIN" && seen.kind == Kind::File,
        Fault::After("wrangler was killed".into()),
    );
    let (result, events) = fixture.up();
    assert!(result.is_err());
    let (error, _, holds) = failed(&events, "MAIN").expect("MAIN reported as failed");
    assert!(error.contains("showed the batch did run"), "{error}");
    assert_eq!(holds, Holds::Kept(vec![1, 3]));
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
    // The lock went back in the batch that ran.
    assert!(fixture.lock_rows("MAIN").is_empty());
    // AUX is independent and ran.
    assert_eq!(fixture.recorded("AUX"), [2]);
}

#[test]
fn a_call_that_dies_before_running_is_read_again_and_counted_as_not_run() {
    let fixture = seeded();
    fixture.d1.inject(
        |seen| seen.binding == "MAIN" && seen.kind == Kind::File,
        Fault::Before("the network went away".into()),
    );
    let (result, events) = fixture.up();
    assert!(result.is_err());
    let (error, _, holds) = failed(&events, "MAIN").unwrap();
    assert!(error.contains("showed the batch did not run"), "{error}");
    assert_eq!(holds, Holds::Untouched);
    assert!(fixture.recorded("MAIN").is_empty() && fixture.tables("MAIN").is_empty());
    // Its lock was given back in a call of its own.
    assert!(fixture.lock_rows("MAIN").is_empty());
}

#[test]
fn when_the_read_after_a_dead_call_fails_too_what_the_database_holds_is_unknown() {
    let fixture = seeded();
    fixture.d1.inject(
        |seen| seen.binding == "MAIN" && seen.kind == Kind::File,
        Fault::Before("the network went away".into()),
    );
    fixture.d1.inject(
        |seen| seen.binding == "MAIN" && seen.kind == Kind::Query(Call::Cleanup),
        Fault::Before("still no network".into()),
    );
    let (_, events) = fixture.up();
    let (error, _, holds) = failed(&events, "MAIN").unwrap();
    assert_eq!(holds, Holds::Unknown);
    assert!(error.contains("afterwards failed too"), "{error}");
}

#[test]
fn a_failing_statement_is_named_by_file_line_and_text_and_nothing_is_kept() {
    let fixture = seeded();
    fixture.file(
        "0004_broken.sql",
        "CREATE TABLE tags (name TEXT);\n\nINSERT INTO missing (x) VALUES (1);\n",
    );
    let (result, events) = fixture.up();
    assert!(result.is_err());
    let (error, at, holds) = failed(&events, "MAIN").unwrap();
    let (version, line, statement) = at.expect("the failing statement was located");
    assert_eq!((version, line), (4, 3), "{error}");
    assert!(statement.contains("INSERT INTO missing"), "{statement}");
    assert!(
        error.contains("0004_broken.sql:3") && error.contains("no such table: missing"),
        "{error}"
    );
    // All or nothing: not even 0001 and 0003, which came before it in the batch.
    assert_eq!(holds, Holds::Untouched);
    assert!(fixture.tables("MAIN").is_empty());
}

#[test]
fn one_call_per_migration_keeps_those_before_a_failure() {
    let fixture = seeded();
    fixture.file("0004_broken.sql", "INSERT INTO missing (x) VALUES (1);\n");
    let mut step = options(&fixture);
    step.batching = Batching::PerMigration;
    let (result, events) = fixture.run(Direction::Up, None, &step);
    assert!(result.is_err());
    let (_, at, holds) = failed(&events, "MAIN").unwrap();
    assert_eq!(holds, Holds::Kept(vec![1, 3]));
    assert_eq!(at.map(|a| a.0), Some(4));
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
}

#[test]
fn down_rolls_back_newest_first_and_forgets_them() {
    let fixture = seeded();
    fixture.up().0.unwrap();
    let (result, events) = fixture.run(Direction::Down, Some(1), &options(&fixture));
    result.unwrap();
    assert_eq!(fixture.recorded("MAIN"), [1]);
    assert_eq!(fixture.recorded("AUX"), Vec::<i64>::new());
    assert_eq!(fixture.tables("MAIN"), ["users"]);
    assert!(events.iter().any(
        |e| matches!(e, Event::Succeeded { binding, direction: Direction::Down, done, .. } if binding == "MAIN" && done.len() == 1)
    ));
}

#[test]
fn a_dry_run_rehearses_on_a_copy_of_the_data_and_writes_nothing() {
    let fixture = seeded();
    fixture.up().0.unwrap();
    let main = fixture.db("MAIN");
    fixture
        .d1
        .sql(
            &main,
            "INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b')",
        )
        .unwrap();
    fixture.file(
        "0004_names.sql",
        "ALTER TABLE users ADD COLUMN nickname TEXT;\nUPDATE users SET nickname = name;\n",
    );
    let dry = dry_run(&fixture);
    let (result, events) = fixture.run(Direction::Up, None, &dry);
    result.unwrap();
    let (on, report) = rehearsed_on(&events);
    assert!(on.starts_with("a copy of its data ("), "{on}");
    assert!(
        report.iter().any(|line| line == "users 2 → 2"),
        "{report:?}"
    );
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
    let columns = fixture
        .d1
        .sql(&main, "SELECT * FROM users LIMIT 1")
        .unwrap();
    assert!(!columns[0].contains_key("nickname"));
    assert_eq!(writes(&fixture.d1, "MAIN"), 1, "only the first run wrote");
}

/// Parents and their children (ON DELETE CASCADE), one of each, applied;
/// then a pending migration that rebuilds the parents' table.
fn family_with_a_rebuild() -> (Fixture, Database) {
    let fixture = Fixture::local();
    fixture.file(
        "0001_parents.sql",
        "CREATE TABLE parents (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) ON DELETE CASCADE);\n",
    );
    fixture.up().0.unwrap();
    let main = fixture.db("MAIN");
    fixture
        .d1
        .sql(
            &main,
            "INSERT INTO parents VALUES (1); INSERT INTO children VALUES (10, 1)",
        )
        .unwrap();
    fixture.file(
        "0002_rebuild.sql",
        "CREATE TABLE parents_new (id INTEGER PRIMARY KEY, label TEXT);\n\
         INSERT INTO parents_new (id) SELECT id FROM parents;\n\
         DROP TABLE parents;\n\
         ALTER TABLE parents_new RENAME TO parents;\n",
    );
    (fixture, main)
}

#[test]
fn a_rebuild_that_would_cascade_into_child_rows_is_refused_by_the_batch_itself() {
    let (fixture, main) = family_with_a_rebuild();
    let (result, events) = fixture.up();
    assert!(result.is_err());
    let (error, _, holds) = failed(&events, "MAIN").unwrap();
    assert!(error.contains("children"), "{error}");
    assert_eq!(holds, Holds::Untouched);
    let children = fixture
        .d1
        .sql(&main, "SELECT count(*) AS n FROM children")
        .unwrap();
    assert_eq!(children[0]["n"], Value::from(1));
    assert_eq!(fixture.recorded("MAIN"), [1]);
}

/// The backups a run reported, and the kinds of call MAIN got.
fn backed_up(fixture: &Fixture, events: &[Event]) -> (Vec<BackupRef>, Vec<Kind>) {
    let written = events
        .iter()
        .filter_map(|e| match e {
            Event::BackupWritten { backup, .. } => Some(backup.clone()),
            _ => None,
        })
        .collect();
    let kinds = fixture
        .d1
        .calls()
        .iter()
        .filter(|c| c.binding == "MAIN")
        .map(|c| c.kind)
        .collect();
    (written, kinds)
}

#[test]
fn a_remote_run_backs_up_each_changed_database_by_its_bookmark_alone_by_default() {
    let fixture = Fixture::new(Target::Remote);
    fixture.file(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    );
    let mut backed = options(&fixture);
    backed.backing = Backing::Up(Policy::default());
    let (result, events) = fixture.run(Direction::Up, None, &backed);
    result.unwrap();
    let (written, kinds) = backed_up(&fixture, &events);
    // MAIN changes; AUX has nothing to do and is not backed up.
    assert_eq!(written.len(), 1, "{events:#?}");
    let backup = &written[0];
    assert!(backup.path.starts_with(&backed.backups.dir));
    assert!(backup.path.extension().is_some_and(|e| e == "bookmark"));
    assert!(backup.bookmark.is_some() && backup.exported_ms.is_none());
    assert!(kinds.contains(&Kind::Bookmark), "{kinds:?}");
    assert!(
        !kinds.contains(&Kind::Export),
        "exported unasked: {kinds:?}"
    );
    // The bookmark file names the database and the version it was at.
    let (bookmark, manifest) =
        crate::migrate::backup::manifest::read_bookmark(&backup.path).unwrap();
    assert_eq!(Some(bookmark), backup.bookmark);
    let manifest = manifest.unwrap();
    assert_eq!((manifest.binding.as_str(), manifest.version), ("MAIN", 0));
    assert_eq!(fixture.recorded("MAIN"), [1]);
}

#[test]
fn a_remote_run_exports_the_databases_it_is_told_to_and_times_each_export() {
    let fixture = Fixture::new(Target::Remote);
    fixture
        .file("0001_users.sql", "CREATE TABLE users (id INTEGER);\n")
        .file(
            "0002_keys.sql",
            "-- database: AUX\nCREATE TABLE keys (id INTEGER);\n",
        );
    let mut backed = options(&fixture);
    // migrate.toml's `[backup] export = ["MAIN"]`: MAIN exported, AUX bookmarked.
    backed.backing = Backing::Up(Policy {
        all: None,
        exported: vec!["MAIN".into()],
    });
    let (result, events) = fixture.run(Direction::Up, None, &backed);
    result.unwrap();
    let (written, kinds) = backed_up(&fixture, &events);
    let by_extension = |ext: &str| {
        written
            .iter()
            .filter(|b| b.path.extension().is_some_and(|e| e == ext))
            .count()
    };
    assert_eq!(
        (by_extension("sql"), by_extension("bookmark")),
        (1, 1),
        "{written:#?}"
    );
    let export = written
        .iter()
        .find(|b| b.path.extension().is_some_and(|e| e == "sql"))
        .unwrap();
    assert!(export.path.to_string_lossy().contains("MAIN-"));
    assert!(export.exported_ms.is_some() && export.bookmark.is_some());
    assert!(
        kinds.contains(&Kind::Export) && kinds.contains(&Kind::Bookmark),
        "{kinds:?}"
    );

    // `--backup bookmark` on the command line wins over migrate.toml.
    fixture.file("0003_posts.sql", "CREATE TABLE posts (id INTEGER);\n");
    let before = fixture.d1.calls().len();
    backed.backing = Backing::Up(Policy {
        all: Some(RestorePoint::Bookmark),
        exported: vec!["MAIN".into()],
    });
    let (result, _) = fixture.run(Direction::Up, None, &backed);
    result.unwrap();
    let exports = fixture.d1.calls()[before..]
        .iter()
        .filter(|c| c.kind == Kind::Export)
        .count();
    assert_eq!(exports, 0);
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
}

/// What a dry run's rehearsal of MAIN says it ran on, and its report.
fn rehearsed_on(events: &[Event]) -> (String, Vec<String>) {
    events
        .iter()
        .find_map(|e| match e {
            Event::Rehearsal {
                binding,
                rehearsed: crate::migrate::events::Rehearsed::Passed { on, report },
            } if binding == "MAIN" => Some((on.clone(), report.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("MAIN did not pass its rehearsal: {events:#?}"))
}

#[test]
fn a_remote_dry_run_rehearses_on_an_export_it_has_or_the_schema_and_exports_only_when_asked() {
    let fixture = Fixture::new(Target::Remote);
    fixture.file(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER, name TEXT);\n",
    );
    fixture.up().0.unwrap();
    let main = fixture.db("MAIN");
    fixture
        .d1
        .sql(&main, "INSERT INTO users VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    fixture.file(
        "0002_names.sql",
        "CREATE INDEX users_name ON users (name);\n",
    );
    let mut dry = dry_run(&fixture);
    let exports = || {
        fixture
            .d1
            .calls()
            .iter()
            .filter(|c| c.kind == Kind::Export)
            .count()
    };

    // No export in the folder: the schema alone, and no export taken.
    let (result, events) = fixture.run(Direction::Up, None, &dry);
    result.unwrap();
    let (on, _) = rehearsed_on(&events);
    assert!(
        on.starts_with("its schema alone: ") && on.contains("has no export of MAIN (`--with-data`"),
        "{on}"
    );
    assert_eq!(exports(), 0);

    // An export at MAIN's version: rehearsed on its data, saying how old it is.
    dry.backups
        .take(fixture.d1.as_ref(), &main, None, None, RestorePoint::Export)
        .unwrap();
    assert_eq!(exports(), 1);
    let (result, events) = fixture.run(Direction::Up, None, &dry);
    result.unwrap();
    let (on, report) = rehearsed_on(&events);
    assert!(
        on.starts_with("MAIN's export of ") && on.contains(" UTC (") && on.contains(" s old; "),
        "{on}"
    );
    assert!(
        report.iter().any(|line| line == "users 2 → 2"),
        "{report:?}"
    );
    assert_eq!(exports(), 1, "the dry run exported");

    // --with-data: a fresh export, timed.
    dry.mode = Mode::DryRun(Seeding::FreshExport);
    let (result, events) = fixture.run(Direction::Up, None, &dry);
    result.unwrap();
    let (on, report) = rehearsed_on(&events);
    assert!(
        on.starts_with("a fresh export of its data (exported in "),
        "{on}"
    );
    assert!(
        report.iter().any(|line| line == "users 2 → 2"),
        "{report:?}"
    );
    assert_eq!(
        exports(),
        2,
        "AUX, whose ledger alone changes, was exported"
    );

    // MAIN moved on since the export: the schema alone, saying why.
    fixture.up().0.unwrap();
    fixture.file("0003_more.sql", "CREATE INDEX users_id ON users (id);\n");
    dry.mode = Mode::DryRun(Seeding::Data);
    let (result, events) = fixture.run(Direction::Up, None, &dry);
    result.unwrap();
    let (on, _) = rehearsed_on(&events);
    assert!(
        on.starts_with("its schema alone: MAIN's newest export in ")
            && on.contains("is at v1, and MAIN is at v2 now"),
        "{on}"
    );
    assert_eq!(exports(), 2);
}

#[test]
fn a_hinted_run_meeting_a_lock_taken_since_writes_nothing_and_names_the_holder() {
    let fixture = seeded();
    fixture.up().0.unwrap();
    fixture.lock_held_by("MAIN", "elsewhere:9 migrate up", 99_999_999_999_999);
    fixture.file("0004_tags.sql", "CREATE TABLE tags (name TEXT);\n");
    let (result, events) = fixture.up();
    assert!(result.is_err());
    // Its guarded batch was refused; the careful second look names the holder.
    let problem = events.iter().find_map(|e| match e {
        Event::Problem { binding, error } if binding == "MAIN" => Some(error.clone()),
        _ => None,
    });
    assert!(
        problem
            .as_deref()
            .is_some_and(|p| p.contains("elsewhere:9")),
        "{events:#?}"
    );
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
    assert_eq!(fixture.lock_rows("MAIN"), ["elsewhere:9 migrate up"]);
}

#[test]
fn a_database_this_machine_thinks_done_is_read_to_confirm_it() {
    let fixture = seeded();
    fixture.up().0.unwrap();
    let before = fixture.d1.calls().len();
    // Down to 2: MAIN rolls 3 back; AUX (at 2) has nothing to do, as far as
    // this machine knows.
    let (result, events) = fixture.run(Direction::Down, Some(2), &options(&fixture));
    result.unwrap();
    let aux: Vec<Kind> = fixture.d1.calls()[before..]
        .iter()
        .filter(|c| c.binding == "AUX")
        .map(|c| c.kind)
        .collect();
    assert_eq!(aux, [Kind::Query(Call::Read)], "read, never written");
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::NothingToDo { binding, at: None, .. } if binding == "AUX")));
    assert_eq!(fixture.recorded("MAIN"), [1]);
}

#[test]
fn allowing_data_loss_lets_a_cascading_rebuild_run_and_says_nothing_else_changes() {
    let (fixture, main) = family_with_a_rebuild();
    let mut allowed = options(&fixture);
    allowed.data_loss = DataLoss::Allow;
    let (result, _) = fixture.run(Direction::Up, None, &allowed);
    result.unwrap();
    let children = fixture
        .d1
        .sql(&main, "SELECT count(*) AS n FROM children")
        .unwrap();
    assert_eq!(
        children[0]["n"],
        Value::from(0),
        "the cascade ran, as allowed"
    );
    assert_eq!(fixture.recorded("MAIN"), [1, 2]);
}

/// The calls of `binding` since the `before`th call, by kind.
fn calls_since(fixture: &Fixture, before: usize, binding: &str) -> Vec<Kind> {
    fixture.d1.calls()[before..]
        .iter()
        .filter(|c| c.binding == binding)
        .map(|c| c.kind)
        .collect()
}

#[test]
fn with_files_to_read_a_run_calls_only_the_databases_with_work_once_and_a_no_op_not_at_all() {
    let fixture = seeded().reading_files();
    fixture.up().0.unwrap();
    for binding in ["MAIN", "AUX"] {
        assert_eq!(calls_since(&fixture, 0, binding), [Kind::File], "{binding}");
        assert!(fixture.lock_rows(binding).is_empty(), "{binding} locked");
    }
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
    // Nothing to do: nothing called, and each database said so.
    let before = fixture.d1.calls().len();
    let (result, events) = fixture.up();
    result.unwrap();
    assert_eq!(fixture.d1.calls().len(), before, "{:?}", fixture.d1.calls());
    for binding in ["MAIN", "AUX"] {
        assert!(
            events.iter().any(|e| matches!(e,
                Event::NothingToDo { binding: b, at: Some(_), .. } if b == binding)),
            "{binding}: {events:#?}"
        );
    }
    // A migration for MAIN: one call each, no read (AUX's is the guard row
    // that keeps wrangler away from MAIN's new file).
    fixture
        .file("0004_tags.sql", "CREATE TABLE tags (name TEXT);\n")
        .file("0004_tags.rollback.sql", "DROP TABLE tags;\n");
    let before = fixture.d1.calls().len();
    fixture.up().0.unwrap();
    assert_eq!(calls_since(&fixture, before, "MAIN"), [Kind::File]);
    assert_eq!(calls_since(&fixture, before, "AUX"), [Kind::File]);
    assert_eq!(fixture.recorded("MAIN"), [1, 3, 4]);
    // A dry run and a down read the files too.
    let before = fixture.d1.calls().len();
    fixture
        .run(Direction::Down, Some(3), &dry_run(&fixture))
        .0
        .unwrap();
    assert_eq!(fixture.d1.calls().len(), before, "a dry run called D1");
    fixture
        .run(Direction::Down, Some(3), &options(&fixture))
        .0
        .unwrap();
    assert_eq!(calls_since(&fixture, before, "MAIN"), [Kind::File]);
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
}

#[test]
fn a_plan_read_from_the_files_is_still_guarded_against_a_change_before_its_batch() {
    let fixture = seeded().reading_files();
    fixture.up().0.unwrap();
    fixture.file("0004_tags.sql", "CREATE TABLE tags (name TEXT);\n");
    // Between the read and MAIN's batch, another run takes MAIN's lock.
    let file = fixture.d1.file(&fixture.db("MAIN"));
    let taken = std::sync::atomic::AtomicBool::new(false);
    fixture.d1.inject(
        move |seen| {
            if seen.binding == "MAIN"
                && seen.kind == Kind::File
                && !taken.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                rusqlite::Connection::open(&file)
                    .unwrap()
                    .execute_batch(
                        "INSERT INTO _migrations_lock VALUES (1, 'elsewhere:7 migrate up', 0, 99999999999999)",
                    )
                    .unwrap();
            }
            false
        },
        Fault::Busy,
    );
    let (result, events) = fixture.up();
    assert!(result.is_err());
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::PlanningAgain { binding, .. } if binding == "MAIN")),
        "{events:#?}"
    );
    let problem = events.iter().find_map(|e| match e {
        Event::Problem { binding, error } if binding == "MAIN" => Some(error.clone()),
        _ => None,
    });
    assert!(
        problem.is_some_and(|p| p.contains("elsewhere:7")),
        "{events:#?}"
    );
    assert_eq!(fixture.recorded("MAIN"), [1, 3], "nothing applied");
    assert_eq!(fixture.tables("MAIN"), ["posts", "users"]);
    assert_eq!(fixture.lock_rows("MAIN"), ["elsewhere:7 migrate up"]);
}

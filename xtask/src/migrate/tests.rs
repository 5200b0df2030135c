//! The engine's operations besides the run, on SQLite files standing in for
//! D1 (no node): the status report, verify, the ledger edits (mark,
//! baseline, adopt) and restores with their checks.

use crate::migrate::backup::Policy;
use crate::migrate::backup::{prepare, Backups, RestoreFrom, RestorePoint};
use crate::migrate::d1::D1;
use crate::migrate::error::Failure;
use crate::migrate::events::Holds;
use crate::migrate::fixture::{seeded, Fixture};
use crate::migrate::ledger_edits::{adopt_all, baseline, mark, Mark};
use crate::migrate::plan::Direction;
use crate::migrate::plan::State;
use crate::migrate::project::Project;
use crate::migrate::run::{Backing, Options};
use crate::migrate::status::report;
use crate::migrate::verify::verify_all;

/// `seeded()` with every migration applied.
fn applied() -> Fixture {
    let fixture = seeded();
    let (result, _) = fixture.up();
    result.unwrap();
    fixture
}

fn states(fixture: &Fixture, binding: &str) -> Vec<(u64, State)> {
    let project = fixture.project();
    let report = report(&project, fixture.d1.as_ref(), Vec::new()).unwrap();
    report
        .databases
        .iter()
        .find(|db| db.binding == binding)
        .unwrap()
        .migrations
        .iter()
        .map(|m| (m.version, m.state))
        .collect()
}

#[test]
fn the_status_report_says_where_each_migration_stands_and_lists_the_problems() {
    let fixture = applied();
    fixture.file(
        "0004_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    assert_eq!(
        states(&fixture, "MAIN"),
        [
            (1, State::Applied),
            (3, State::Applied),
            (4, State::Pending)
        ]
    );
    assert_eq!(states(&fixture, "AUX"), [(2, State::Applied)]);
    // An applied file edited, another deleted.
    fixture.file(
        "0003_posts.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT);\n",
    );
    std::fs::remove_file(fixture.dir.path().join("migrations/0001_users.sql")).unwrap();
    std::fs::remove_file(
        fixture
            .dir
            .path()
            .join("migrations/0001_users.rollback.sql"),
    )
    .unwrap();
    // As `status` loads it: a gap in the versions is a problem to list.
    let paths = crate::migrate::project::Paths {
        root: fixture.dir.path().to_path_buf(),
        ..Default::default()
    };
    let (project, problems) = Project::load_lenient(&paths, fixture.target).unwrap();
    assert!(!problems.is_empty());
    let report = report(&project, fixture.d1.as_ref(), problems.clone()).unwrap();
    let main = &report
        .databases
        .iter()
        .find(|db| db.binding == "MAIN")
        .unwrap();
    let main: Vec<(u64, State, bool)> = main
        .migrations
        .iter()
        .map(|m| (m.version, m.state, m.not_in_checkout))
        .collect();
    // The deleted file's SQL is kept in the database: applied, not in this
    // checkout (`down` can still roll it back).
    assert_eq!(
        main,
        [
            (1, State::Applied, true),
            (3, State::Modified, false),
            (4, State::Pending, false)
        ]
    );
    assert_eq!(report.problems[..problems.len()], problems[..]);
    assert!(
        report.problems.len() > problems.len(),
        "{:?}",
        report.problems
    );
}

#[test]
fn verify_finds_a_hand_made_change_and_tells_it_from_an_edited_file() {
    let fixture = applied();
    let project = fixture.project();
    let d1: &dyn D1 = fixture.d1.as_ref();
    for verdict in verify_all(&project, d1) {
        let verdict = verdict.unwrap();
        assert!(verdict.is_clean(), "{verdict:?}");
    }
    fixture.by_hand("MAIN", "CREATE TABLE extra (x INTEGER)");
    let verdicts: Vec<_> = verify_all(&project, d1)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let main = verdicts.iter().find(|v| v.binding == "MAIN").unwrap();
    assert_eq!(main.problems.len(), 1, "{main:?}");
    assert!(
        main.problems[0].contains("changed by hand") && main.problems[0].contains("extra"),
        "{main:?}"
    );
    assert!(verdicts
        .iter()
        .find(|v| v.binding == "AUX")
        .unwrap()
        .is_clean());
    let error = main.clone().into_result().unwrap_err();
    assert!(format!("{error:#}").contains("extra"));
}

#[test]
fn mark_records_pending_and_applied_without_running_anything_and_refuses_what_would_lie() {
    let fixture = applied();
    let project = fixture.project();
    let d1: &dyn D1 = fixture.d1.as_ref();
    // v1 is below the applied v3: taking it out would put them out of order.
    let refused = mark(&project, d1, 1, Mark::Pending).unwrap_err();
    assert!(
        format!("{refused:#}").contains("applied after it"),
        "{refused:#}"
    );
    // What it suggests rolls back exactly the later one, on this database.
    assert!(
        format!("{refused:#}").contains("(`cargo migrate down 1 --db MAIN`)"),
        "{refused:#}"
    );
    let line = mark(&project, d1, 3, Mark::Pending).unwrap();
    assert!(line.contains("recorded as pending"), "{line}");
    assert_eq!(fixture.recorded("MAIN"), [1]);
    assert!(
        fixture.tables("MAIN").contains(&"posts".to_owned()),
        "no rollback ran"
    );
    let line = mark(&project, d1, 3, Mark::Applied).unwrap();
    assert!(line.contains("recorded v3"), "{line}");
    assert_eq!(fixture.recorded("MAIN"), [1, 3]);
    let again = mark(&project, d1, 3, Mark::Applied).unwrap_err();
    assert!(
        format!("{again:#}").contains("already recorded"),
        "{again:#}"
    );
    let none = mark(&project, d1, 9, Mark::Applied).unwrap_err();
    assert!(format!("{none:#}").contains("no migration 9"), "{none:#}");
}

#[test]
fn mark_checksum_takes_a_cosmetic_edit_and_refuses_a_changed_statement() {
    let fixture = applied();
    let d1: &dyn D1 = fixture.d1.as_ref();
    fixture.file(
        "0003_posts.sql",
        "-- posts, with a comment now\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), body TEXT);\n",
    );
    let line = mark(&fixture.project(), d1, 3, Mark::Checksum { force: false }).unwrap();
    assert!(line.contains("now records the checksum"), "{line}");
    assert_eq!(states(&fixture, "MAIN")[1], (3, State::Applied));
    fixture.file(
        "0003_posts.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT);\n",
    );
    let refused = mark(&fixture.project(), d1, 3, Mark::Checksum { force: false }).unwrap_err();
    assert!(
        format!("{refused:#}").contains("changed more than comments or layout"),
        "{refused:#}"
    );
    assert_eq!(states(&fixture, "MAIN")[1], (3, State::Modified));
}

#[test]
fn baseline_records_without_running_and_a_second_one_has_nothing_to_do() {
    let fixture = seeded();
    let project = fixture.project();
    let d1: &dyn D1 = fixture.d1.as_ref();
    let too_far = baseline(&project, d1, 7).err().unwrap();
    assert!(format!("{too_far:#}").contains("the newest migration is 3"));
    let done = baseline(&project, d1, 2).unwrap();
    let bindings: Vec<&str> = done.databases.iter().map(|db| &db.binding[..]).collect();
    assert_eq!(bindings, ["MAIN", "AUX"]);
    for result in &done.results {
        assert!(result.as_ref().unwrap().contains("recorded"), "{result:?}");
    }
    assert_eq!(fixture.recorded("MAIN"), [1]);
    assert_eq!(fixture.recorded("AUX"), [2]);
    assert!(fixture.tables("MAIN").is_empty(), "nothing ran");
    assert!(baseline(&project, d1, 2).unwrap().databases.is_empty());
}

#[test]
fn adopt_takes_over_wranglers_ledger_when_the_schema_matches_and_only_then() {
    let fixture = seeded();
    let d1: &dyn D1 = fixture.d1.as_ref();
    let wrangler_made = |binding: &str, sql: &str, names: &[&str]| {
        let rows: Vec<String> = names
            .iter()
            .map(|name| format!("('{name}', '2026-01-01 00:00:00')"))
            .collect();
        fixture
            .d1
            .sql(
                &fixture.db(binding),
                &format!(
                    "{sql}; CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, \
                     name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL); \
                     INSERT INTO d1_migrations (name, applied_at) VALUES {}",
                    rows.join(", ")
                ),
            )
            .unwrap();
    };
    wrangler_made(
        "MAIN",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        &["0001_users.sql"],
    );
    // AUX's ledger says 0002 ran, but its table is not there.
    wrangler_made("AUX", "CREATE TABLE other (x)", &["0002_keys.sql"]);
    let results = adopt_all(&fixture.project(), d1);
    let main = results[0].as_ref().unwrap();
    assert!(main.contains("adopted 1") && main.contains("v1"), "{main}");
    assert_eq!(fixture.recorded("MAIN"), [1]);
    let aux = results[1].as_ref().unwrap_err();
    assert!(format!("{aux:#}").contains("schema is not what"), "{aux:#}");
    assert!(fixture.recorded("AUX").is_empty());
    let again = adopt_all(&fixture.project(), d1);
    assert!(again[0].as_ref().unwrap().contains("already adopted"));
}

#[test]
fn a_restore_checks_whose_backup_it_is_and_puts_the_database_back() {
    let fixture = applied();
    let project = fixture.project();
    let d1: &dyn D1 = fixture.d1.as_ref();
    let (main, aux) = (fixture.db("MAIN"), fixture.db("AUX"));
    let backups = Backups::new(&project.config, None, 3);
    let of_main = backups
        .take(d1, &main, None, None, RestorePoint::Export)
        .unwrap();
    let of_aux = backups
        .take(d1, &aux, None, None, RestorePoint::Export)
        .unwrap();
    let error = |result: anyhow::Result<_>| format!("{:#}", result.err().unwrap());

    let bookmark = RestoreFrom::Bookmark("00000001-abc".into());
    assert!(error(prepare(&project, &main, &bookmark, false)).contains("add --remote"));
    let gone = RestoreFrom::File(fixture.dir.path().join("nothing.sqlite"));
    assert!(error(prepare(&project, &main, &gone, false)).contains("does not exist"));
    let aux_file = RestoreFrom::File(of_aux.path.clone());
    assert!(error(prepare(&project, &main, &aux_file, false)).contains("is a backup of AUX"));
    assert!(prepare(&project, &main, &aux_file, true).is_ok(), "--force");

    fixture.by_hand("MAIN", "CREATE TABLE extra (x INTEGER)");
    let prepared = prepare(
        &project,
        &main,
        &RestoreFrom::File(of_main.path.clone()),
        false,
    )
    .unwrap();
    assert!(
        prepared.described.contains("at v3"),
        "{}",
        prepared.described
    );
    let mut before = None;
    let restored = prepared.run(d1, Some(&backups), &mut before).unwrap();
    assert!(!fixture.tables("MAIN").contains(&"extra".to_owned()));
    assert_eq!(fixture.tables("MAIN"), ["posts", "users"]);
    let undo = restored.before.expect("what it replaced is backed up");
    assert_eq!(before.map(|b| b.path), Some(undo.path.clone()));
    assert!(undo.path.is_file());
}

/// The failures `result`'s error is made of.
fn failures_of(result: anyhow::Result<()>) -> Vec<Failure> {
    crate::migrate::error::failures(&result.unwrap_err())
}

#[test]
fn a_lock_held_elsewhere_fails_the_run_as_lock_held_naming_its_owner() {
    let fixture = seeded();
    fixture.lock_held_by("MAIN", "ci:7 migrate up", 99_999_999_999_999);
    let (result, _) = fixture.up();
    let failures = failures_of(result);
    assert!(
        matches!(&failures[..], [Failure::LockHeld { binding, owner, expires_in_ms }]
            if binding == "MAIN" && owner == "ci:7 migrate up" && *expires_in_ms > 0),
        "{failures:?}"
    );
}

#[test]
fn a_failing_statement_fails_the_run_as_migration_failed_at_its_place() {
    let fixture = seeded();
    fixture.file(
        "0004_bad.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\nINSERT INTO missing VALUES (1);\n",
    );
    let (result, _) = fixture.up();
    let failures = failures_of(result);
    let [Failure::MigrationFailed {
        binding,
        version,
        line,
        statement,
        error,
        holds,
    }] = &failures[..]
    else {
        panic!("{failures:?}");
    };
    assert_eq!(
        (&binding[..], *version, *line),
        ("MAIN", Some(4), Some(2)),
        "{failures:?}"
    );
    assert!(statement
        .as_deref()
        .unwrap()
        .contains("INSERT INTO missing"));
    assert!(error.contains("no such table: missing"), "{error}");
    assert_eq!(*holds, Holds::Untouched);
    // The JSON callers get.
    let json = serde_json::to_value(&failures).unwrap();
    assert_eq!(json[0]["kind"], "migration_failed");
    assert_eq!(json[0]["holds"], "untouched");
}

#[test]
fn an_applied_file_that_changed_refuses_the_plan_as_checksum_changed() {
    let fixture = applied();
    fixture.file(
        "0003_posts.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT);\n",
    );
    fixture.file(
        "0004_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    let (result, _) = fixture.up();
    let failures = failures_of(result);
    assert!(
        failures.contains(&Failure::ChecksumChanged {
            binding: "MAIN".into(),
            version: 3
        }),
        "{failures:?}"
    );
    assert!(failures
        .iter()
        .any(|f| matches!(f, Failure::PlanRefused { binding: Some(b), .. } if b == "MAIN")));
}

#[test]
fn a_backup_that_fails_refuses_the_run_before_anything_changed() {
    let fixture = seeded();
    // The backup folder cannot be made: a file is in its place.
    std::fs::write(fixture.dir.path().join("backups"), "not a folder").unwrap();
    let options = Options {
        backing: Backing::Up(Policy::default()),
        ..crate::migrate::fixture::options(&fixture)
    };
    let (result, _) = fixture.run(Direction::Up, None, &options);
    let failures = failures_of(result);
    assert!(
        failures
            .iter()
            .any(|f| matches!(f, Failure::BackupRefused { binding, .. } if binding == "MAIN")),
        "{failures:?}"
    );
    assert!(fixture.tables("MAIN").is_empty());
}

#[test]
fn a_schema_that_drifted_is_schema_drift_and_other_errors_are_read_from_their_causes() {
    let fixture = applied();
    fixture.by_hand("AUX", "CREATE TABLE extra (x INTEGER)");
    let verdict = verify_all(&fixture.project(), fixture.d1.as_ref())
        .pop()
        .unwrap()
        .unwrap();
    let failures = failures_of(verdict.into_result().map(drop));
    assert!(
        matches!(&failures[..], [Failure::SchemaDrift { binding, problems }]
            if binding == "AUX" && problems[0].contains("extra")),
        "{failures:?}"
    );

    let unreachable = anyhow::Error::new(crate::migrate::d1::Transient("HTTP 503".into()))
        .context("reading AUTH");
    assert_eq!(
        crate::migrate::error::failures_in(Some("AUTH"), &unreachable),
        [Failure::Unreachable {
            binding: Some("AUTH".into()),
            error: "reading AUTH: HTTP 503".into()
        }]
    );
    let stopped = anyhow::Error::new(crate::interrupt::Interrupted(
        crate::interrupt::Stop::Interrupt,
    ));
    assert!(matches!(
        &crate::migrate::error::failures(&stopped)[..],
        [Failure::Interrupted { .. }]
    ));
    let other = anyhow::anyhow!("something else");
    assert_eq!(
        crate::migrate::error::failures(&other),
        [Failure::Other {
            binding: None,
            error: "something else".into()
        }]
    );
}

#[test]
fn the_commands_a_run_suggests_name_the_project_when_a_plain_run_would_not_find_it() {
    let fixture = Fixture::local();
    let root = fixture.dir.path();
    // What a plain `cargo migrate` finds: nothing to add.
    assert_eq!(fixture.project().selecting_flags(), "");
    // Another config, folder and state: each named, absolute.
    let elsewhere = root.join("my app");
    std::fs::create_dir_all(elsewhere.join("sql")).unwrap();
    std::fs::copy(root.join("wrangler.toml"), elsewhere.join("wrangler.toml")).unwrap();
    std::fs::copy(
        root.join("migrations/migrate.toml"),
        elsewhere.join("sql/migrate.toml"),
    )
    .unwrap();
    let paths = crate::migrate::Paths {
        root: root.to_path_buf(),
        config: Some(elsewhere.join("wrangler.toml")),
        migrations_dir: Some(elsewhere.join("sql")),
        persist_to: Some(root.join("state")),
        ..crate::migrate::Paths::default()
    };
    let project = Project::load(&paths, crate::migrate::Target::Local).unwrap();
    let at = |path: &str| format!("'{}/{path}'", root.display());
    assert_eq!(
        project.selecting_flags(),
        format!(
            " --config {} --migrations-dir {} --persist-to {}/state",
            at("my app/wrangler.toml"),
            at("my app/sql"),
            root.display()
        )
    );
}

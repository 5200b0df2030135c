//! Backups a run takes (bookmarks, exports) and dry runs that rehearse on a
//! copy of the data.

use super::*;

#[test]
fn a_dry_run_rehearses_on_a_copy_of_the_data_and_writes_nothing() {
    let fixture = seeded();
    fixture.up().0.unwrap();
    fixture.by_hand(
        "MAIN",
        "INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b')",
    );
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
        .sql(&fixture.db("MAIN"), "SELECT * FROM users LIMIT 1")
        .unwrap();
    assert!(!columns[0].contains_key("nickname"));
    assert_eq!(writes(&fixture.d1, "MAIN"), 1, "only the first run wrote");
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
    fixture.by_hand("MAIN", "INSERT INTO users VALUES (1, 'a'), (2, 'b')");
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

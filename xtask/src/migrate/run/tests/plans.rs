//! Runs on the stand-in: applying each database's migrations, rolling back,
//! and planning on what this machine saw (hinted plans and their guard).

use super::*;

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

/// [`seeded`], run up to v1 (so checked there), then up.
fn up_to_1_then_all() -> Fixture {
    let fixture = seeded();
    fixture
        .run(Direction::Up, Some(1), &options(&fixture))
        .0
        .unwrap();
    fixture.up().0.unwrap();
    fixture
}

#[test]
fn a_rollback_to_versions_a_checked_run_left_is_checked_without_a_replay() {
    let fixture = up_to_1_then_all();
    // MAIN at v1 was checked after the first run: rolling back to it needs
    // no throwaway copy (AUX, back to no migrations, never needs one).
    let copies = fixture.d1.copies();
    let (result, _) = fixture.run(Direction::Down, Some(1), &options(&fixture));
    result.unwrap();
    assert_eq!(fixture.d1.copies(), copies);
    assert_eq!(fixture.tables("MAIN"), ["users"]);

    // Forgotten (or never seen on this machine): replayed once, then known.
    std::fs::remove_dir_all(fixture.dir.path().join(".wrangler/migrate/schemas")).unwrap();
    fixture.up().0.unwrap();
    fixture
        .run(Direction::Down, Some(1), &options(&fixture))
        .0
        .unwrap();
    assert_eq!(fixture.d1.copies(), copies + 1);
    fixture.up().0.unwrap();
    fixture
        .run(Direction::Down, Some(1), &options(&fixture))
        .0
        .unwrap();
    assert_eq!(fixture.d1.copies(), copies + 1);
}

#[test]
fn a_schema_unlike_the_one_remembered_is_replayed_and_its_drift_named() {
    let fixture = up_to_1_then_all();
    // Made by hand, and not dropped by any rollback.
    fixture.by_hand("MAIN", "CREATE TABLE scratch (x)");
    let copies = fixture.d1.copies();
    let (result, events) = fixture.run(Direction::Down, Some(1), &options(&fixture));
    assert!(result.is_err(), "{events:#?}");
    assert_eq!(fixture.d1.copies(), copies + 1, "replayed for the diff");
    let problem = events.iter().find_map(|e| match e {
        Event::Problem { binding, error } if binding == "MAIN" => Some(error.clone()),
        _ => None,
    });
    assert!(
        problem.as_deref().is_some_and(|p| p.contains("scratch")),
        "{events:#?}"
    );
}

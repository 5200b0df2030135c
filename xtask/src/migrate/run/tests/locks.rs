//! Locks on the stand-in: one held by another run, one expired, and two
//! runs started together.

use super::*;

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

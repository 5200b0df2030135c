//! Unit tests for the pure planning rules.

use super::*;
use std::path::PathBuf;

fn file(version: u64, rollback: bool) -> Migration {
    let name = format!("{version:04}_m{version}");
    Migration {
        version,
        path: PathBuf::from(format!("{name}.sql")),
        file_name: format!("{name}.sql"),
        name,
        sql: String::new(),
        checksum: format!("sum{version}"),
        binding: "DB".into(),
        rollback: rollback.then(|| crate::migrate::source::Script {
            path: PathBuf::new(),
            sql: String::new(),
            checksum: String::new(),
            ledger_name: None,
        }),
        stored: false,
    }
}

fn row(m: &Migration) -> Applied {
    Applied {
        version: m.version,
        name: m.name.clone(),
        applied_at: 1,
        checksum: Some(m.checksum.clone()),
        duration_ms: Some(1),
        has_sql: false,
        rollback_sql: None,
    }
}

fn ledger(name: &str) -> LedgerRow {
    LedgerRow {
        name: name.into(),
        applied_at: "2026-11-30 10:00:00".into(),
    }
}

fn ours(applied: &[Applied]) -> Recorded<'_> {
    Recorded {
        applied,
        ledger: &[],
        foreign: &[],
        elsewhere: &[],
        taken: &[],
        hints: "",
    }
}

fn versions(plan: &[&Migration]) -> Vec<u64> {
    plan.iter().map(|m| m.version).collect()
}

#[test]
fn up_plans_pending_in_order_up_to_target() {
    let files: Vec<_> = (1..=4).map(|v| file(v, true)).collect();
    let refs: Vec<_> = files.iter().collect();
    let applied = vec![row(&files[0])];
    let plan = |target| plan_up("DB", &refs, ours(&applied), target).unwrap().run;
    assert_eq!(versions(&plan(None)), [2, 3, 4]);
    assert_eq!(versions(&plan(Some(3))), [2, 3]);
    assert!(plan(Some(1)).is_empty());
}

#[test]
fn up_fails_on_modified_applied_migration() {
    let files = [file(1, true)];
    let mut applied = row(&files[0]);
    applied.checksum = Some("other".into());
    let err = plan_up("DB", &[&files[0]], ours(&[applied]), None).unwrap_err();
    assert!(err
        .to_string()
        .contains("migration 1 (0001_m1) was applied to DB but its file has changed"));
}

#[test]
fn legacy_rows_without_checksum_count_as_applied() {
    let files = [file(1, true)];
    let mut applied = row(&files[0]);
    applied.checksum = None;
    let entries = status(&[&files[0]], ours(std::slice::from_ref(&applied)));
    assert_eq!(entries[0].state, State::Applied);
}

#[test]
fn renamed_file_is_modified() {
    let files = [file(1, true)];
    let mut applied = row(&files[0]);
    applied.name = "0001_old".into();
    assert_eq!(
        status(&[&files[0]], ours(std::slice::from_ref(&applied)))[0].state,
        State::Modified
    );
}

#[test]
fn up_fails_on_applied_version_without_file() {
    let files = [file(1, true)];
    let mut gone = row(&files[0]);
    gone.version = 2;
    gone.name = "0002_gone".into();
    let applied = vec![row(&files[0]), gone];
    let entries = status(&[&files[0]], ours(&applied));
    assert_eq!(entries[1].state, State::Missing);
    let err = plan_up("DB", &[&files[0]], ours(&applied), None).unwrap_err();
    assert!(err.to_string().contains("0002_gone"), "{err}");
}

#[test]
fn up_fails_on_pending_below_applied() {
    let files: Vec<_> = (1..=3).map(|v| file(v, true)).collect();
    let refs: Vec<_> = files.iter().collect();
    let applied = vec![row(&files[0]), row(&files[2])];
    let err = plan_up("DB", &refs, ours(&applied), None).unwrap_err();
    assert!(
        err.to_string().contains("migration 2 (0002_m2) is pending"),
        "{err}"
    );
}

#[test]
fn down_plans_newest_first_and_needs_every_rollback() {
    let files: Vec<_> = (1..=4).map(|v| file(v, v != 2)).collect();
    let refs: Vec<_> = files.iter().collect();
    let applied: Vec<_> = files.iter().map(row).collect();
    assert_eq!(
        versions(&plan_down("DB", &refs, ours(&applied), 2).unwrap()),
        [4, 3]
    );
    let err = plan_down("DB", &refs, ours(&applied), 1).unwrap_err();
    assert!(err.to_string().contains("0002_m2.rollback.sql"), "{err}");
    assert!(err.to_string().contains("nothing was rolled back"), "{err}");
    assert!(plan_down("DB", &refs, ours(&applied), 4)
        .unwrap()
        .is_empty());
}

#[test]
fn down_skips_pending() {
    let files: Vec<_> = (1..=3).map(|v| file(v, true)).collect();
    let refs: Vec<_> = files.iter().collect();
    let applied = vec![row(&files[0])];
    assert_eq!(
        versions(&plan_down("DB", &refs, ours(&applied), 0).unwrap()),
        [1]
    );
}

#[test]
fn what_wranglers_ledger_records_is_applied_and_adopted_never_run() {
    let files: Vec<_> = (0..=3).map(|v| file(v, false)).collect();
    let refs: Vec<_> = files.iter().collect();
    let applied = vec![row(&files[0])];
    let rows = vec![
        ledger("0000_m0.sql"),
        ledger("0001_m1.sql"),
        ledger("0002_m2.sql"),
    ];
    let recorded = Recorded {
        applied: &applied,
        ledger: &rows,
        foreign: &[],
        elsewhere: &[],
        taken: &[],
        hints: "",
    };
    let entries = status(&refs, recorded);
    let states: Vec<_> = entries.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            State::Applied,
            State::Applied,
            State::Applied,
            State::Pending
        ]
    );
    assert!(entries[0].adopted.is_none() && entries[1].adopted.is_some());
    let plan = plan_up("DB", &refs, recorded, None).unwrap();
    assert_eq!(versions(&plan.run), [3]);
    let adopted: Vec<u64> = plan.adopt.iter().map(|(m, _)| m.version).collect();
    assert_eq!(adopted, [1, 2]);
    // `down` rolls back what either ledger records.
    let files: Vec<_> = (0..=3).map(|v| file(v, true)).collect();
    let refs: Vec<_> = files.iter().collect();
    assert_eq!(
        versions(&plan_down("DB", &refs, recorded, 0).unwrap()),
        [2, 1]
    );
}

#[test]
fn a_migration_wrangler_applied_under_another_name_stops_the_run_and_says_which_case() {
    let files: Vec<_> = (1..=2).map(|v| file(v, false)).collect();
    let refs: Vec<_> = files.iter().collect();
    let rows = vec![
        ledger("0001_old_name.sql"),
        ledger("0001_m1.rollback.sql"),
        ledger("0002_other_db.sql"),
        ledger("0009_other_branch.sql"),
    ];
    let foreign = vec!["0002_other_db.sql".to_owned()];
    let recorded = Recorded {
        applied: &[],
        ledger: &rows,
        foreign: &foreign,
        elsewhere: &[],
        taken: &[],
        hints: "",
    };
    let err = plan_up("DB", &refs, recorded, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wrangler applied 0001_old_name.sql")
            && err.contains("mark 1 --renamed --db DB"),
        "{err}"
    );
    assert!(
        err.contains("0009_other_branch.sql") && err.contains("switch to the branch"),
        "{err}"
    );
    // Nothing that would delete what wrangler applied is advised.
    assert!(
        !err.contains("baseline") && !err.contains("DELETE"),
        "{err}"
    );
    assert!(
        !err.contains("rollback") && !err.contains("other_db"),
        "{err}"
    );
}

fn guard(name: &str) -> LedgerRow {
    LedgerRow {
        name: name.into(),
        applied_at: GUARD_APPLIED_AT.into(),
    }
}

#[test]
fn guard_rows_are_never_applied_migrations_and_stale_ones_go_quietly() {
    // 0002 was another database's file (so it has a guard row here), and
    // is now routed to this one: it is pending, not adopted.
    let files: Vec<_> = (1..=2).map(|v| file(v, false)).collect();
    let refs: Vec<_> = files.iter().collect();
    let applied = vec![row(&files[0])];
    let rows = vec![
        ledger("0001_m1.sql"),
        guard("0002_m2.sql"),
        guard("0007_renamed_before_it_ran.sql"),
        guard("0003_elsewhere.sql"),
    ];
    let foreign = vec!["0003_elsewhere.sql".to_owned()];
    let recorded = Recorded {
        applied: &applied,
        ledger: &rows,
        foreign: &foreign,
        elsewhere: &[],
        taken: &[],
        hints: "",
    };
    let plan = plan_up("DB", &refs, recorded, None).unwrap();
    assert_eq!(versions(&plan.run), [2]);
    assert!(plan.adopt.is_empty());
    let stale: Vec<&str> = stale_guards(recorded)
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(stale, ["0002_m2.sql", "0007_renamed_before_it_ran.sql"]);
}

#[test]
fn an_undated_guard_of_an_older_run_is_known_by_a_version_another_database_holds() {
    let files = [file(1, false)];
    let rows = vec![ledger("0001_m1.sql"), ledger("0007_add_user_tier.sql")];
    let applied = vec![row(&files[0])];
    let mut recorded = Recorded {
        applied: &applied,
        ledger: &rows,
        foreign: &[],
        elsewhere: &[],
        taken: &[7],
        hints: "",
    };
    assert!(plan_up("DB", &[&files[0]], recorded, None).is_ok());
    recorded.taken = &[];
    assert!(plan_up("DB", &[&files[0]], recorded, None).is_err());
}

#[test]
fn a_migration_applied_on_another_branch_is_rebuilt_from_its_stored_sql() {
    let files: Vec<_> = (1..=2).map(|v| file(v, true)).collect();
    let mut applied: Vec<_> = files.iter().map(row).collect();
    applied.push(Applied {
        version: 3,
        name: "0003_feature".into(),
        applied_at: 1,
        checksum: Some("sum3".into()),
        duration_ms: Some(1),
        has_sql: true,
        rollback_sql: Some("DROP TABLE feature;".into()),
    });
    let rows = vec![ledger("0003_feature/migration.sql")];
    let mut refs: Vec<&Migration> = files.iter().collect();
    let recorded = Recorded {
        applied: &applied,
        ledger: &rows,
        foreign: &[],
        elsewhere: &[],
        taken: &[],
        hints: "",
    };
    // Without it, the record names a missing file.
    assert!(plan_up("DB", &refs, recorded, None).is_err());
    let stored = stored_migrations("DB", &refs, recorded);
    assert_eq!(stored.len(), 1);
    assert!(stored[0].stored);
    assert_eq!(stored[0].file_name, "0003_feature/migration.sql");
    refs.extend(&stored);
    assert!(plan_up("DB", &refs, recorded, None).unwrap().run.is_empty());
    let down = plan_down("DB", &refs, recorded, 2).unwrap();
    assert_eq!(versions(&down), [3]);
    assert_eq!(
        down[0].rollback.as_ref().unwrap().sql,
        "DROP TABLE feature;"
    );
    // A migration applied without a rollback file cannot be rolled back.
    let mut without = applied.clone();
    without[2].rollback_sql = None;
    let recorded = Recorded {
        applied: &without,
        ..recorded
    };
    let stored = stored_migrations("DB", &files.iter().collect::<Vec<_>>(), recorded);
    let refs: Vec<&Migration> = files.iter().chain(&stored).collect();
    assert!(plan_down("DB", &refs, recorded, 2).is_err());
}

#[test]
fn an_applied_file_renamed_is_named_with_the_command_that_records_the_new_name() {
    let files = [file(1, false)];
    let mut applied = row(&files[0]);
    applied.name = "0001_old".into();
    let err = plan_up("DB", &[&files[0]], ours(&[applied]), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("applied to DB as 0001_old") && err.contains("mark 1 --renamed"),
        "{err}"
    );
}

#[test]
fn ledger_times_read_as_wrangler_writes_them() {
    assert_eq!(ledger("x").applied_at_ms(), Some(1_796_032_800_000));
    assert_eq!(
        LedgerRow {
            name: "x".into(),
            applied_at: "soon".into()
        }
        .applied_at_ms(),
        None
    );
}

#[test]
fn a_renumbered_file_and_a_mis_routed_one_are_named_for_what_they_are() {
    let mut renumbered = file(4, false);
    renumbered.name = "0004_m3".into();
    renumbered.path = "0004_m3.sql".into();
    renumbered.checksum = "sum3".into();
    let files = [file(1, false), file(2, false), renumbered];
    let refs: Vec<_> = files.iter().collect();
    let mut three = row(&file(3, false));
    three.checksum = Some("sum3".into());
    let applied = vec![row(&files[0]), row(&files[1]), three];
    let err = plan_up("DB", &refs, ours(&applied), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("renumbered") && err.contains("0004_m3.sql (version 4)"),
        "{err}"
    );

    let mut moved = file(3, false);
    moved.binding = "OTHER".into();
    let elsewhere = [&moved];
    let recorded = Recorded {
        applied: &applied,
        ledger: &[],
        foreign: &[],
        elsewhere: &elsewhere,
        taken: &[],
        hints: "",
    };
    let err = plan_up("DB", &refs[..2], recorded, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mis-routed") && err.contains("now goes to OTHER"),
        "{err}"
    );
    assert!(err.contains("-- database: DB"), "{err}");
}

//! Whole corpus entries, run by our runner and by wrangler's own: both leave
//! the same databases, and each finds nothing to do after the other.

use super::*;

/// One project migrated by wrangler's own apply and one by ours, per entry:
/// they hold the same; then each is handed to the other runner, which runs
/// nothing again (ours records what wrangler ran, with checksums).
#[test]
fn ours_and_wranglers_own_apply_leave_the_same_databases_and_each_takes_over_from_the_other() {
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
        wranglers_apply_finds_nothing_to_do_after_ours(entry, &ours);
        ours_takes_over_what_wranglers_apply_migrated(entry, &theirs);
    }
}

fn wranglers_apply_finds_nothing_to_do_after_ours(entry: &Entry, p: &Project) {
    for (binding, _) in entry.databases {
        let before = p.export(binding);
        let out = wrangler_apply(p, binding, &[]);
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

fn ours_takes_over_what_wranglers_apply_migrated(entry: &Entry, p: &Project) {
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
        !run.stdout.contains("migration to apply") && !run.stdout.contains("migrations to apply"),
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
        let files: usize = folders(entry, p)
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

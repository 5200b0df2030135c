//! wrangler itself failing: missing, killed mid-call, or failing with ANSI
//! colours.

use super::*;

use std::path::PathBuf;

// ---------------------------------------------------------------------------
// Helpers

/// Writes an executable shell script into the project and returns its path.
fn script(p: &Project, name: &str, body: &str) -> PathBuf {
    let path = p.path(name);
    std::fs::write(&path, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

// ---------------------------------------------------------------------------
// 6–7. wrangler itself

#[test]
fn missing_wrangler_named_by_migrate_wrangler_is_a_clear_error() {
    let p = Project::seed();
    let run = p
        .migrate_with(&["up"], &[("MIGRATE_WRANGLER", "/nonexistent/wrangler")])
        .fails();
    assert_line(&run.stderr, &["MIGRATE_WRANGLER", "/nonexistent/wrangler"]);
    assert_wrangler_not_run(&p);
}

#[test]
fn wrangler_killed_mid_call_is_reported_per_database_and_applies_nothing() {
    let p = Project::seed();
    let fake = script(
        &p,
        "dying-wrangler.sh",
        &format!(
            "#!/bin/sh\nfor arg in \"$@\"; do\n  if [ \"$arg\" = \"--file\" ]; then\n    \
             printf '[\\n  {{'\n    kill -9 $$\n  fi\ndone\nexec {} \"$@\"\n",
            wrangler_shell_words()
        ),
    );
    let run = p
        .migrate_with(&["up"], &[("MIGRATE_WRANGLER", fake.to_str().unwrap())])
        .fails();
    let all = run.all();
    for binding in BOTH {
        assert_line(&all, &[binding, "killed by a signal"]);
    }
    assert!(all.contains("nothing was applied"), "{all}");
    assert_eq!(p.versions("READ_REPLICA"), Vec::<u64>::new());
    assert_eq!(p.versions("AUTH"), Vec::<u64>::new());
}

#[test]
fn wrangler_failing_with_ansi_colours_is_reported_without_them() {
    let p = Project::seed();
    let fake = script(
        &p,
        "failing-wrangler.sh",
        "#!/bin/sh\nprintf '\\033[31mboom\\033[0m' >&2\nexit 1\n",
    );
    // Reads through wrangler (local reads would not call it).
    let run = p
        .migrate_with(
            &["status"],
            &[
                ("MIGRATE_WRANGLER", fake.to_str().unwrap()),
                ("MIGRATE_LOCAL_READS", "wrangler"),
            ],
        )
        .fails();
    assert!(run.stderr.contains("boom"), "{}", run.stderr);
    assert!(
        !run.all().contains("[31m") && !run.all().contains("[0m"),
        "{:?}",
        run.all()
    );
    assert_line(&run.stderr, &["wrangler", "boom"]);
    assert_wrangler_not_run(&p);
}

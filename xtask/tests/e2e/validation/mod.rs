//! End-to-end validation: every way a migrations folder, a wrangler config or
//! wrangler itself can be wrong is refused with a clear error, and nothing is
//! applied; and the SQL that looks tricky (CRLF, BOM, `;` in strings, comments
//! and trigger bodies) goes through intact.

use crate::common::*;

mod files;
mod lint;
mod records;
mod sql;
mod wrangler_faults;

// ---------------------------------------------------------------------------
// Helpers

/// Asserts that no database of `p` holds an applied migration. When the run
/// never started wrangler at all (no `.wrangler/` beside the config), that is
/// proof enough and costs no wrangler call.
fn assert_nothing_applied(p: &Project, bindings: &[&str]) {
    if !p.path(".wrangler").exists() {
        return;
    }
    for binding in bindings {
        assert_eq!(
            p.versions(binding),
            Vec::<u64>::new(),
            "{binding} was written to"
        );
    }
}

/// Asserts that wrangler never ran against this project's local D1 (the
/// run's own line in `.wrangler/migrate/history.jsonl` is not wrangler's).
fn assert_wrangler_not_run(p: &Project) {
    assert!(
        !p.path(".wrangler/state").exists(),
        "wrangler touched the local D1 although the run should have stopped before any call"
    );
}

/// Runs `up`, which must fail cleanly and report nothing as applied.
fn up_fails(p: &Project) -> Run {
    let run = p.migrate(&["up"]).fails();
    assert!(
        !run.stdout.contains("✅"),
        "something was reported applied:\n{}",
        run.all()
    );
    run
}

const BOTH: [&str; 2] = ["READ_REPLICA", "AUTH"];
const SEED_RR: [u64; 3] = [1, 3, 6];
const SEED_AUTH: [u64; 3] = [2, 4, 5];

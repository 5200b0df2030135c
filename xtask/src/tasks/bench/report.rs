//! The benchmark's report: Markdown for people, JSON for tools.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use super::{median, Pairs, Row, BINDINGS};

/// The Markdown table (with the targets checked) and the same as JSON.
pub(super) fn report(
    rows: &[(usize, Row)],
    help: Duration,
    runs: usize,
) -> (String, serde_json::Value) {
    let secs = |d: Duration| format!("{:.2}", d.as_secs_f64());
    let mut md = String::from(
        "| N | ours | wrangler's | ours (s) | wrangler (s) | ratio | our node processes | wrangler's calls |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let mut json_rows = Vec::new();
    let mut checks = Vec::new();
    let mut floors = Vec::new();
    for (size, row) in rows {
        let floor = median(row.noop.theirs.clone());
        for (ours, theirs, pairs) in [
            (
                "`migrate up --no-backup`",
                "`d1 migrations apply` × 2",
                &row.up,
            ),
            (
                "`migrate up` (with backups)",
                "`d1 migrations apply` × 2",
                &row.up_with_backup,
            ),
            (
                "`migrate up --no-backup`, databases unknown to this machine",
                "`d1 migrations apply` × 2",
                &row.up_read_first,
            ),
            (
                "`migrate up --no-backup --db` one database",
                "one `d1 execute --command \"SELECT 1\"`",
                &row.up_one,
            ),
            ("`migrate status`", "`d1 migrations list` × 2", &row.status),
            (
                "no-op `migrate up`",
                "one `d1 execute --command \"SELECT 1\"`",
                &row.noop,
            ),
        ] {
            let procs: Vec<String> = {
                let mut p = pairs.our_processes.clone();
                p.dedup();
                p.iter().map(usize::to_string).collect()
            };
            writeln!(
                md,
                "| {size} | {ours} | {theirs} | {} | {} | {:.2} | {} | {} |",
                secs(median(pairs.ours.clone())),
                secs(median(pairs.theirs.clone())),
                pairs.ratio(),
                procs.join("/"),
                pairs.their_processes
            )
            .ok();
            json_rows.push(json!({
                "n": size,
                "ours": ours.trim_matches('`'),
                "theirs": theirs,
                "ours_median_s": median(pairs.ours.clone()).as_secs_f64(),
                "theirs_median_s": median(pairs.theirs.clone()).as_secs_f64(),
                "ratio": pairs.ratio(),
                "our_processes": pairs.our_processes,
                "their_processes": pairs.their_processes,
            }));
        }
        let up_vs_floor = median(row.up.ours.clone()).as_secs_f64() / floor.as_secs_f64();
        let direct = median(row.direct_floor.clone());
        let carrying = median(row.carrying.clone()).as_secs_f64();
        floors.push(json!({
            "n": size,
            "select_1_s": floor.as_secs_f64(),
            "select_1_direct_s": direct.as_secs_f64(),
            "up_over_direct": median(row.up.ours.clone()).as_secs_f64() / direct.as_secs_f64(),
            "status_over_direct": median(row.status.ours.clone()).as_secs_f64() / direct.as_secs_f64(),
            "read_first_over_floor": median(row.up_read_first.ours.clone()).as_secs_f64() / floor.as_secs_f64(),
            "carrying_s": carrying,
            "up_one_over_carrying": median(row.up_one.ours.clone()).as_secs_f64() / carrying,
            "up_over_carrying": median(row.up.ours.clone()).as_secs_f64() / carrying,
        }));
        let mut check = |what: String, value: f64, limit: f64| {
            checks.push(
                json!({"check": what, "value": value, "limit": limit, "met": value <= limit}),
            );
        };
        match size {
            40 => check(
                format!("N={size}: up / wrangler apply"),
                row.up.ratio(),
                0.25,
            ),
            160 => check(
                format!("N={size}: up / wrangler apply"),
                row.up.ratio(),
                0.1,
            ),
            _ => {}
        }
        // Local reads need no call: an `up` costs the one call of each
        // database with work (side by side), `status` and a no-op `up` none.
        check(
            format!("N={size}: up / one wrangler call"),
            up_vs_floor,
            1.1,
        );
        check(
            format!("N={size}: up of one database / one wrangler call"),
            row.up_one.ratio(),
            1.1,
        );
        // The same, against one call that carries one database's migrations
        // (the statements' own cost in local D1 included).
        check(
            format!("N={size}: up / one call carrying one database's migrations"),
            median(row.up.ours.clone()).as_secs_f64() / carrying,
            1.1,
        );
        check(
            format!("N={size}: up of one database / one call carrying its migrations"),
            median(row.up_one.ours.clone()).as_secs_f64() / carrying,
            1.1,
        );
        check(
            format!("N={size}: status / one wrangler call"),
            median(row.status.ours.clone()).as_secs_f64() / floor.as_secs_f64(),
            0.1,
        );
        check(
            format!("N={size}: no-op up / one wrangler call"),
            row.noop.ratio(),
            0.2,
        );
        // Node processes, the most any run made: a local `up` starts one
        // (local D1's runner, for every database with work), reads none.
        let most = |pairs: &Pairs| {
            pairs
                .our_processes
                .iter()
                .max()
                .copied()
                .unwrap_or_default() as f64
        };
        check(
            format!(
                "N={size}: node processes, `up --no-backup` on {} databases",
                BINDINGS.len()
            ),
            most(&row.up),
            1.0,
        );
        check(
            format!("N={size}: node processes, `up` on databases unknown to this machine"),
            most(&row.up_read_first),
            1.0,
        );
        // A local backup is SQLite's online backup of the file: no call.
        check(
            format!("N={size}: node processes, `up` with backups"),
            most(&row.up_with_backup),
            1.0,
        );
        check(
            format!("N={size}: node processes, `status`"),
            most(&row.status),
            0.0,
        );
        check(
            format!("N={size}: node processes, no-op `up`"),
            most(&row.noop),
            0.0,
        );
    }
    writeln!(
        md,
        "\nTargets (medians of {runs} runs; a ratio is our median over theirs):\n"
    )
    .ok();
    for c in &checks {
        writeln!(
            md,
            "- {} {}: {:.2} (at most {})",
            if c["met"] == json!(true) {
                "✅"
            } else {
                "❌"
            },
            c["check"].as_str().unwrap_or_default(),
            c["value"].as_f64().unwrap_or_default(),
            c["limit"]
        )
        .ok();
    }
    writeln!(
        md,
        "- `cargo migrate --help` on a built tree: {} ms (target: under 300 ms)",
        help.as_millis()
    )
    .ok();
    writeln!(
        md,
        "\nThe floor above is `node_modules/.bin/wrangler`, whose launcher starts a second node \
         process; our runner starts wrangler's `cli.js` directly. Against that direct start-up:\n"
    )
    .ok();
    for f in &floors {
        writeln!(
            md,
            "- N={}: one direct `SELECT 1` {:.2} s (through the launcher {:.2} s); up / direct: {:.2}; status / direct: {:.2}; \
             up on databases unknown to this machine / one call through the launcher: {:.2}; \
             one direct call carrying one database's migrations {:.2} s",
            f["n"],
            f["select_1_direct_s"].as_f64().unwrap_or_default(),
            f["select_1_s"].as_f64().unwrap_or_default(),
            f["up_over_direct"].as_f64().unwrap_or_default(),
            f["status_over_direct"].as_f64().unwrap_or_default(),
            f["read_first_over_floor"].as_f64().unwrap_or_default(),
            f["carrying_s"].as_f64().unwrap_or_default(),
        )
        .ok();
    }
    let json = json!({
        "runs": runs,
        "help_ms": help.as_millis() as u64,
        "rows": json_rows,
        "targets": checks,
        "floors": floors,
    });
    (md, json)
}

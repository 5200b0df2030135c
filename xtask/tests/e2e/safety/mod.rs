//! End-to-end safety: backups before every change and restoring them, the
//! migration lock against concurrent and killed runs, retries of a busy local
//! database, schema snapshots and drift checks, and recording migrations
//! without running them (mark, baseline, adopt) — the real `xtask` binary and
//! the real wrangler on local D1, with fake wranglers to inject faults.

use crate::common::*;

use std::path::Path;

use serde_json::Value;

mod backups;
mod locks;
mod records;
mod schema;

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

// ---------------------------------------------------------------------------
// Helpers

/// The environment that makes the xtask use `wrapper` as its wrangler.
fn fake(wrapper: &Path) -> [(&'static str, &str); 1] {
    [("MIGRATE_WRANGLER", wrapper.to_str().unwrap())]
}

/// The applied versions of (READ_REPLICA, AUTH), as `status --json` reports them.
fn applied(p: &Project) -> (Vec<u64>, Vec<u64>) {
    let run = p.migrate(&["status", "--json"]).ok();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let of = |binding: &str| -> Vec<u64> {
        report["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|db| db["binding"] == binding)
            .unwrap_or_else(|| panic!("no {binding} in {report}"))["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["state"] == "applied")
            .map(|m| m["version"].as_u64().unwrap())
            .collect()
    };
    (of(RR), of(AUTH))
}

//! A team's week: files renamed or deleted before they ran, a failed
//! migration fixed or replaced, branches switched both ways, two branches'
//! versions merged, a file made by wrangler itself, a database with no
//! migrations. Each sequence ends with `status` exiting 0 and no repair
//! command run. The real binary and wrangler on local D1.

use crate::common::*;

mod branches;
mod layouts;
mod legacy;
mod renames;

const RR: &str = "READ_REPLICA";
const AUTH: &str = "AUTH";

/// The rows of wrangler's ledger in `binding`: (name, applied_at).
fn ledger(p: &Project, binding: &str, table: &str) -> Vec<(String, String)> {
    p.query(
        binding,
        &format!("SELECT name, applied_at FROM {table} ORDER BY id"),
    )
    .iter()
    .map(|row| {
        (
            row["name"].as_str().unwrap().to_owned(),
            row["applied_at"].as_str().unwrap().to_owned(),
        )
    })
    .collect()
}

fn ledger_names(p: &Project, binding: &str) -> Vec<String> {
    ledger(p, binding, "d1_migrations")
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// wrangler's own `d1 migrations apply` finds nothing to run in `binding`.
fn wrangler_has_nothing_to_apply(p: &Project, binding: &str) {
    let out = p.wrangler_with(&["d1", "migrations", "apply", binding, "--local"], &[]);
    assert!(out.contains("No migrations to apply"), "{binding}: {out}");
}

fn rename(p: &Project, from: &str, to: &str) {
    std::fs::rename(p.path(from), p.path(to)).unwrap();
}

//! The run's logic on SQLite files standing in for D1 ([`SqliteD1`]): the
//! session, the acquire loop, the hinted plan and its guard, settling a call
//! whose outcome is unknown, and locating a failure. What only the real
//! wrangler can show (its splitter, miniflare, the API) is in `tests/`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::migrate::backup::RestorePoint;
use crate::migrate::d1::{Call, Target};
use crate::migrate::events::{BackupRef, Event, Holds};
use crate::migrate::fixture::{dry_run, options, seeded, Fixture};
use crate::migrate::sqlite_stand_in::{Fault, Kind, SqliteD1};

mod backups;

mod data_loss;

mod failures;

mod locks;

mod plans;

fn failed(events: &[Event], binding: &str) -> Option<(String, Option<FailedAtSummary>, Holds)> {
    events.iter().find_map(|event| match event {
        Event::Failed {
            binding: b,
            error,
            at,
            holds,
            ..
        } if b == binding => Some((
            error.clone(),
            at.as_ref()
                .map(|at| (at.version, at.line, at.statement.clone())),
            holds.clone(),
        )),
        _ => None,
    })
}

type FailedAtSummary = (u64, usize, String);

fn writes(d1: &SqliteD1, binding: &str) -> usize {
    d1.calls()
        .iter()
        .filter(|c| c.binding == binding && c.kind == Kind::File)
        .count()
}

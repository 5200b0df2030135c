//! `migrate unlock`: clears a lock left by a run that died.

use crate::migrate::d1::{Call, D1};
use anyhow::Result;

use crate::flags;
use crate::migrate::calls;
use crate::migrate::lock;
use crate::migrate::project::Project;
use crate::migrate::tracking::{self, NOW_MS};

impl flags::Unlock {
    pub fn run(self, project: &Project) -> Result<()> {
        let d1 = crate::cloudflare::d1_for(project)?;
        let query = format!(
            "SELECT owner, acquired_at, {NOW_MS} AS now FROM _migrations_lock; DELETE FROM _migrations_lock"
        );
        let results = calls::in_parallel(&project.selected, |db| {
            let results = match d1.query(Call::Write, db, &query) {
                Err(err) if tracking::is_missing_table_named(&err, lock::TABLE) => Vec::new(),
                other => other?,
            };
            Ok(match results.first().and_then(|r| r.results.first()) {
                Some(row) => {
                    let owner = row.get("owner").and_then(|v| v.as_str()).unwrap_or("?");
                    let age = row.get("now").and_then(|v| v.as_i64()).unwrap_or(0)
                        - row.get("acquired_at").and_then(|v| v.as_i64()).unwrap_or(0);
                    format!(
                        "🔓 {}: cleared the lock held by {owner} for {} s",
                        db.binding,
                        age / 1000
                    )
                }
                None => format!("{}: was not locked", db.binding),
            })
        });
        calls::report_each(&project.selected, results, |failed| {
            format!("could not unlock {failed}")
        })
    }
}

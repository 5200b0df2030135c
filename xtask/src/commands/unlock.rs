//! `migrate unlock`: clears a lock left by a run that died.

use anyhow::{bail, Result};

use crate::flags;
use crate::migrator;
use crate::project::Project;
use crate::tracking::NOW_MS;
use crate::wrangler::D1Error;

impl flags::Unlock {
    pub fn run(self, project: &Project) -> Result<()> {
        let wrangler = project.wrangler()?;
        let query = format!(
            "SELECT owner, acquired_at, {NOW_MS} AS now FROM _migrations_lock; DELETE FROM _migrations_lock"
        );
        let results = migrator::in_parallel(&project.selected, |db| wrangler.query(db, &query));
        let mut failed = Vec::new();
        for (db, result) in project.selected.iter().zip(results) {
            match result {
                Ok(results) => match results.first().and_then(|r| r.results.first()) {
                    Some(row) => {
                        let owner = row.get("owner").and_then(|v| v.as_str()).unwrap_or("?");
                        let age = row.get("now").and_then(|v| v.as_i64()).unwrap_or(0)
                            - row.get("acquired_at").and_then(|v| v.as_i64()).unwrap_or(0);
                        println!(
                            "🔓 {}: cleared the lock held by {owner} for {} s",
                            db.binding,
                            age / 1000
                        );
                    }
                    None => println!("{}: was not locked", db.binding),
                },
                Err(err)
                    if err
                        .downcast_ref::<D1Error>()
                        .is_some_and(|e| e.text.contains("no such table")) =>
                {
                    println!("{}: was not locked", db.binding)
                }
                Err(err) => {
                    println!("❌ {}: {err:#}", db.binding);
                    failed.push(db.binding.clone());
                }
            }
        }
        if !failed.is_empty() {
            bail!("could not unlock {}", failed.join(", "));
        }
        Ok(())
    }
}

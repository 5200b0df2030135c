//! `migrate unlock`: clears a lock left by a run that died.

use anyhow::Result;

use crate::flags;
use crate::migrate::{self, Project};

impl flags::Unlock {
    pub fn run(self, project: &Project) -> Result<()> {
        let d1 = crate::cloudflare::d1_for(project)?;
        let results =
            migrate::in_parallel(&project.selected, |db| migrate::clear_lock(d1.as_ref(), db));
        super::report_each(&project.selected, results, |failed| {
            format!("could not unlock {failed}")
        })
    }
}

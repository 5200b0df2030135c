//! `migrate mark`, `baseline` and `adopt`: the engine's ledger edits
//! ([`crate::migrate::mark`], [`crate::migrate::baseline`],
//! [`crate::migrate::adopt_all`]), their lines printed.

use anyhow::Result;

use crate::flags;
use crate::migrate::{self, Mark, Project};

impl flags::Mark {
    pub fn run(self, project: &Project) -> Result<()> {
        let d1 = crate::cloudflare::d1_for(project)?;
        let mark = match (self.applied, self.pending, self.checksum) {
            (true, _, _) => Mark::Applied,
            (_, true, _) => Mark::Pending,
            (_, _, true) => Mark::Checksum { force: self.force },
            _ => Mark::Renamed,
        };
        let line = migrate::mark(project, d1.as_ref(), self.version, mark)?;
        crate::out!("{line}");
        Ok(())
    }
}

impl flags::Baseline {
    pub fn run(self, project: &Project) -> Result<()> {
        let d1 = crate::cloudflare::d1_for(project)?;
        let done = migrate::baseline(project, d1.as_ref(), self.version)?;
        if done.databases.is_empty() {
            crate::out!(
                "Nothing to record: every migration up to {} is already recorded.",
                self.version
            );
            return Ok(());
        }
        super::report_each(&done.databases, done.results, |failed| {
            format!("could not record the baseline in {failed} (nothing was recorded there)")
        })
    }
}

impl flags::Adopt {
    pub fn run(self, project: &Project) -> Result<()> {
        let d1 = crate::cloudflare::d1_for(project)?;
        let results = migrate::adopt_all(project, d1.as_ref());
        super::report_each(&project.selected, results, |failed| {
            format!("could not adopt {failed} (nothing was recorded there)")
        })
    }
}

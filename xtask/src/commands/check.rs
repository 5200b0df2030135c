//! `migrate check`: the engine's offline check of the folders, printed;
//! fails when it found an error.

use anyhow::Result;

use crate::flags;
use crate::migrate::Project;

impl flags::Check {
    pub fn run(self, project: &Project) -> Result<()> {
        print_check(project, self.guards, self.strict)
    }
}

/// Checks the folders, prints each finding and the summary; fails (with the
/// summary) when there is an error.
pub fn print_check(project: &Project, guards: bool, strict: bool) -> Result<()> {
    let checked = crate::migrate::check_folders(project, guards, strict);
    for finding in &checked.findings {
        crate::out!("{}", finding.line());
    }
    if checked.errors > 0 {
        anyhow::bail!("{}", checked.summary);
    }
    crate::out!("{}", checked.summary);
    Ok(())
}

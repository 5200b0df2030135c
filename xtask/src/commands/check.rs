//! `migrate check`: the engine's offline check of the folders, printed;
//! fails when it found an error.

use anyhow::Result;

use crate::flags;
use crate::migrate::Project;

impl flags::Check {
    pub fn run(self, project: &Project) -> Result<()> {
        let checked = crate::migrate::check_folders(project, self.guards, self.strict);
        crate::output::report::folder_check(&checked)
    }
}

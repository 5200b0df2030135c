//! `migrate verify`: the engine's verdict on each database, printed; fails
//! naming the databases whose schema does not match.

use anyhow::Result;

use crate::flags;
use crate::migrate::Project;

impl flags::Verify {
    pub fn run(self, project: &Project) -> Result<()> {
        let d1 = crate::cloudflare::d1_for(project)?;
        let results = crate::migrate::verify_all(project, d1.as_ref())
            .into_iter()
            .map(|verdict| verdict.and_then(|v| v.into_result()))
            .collect();
        super::report_each(&project.selected, results, |failed| {
            format!("the schema of {failed} does not match the migrations (see above for what changed and what to do)")
        })
    }
}

//! `migrate check`: everything that can be verified without a database.

use anyhow::{bail, Result};

use crate::flags;
use crate::migrate::project::Project;
use crate::migrate::sql::{self, LintOptions, Severity};

impl flags::Check {
    pub fn run(self, project: &Project) -> Result<()> {
        let options = LintOptions {
            guards: self.guards,
            ..project.lint_options()
        };
        let (mut errors, mut warnings) = (0, 0);
        let mut report = |at: &str, severity: Severity, message: &str| {
            let severity = if self.strict {
                Severity::Error
            } else {
                severity
            };
            let label = match severity {
                Severity::Error => {
                    errors += 1;
                    "error"
                }
                Severity::Warning => {
                    warnings += 1;
                    "warning"
                }
            };
            crate::out!("{at}: {label}: {message}");
        };
        let mut without_rollback = std::collections::BTreeMap::new();
        for migration in &project.migrations {
            let scripts = std::iter::once((&migration.path, &migration.sql))
                .chain(migration.rollback.as_ref().map(|r| (&r.path, &r.sql)));
            for (path, text) in scripts {
                for finding in sql::lint(text, options) {
                    let at = format!("{}:{}", path.display(), finding.line);
                    report(&at, finding.severity, &finding.message);
                }
            }
            if migration.rollback.is_none() {
                without_rollback
                    .entry(project.folder_of(&migration.binding))
                    .or_insert_with(Vec::new)
                    .push(migration.name.as_str());
            }
        }
        // One line for each folder: generated folders often have no rollbacks at all.
        for (folder, without_rollback) in without_rollback {
            let count = without_rollback.len();
            report(
                &folder.display().to_string(),
                Severity::Warning,
                &format!(
                    "{count} migration{} no rollback file, so `down` cannot undo {}: {} \
                     (write NAME.rollback.sql beside each, or rollback.sql in the folder of each)",
                    if count == 1 { " has" } else { "s have" },
                    if count == 1 { "it" } else { "them" },
                    without_rollback.join(", ")
                ),
            );
        }
        let databases = project.config.databases.len();
        let summary = format!(
            "{} migrations checked for {databases} database{}: {errors} error{}, {warnings} warning{}",
            project.migrations.len(),
            if databases == 1 { "" } else { "s" },
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" },
        );
        if errors > 0 {
            bail!("{summary}");
        }
        crate::out!("{summary}");
        Ok(())
    }
}

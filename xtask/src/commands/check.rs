//! `migrate check`: everything that can be verified without a database.

use anyhow::{bail, Result};

use crate::flags;
use crate::project::Project;
use crate::sql::{self, Severity};

impl flags::Check {
    pub fn run(self, project: &Project) -> Result<()> {
        let (mut errors, mut warnings) = (0, 0);
        let mut report =
            |path: &std::path::Path, line: usize, severity: Severity, message: &str| {
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
                println!("{}:{line}: {label}: {message}", path.display());
            };
        for migration in &project.migrations {
            for finding in sql::lint(&migration.sql) {
                report(
                    &migration.path,
                    finding.line,
                    finding.severity,
                    &finding.message,
                );
            }
            match &migration.rollback {
                Some(rollback) => {
                    for finding in sql::lint(&rollback.sql) {
                        report(
                            &rollback.path,
                            finding.line,
                            finding.severity,
                            &finding.message,
                        );
                    }
                }
                None => report(
                    &migration.path,
                    1,
                    Severity::Warning,
                    &format!(
                        "no rollback file: `down` cannot undo it; write {}.rollback.sql",
                        migration.name
                    ),
                ),
            }
        }
        let summary = format!(
            "{} migrations checked for {} database{}: {errors} error{}, {warnings} warning{}",
            project.migrations.len(),
            project.config.databases.len(),
            if project.config.databases.len() == 1 {
                ""
            } else {
                "s"
            },
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" },
        );
        if errors > 0 {
            bail!("{summary}");
        }
        println!("{summary}");
        Ok(())
    }
}

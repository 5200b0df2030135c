//! What can be checked of the migrations without a database (`migrate
//! check`, the release's check step): the D1 lint of every file and
//! rollback, and the migrations without a rollback, one finding per folder.

use crate::migrate::project::Project;
use crate::migrate::sql::{self, LintOptions, Severity};

/// One finding: where, how bad, what.
#[derive(Debug, Clone)]
pub struct Finding {
    /// `path:line`, or a folder.
    pub at: String,
    pub severity: Severity,
    pub message: String,
}

/// What checking the folders found.
#[derive(Debug, Clone)]
pub struct FolderCheck {
    pub findings: Vec<Finding>,
    pub errors: usize,
    pub warnings: usize,
    /// `N migrations checked for D databases: E errors, W warnings`.
    pub summary: String,
}

impl Finding {
    /// The line `check` prints.
    pub fn line(&self) -> String {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        format!("{}: {label}: {}", self.at, self.message)
    }
}

/// Checks `project`'s migrations: `guards` adds the `IF [NOT] EXISTS`
/// warnings, `strict` counts warnings as errors.
pub fn check_folders(project: &Project, guards: bool, strict: bool) -> FolderCheck {
    let options = LintOptions {
        guards,
        ..project.lint_options()
    };
    let mut findings = Vec::new();
    let mut report = |at: String, severity: Severity, message: String| {
        let severity = if strict { Severity::Error } else { severity };
        findings.push(Finding {
            at,
            severity,
            message,
        });
    };
    let mut without_rollback = std::collections::BTreeMap::new();
    for migration in &project.migrations {
        let scripts = std::iter::once((&migration.path, &migration.sql))
            .chain(migration.rollback.as_ref().map(|r| (&r.path, &r.sql)));
        for (path, text) in scripts {
            for finding in sql::lint(text, options) {
                let at = format!("{}:{}", path.display(), finding.line);
                report(at, finding.severity, finding.message);
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
            folder.display().to_string(),
            Severity::Warning,
            format!(
                "{count} migration{} no rollback file, so `down` cannot undo {}: {} \
                 (write NAME.rollback.sql beside each, or rollback.sql in the folder of each)",
                if count == 1 { " has" } else { "s have" },
                if count == 1 { "it" } else { "them" },
                without_rollback.join(", ")
            ),
        );
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let databases = project.config.databases.len();
    let summary = format!(
        "{} migrations checked for {databases} database{}: {errors} error{}, {warnings} warning{}",
        project.migrations.len(),
        if databases == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    );
    FolderCheck {
        findings,
        errors,
        warnings,
        summary,
    }
}

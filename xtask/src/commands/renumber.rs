//! `migrate renumber`: after a merge, moves the migrations that share a
//! version with another (and are not applied) to the next free versions.

use anyhow::{Context, Result};

use crate::flags;
use crate::migrate;
use crate::migrate::Database;
use crate::migrate::Migration;
use crate::migrate::Project;

impl flags::Renumber {
    pub fn run(self, project: &Project) -> Result<()> {
        if project.duplicates.is_empty() {
            crate::out!("Nothing to renumber: no two migrations share a version.");
            return Ok(());
        }
        // A file that shares its version with a duplicate of its folder (with a
        // folder per migration, each file has a folder of its own: the
        // database's folder is what they share).
        let shared = |m: &Migration| {
            project.duplicates.iter().any(|d| {
                d.version == m.version
                    && project.folder_of(&d.binding) == project.folder_of(&m.binding)
            })
        };
        let all: Vec<&Migration> = project
            .migrations
            .iter()
            .chain(&project.duplicates)
            .collect();
        // Only the databases of files that share a version are read.
        let databases: Vec<Database> = project
            .config
            .databases
            .iter()
            .filter(|db| all.iter().any(|m| m.binding == db.binding && shared(m)))
            .cloned()
            .collect();
        let d1 = crate::cloudflare::d1_for(project)?;
        let states = migrate::read_states(&d1, &databases)?;
        let applied = |m: &Migration| {
            databases
                .iter()
                .zip(&states)
                .find(|(db, _)| db.binding == m.binding)
                .is_some_and(|(_, state)| {
                    state
                        .applied
                        .iter()
                        .any(|a| a.version == m.version && a.name == m.name)
                        || state
                            .ledger
                            .iter()
                            .any(|l| !l.is_guard() && l.name == m.file_name)
                })
        };
        let moves = migrate::plan_renumbering(&all, applied)?;
        for step in &moves {
            for (from, to) in &step.renames {
                if !self.dry_run {
                    if to.exists() {
                        anyhow::bail!(
                            "cannot rename {} to {}: that name is taken (nothing else was renamed after it)",
                            from.display(),
                            to.display()
                        );
                    }
                    std::fs::rename(from, to).with_context(|| {
                        format!("cannot rename {} to {}", from.display(), to.display())
                    })?;
                }
                crate::out!(
                    "{} {} → {} ({}: version {} → {})",
                    if self.dry_run {
                        "would rename"
                    } else {
                        "renamed"
                    },
                    from.display(),
                    to.file_name().map_or(to.display().to_string(), |n| n
                        .to_string_lossy()
                        .into_owned()),
                    step.binding,
                    step.from_version,
                    step.to_version
                );
            }
        }
        if !self.dry_run {
            crate::out!(
                "Each version now has one file; `cargo migrate status` shows the moved ones as pending. Commit the renames."
            );
        }
        Ok(())
    }
}

//! Pure planning: from (migrations on disk, rows in `_migrations`) to what to
//! run, or why not. No I/O happens here, so every rule has a unit test.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::source::Migration;

/// One row of a database's `_migrations` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub version: u64,
    pub name: String,
    pub applied_at: i64,
    /// `None` for rows written by the seed's runner, which kept no checksum.
    pub checksum: Option<String>,
    pub duration_ms: Option<i64>,
}

/// Where a migration stands in one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Applied,
    Pending,
    /// Applied, but the file changed since.
    Modified,
    /// Recorded as applied, but its file is gone.
    Missing,
}

/// One line of `status`.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub version: u64,
    pub name: String,
    pub state: State,
    pub file: Option<&'a Migration>,
    pub applied: Option<&'a Applied>,
}

/// True when the recorded row no longer matches the file.
fn is_modified(migration: &Migration, applied: &Applied) -> bool {
    applied.name != migration.name
        || applied
            .checksum
            .as_ref()
            .is_some_and(|sum| *sum != migration.checksum)
}

/// The state of every migration of one database (`files` are those routed to
/// it), in version order.
pub fn status<'a>(files: &[&'a Migration], applied: &'a [Applied]) -> Vec<Entry<'a>> {
    let mut entries: Vec<Entry<'a>> = files
        .iter()
        .map(|&file| {
            let row = applied.iter().find(|row| row.version == file.version);
            let state = match row {
                None => State::Pending,
                Some(row) if is_modified(file, row) => State::Modified,
                Some(_) => State::Applied,
            };
            Entry {
                version: file.version,
                name: file.name.clone(),
                state,
                file: Some(file),
                applied: row,
            }
        })
        .collect();
    entries.extend(
        applied
            .iter()
            .filter(|row| !files.iter().any(|file| file.version == row.version))
            .map(|row| Entry {
                version: row.version,
                name: row.name.clone(),
                state: State::Missing,
                file: None,
                applied: Some(row),
            }),
    );
    entries.sort_by_key(|entry| entry.version);
    entries
}

/// Refuses to go on when the record and the files disagree: a modified or
/// missing applied migration, or a pending one below an applied one.
fn verify(binding: &str, entries: &[Entry<'_>]) -> Result<()> {
    let mut problems = Vec::new();
    for entry in entries {
        match entry.state {
            State::Modified => problems.push(format!(
                "migration {} ({}) was applied to {binding} but its file has changed since \
                 (recorded checksum {}, file {}): restore the file, or add a new migration for the change",
                entry.version,
                entry.name,
                entry.applied.and_then(|a| a.checksum.as_deref()).unwrap_or("none"),
                entry.file.map_or("none", |f| &f.checksum[..]),
            )),
            State::Missing => problems.push(format!(
                "migration {} ({}) is recorded as applied in {binding} but its file is gone: \
                 restore {}.sql, or remove its row with `DELETE FROM _migrations WHERE version = {}`",
                entry.version, entry.name, entry.name, entry.version
            )),
            _ => {}
        }
    }
    let newest_applied = entries
        .iter()
        .filter(|e| e.state != State::Pending)
        .map(|e| e.version)
        .max();
    if let Some(newest) = newest_applied {
        for entry in entries
            .iter()
            .filter(|e| e.state == State::Pending && e.version < newest)
        {
            problems.push(format!(
                "migration {} ({}) is pending in {binding} but the later migration {newest} is already applied: \
                 migrations must be applied in order; renumber it after {newest}",
                entry.version, entry.name
            ));
        }
    }
    match problems.len() {
        0 => Ok(()),
        _ => bail!("{}", problems.join("\n")),
    }
}

/// What `up [VERSION]` runs in one database: its pending migrations up to
/// `target`, oldest first.
pub fn plan_up<'a>(
    binding: &str,
    files: &[&'a Migration],
    applied: &[Applied],
    target: Option<u64>,
) -> Result<Vec<&'a Migration>> {
    let entries = status(files, applied);
    verify(binding, &entries)?;
    Ok(files
        .iter()
        .copied()
        .filter(|file| {
            entries.iter().any(|e| {
                e.version == file.version
                    && e.state == State::Pending
                    && target.is_none_or(|t| e.version <= t)
            })
        })
        .collect())
}

/// What `down VERSION` runs in one database: every applied migration above
/// `target`, newest first. Each needs a rollback file.
pub fn plan_down<'a>(
    binding: &str,
    files: &[&'a Migration],
    applied: &[Applied],
    target: u64,
) -> Result<Vec<&'a Migration>> {
    let entries = status(files, applied);
    verify(binding, &entries)?;
    let plan: Vec<&'a Migration> = files
        .iter()
        .rev()
        .copied()
        .filter(|file| {
            file.version > target
                && entries
                    .iter()
                    .any(|e| e.version == file.version && e.state == State::Applied)
        })
        .collect();
    let without: Vec<String> = plan
        .iter()
        .filter(|m| m.rollback.is_none())
        .map(|m| format!("{}.rollback.sql", m.name))
        .collect();
    if !without.is_empty() {
        bail!(
            "cannot roll back {binding} to version {target}: missing rollback file{} {} \
             (nothing was rolled back; write {} first)",
            if without.len() == 1 { "" } else { "s" },
            without.join(", "),
            if without.len() == 1 { "it" } else { "them" },
        );
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(version: u64, rollback: bool) -> Migration {
        let name = format!("{version:04}_m{version}");
        Migration {
            version,
            path: PathBuf::from(format!("{name}.sql")),
            name,
            sql: String::new(),
            checksum: format!("sum{version}"),
            binding: "DB".into(),
            rollback: rollback.then(|| crate::source::Script {
                path: PathBuf::new(),
                sql: String::new(),
                checksum: String::new(),
            }),
        }
    }

    fn row(m: &Migration) -> Applied {
        Applied {
            version: m.version,
            name: m.name.clone(),
            applied_at: 1,
            checksum: Some(m.checksum.clone()),
            duration_ms: Some(1),
        }
    }

    fn versions(plan: &[&Migration]) -> Vec<u64> {
        plan.iter().map(|m| m.version).collect()
    }

    #[test]
    fn up_plans_pending_in_order_up_to_target() {
        let files: Vec<_> = (1..=4).map(|v| file(v, true)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied = vec![row(&files[0])];
        assert_eq!(
            versions(&plan_up("DB", &refs, &applied, None).unwrap()),
            [2, 3, 4]
        );
        assert_eq!(
            versions(&plan_up("DB", &refs, &applied, Some(3)).unwrap()),
            [2, 3]
        );
        assert!(plan_up("DB", &refs, &applied, Some(1)).unwrap().is_empty());
    }

    #[test]
    fn up_fails_on_modified_applied_migration() {
        let files = [file(1, true)];
        let mut applied = row(&files[0]);
        applied.checksum = Some("other".into());
        let err = plan_up("DB", &[&files[0]], &[applied], None).unwrap_err();
        assert!(err
            .to_string()
            .contains("migration 1 (0001_m1) was applied to DB but its file has changed"));
    }

    #[test]
    fn legacy_rows_without_checksum_count_as_applied() {
        let files = [file(1, true)];
        let mut applied = row(&files[0]);
        applied.checksum = None;
        let entries = status(&[&files[0]], std::slice::from_ref(&applied));
        assert_eq!(entries[0].state, State::Applied);
    }

    #[test]
    fn renamed_file_is_modified() {
        let files = [file(1, true)];
        let mut applied = row(&files[0]);
        applied.name = "0001_old".into();
        assert_eq!(
            status(&[&files[0]], std::slice::from_ref(&applied))[0].state,
            State::Modified
        );
    }

    #[test]
    fn up_fails_on_applied_version_without_file() {
        let files = [file(1, true)];
        let mut gone = row(&files[0]);
        gone.version = 2;
        gone.name = "0002_gone".into();
        let applied = vec![row(&files[0]), gone];
        let entries = status(&[&files[0]], &applied);
        assert_eq!(entries[1].state, State::Missing);
        let err = plan_up("DB", &[&files[0]], &applied, None).unwrap_err();
        assert!(err.to_string().contains("0002_gone"), "{err}");
    }

    #[test]
    fn up_fails_on_pending_below_applied() {
        let files: Vec<_> = (1..=3).map(|v| file(v, true)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied = vec![row(&files[0]), row(&files[2])];
        let err = plan_up("DB", &refs, &applied, None).unwrap_err();
        assert!(
            err.to_string().contains("migration 2 (0002_m2) is pending"),
            "{err}"
        );
    }

    #[test]
    fn down_plans_newest_first_and_needs_every_rollback() {
        let files: Vec<_> = (1..=4).map(|v| file(v, v != 2)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied: Vec<_> = files.iter().map(row).collect();
        assert_eq!(
            versions(&plan_down("DB", &refs, &applied, 2).unwrap()),
            [4, 3]
        );
        let err = plan_down("DB", &refs, &applied, 1).unwrap_err();
        assert!(err.to_string().contains("0002_m2.rollback.sql"), "{err}");
        assert!(err.to_string().contains("nothing was rolled back"), "{err}");
        assert!(plan_down("DB", &refs, &applied, 4).unwrap().is_empty());
    }

    #[test]
    fn down_skips_pending() {
        let files: Vec<_> = (1..=3).map(|v| file(v, true)).collect();
        let refs: Vec<_> = files.iter().collect();
        let applied = vec![row(&files[0])];
        assert_eq!(versions(&plan_down("DB", &refs, &applied, 0).unwrap()), [1]);
    }
}

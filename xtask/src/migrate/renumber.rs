//! After a merge: two files of one folder with the same version. Which of
//! them moves to the next free version (never one that is applied), and
//! what its files are called then. Pure: the command does the renaming.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::migrate::source::Migration;

/// One file (with its rollback) to rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub binding: String,
    pub from_version: u64,
    pub to_version: u64,
    /// What is renamed: the file (and its rollback, listed too), or with a
    /// folder per migration, that folder.
    pub renames: Vec<(PathBuf, PathBuf)>,
}

/// The name `path` gets when the version it starts with becomes `version`,
/// at the same width (`0007_a.sql` → `0009_a.sql`).
fn renumbered(path: &Path, version: u64) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    let number = format!("{version:0digits$}");
    Some(path.with_file_name(format!("{number}{}", &name[digits..])))
}

/// The renames that give `migration` the version `version`.
fn renames_for(migration: &Migration, version: u64) -> Vec<(PathBuf, PathBuf)> {
    // A folder per migration (`20260705012128_x/migration.sql`): the
    // folder carries the version.
    if migration.file_name.contains('/') {
        return migration
            .path
            .parent()
            .and_then(|folder| Some((folder.to_path_buf(), renumbered(folder, version)?)))
            .into_iter()
            .collect();
    }
    std::iter::once(&migration.path)
        .chain(migration.rollback.as_ref().map(|r| &r.path))
        .filter_map(|path| Some((path.clone(), renumbered(path, version)?)))
        .collect()
}

/// The moves that leave every version of a folder to one file: of the files
/// sharing a version, the one `applied` says is applied stays (or, when none
/// is, the first by name) and the others get the next versions after the
/// folder's newest, in order. `all` is every migration of the folders
/// concerned, duplicates included. Refused when two sharing a version are
/// both applied: then the record itself disagrees, and no rename mends it.
pub fn plan(all: &[&Migration], applied: impl Fn(&Migration) -> bool) -> Result<Vec<Move>> {
    let folder = |m: &Migration| -> PathBuf {
        let path = match m.file_name.contains('/') {
            true => m.path.parent().and_then(Path::parent),
            false => m.path.parent(),
        };
        path.map(Path::to_path_buf).unwrap_or_default()
    };
    let mut folders: Vec<PathBuf> = all.iter().map(|m| folder(m)).collect();
    folders.sort();
    folders.dedup();
    let mut moves = Vec::new();
    let mut refused = Vec::new();
    for dir in folders {
        let mut here: Vec<&Migration> = all.iter().copied().filter(|m| folder(m) == dir).collect();
        here.sort_by(|a, b| (a.version, &a.file_name).cmp(&(b.version, &b.file_name)));
        let mut next = here.iter().map(|m| m.version).max().unwrap_or(0) + 1;
        let mut versions: Vec<u64> = here.iter().map(|m| m.version).collect();
        versions.dedup();
        for version in versions {
            let sharing: Vec<&Migration> = here
                .iter()
                .copied()
                .filter(|m| m.version == version)
                .collect();
            if sharing.len() < 2 {
                continue;
            }
            let applied_ones: Vec<&Migration> =
                sharing.iter().copied().filter(|m| applied(m)).collect();
            let stays = match applied_ones[..] {
                [] => sharing[0],
                [one] => one,
                _ => {
                    let names: Vec<String> = applied_ones
                        .iter()
                        .map(|m| format!("{} (in {})", m.path.display(), m.binding))
                        .collect();
                    refused.push(format!(
                        "version {version}: {} are all applied, so none can move",
                        names.join(" and ")
                    ));
                    continue;
                }
            };
            for moving in sharing.iter().filter(|m| !std::ptr::eq(**m, stays)) {
                moves.push(Move {
                    binding: moving.binding.clone(),
                    from_version: version,
                    to_version: next,
                    renames: renames_for(moving, next),
                });
                next += 1;
            }
        }
    }
    if !refused.is_empty() {
        bail!("nothing was renamed: {}", refused.join("; "));
    }
    Ok(moves)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::Script;

    fn migration(file: &str, binding: &str, rollback: bool) -> Migration {
        let path = PathBuf::from("/p/migrations").join(file);
        let digits = file.bytes().take_while(u8::is_ascii_digit).count();
        let stem = file.split('/').next().unwrap().trim_end_matches(".sql");
        Migration {
            version: file[..digits].parse().unwrap(),
            name: stem.to_owned(),
            file_name: file.to_owned(),
            rollback: rollback.then(|| Script {
                path: path.with_file_name(format!("{stem}.rollback.sql")),
                sql: String::new(),
                checksum: String::new(),
                ledger_name: None,
            }),
            path,
            sql: String::new(),
            checksum: String::new(),
            binding: binding.to_owned(),
            stored: false,
        }
    }

    #[test]
    fn the_unapplied_one_moves_after_the_newest_with_its_rollback() {
        let files = [
            migration("0006_f.sql", "A", false),
            migration("0007_a.sql", "A", true),
            migration("0007_b.sql", "B", true),
        ];
        let all: Vec<&Migration> = files.iter().collect();
        // 0007_b is applied: 0007_a moves, though it comes first by name.
        let moves = plan(&all, |m| m.name == "0007_b").unwrap();
        assert_eq!(moves.len(), 1);
        assert_eq!((moves[0].from_version, moves[0].to_version), (7, 8));
        assert_eq!(
            moves[0].renames,
            [
                (
                    "/p/migrations/0007_a.sql".into(),
                    "/p/migrations/0008_a.sql".into()
                ),
                (
                    "/p/migrations/0007_a.rollback.sql".into(),
                    "/p/migrations/0008_a.rollback.sql".into()
                ),
            ]
        );
        // Neither applied: the first by name stays.
        let moves = plan(&all, |_| false).unwrap();
        assert_eq!(
            moves[0].renames[0].0,
            PathBuf::from("/p/migrations/0007_b.sql")
        );
        // Both applied: nothing moves.
        let err = plan(&all, |m| m.version == 7).unwrap_err().to_string();
        assert!(
            err.contains("0007_a.sql") && err.contains("0007_b.sql"),
            "{err}"
        );
        // Nothing shared: nothing to do.
        assert!(plan(&all[..2], |_| false).unwrap().is_empty());
    }

    #[test]
    fn a_folder_per_migration_moves_as_a_folder_and_keeps_its_width() {
        let files = [
            migration("20260101000000_a/migration.sql", "DB", false),
            migration("20260101000000_b/migration.sql", "DB", false),
            migration("20260201000000_c/migration.sql", "DB", false),
        ];
        let all: Vec<&Migration> = files.iter().collect();
        let moves = plan(&all, |_| false).unwrap();
        assert_eq!(
            moves[0].renames,
            [(
                "/p/migrations/20260101000000_b".into(),
                "/p/migrations/20260201000001_b".into()
            )]
        );
        let three = [
            migration("7_x.sql", "DB", false),
            migration("7_y.sql", "DB", false),
        ];
        let moves = plan(&three.iter().collect::<Vec<_>>(), |_| false).unwrap();
        assert_eq!(
            moves[0].renames[0].1,
            PathBuf::from("/p/migrations/8_y.sql")
        );
    }
}

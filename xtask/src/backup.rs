//! Backups: `wrangler d1 export` of a database before it changes, kept
//! owner-only in the backup folder, the newest N per database.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

use crate::config::{Config, Database};
use crate::flags::BackupOptions;
use crate::wrangler::{Target, Wrangler};

/// One backup written.
#[derive(Debug, Clone)]
pub struct Backup {
    pub path: PathBuf,
    /// Remote only: D1's Time Travel bookmark taken right after the export.
    pub bookmark: Option<String>,
}

impl Backup {
    /// Deletes a backup that turned out not to be needed.
    pub fn discard(&self) {
        std::fs::remove_file(&self.path).ok();
        if self.bookmark.is_some() {
            std::fs::remove_file(self.path.with_extension("bookmark")).ok();
        }
    }
}

/// The backup folder and its retention.
#[derive(Debug, Clone)]
pub struct Backups {
    pub dir: PathBuf,
    keep: usize,
}

impl Backups {
    pub fn new(config: &Config, options: &BackupOptions) -> Backups {
        Backups {
            dir: options
                .backup_dir
                .clone()
                .unwrap_or_else(|| config.dir().join("backups")),
            keep: options.keep_backups.max(1),
        }
    }

    /// Exports `db` to `<dir>/<binding>-<UTC time>-v<version>.sql`; without
    /// a known `version`, the newest one recorded in the export names it.
    pub fn take(&self, wrangler: &Wrangler, db: &Database, version: Option<u64>) -> Result<Backup> {
        create_private_dir(&self.dir)?;
        let stamp = timestamp(SystemTime::now());
        let label = version.map_or("v-".to_owned(), |v| format!("v{v}"));
        let mut path = self.reserve(db, &stamp, &label)?;
        if let Err(err) = wrangler.export(db, &path) {
            std::fs::remove_file(&path).ok();
            return Err(err).with_context(|| format!("could not back up {}", db.binding));
        }
        if version.is_none() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the backup {}", path.display()))?;
            let named = self.reserve(db, &stamp, &format!("v{}", newest_version_in(&text)))?;
            std::fs::rename(&path, &named)
                .with_context(|| format!("cannot rename the backup to {}", named.display()))?;
            path = named;
        }
        restrict(&path)?;
        let bookmark = match wrangler.target {
            Target::Local => None,
            Target::Remote => {
                let bookmark = wrangler.bookmark(db).with_context(|| {
                    format!("could not read the Time Travel bookmark of {}", db.binding)
                })?;
                let file = path.with_extension("bookmark");
                std::fs::write(&file, format!("{bookmark}\n"))
                    .with_context(|| format!("cannot write {}", file.display()))?;
                restrict(&file)?;
                tracing::info!(database = %db.binding, bookmark = %bookmark, "Time Travel bookmark before the change");
                Some(bookmark)
            }
        };
        tracing::info!(database = %db.binding, backup = %path.display(), "backed up");
        self.prune(&db.binding);
        Ok(Backup { path, bookmark })
    }

    /// Creates an empty owner-only `<binding>-<stamp>-<label>[-n].sql` that no
    /// other backup has, and returns its path.
    fn reserve(&self, db: &Database, stamp: &str, label: &str) -> Result<PathBuf> {
        for n in 1..1000 {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            let path = self
                .dir
                .join(format!("{}-{stamp}-{label}{suffix}.sql", db.binding));
            match create_private_file(&path) {
                Ok(_) => return Ok(path),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
        bail!(
            "cannot name a backup file in {}: too many taken",
            self.dir.display()
        )
    }

    /// Deletes all but the newest `keep` backups of `binding` (and their bookmarks).
    fn prune(&self, binding: &str) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!("{binding}-");
        let mut backups: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                name.starts_with(&prefix)
                    && name.ends_with(".sql")
                    && name[prefix.len()..].starts_with(|c: char| c.is_ascii_digit())
            })
            .collect();
        // Oldest first: by the time written, then by name.
        backups.sort_by_key(|p| {
            (
                std::fs::metadata(p).and_then(|m| m.modified()).ok(),
                p.clone(),
            )
        });
        let excess = backups.len().saturating_sub(self.keep);
        for old in &backups[..excess] {
            tracing::debug!(backup = %old.display(), "removing an old backup");
            std::fs::remove_file(old).ok();
            std::fs::remove_file(old.with_extension("bookmark")).ok();
        }
    }
}

/// The newest migration a `wrangler d1 export` records in `_migrations` (0 for none).
fn newest_version_in(export: &str) -> u64 {
    export
        .lines()
        .filter_map(|line| line.strip_prefix("INSERT INTO \"_migrations\" VALUES("))
        .filter_map(|rest| rest.split(',').next()?.trim().parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

/// `2026-11-24T04:51:00Z` → `20261124T045100Z`: sortable, and safe in file names.
fn timestamp(now: SystemTime) -> String {
    humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace(['-', ':'], "")
}

/// Creates the backup folder owner-only; a folder that exists is left as it is.
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the backup folder {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", dir.display()))?;
    }
    Ok(())
}

/// Creates an empty owner-only file that wrangler then writes into (it keeps the mode).
fn create_private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn restrict(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).with_context(
            || format!("cannot make {} readable by its owner only", path.display()),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_recorded_version_names_a_backup() {
        let export = "PRAGMA defer_foreign_keys=TRUE;\nINSERT INTO \"_migrations\" VALUES(2,'0002_b',1,'x',NULL);\n\
                      INSERT INTO \"_migrations\" VALUES(10,'0010_c',2,'y',3);\nINSERT INTO \"t\" VALUES(99);\n";
        assert_eq!(newest_version_in(export), 10);
        assert_eq!(newest_version_in("CREATE TABLE t(a);"), 0);
    }
    use std::time::Duration;

    #[test]
    fn timestamps_sort_and_fit_in_file_names() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_495_031);
        assert_eq!(timestamp(t), "20261124T043711Z");
    }

    #[test]
    fn prune_keeps_the_newest_per_database() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "AUTH-20260101T000000Z-v1.sql",
            "AUTH-20260102T000000Z-v2.sql",
            "AUTH-20260102T000000Z-v2.bookmark",
            "AUTH-20260103T000000Z-v3.sql",
            "AUTH_X-20260101T000000Z-v1.sql",
            "READ_REPLICA-20260101T000000Z-v1.sql",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let backups = Backups {
            dir: dir.path().to_path_buf(),
            keep: 1,
        };
        backups.prune("AUTH");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "AUTH-20260103T000000Z-v3.sql",
                "AUTH_X-20260101T000000Z-v1.sql",
                "READ_REPLICA-20260101T000000Z-v1.sql"
            ]
        );
    }
}

//! Backups: `wrangler d1 export` of a database before it changes, kept
//! owner-only in the backup folder, the newest N per database.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

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

    /// Exports `db` (at `version`) to `<dir>/<binding>-<UTC time>-v<version>.sql`.
    pub fn take(&self, wrangler: &Wrangler, db: &Database, version: u64) -> Result<Backup> {
        create_private_dir(&self.dir)?;
        let stamp = timestamp(SystemTime::now());
        let (path, _file) = (1..)
            .map(|n| {
                let suffix = if n == 1 {
                    String::new()
                } else {
                    format!("-{n}")
                };
                self.dir
                    .join(format!("{}-{stamp}-v{version}{suffix}.sql", db.binding))
            })
            .find_map(|path| create_private_file(&path).ok().map(|file| (path, file)))
            .context("cannot name a backup file")?;
        if let Err(err) = wrangler.export(db, &path) {
            std::fs::remove_file(&path).ok();
            return Err(err).with_context(|| format!("could not back up {}", db.binding));
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

/// `2026-11-24T04:51:00Z` → `20261124T045100Z`: sortable, and safe in file names.
fn timestamp(now: SystemTime) -> String {
    humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace(['-', ':'], "")
}

fn create_private_dir(dir: &Path) -> Result<()> {
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

//! Backups of a database before it changes, kept owner-only in the backup
//! folder, the newest N per database:
//!
//! - local: SQLite's online backup of miniflare's database file
//!   (`<binding>-<time>-v<version>.sqlite`): exact, virtual tables included,
//!   and no wrangler call;
//! - remote, by default ([`RestorePoint::Bookmark`]): D1's Time Travel
//!   bookmark alone (`….bookmark`), one request that blocks nothing;
//! - remote, when asked ([`RestorePoint::Export`]): `wrangler d1 export`
//!   (`….sql`) and the bookmark taken right after it (`….bookmark`). D1 blocks
//!   the database's other requests while an export runs, so each one is
//!   announced and timed; a database with virtual tables, which `d1 export`
//!   refuses, gets the bookmark alone, a full restore point.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};

use crate::migrate::config::{Config, Database};
use crate::migrate::d1::{export_error, Call, ExportRefused, Target, D1};
use crate::migrate::events::BackupRef;
use crate::migrate::local_files;
use crate::migrate::tracking;
use crate::text::human_duration;

mod listing;
pub mod manifest;
mod restore;

pub use listing::Listed;

pub use restore::{prepare, Prepared, RestoreFrom, Restored};

pub use manifest::Manifest;

/// What a remote backup is; a local one is always SQLite's copy of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePoint {
    /// D1's Time Travel bookmark alone: one request, blocks nothing,
    /// restorable for 30 days (7 on the Workers free plan).
    Bookmark,
    /// `wrangler d1 export` and the bookmark after it: a file that outlives
    /// Time Travel, but D1 blocks the database's other requests while it runs.
    Export,
}

/// Which restore point each database gets before a remote run changes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Every database's, when the command line says (`--backup`).
    pub all: Option<RestorePoint>,
    /// The databases that `migrate.toml`'s `[backup] export` names.
    pub exported: Vec<String>,
}

impl Policy {
    /// `all`'s kind for every database of `project` (the command line's
    /// `--backup`), else what `migrate.toml`'s `[backup]` says.
    pub fn for_project(
        project: &crate::migrate::project::Project,
        all: Option<RestorePoint>,
    ) -> Policy {
        Policy {
            all,
            exported: project.backup.export.clone(),
        }
    }

    /// The restore point of `binding`: the command line's, else an export
    /// when `migrate.toml` asks for one, else a bookmark.
    pub fn for_database(&self, binding: &str) -> RestorePoint {
        match self.all {
            Some(point) => point,
            None if self.exported.iter().any(|b| b == binding) => RestorePoint::Export,
            None => RestorePoint::Bookmark,
        }
    }
}

/// One backup written.
#[derive(Debug, Clone)]
pub struct Backup {
    /// The backup file: `.sqlite` (local), `.sql` (remote export), or
    /// `.bookmark` alone (remote, by default or when the export is impossible).
    pub path: PathBuf,
    /// Remote only: D1's Time Travel bookmark (right after the export, if any).
    pub bookmark: Option<String>,
    /// How long the export took (the time D1 blocked the database), if one ran.
    pub exported_in: Option<Duration>,
}

impl From<&Backup> for BackupRef {
    fn from(backup: &Backup) -> BackupRef {
        BackupRef {
            path: backup.path.clone(),
            bookmark: backup.bookmark.clone(),
            exported_ms: backup.exported_in.map(|took| took.as_millis() as u64),
        }
    }
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

/// The extensions a backup's files have.
const EXTENSIONS: [&str; 3] = ["sqlite", "sql", "bookmark"];

/// What SQLite may leave beside a database file (`x.sqlite-wal`): never
/// beside a backup written or read now, but earlier versions left them.
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// The backup folder and its retention.
#[derive(Debug, Clone)]
pub struct Backups {
    pub dir: PathBuf,
    keep: usize,
}

impl Backups {
    /// The folder `dir` (by default `backups/` beside the config), keeping
    /// the newest `keep` backups of each database (at least one).
    pub fn new(config: &Config, dir: Option<&Path>, keep: usize) -> Backups {
        Backups {
            dir: dir.map_or_else(|| config.dir().join("backups"), Path::to_path_buf),
            keep: keep.max(1),
        }
    }

    /// Backs up `db` as `<dir>/<binding>-<UTC time>-v<version>.<ext>`;
    /// without a known `version`, the newest one recorded in the backup (or,
    /// for a bookmark alone, in the database) names it. `virtual_tables` says
    /// whether the database has any, when known; `point` is what a remote
    /// backup is (locally it changes nothing).
    pub fn take(
        &self,
        d1: &dyn D1,
        db: &Database,
        version: Option<u64>,
        virtual_tables: Option<bool>,
        point: RestorePoint,
    ) -> Result<Backup> {
        create_private_dir(&self.dir)?;
        let stamp = timestamp(SystemTime::now());
        let label = |version: Option<u64>| version.map_or("v-".to_owned(), |v| format!("v{v}"));
        let backup = match d1.target() {
            Target::Local => {
                let path = self.reserve(db, &stamp, &label(version), "sqlite")?;
                let live = local_files::database_file(&d1.local_state(), db);
                if let Err(err) = local_files::back_up(&live, &path) {
                    std::fs::remove_file(&path).ok();
                    return Err(err).with_context(|| format!("could not back up {}", db.binding));
                }
                let (path, version) = match version {
                    Some(version) => (path, version),
                    None => {
                        let version = local_d1_version(&path)?;
                        (self.relabel(db, &stamp, path, version)?, version)
                    }
                };
                manifest::stamp_sqlite(&path, &manifest_of(d1, db, version))?;
                Backup {
                    path,
                    bookmark: None,
                    exported_in: None,
                }
            }
            Target::Remote => {
                let exporting = match (point, virtual_tables) {
                    (RestorePoint::Bookmark, _) => false,
                    (RestorePoint::Export, Some(true)) => {
                        warn_virtual_tables(db);
                        false
                    }
                    (RestorePoint::Export, _) => true,
                };
                self.take_remote(d1, db, version, exporting, &stamp)?
            }
        };
        restrict(&backup.path)?;
        // A run's log says so from its `BackupWritten` event (with the
        // bookmark and the export's time): here only at debug, not twice.
        tracing::debug!(database = %db.binding, backup = %backup.path.display(), "backed up");
        self.prune(&db.binding);
        Ok(backup)
    }

    /// The remote backup: when `exporting`, an export and the bookmark after
    /// it; else, or when the export is refused for virtual tables, the
    /// bookmark alone.
    fn take_remote(
        &self,
        d1: &dyn D1,
        db: &Database,
        version: Option<u64>,
        exporting: bool,
        stamp: &str,
    ) -> Result<Backup> {
        let label = version.map_or("v-".to_owned(), |v| format!("v{v}"));
        let exported = match exporting {
            true => self.export_into(d1, db, version, stamp, &label)?,
            false => None,
        };
        let (path, version, exported_in) = match exported {
            Some((path, version, took)) => (path, version, Some(took)),
            None => {
                let version = match version {
                    Some(version) => version,
                    None => recorded_version(d1, db)?,
                };
                let path = self.reserve(db, stamp, &format!("v{version}"), "bookmark")?;
                (path, version, None)
            }
        };
        let bookmark = d1.bookmark(db).with_context(|| {
            format!("could not read the Time Travel bookmark of {}", db.binding)
        })?;
        let file = path.with_extension("bookmark");
        manifest::write_bookmark(&file, &bookmark, &manifest_of(d1, db, version))?;
        restrict(&file)?;
        tracing::info!(database = %db.binding, bookmark = %bookmark, "Time Travel bookmark before the change");
        Ok(Backup {
            path,
            bookmark: Some(bookmark),
            exported_in,
        })
    }

    /// Exports `db` into the folder, named after its version (given, or the
    /// newest its export records) and stamped with its manifest; returns the
    /// file, the version and how long the export took. `None` when `wrangler
    /// d1 export` refuses the database's virtual tables.
    fn export_into(
        &self,
        d1: &dyn D1,
        db: &Database,
        version: Option<u64>,
        stamp: &str,
        label: &str,
    ) -> Result<Option<(PathBuf, u64, Duration)>> {
        let path = self.reserve(db, stamp, label, "sql")?;
        let took = match export(d1, db, &path) {
            Ok(took) => took,
            Err(err) => {
                std::fs::remove_file(&path).ok();
                if refuses_virtual_tables(&err) {
                    warn_virtual_tables(db);
                    return Ok(None);
                }
                return Err(err).with_context(|| format!("could not back up {}", db.binding));
            }
        };
        let version = match version {
            Some(version) => version,
            None => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read the backup {}", path.display()))?;
                newest_version_in(&text)
            }
        };
        let path = match label {
            "v-" => self.relabel(db, stamp, path, version)?,
            _ => path,
        };
        manifest::stamp_sql(&path, &manifest_of(d1, db, version))?;
        Ok(Some((path, version, took)))
    }

    /// Renames a backup written as `v-` after the newest version it records.
    fn relabel(&self, db: &Database, stamp: &str, path: PathBuf, version: u64) -> Result<PathBuf> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        let named = self.reserve(db, stamp, &format!("v{version}"), &extension)?;
        std::fs::rename(&path, &named)
            .with_context(|| format!("cannot rename the backup to {}", named.display()))?;
        Ok(named)
    }

    /// Creates an empty owner-only `<binding>-<stamp>-<label>[-n].<extension>`
    /// that no other backup has, and returns its path.
    fn reserve(&self, db: &Database, stamp: &str, label: &str, extension: &str) -> Result<PathBuf> {
        for n in 1..1000 {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            let stem = format!("{}-{stamp}-{label}{suffix}", db.binding);
            if EXTENSIONS
                .iter()
                .any(|ext| self.dir.join(format!("{stem}.{ext}")).exists())
            {
                continue;
            }
            let path = self.dir.join(format!("{stem}.{extension}"));
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

    /// Deletes all but the newest `keep` backups of `binding` (each with all
    /// its files), and SQLite's side files of `binding`'s backups that are
    /// gone (or were renamed: a `v-` backup once named after its version).
    fn prune(&self, binding: &str) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!("{binding}-");
        let ours = |stem: &str| {
            stem.strip_prefix(&prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        };
        let mut stems: Vec<(Option<SystemTime>, String)> = Vec::new();
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let database = SIDE_FILES
                .iter()
                .find_map(|side| name.strip_suffix(side))
                .filter(|database| database.ends_with(".sqlite"));
            if let Some(database) = database {
                if ours(database) && !self.dir.join(database).exists() {
                    std::fs::remove_file(&path).ok();
                }
                continue;
            }
            let Some((stem, extension)) = name.rsplit_once('.') else {
                continue;
            };
            if !EXTENSIONS.contains(&extension)
                || !ours(stem)
                || stems.iter().any(|(_, s)| s == stem)
            {
                continue;
            }
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            stems.push((modified, stem.to_owned()));
        }
        // Oldest first: by the time written, then by name.
        stems.sort();
        let excess = stems.len().saturating_sub(self.keep);
        for (_, old) in &stems[..excess] {
            tracing::debug!(backup = %old, "removing an old backup");
            for extension in EXTENSIONS {
                std::fs::remove_file(self.dir.join(format!("{old}.{extension}"))).ok();
            }
            for side in SIDE_FILES {
                std::fs::remove_file(self.dir.join(format!("{old}.sqlite{side}"))).ok();
            }
        }
    }
}

/// `wrangler d1 export` of `db` into `output`, announced first (D1 blocks the
/// database's other requests while it runs) and timed: how long it took.
pub fn export(d1: &dyn D1, db: &Database, output: &Path) -> Result<Duration> {
    tracing::warn!(
        database = %db.binding,
        "exporting {}: D1 blocks the database's other requests while an export runs",
        db.binding
    );
    let started = Instant::now();
    d1.export(db, output).map_err(export_error)?;
    let took = started.elapsed();
    tracing::info!(
        database = %db.binding,
        duration_ms = took.as_millis() as u64,
        "exported {} in {}",
        db.binding,
        human_duration(took)
    );
    Ok(took)
}

fn warn_virtual_tables(db: &Database) {
    tracing::warn!(
        database = %db.binding,
        "{} has virtual tables, which `wrangler d1 export` refuses: its backup is the Time Travel bookmark alone",
        db.binding
    );
}

/// The newest migration `db` records in `_migrations` (0 without the table).
fn recorded_version(d1: &dyn D1, db: &Database) -> Result<u64> {
    let sql = format!(
        "SELECT coalesce(max(version), 0) AS version FROM {}",
        tracking::TABLE
    );
    match d1.query(Call::Read, db, &sql) {
        Ok(results) => Ok(results
            .first()
            .and_then(|r| r.results.first())
            .and_then(|row| row.get("version"))
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(0)),
        Err(err) if tracking::is_missing_table(&err) => Ok(0),
        Err(err) => Err(err).with_context(|| {
            format!(
                "cannot read the version of {} to name its backup",
                db.binding
            )
        }),
    }
}

/// What a backup of `db` taken now at `version` says of itself.
fn manifest_of(d1: &dyn D1, db: &Database, version: u64) -> Manifest {
    Manifest {
        binding: db.binding.clone(),
        database: db.name.clone(),
        target: d1.target().to_string(),
        version,
        taken_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
    }
}

/// True when `wrangler d1 export` failed because the database has virtual tables.
pub fn refuses_virtual_tables(err: &anyhow::Error) -> bool {
    err.downcast_ref::<ExportRefused>().is_some()
}

/// The newest migration a local backup file records in `_migrations` (0 for none).
fn local_d1_version(path: &Path) -> Result<u64> {
    let connection = local_files::open_at_rest(path)?;
    if !local_files::table_in(&connection, "_migrations")
        .with_context(|| format!("cannot read the schema of {}", path.display()))?
    {
        return Ok(0);
    }
    connection
        .query_row(
            "SELECT coalesce(max(version), 0) FROM _migrations",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map(|v| v.max(0) as u64)
        .with_context(|| format!("cannot read _migrations in {}", path.display()))
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
mod tests;

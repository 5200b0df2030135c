//! What the backup folder holds: each backup of a database (its main file,
//! what it says of itself, its bookmark), and the whole exports of a remote
//! database a rehearsal can seed from.

use std::path::PathBuf;

use super::{manifest, Backups, Manifest, EXTENSIONS};
use crate::migrate::config::Database;
use crate::migrate::d1::Target;

/// One backup in the folder, for `backup --list`.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its main file (`.sqlite`, `.sql`, or a `.bookmark` alone).
    pub path: PathBuf,
    pub manifest: Option<Manifest>,
    pub bookmark: Option<String>,
}

impl Backups {
    /// The backups of `binding` in the folder, oldest first: each backup's
    /// main file (a `.bookmark` beside an export is that export's).
    pub fn list(&self, binding: &str) -> Vec<Listed> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let prefix = format!("{binding}-");
        let mut stems: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|name| {
                let (stem, extension) = name.rsplit_once('.')?;
                let ours = stem
                    .strip_prefix(&prefix)?
                    .starts_with(|c: char| c.is_ascii_digit());
                (ours && EXTENSIONS.contains(&extension)).then(|| stem.to_owned())
            })
            .collect();
        stems.sort();
        stems.dedup();
        stems
            .into_iter()
            .filter_map(|stem| {
                let file =
                    |ext: &str| Some(self.dir.join(format!("{stem}.{ext}"))).filter(|p| p.exists());
                let bookmark = file("bookmark").and_then(|p| manifest::read_bookmark(&p).ok());
                let (path, manifest) = if let Some(path) = file("sqlite") {
                    let manifest = manifest::read_sqlite(&path).ok();
                    (path, manifest)
                } else if let Some(path) = file("sql") {
                    let manifest = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|text| manifest::read_sql(&path, &text).ok());
                    (path, manifest)
                } else {
                    (
                        file("bookmark")?,
                        bookmark.as_ref().and_then(|(_, m)| m.clone()),
                    )
                };
                Some(Listed {
                    path,
                    manifest,
                    bookmark: bookmark.map(|(b, _)| b),
                })
            })
            .collect()
    }
}

impl Backups {
    /// The whole exports of the remote `db` (its binding and its name) in the
    /// folder, oldest first: each one's file and what it says of itself.
    pub fn exports(&self, db: &Database) -> Vec<(PathBuf, Manifest)> {
        let remote = Target::Remote.to_string();
        self.list(&db.binding)
            .into_iter()
            .filter(|listed| listed.path.extension().is_some_and(|e| e == "sql"))
            .filter_map(|listed| Some((listed.path, listed.manifest?)))
            .filter(|(_, m)| m.target == remote && m.binding == db.binding && m.database == db.name)
            .collect()
    }
}

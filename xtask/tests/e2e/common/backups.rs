//! The files of a project's backup folder.

use std::path::PathBuf;

use super::Project;

/// The files of the project's backup folder ending in `.{extension}`, sorted.
pub fn backup_files(p: &Project, extension: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(p.path("backups")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// The backup file of `binding` ending in `-v{version}.{extension}`.
pub fn backup_of(p: &Project, binding: &str, version: u64, extension: &str) -> PathBuf {
    let suffix = format!("-v{version}.{extension}");
    backup_files(p, extension)
        .into_iter()
        .find(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with(&format!("{binding}-")) && name.ends_with(&suffix)
        })
        .unwrap_or_else(|| {
            panic!(
                "no backup {binding}-…{suffix} in {:?}",
                backup_files(p, extension)
            )
        })
}

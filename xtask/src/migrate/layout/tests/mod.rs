//! Unit tests for the migrations-folder layout, by theme, and the folder
//! fixtures they share.

use super::*;
use std::time::SystemTime;

mod listing;
mod new_migration;
mod paths;

/// A migrations folder holding `files` (paths relative to it).
fn folder(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let path = path_in(dir.path(), file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "-- x\n").unwrap();
    }
    dir
}

fn layout(pattern: &str) -> Layout {
    Layout::new(Some(pattern)).unwrap()
}

fn names(listed: &[MigrationPath]) -> Vec<&str> {
    listed.iter().map(|m| &m.name[..]).collect()
}

fn at(text: &str) -> SystemTime {
    humantime::parse_rfc3339(text).unwrap()
}

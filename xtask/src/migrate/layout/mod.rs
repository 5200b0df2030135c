//! Which files of a migrations folder wrangler's `d1 migrations apply` runs,
//! under what names and in what order, for any `migrations_pattern`.
//!
//! wrangler (4.98 and later) walks `migrations_dir` and keeps the regular
//! files whose path relative to it matches `migrations_pattern` (minus its
//! `migrations_dir/` prefix; `*.sql` when the key is absent), compiled by
//! minimatch 5 with `{ dot: false }`. It records each file in its ledger
//! under that relative path (`0001_init.sql`,
//! `20260705012128_old_thunderbolts/migration.sql`) and runs them ordered by
//! the leading number of each path segment, then by the segment's text.
//! This module reproduces that listing exactly, so that what we plan is what
//! wrangler would run, and says where our own rollback files live beside the
//! migrations and where a new migration goes.
//!
//! It knows nothing of the rest of the engine: callers give it a folder and
//! get paths back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

mod glob;
mod new_migration;
mod path_order;
mod pattern;

use glob::{Glob, Segment};
pub use path_order::compare_paths;
pub use pattern::resolve_pattern;

/// wrangler's pattern, relative to `migrations_dir`, when the config sets no
/// `migrations_pattern`: the `.sql` files directly in the folder.
pub const DEFAULT_PATTERN: &str = "*.sql";

/// The file a nested migration's rollback is kept in, beside its
/// `migration.sql` (or whatever fixed name the pattern gives it).
pub const FOLDER_ROLLBACK: &str = "rollback.sql";

/// The name drizzle-kit 1.x and Prisma both give every migration's SQL file,
/// each in a folder of its own.
pub(super) const ORM_FILE: &str = "migration.sql";

/// A migration's version as our engine reads it: the leading decimal digits
/// of the path segment that names the migration (the file's stem in a flat
/// folder, the folder in a nested one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Number(u64),
    /// The name does not start with a digit (wrangler runs such files after
    /// the numbered ones, in name order).
    Missing,
    /// More digits than a u64 holds.
    TooLarge,
}

impl Version {
    pub fn number(self) -> Option<u64> {
        match self {
            Version::Number(n) => Some(n),
            Version::Missing | Version::TooLarge => None,
        }
    }
}

/// What a listed file is to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A migration. `rollback` is its rollback file when one exists on disk
    /// (at [`Layout::rollback_path`]), whether or not the pattern matches it.
    Up { rollback: Option<PathBuf> },
    /// One of our rollback files that the pattern also matches, so wrangler
    /// would run it as a migration unless its ledger already records it.
    /// `of` is the ledger name of the listed migration it undoes; `None`
    /// when there is none.
    Rollback { of: Option<String> },
}

/// One file wrangler would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationPath {
    /// The path relative to the migrations folder with `/` separators:
    /// the name wrangler records in its ledger.
    pub name: String,
    /// The file itself.
    pub path: PathBuf,
    /// The migration's name for people: `0001_init` for `0001_init.sql`,
    /// `20260705012128_old_thunderbolts` for
    /// `20260705012128_old_thunderbolts/migration.sql`. A rollback file has
    /// the stem of the migration it undoes.
    pub stem: String,
    pub version: Version,
    pub kind: Kind,
}

/// Where `new` writes the next migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMigration {
    /// Its ledger name, e.g. `0008_add_tier.sql` or `20260705012128_add_tier/migration.sql`.
    pub name: String,
    pub path: PathBuf,
    /// Where its rollback goes.
    pub rollback: PathBuf,
    pub stem: String,
    pub version: u64,
    /// The version as written in the name (zero-padded).
    pub version_text: String,
}

/// A migrations folder's layout: which files are migrations, by wrangler's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `migrations_pattern` relative to `migrations_dir`, as
    /// [`resolve_pattern`] gives it; `None` is wrangler's default, `*.sql`.
    pattern: Option<String>,
    glob: Glob,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            pattern: None,
            glob: Glob::new(DEFAULT_PATTERN).expect("the default pattern compiles"),
        }
    }
}

/// wrangler's `normalizeRelativePath`: backslashes become slashes (so a
/// config written on Windows means the same everywhere, and no glob
/// character can be escaped), then `path.posix.normalize`, then no trailing
/// slash.
pub fn normalize_path(path: &str) -> String {
    let forward = path.replace('\\', "/");
    let mut normalized = posix_normalize(&forward);
    if normalized.ends_with('/') {
        normalized.pop();
    }
    normalized
}

/// Node's `path.posix.normalize`.
fn posix_normalize(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let absolute = path.starts_with('/');
    let trailing = path.ends_with('/');
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if kept.last().is_some_and(|last| *last != "..") {
                    kept.pop();
                } else if !absolute {
                    kept.push("..");
                }
            }
            other => kept.push(other),
        }
    }
    let mut out = kept.join("/");
    if out.is_empty() {
        return match (absolute, trailing) {
            (true, _) => "/".to_owned(),
            (false, true) => "./".to_owned(),
            (false, false) => ".".to_owned(),
        };
    }
    if trailing {
        out.push('/');
    }
    if absolute {
        out.insert(0, '/');
    }
    out
}

impl Layout {
    /// The layout for a pattern relative to the migrations folder (see
    /// [`resolve_pattern`]); `None` is wrangler's default, `*.sql`.
    pub fn new(pattern: Option<&str>) -> Result<Layout> {
        let Some(pattern) = pattern else {
            return Ok(Layout::default());
        };
        let glob = Glob::new(pattern).with_context(|| format!("migrations_pattern {pattern:?}"))?;
        for alternative in &glob.alternatives {
            if let [_, .., Segment::Literal(file)] = &alternative[..] {
                if file == FOLDER_ROLLBACK || file.ends_with(".rollback.sql") {
                    bail!(
                        "migrations_pattern {pattern:?} names {file} as every migration's file, \
                         but that is where rollbacks are kept: match the migrations' own file (e.g. `*/migration.sql`)"
                    );
                }
            }
        }
        Ok(Layout {
            pattern: Some(pattern.to_owned()),
            glob,
        })
    }

    /// The pattern relative to the migrations folder.
    pub fn pattern(&self) -> &str {
        self.pattern.as_deref().unwrap_or(DEFAULT_PATTERN)
    }

    /// Whether wrangler would run the file at `relative` (a path relative to
    /// the migrations folder with `/` separators).
    pub fn matches(&self, relative: &str) -> bool {
        self.glob.matches(relative, false)
    }

    /// Every regular file under `dir` that wrangler would run, in wrangler's
    /// order, each marked as a migration or as one of our rollbacks.
    ///
    /// wrangler orders by the first segment before the ones under it, so
    /// where a pattern reaches several levels (`**/*.sql`: `b/0001_x.sql`
    /// runs after `a/0002_y.sql`) versions need not rise along the list.
    pub fn list(&self, dir: &Path) -> Result<Vec<MigrationPath>> {
        let mut files = self.walk(dir)?;
        files.sort_by(|a, b| compare_paths(&a.0, &b.0));

        let mut ups: BTreeMap<String, &str> = BTreeMap::new();
        for (name, _) in &files {
            if rollback_of_name(name).is_none() {
                if let Some(other) = ups.insert(self.rollback_name(name), name) {
                    bail!(
                        "{} and {} are in one folder, so they would share the rollback {}: \
                         give each migration a folder of its own",
                        dir.join(other).display(),
                        dir.join(name).display(),
                        dir.join(self.rollback_name(name)).display()
                    );
                }
            }
        }
        let ups: BTreeMap<String, String> = ups
            .into_iter()
            .map(|(rollback, up)| (rollback, up.to_owned()))
            .collect();

        let mut listed = Vec::with_capacity(files.len());
        for (name, path) in &files {
            let (stem, kind) = match rollback_of_name(name) {
                None => {
                    let rollback = path_in(dir, &self.rollback_name(name));
                    let kind = Kind::Up {
                        rollback: rollback.is_file().then_some(rollback),
                    };
                    (self.stem(name), kind)
                }
                Some(guess) => {
                    let of = ups.get(name).cloned();
                    let stem = match &of {
                        Some(up) => self.stem(up),
                        None => guess,
                    };
                    (stem, Kind::Rollback { of })
                }
            };
            listed.push(MigrationPath {
                name: name.clone(),
                path: path.clone(),
                version: version_of(&stem),
                stem,
                kind,
            });
        }
        Ok(listed)
    }

    /// Where `migration`'s rollback lives (whether or not it exists): beside
    /// a flat `NNNN_name.sql` it is `NNNN_name.rollback.sql`; beside a
    /// `migration.sql` (or the file name a nested pattern fixes) in a folder
    /// of its own it is `rollback.sql`. A rollback's own path for a rollback.
    pub fn rollback_path(&self, migration: &MigrationPath) -> PathBuf {
        match migration.kind {
            Kind::Rollback { .. } => migration.path.clone(),
            Kind::Up { .. } => {
                let file = self.rollback_name(&migration.name);
                let file = file.rsplit('/').next().unwrap_or(&file).to_owned();
                match migration.path.parent() {
                    Some(parent) => parent.join(file),
                    None => PathBuf::from(file),
                }
            }
        }
    }

    /// The ledger name of the rollback of the migration named `name`.
    pub fn rollback_name(&self, name: &str) -> String {
        let (folder, file) = split_file(name);
        match folder {
            Some(folder) if self.folder_per_migration(file) => {
                format!("{folder}/{FOLDER_ROLLBACK}")
            }
            _ => {
                let stem = file_stem(file);
                match folder {
                    Some(folder) => format!("{folder}/{stem}.rollback.sql"),
                    None => format!("{stem}.rollback.sql"),
                }
            }
        }
    }

    /// Whether a nested migration whose file is called `file` has its folder
    /// to itself, so that its rollback is that folder's `rollback.sql`.
    fn folder_per_migration(&self, file: &str) -> bool {
        file == ORM_FILE
            || self.glob.alternatives.iter().any(|alternative| {
                matches!(&alternative[..], [_, .., Segment::Literal(fixed)] if fixed == file)
            })
    }

    /// A migration's name for people (see [`MigrationPath::stem`]).
    fn stem(&self, name: &str) -> String {
        match split_file(name) {
            (Some(folder), file) if self.folder_per_migration(file) => folder.to_owned(),
            (Some(folder), file) => format!("{folder}/{}", file_stem(file)),
            (None, file) => file_stem(file).to_owned(),
        }
    }

    /// The files under `dir` that the pattern matches, as (ledger name, path).
    /// Like wrangler: only regular files (a symlink is neither file nor
    /// folder to it, so it is skipped), and a folder is entered only when
    /// something under it could match, so `*.sql` never leaves the top and
    /// no pattern enters a folder whose name starts with a dot.
    fn walk(&self, dir: &Path) -> Result<Vec<(String, PathBuf)>> {
        let mut out = Vec::new();
        let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
        while let Some((folder, relative)) = stack.pop() {
            let entries = std::fs::read_dir(&folder).with_context(|| {
                format!("cannot read the migrations folder {}", folder.display())
            })?;
            for entry in entries {
                let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
                let file_type = entry
                    .file_type()
                    .with_context(|| format!("cannot inspect {}", entry.path().display()))?;
                let (name, utf8) = match entry.file_name().into_string() {
                    Ok(name) => (name, true),
                    Err(raw) => (raw.to_string_lossy().into_owned(), false),
                };
                let child = if relative.is_empty() {
                    name
                } else {
                    format!("{relative}/{name}")
                };
                if file_type.is_dir() {
                    // wrangler reads a folder by the name Node decoded, which
                    // for a name that is not UTF-8 is not the folder's name:
                    // it finds nothing in it.
                    if utf8 && self.glob.matches(&child, true) {
                        stack.push((entry.path(), child));
                    }
                } else if file_type.is_file() && self.glob.matches(&child, false) {
                    if !utf8 {
                        bail!(
                            "{}: the file's name is not valid UTF-8, so wrangler could not read it: rename it",
                            entry.path().display()
                        );
                    }
                    out.push((child, entry.path()));
                }
            }
        }
        Ok(out)
    }
}

/// `dir` joined with a ledger name's segments.
fn path_in(dir: &Path, name: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    path.extend(name.split('/'));
    path
}

/// (folder, file name) of a ledger name.
fn split_file(name: &str) -> (Option<&str>, &str) {
    match name.rsplit_once('/') {
        Some((folder, file)) => (Some(folder), file),
        None => (None, name),
    }
}

/// A file name without its extension: `0001_init.sql` → `0001_init`.
fn file_stem(file: &str) -> &str {
    if let Some(stem) = file.strip_suffix(".sql") {
        return stem;
    }
    match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => file,
    }
}

/// If `name` is one of our rollback files by its name, the stem of the
/// migration it undoes: `X.rollback.sql` anywhere, and `rollback.sql` in a
/// subfolder.
fn rollback_of_name(name: &str) -> Option<String> {
    let (folder, file) = split_file(name);
    if let Some(stem) = file.strip_suffix(".rollback.sql").filter(|s| !s.is_empty()) {
        return Some(match folder {
            Some(folder) => format!("{folder}/{stem}"),
            None => stem.to_owned(),
        });
    }
    match folder {
        Some(folder) if file == FOLDER_ROLLBACK => Some(folder.to_owned()),
        _ => None,
    }
}

/// The version in the last segment of a stem (the segment that names the
/// migration): its leading ASCII digits.
fn version_of(stem: &str) -> Version {
    let naming = stem.rsplit('/').next().unwrap_or(stem);
    let digits = naming.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Version::Missing;
    }
    match naming[..digits].parse::<u64>() {
        Ok(n) => Version::Number(n),
        Err(_) => Version::TooLarge,
    }
}

#[cfg(test)]
mod tests;

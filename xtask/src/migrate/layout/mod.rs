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

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

mod glob;

use glob::{Glob, Segment};

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

/// Checks a database's `migrations_dir` and `migrations_pattern` as
/// wrangler's `resolveMigrationsConfig` does, and gives the pattern relative
/// to `migrations_dir` (what [`Layout::new`] takes). `None`: no pattern, so
/// wrangler's default.
pub fn resolve_pattern(
    migrations_dir: Option<&str>,
    migrations_pattern: Option<&str>,
) -> Result<Option<String>> {
    let Some(raw) = migrations_pattern else {
        return Ok(None);
    };
    let Some(raw_dir) = migrations_dir else {
        bail!(
            "`migrations_pattern = {raw:?}` needs a `migrations_dir` beside it (wrangler refuses one without \
             the other): add e.g. `migrations_dir = \"migrations\"`, and start the pattern with that folder"
        );
    };
    let dir = normalize_path(raw_dir);
    let pattern = normalize_path(raw);
    if dir == "." {
        return Ok(Some(pattern));
    }
    match pattern.strip_prefix(&format!("{dir}/")) {
        Some(relative) => Ok(Some(relative.to_owned())),
        None => bail!(
            "`migrations_pattern = {raw:?}` must start with `{dir}/`, the `migrations_dir` (wrangler refuses it \
             otherwise): e.g. \"{dir}/*.sql\", or \"{dir}/*/migration.sql\" for drizzle-kit or Prisma folders"
        ),
    }
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

    /// Where `new` writes the next migration in `dir`, described by
    /// `description` (already a slug such as `add_user_tier`).
    ///
    /// wrangler's own `migrations create` only writes `NNNN_description.sql`
    /// directly in the folder (the next number after the largest, four
    /// digits at least) and refuses when the pattern would not match that.
    /// For a pattern with a folder per migration (drizzle-kit, Prisma) we
    /// write `<version>_<description>/migration.sql` (or the file name the
    /// pattern fixes), numbered like the folders already there: 14-digit
    /// UTC timestamps (`20260705012128`) as both ORMs write them, unless the
    /// existing folders use counters; an empty folder gets timestamps.
    pub fn next_migration(
        &self,
        dir: &Path,
        description: &str,
        now: SystemTime,
    ) -> Result<NewMigration> {
        if description.is_empty() || description.contains(['/', '\\', '\0']) {
            bail!("the description {description:?} must be a name without slashes, e.g. add_user_tier");
        }
        let shape = self.glob.shape().with_context(|| {
            format!(
                "cannot tell where a new migration goes under migrations_pattern {:?}: \
                 write it by hand (or with your ORM) where the pattern matches",
                self.pattern()
            )
        })?;
        let existing = if dir.exists() {
            self.list(dir)?
        } else {
            Vec::new()
        };
        let mut numbers: Vec<(u64, usize)> = Vec::new();
        for migration in existing
            .iter()
            .filter(|m| matches!(m.kind, Kind::Up { .. }))
        {
            let naming = migration.stem.rsplit('/').next().unwrap_or(&migration.stem);
            let digits = naming.bytes().take_while(u8::is_ascii_digit).count();
            match migration.version {
                Version::Number(n) => numbers.push((n, digits)),
                Version::TooLarge => bail!(
                    "{} starts with a version too large to count on from: renumber it",
                    migration.path.display()
                ),
                Version::Missing => {}
            }
        }
        let largest = numbers.iter().map(|(n, _)| *n).max();
        let next = match largest {
            Some(n) => n.checked_add(1).with_context(|| {
                format!(
                    "the largest version in {} is too large to count on from",
                    dir.display()
                )
            })?,
            None => 1,
        };
        let timestamps = if numbers.is_empty() {
            shape.stem_folder
        } else {
            numbers.iter().all(|(_, width)| *width == TIMESTAMP_DIGITS)
        };
        let (version, version_text) = if timestamps {
            let version = utc_timestamp(now).max(next);
            (version, format!("{version:014}"))
        } else {
            let width = numbers.iter().map(|(_, w)| *w).max().unwrap_or(0).max(4);
            (next, format!("{next:0width$}"))
        };
        let stem = format!("{version_text}_{description}");
        let name = shape.render(&stem);
        if !self.matches(&name) || rollback_of_name(&name).is_some() {
            bail!(
                "a new migration named {name} would not match migrations_pattern {:?}, so wrangler would not run it: \
                 write it by hand (or with your ORM) where the pattern matches",
                self.pattern()
            );
        }
        let path = path_in(dir, &name);
        let rollback = path_in(dir, &self.rollback_name(&name));
        Ok(NewMigration {
            stem: self.stem(&name),
            name,
            path,
            rollback,
            version,
            version_text,
        })
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

/// The digits of a `YYYYMMDDHHMMSS` timestamp.
const TIMESTAMP_DIGITS: usize = 14;

/// `now` in UTC as the number `YYYYMMDDHHMMSS`, as drizzle-kit and Prisma
/// name their folders.
fn utc_timestamp(now: SystemTime) -> u64 {
    let text = humantime::format_rfc3339_seconds(now).to_string();
    text.bytes().filter(u8::is_ascii_digit).fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
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

/// wrangler's `compareMigrationPaths`: segment by segment, the leading
/// number (JavaScript's `parseInt` of the text before the first `_`;
/// numbered before unnumbered), then the segment's text (compared as
/// JavaScript compares strings, by UTF-16 code units); a path that is a
/// prefix of another first.
pub fn compare_paths(a: &str, b: &str) -> Ordering {
    let a: Vec<&str> = a.split('/').collect();
    let b: Vec<&str> = b.split('/').collect();
    for (x, y) in a.iter().zip(&b) {
        let order = compare_segments(x, y);
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

fn compare_segments(a: &str, b: &str) -> Ordering {
    let x = leading_number(a);
    let y = leading_number(b);
    // NaN != NaN, as in wrangler: two unnumbered segments fall through to
    // the text; an infinite number (over 308 digits) counts as unnumbered.
    if x != y {
        match (x.is_finite(), y.is_finite()) {
            (true, true) => return x.total_cmp(&y),
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// wrangler's `leadingMigrationNumber` of one segment: `parseInt(segment.split("_")[0], 10)`.
fn leading_number(segment: &str) -> f64 {
    js_parse_int(segment.split('_').next().unwrap_or(segment))
}

/// JavaScript's `parseInt(text, 10)`: leading white space, a sign, then
/// decimal digits; NaN without digits. Large numbers round as doubles do.
fn js_parse_int(text: &str) -> f64 {
    let text = text.trim_start_matches(is_js_whitespace);
    let (negative, text) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return f64::NAN;
    }
    let value: f64 = text[..digits].parse().unwrap_or(f64::INFINITY);
    if negative {
        -value
    } else {
        value
    }
}

/// JavaScript's white space and line terminators, which `parseInt` skips.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn drizzle_kit_folders_are_listed_by_timestamp_with_their_rollbacks() {
        let dir = folder(&[
            "20260705012128_old_thunderbolts/migration.sql",
            "20260705012128_old_thunderbolts/snapshot.json",
            "20260705012128_old_thunderbolts/rollback.sql",
            "20260801000000_brave_hulk/migration.sql",
            "20260801000000_brave_hulk/snapshot.json",
            "20260706090000_quiet_storm/migration.sql",
            "20260706090000_quiet_storm/snapshot.json",
            "meta/_journal.json",
            "meta/migration.json",
            "schema/AUTH.sql",
            "0099_stale_top_level.sql",
        ]);
        let layout = layout("*/migration.sql");
        let listed = layout.list(dir.path()).unwrap();
        assert_eq!(
            names(&listed),
            [
                "20260705012128_old_thunderbolts/migration.sql",
                "20260706090000_quiet_storm/migration.sql",
                "20260801000000_brave_hulk/migration.sql",
            ]
        );
        let first = &listed[0];
        assert_eq!(first.stem, "20260705012128_old_thunderbolts");
        assert_eq!(first.version, Version::Number(20260705012128));
        assert_eq!(
            first.path,
            dir.path()
                .join("20260705012128_old_thunderbolts")
                .join("migration.sql")
        );
        let rollback = dir
            .path()
            .join("20260705012128_old_thunderbolts")
            .join("rollback.sql");
        assert_eq!(
            first.kind,
            Kind::Up {
                rollback: Some(rollback.clone())
            }
        );
        assert_eq!(layout.rollback_path(first), rollback);
        // The pattern names the file, so rollback.sql beside it never matches.
        assert!(!layout.matches("20260705012128_old_thunderbolts/rollback.sql"));
        assert_eq!(listed[1].kind, Kind::Up { rollback: None });
        assert_eq!(
            layout.rollback_path(&listed[1]),
            dir.path()
                .join("20260706090000_quiet_storm")
                .join("rollback.sql")
        );
    }

    #[test]
    fn prisma_folders_leave_the_lock_file_out() {
        let dir = folder(&[
            "migration_lock.toml",
            "20240101000000_init/migration.sql",
            "20240215093000_add_users/migration.sql",
        ]);
        let listed = layout("*/migration.sql").list(dir.path()).unwrap();
        assert_eq!(
            names(&listed),
            [
                "20240101000000_init/migration.sql",
                "20240215093000_add_users/migration.sql"
            ]
        );
        assert_eq!(listed[1].stem, "20240215093000_add_users");
        assert_eq!(listed[1].version.number(), Some(20240215093000));
    }

    #[test]
    fn the_default_lists_top_level_sql_files_and_marks_rollbacks() {
        let dir = folder(&[
            "0000_a.sql",
            "0001_b.sql",
            "0001_b.rollback.sql",
            "0002_c.rollback.sql",
            "meta/_journal.json",
            "meta/0000_snapshot.json",
            "schema/AUTH.sql",
            "test_data/destroy.sql",
            ".hidden.sql",
            "README.md",
            "0003_upper.SQL",
        ]);
        let layout = Layout::default();
        assert_eq!(layout, Layout::new(None).unwrap());
        assert_eq!(layout.pattern(), "*.sql");
        let listed = layout.list(dir.path()).unwrap();
        // wrangler runs a rollback before its migration when neither is in
        // its ledger: `.r` sorts before `.s`.
        assert_eq!(
            names(&listed),
            [
                "0000_a.sql",
                "0001_b.rollback.sql",
                "0001_b.sql",
                "0002_c.rollback.sql"
            ]
        );
        assert_eq!(listed[0].stem, "0000_a");
        assert_eq!(listed[0].version, Version::Number(0));
        assert_eq!(listed[0].kind, Kind::Up { rollback: None });
        assert_eq!(
            layout.rollback_path(&listed[0]),
            dir.path().join("0000_a.rollback.sql")
        );
        assert_eq!(
            listed[1].kind,
            Kind::Rollback {
                of: Some("0001_b.sql".into())
            }
        );
        assert_eq!(listed[1].stem, "0001_b");
        assert_eq!(listed[1].version, Version::Number(1));
        assert_eq!(
            listed[2].kind,
            Kind::Up {
                rollback: Some(dir.path().join("0001_b.rollback.sql"))
            }
        );
        // A rollback without its migration.
        assert_eq!(listed[3].kind, Kind::Rollback { of: None });
        assert_eq!(listed[3].stem, "0002_c");
    }

    #[test]
    fn folders_sort_by_their_leading_number_then_name() {
        let dir = folder(&[
            "10_y/migration.sql",
            "2_x/migration.sql",
            "2_a/migration.sql",
            "init/migration.sql",
            "1_a/migration.sql",
        ]);
        let listed = layout("*/migration.sql").list(dir.path()).unwrap();
        assert_eq!(
            names(&listed),
            [
                "1_a/migration.sql",
                "2_a/migration.sql",
                "2_x/migration.sql",
                "10_y/migration.sql",
                "init/migration.sql",
            ]
        );
        assert_eq!(listed[4].version, Version::Missing);
    }

    #[test]
    fn compare_paths_is_wranglers_order() {
        fn sorted<'a>(items: &[&'a str]) -> Vec<&'a str> {
            let mut items = items.to_vec();
            items.sort_by(|a, b| compare_paths(a, b));
            items
        }
        assert_eq!(
            sorted(&["10_c.sql", "1_a.sql", "9_b.sql"]),
            ["1_a.sql", "9_b.sql", "10_c.sql"]
        );
        assert_eq!(
            sorted(&[
                "0001_posts/10_c.sql",
                "0001_posts/1_a.sql",
                "0001_posts/9_b.sql"
            ]),
            [
                "0001_posts/1_a.sql",
                "0001_posts/9_b.sql",
                "0001_posts/10_c.sql"
            ]
        );
        assert_eq!(
            sorted(&[
                "setup.sql",
                "0002_users.sql",
                "cleanup.sql",
                "0001_init.sql"
            ]),
            [
                "0001_init.sql",
                "0002_users.sql",
                "cleanup.sql",
                "setup.sql"
            ]
        );
        // parseInt: a sign and leading white space count, text after the
        // digits does not, and "-0" is 0.
        assert_eq!(
            sorted(&[
                "0_a.sql",
                "-1_b.sql",
                " 3_c.sql",
                "+2_d.sql",
                "1e5_e.sql",
                "-0_f.sql"
            ]),
            [
                "-1_b.sql",
                "-0_f.sql",
                "0_a.sql",
                "1e5_e.sql",
                "+2_d.sql",
                " 3_c.sql"
            ]
        );
        // Numbers past 2^53 compare as doubles: equal here, so the text decides.
        assert_eq!(
            sorted(&["9007199254740992_x", "09007199254740993_y"]),
            ["09007199254740993_y", "9007199254740992_x"]
        );
        // More digits than a double holds is no number at all: it sorts
        // with the unnumbered, by its text.
        let huge = format!("{}_x", "9".repeat(400));
        assert_eq!(sorted(&["a", &huge, "5_x"]), ["5_x", &huge, "a"]);
        // Text compares by UTF-16 units, as JavaScript's `<` does.
        assert_eq!(
            sorted(&["\u{ff61}", "\u{1f600}"]),
            ["\u{1f600}", "\u{ff61}"]
        );
        assert_eq!(
            compare_paths("0001_a", "0001_a/migration.sql"),
            Ordering::Less
        );
    }

    #[test]
    fn globstar_patterns_reach_schema_snapshots_and_rollbacks() {
        let dir = folder(&[
            "0001_top.sql",
            "20260705012128_x/migration.sql",
            "20260705012128_x/rollback.sql",
            "feature/sub/0003_deep.sql",
            "schema/AUTH.sql",
            "node_modules/pkg/0001/migration.sql",
            ".git/0002.sql",
            "a/.hidden/0004.sql",
            "meta/_journal.json",
        ]);
        let layout = layout("**/*.sql");
        let listed = layout.list(dir.path()).unwrap();
        assert_eq!(
            names(&listed),
            [
                "0001_top.sql",
                "20260705012128_x/migration.sql",
                "20260705012128_x/rollback.sql",
                "feature/sub/0003_deep.sql",
                "node_modules/pkg/0001/migration.sql",
                "schema/AUTH.sql",
            ]
        );
        assert_eq!(
            listed[2].kind,
            Kind::Rollback {
                of: Some("20260705012128_x/migration.sql".into())
            }
        );
        assert_eq!(listed[2].stem, "20260705012128_x");
        assert_eq!(listed[3].stem, "feature/sub/0003_deep");
        assert_eq!(listed[3].version, Version::Number(3));
        assert_eq!(listed[5].stem, "schema/AUTH");
        assert_eq!(listed[5].version, Version::Missing);
        // `*/*.sql` reaches them too; `*/migration.sql` does not.
        let one_level = self::layout("*/*.sql").list(dir.path()).unwrap();
        assert!(names(&one_level).contains(&"schema/AUTH.sql"));
        assert!(!self::layout("*/migration.sql").matches("schema/AUTH.sql"));
    }

    #[test]
    fn a_literal_folder_stays_in_the_ledger_name() {
        let dir = folder(&["sub/0001_x.sql", "sub/0002_y.sql", "should_be_ignored.sql"]);
        let listed = layout("sub/*.sql").list(dir.path()).unwrap();
        assert_eq!(names(&listed), ["sub/0001_x.sql", "sub/0002_y.sql"]);
        assert_eq!(listed[0].stem, "sub/0001_x");
        assert_eq!(listed[0].version, Version::Number(1));
        assert_eq!(
            layout("sub/*.sql").rollback_name("sub/0001_x.sql"),
            "sub/0001_x.rollback.sql"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_skipped_as_wrangler_skips_them() {
        let dir = folder(&["0001_a.sql", "real/migration.sql"]);
        std::os::unix::fs::symlink("0001_a.sql", dir.path().join("0002_link.sql")).unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("0003_linked")).unwrap();
        assert_eq!(
            names(&Layout::default().list(dir.path()).unwrap()),
            ["0001_a.sql"]
        );
        assert_eq!(
            names(&layout("*/migration.sql").list(dir.path()).unwrap()),
            ["real/migration.sql"]
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_matching_file_name_that_is_not_utf8_is_an_error() {
        use std::os::unix::ffi::OsStrExt;
        let dir = folder(&["0001_a.sql"]);
        let odd = std::ffi::OsStr::from_bytes(b"0002_\xff.txt");
        std::fs::write(dir.path().join(odd), "x").unwrap();
        assert_eq!(
            names(&Layout::default().list(dir.path()).unwrap()),
            ["0001_a.sql"]
        );
        let odd = std::ffi::OsStr::from_bytes(b"0002_\xff.sql");
        std::fs::write(dir.path().join(odd), "x").unwrap();
        let err = Layout::default().list(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("not valid UTF-8"), "{err:#}");
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Layout::default()
            .list(&dir.path().join("nope"))
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot read the migrations folder"),
            "{err:#}"
        );
    }

    #[test]
    fn versions_too_large_for_u64_are_told_apart() {
        let dir = folder(&[
            "123456789012345678901234567890_x.sql",
            "abc.sql",
            "18446744073709551615_max.sql",
        ]);
        let listed = Layout::default().list(dir.path()).unwrap();
        let versions: Vec<_> = listed.iter().map(|m| m.version).collect();
        assert_eq!(
            versions,
            [
                Version::Number(u64::MAX),
                Version::TooLarge,
                Version::Missing
            ]
        );
        let err = Layout::default()
            .next_migration(dir.path(), "next", at("2026-07-05T01:21:28Z"))
            .unwrap_err();
        assert!(format!("{err:#}").contains("too large"), "{err:#}");
    }

    #[test]
    fn patterns_that_name_the_rollback_file_are_refused() {
        for pattern in [
            "*/rollback.sql",
            "*/{migration,rollback}.sql",
            "*/x.rollback.sql",
        ] {
            let err = Layout::new(Some(pattern)).unwrap_err();
            assert!(
                format!("{err:#}").contains("where rollbacks are kept"),
                "{pattern}: {err:#}"
            );
        }
        let err = Layout::new(Some("*/@(a|b).sql")).unwrap_err();
        assert!(format!("{err:#}").contains("not supported"), "{err:#}");
        let err = Layout::new(Some("*\\x.sql")).unwrap_err();
        assert!(format!("{err:#}").contains("backslash"), "{err:#}");
    }

    #[test]
    fn two_migrations_in_one_folder_cannot_share_its_rollback() {
        let dir = folder(&["0001_a/migration.sql", "0001_a/up.sql"]);
        let err = layout("*/{migration,up}.sql").list(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("folder of its own"), "{err:#}");
        // Under `**/*.sql` the second file keeps the flat convention.
        let listed = layout("**/*.sql").list(dir.path()).unwrap();
        assert_eq!(names(&listed), ["0001_a/migration.sql", "0001_a/up.sql"]);
        assert_eq!(
            layout("**/*.sql").rollback_name("0001_a/up.sql"),
            "0001_a/up.rollback.sql"
        );
    }

    #[test]
    fn resolve_pattern_checks_what_wrangler_checks() {
        let ok = |dir: Option<&str>, pattern: Option<&str>| resolve_pattern(dir, pattern).unwrap();
        assert_eq!(ok(None, None), None);
        assert_eq!(ok(Some("migrations"), None), None);
        assert_eq!(
            ok(Some("migrations"), Some("migrations/*.sql")).as_deref(),
            Some("*.sql")
        );
        assert_eq!(
            ok(Some("./migrations/"), Some("./migrations/*/migration.sql")).as_deref(),
            Some("*/migration.sql")
        );
        assert_eq!(
            ok(Some("db/migrations"), Some("db/migrations/**/*.sql")).as_deref(),
            Some("**/*.sql")
        );
        assert_eq!(
            ok(
                Some("C:\\some\\path"),
                Some("C:\\some\\path\\*\\migration.sql")
            )
            .as_deref(),
            Some("*/migration.sql")
        );
        assert_eq!(ok(Some("."), Some("./*.sql")).as_deref(), Some("*.sql"));
        assert_eq!(
            ok(Some("/abs/migrations"), Some("/abs/migrations/*.sql")).as_deref(),
            Some("*.sql")
        );
        assert_eq!(
            ok(Some("drizzle"), Some("drizzle/./x/../*/migration.sql")).as_deref(),
            Some("*/migration.sql")
        );
        let err = resolve_pattern(None, Some("migrations/*.sql")).unwrap_err();
        assert!(
            format!("{err:#}").contains("needs a `migrations_dir`"),
            "{err:#}"
        );
        for bad in [
            "schema/*.sql",
            "*.sql",
            "**/*.sql",
            "migrationsfoo/*.sql",
            "migrations",
        ] {
            let err = resolve_pattern(Some("migrations"), Some(bad)).unwrap_err();
            assert!(
                format!("{err:#}").contains("must start with `migrations/`"),
                "{bad}: {err:#}"
            );
        }
    }

    #[test]
    fn normalize_path_is_wranglers() {
        assert_eq!(normalize_path("./migrations/"), "migrations");
        assert_eq!(normalize_path("a//b/./c/../d"), "a/b/d");
        assert_eq!(normalize_path("../x/*.sql"), "../x/*.sql");
        assert_eq!(normalize_path("a\\b"), "a/b");
        assert_eq!(normalize_path(""), ".");
        assert_eq!(normalize_path("./"), ".");
        assert_eq!(normalize_path("/a/../.."), "");
    }

    #[test]
    fn new_flat_migrations_count_on_with_the_existing_width() {
        let now = at("2026-07-05T01:21:28Z");
        let dir = folder(&["0000_a.sql", "0001_b.sql", "0001_b.rollback.sql"]);
        let new = Layout::default()
            .next_migration(dir.path(), "add_tier", now)
            .unwrap();
        assert_eq!(new.name, "0002_add_tier.sql");
        assert_eq!(new.path, dir.path().join("0002_add_tier.sql"));
        assert_eq!(new.rollback, dir.path().join("0002_add_tier.rollback.sql"));
        assert_eq!(
            (new.version, &new.version_text[..], &new.stem[..]),
            (2, "0002", "0002_add_tier")
        );

        let dir = folder(&["00007_a.sql"]);
        let new = Layout::default()
            .next_migration(dir.path(), "x", now)
            .unwrap();
        assert_eq!(new.name, "00008_x.sql");

        // An empty or missing folder starts where wrangler's create does.
        let empty = tempfile::tempdir().unwrap();
        let new = Layout::default()
            .next_migration(&empty.path().join("missing"), "init", now)
            .unwrap();
        assert_eq!(new.name, "0001_init.sql");
        let new = layout("*.up.sql")
            .next_migration(empty.path(), "init", now)
            .unwrap();
        assert_eq!(new.name, "0001_init.up.sql");
        let new = layout("sub/*.sql")
            .next_migration(empty.path(), "init", now)
            .unwrap();
        assert_eq!(new.name, "sub/0001_init.sql");
        let new = layout("**/*.sql")
            .next_migration(empty.path(), "init", now)
            .unwrap();
        assert_eq!(new.name, "0001_init.sql");
    }

    #[test]
    fn new_nested_migrations_get_a_folder_numbered_like_the_others() {
        let now = at("2026-07-05T01:21:28Z");
        let empty = tempfile::tempdir().unwrap();
        let new = layout("*/migration.sql")
            .next_migration(empty.path(), "add_tier", now)
            .unwrap();
        assert_eq!(new.name, "20260705012128_add_tier/migration.sql");
        assert_eq!(new.stem, "20260705012128_add_tier");
        assert_eq!(new.version, 20260705012128);
        assert_eq!(
            new.path,
            empty
                .path()
                .join("20260705012128_add_tier")
                .join("migration.sql")
        );
        assert_eq!(
            new.rollback,
            empty
                .path()
                .join("20260705012128_add_tier")
                .join("rollback.sql")
        );
        let new = layout("**/migration.sql")
            .next_migration(empty.path(), "x", now)
            .unwrap();
        assert_eq!(new.name, "20260705012128_x/migration.sql");
        let new = layout("*/*.sql")
            .next_migration(empty.path(), "x", now)
            .unwrap();
        assert_eq!(new.name, "20260705012128_x/migration.sql");

        // A clock behind the newest folder still counts on.
        let dir = folder(&["20260801000000_later/migration.sql"]);
        let new = layout("*/migration.sql")
            .next_migration(dir.path(), "x", now)
            .unwrap();
        assert_eq!(new.name, "20260801000001_x/migration.sql");

        // Counters stay counters.
        let dir = folder(&["0000_init/migration.sql", "0001_users/migration.sql"]);
        let new = layout("*/migration.sql")
            .next_migration(dir.path(), "x", now)
            .unwrap();
        assert_eq!(new.name, "0002_x/migration.sql");
        assert_eq!(new.rollback, dir.path().join("0002_x").join("rollback.sql"));
    }

    #[test]
    fn new_refuses_what_it_cannot_place() {
        let now = at("2026-07-05T01:21:28Z");
        let empty = tempfile::tempdir().unwrap();
        for pattern in ["!*.sql", "#x", "*/[0-9]*/migration.sql", "fixed.sql"] {
            assert!(
                layout(pattern)
                    .next_migration(empty.path(), "x", now)
                    .is_err(),
                "{pattern}"
            );
        }
        // The name the shape gives must match: `[0-9]*` does, `[a-z]*` not.
        let new = layout("[0-9]*/migration.sql")
            .next_migration(empty.path(), "x", now)
            .unwrap();
        assert_eq!(new.name, "20260705012128_x/migration.sql");
        let err = layout("[a-z]*/migration.sql")
            .next_migration(empty.path(), "x", now)
            .unwrap_err();
        assert!(format!("{err:#}").contains("would not match"), "{err:#}");
        for description in ["", "a/b", "a\\b"] {
            assert!(Layout::default()
                .next_migration(empty.path(), description, now)
                .is_err());
        }
    }
}

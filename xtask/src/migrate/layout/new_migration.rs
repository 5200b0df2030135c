//! Where `new` writes the next migration: its name, numbered like the
//! migrations already in the folder (counters or UTC timestamps), placed
//! where the pattern matches.

use std::path::Path;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

use super::{path_in, rollback_of_name, Kind, Layout, NewMigration, Version};

impl Layout {
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

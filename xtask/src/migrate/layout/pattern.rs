//! A database's `migrations_dir` and `migrations_pattern`, checked as
//! wrangler's `resolveMigrationsConfig` does, the pattern made relative to
//! the folder.

use anyhow::{bail, Result};

use super::normalize_path;

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

//! The migrations folder, parsed once into a validated list of [`Migration`]s.
//!
//! Names, the global version sequence, routing to databases and checksums are
//! all settled here, so nothing downstream ever looks at a file name again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::migrate::config::Config;
use crate::migrate::layout::{self, Layout};

/// One migration: its up SQL and, when present, its rollback.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: u64,
    /// The file stem, e.g. `0002_api_keys` (with a folder per migration, the
    /// folder: `20260705012128_init`): what the tracking table records.
    pub name: String,
    /// The path relative to its folder, e.g. `0002_api_keys.sql` or
    /// `20260705012128_init/migration.sql`: what wrangler's ledger records.
    pub file_name: String,
    pub path: PathBuf,
    /// The file's text, BOM removed, line endings as written.
    pub sql: String,
    /// SHA-256 of the text with CRLF folded to LF.
    pub checksum: String,
    /// The binding of the database it belongs to.
    pub binding: String,
    pub rollback: Option<Script>,
    /// Not a file of this checkout: rebuilt from the copy its database
    /// stored when it was applied (on another branch), so it can be rolled
    /// back; its `sql` is left empty.
    pub stored: bool,
}

impl Migration {
    /// Where its rollback goes, relative to its folder: `NNNN_name.rollback.sql`
    /// beside a file, `rollback.sql` in a migration's own folder.
    pub fn rollback_name(&self) -> String {
        match self.file_name.rsplit_once('/') {
            Some((folder, "migration.sql")) => format!("{folder}/{}", layout::FOLDER_ROLLBACK),
            Some((folder, file)) => {
                format!("{folder}/{}.rollback.sql", file.trim_end_matches(".sql"))
            }
            None => format!("{}.rollback.sql", self.name),
        }
    }
}

/// A rollback file.
#[derive(Debug, Clone)]
pub struct Script {
    pub path: PathBuf,
    pub sql: String,
    pub checksum: String,
    /// Its name in wrangler's ledger when wrangler would run it as a
    /// migration (the folder's pattern matches it: `*.sql` does), so that
    /// it gets a guard row; `None` when wrangler never sees it.
    pub ledger_name: Option<String>,
}

/// `migrate.toml` in the shared migrations folder: how its migrations are
/// routed to databases.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// The binding that gets every migration no route claims.
    pub default: Option<String>,
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
    /// `[notify]`: who is told of runs, and when. The channels themselves
    /// (and their secrets) come from the environment.
    #[serde(default)]
    pub notify: NotifyTable,
    /// `[backup]`: what a remote run's restore point is, per database.
    #[serde(default)]
    pub backup: BackupTable,
}

/// `migrate.toml`'s `[backup]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackupTable {
    /// The bindings whose remote backup before a run is an export (D1 blocks
    /// the database while it runs) rather than a Time Travel bookmark alone;
    /// `--backup` on the command line wins.
    #[serde(default)]
    pub export: Vec<String>,
}

/// `migrate.toml`'s `[notify]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotifyTable {
    /// Email recipients (`MIGRATE_EMAIL_TO` wins).
    #[serde(default)]
    pub to: Vec<String>,
    /// The sender (`MIGRATE_EMAIL_FROM` wins).
    pub from: Option<String>,
    /// `failure` (the default), `always` or `never`.
    pub on: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub binding: String,
    pub contains: Vec<String>,
}

pub const ROUTING_FILE: &str = "migrate.toml";

impl Routing {
    /// Reads `migrate.toml` from the migrations folder; none is the empty routing.
    pub fn load(dir: &Path) -> Result<Routing> {
        let path = dir.join(ROUTING_FILE);
        if !path.exists() {
            return Ok(Routing::default());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
    }

    /// The database unrouted migrations go to, which `D1_DATABASE_NAME` renames.
    pub fn default_binding<'a>(&'a self, config: &'a Config) -> Option<&'a str> {
        match &self.default {
            Some(binding) => Some(binding),
            None => config.databases.first().map(|db| &db.binding[..]),
        }
    }

    /// Which database a file belongs to, and why (for error messages).
    fn route(&self, stem: &str, sql: &str, shared_by: &[&str]) -> Result<String, String> {
        if let Some(binding) = header_binding(sql) {
            return Ok(binding);
        }
        if let Some(route) = self
            .routes
            .iter()
            .find(|route| route.contains.iter().any(|part| stem.contains(&part[..])))
        {
            return Ok(route.binding.clone());
        }
        if let Some(default) = &self.default {
            return Ok(default.clone());
        }
        match shared_by {
            [only] => Ok((*only).to_owned()),
            _ => Err(format!(
                "cannot tell which database it belongs to: add a `-- database: BINDING` line at its top, \
                 or a `default` to {ROUTING_FILE}"
            )),
        }
    }
}

/// Whose migrations a folder holds.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// The project's shared folder: each file goes to one of `bindings` by
    /// its header or by `routing`.
    Shared {
        routing: &'a Routing,
        bindings: &'a [&'a str],
    },
    /// A folder a database's `migrations_dir` names: every file is its own.
    Only(&'a str),
}

/// `-- KEY: value` among the file's leading comment lines.
fn header(sql: &str, wanted: &str) -> Option<String> {
    sql.lines()
        .map(str::trim)
        .take_while(|line| line.is_empty() || line.starts_with("--"))
        .filter_map(|line| line.trim_start_matches('-').trim().split_once(':'))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case(wanted))
        .map(|(_, value)| value.trim().to_owned())
}

/// `-- database: BINDING` among the file's leading comment lines.
fn header_binding(sql: &str) -> Option<String> {
    header(sql, "database")
}

/// `-- allow-data-loss: why` among the file's leading comment lines: the
/// migration means to remove rows it does not delete by name (a cascade, a
/// dropped table with rows), and says why.
pub fn allows_data_loss(sql: &str) -> Option<String> {
    header(sql, "allow-data-loss")
}

/// Reads a SQL file: removes a leading BOM and insists on UTF-8. Returns the
/// text as written and its checksum (of the text with CRLF folded to LF).
pub fn read_sql(path: &Path) -> Result<(String, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = String::from_utf8(bytes.to_vec()).map_err(|err| {
        anyhow::anyhow!(
            "{} is not valid UTF-8 (first bad byte at offset {}): save it as UTF-8",
            path.display(),
            err.utf8_error().valid_up_to()
        )
    })?;
    let checksum = checksum(&text);
    Ok((text, checksum))
}

/// SHA-256 of the text with CRLF folded to LF, as lower-case hex.
pub fn checksum(text: &str) -> String {
    Sha256::digest(text.replace("\r\n", "\n").as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A migration file as listed, before it is read.
struct Found {
    stem: String,
    path: PathBuf,
    ledger_name: String,
    /// Its rollback file, with its ledger name when wrangler would run it.
    rollback: Option<(PathBuf, Option<String>)>,
}

/// Reads and validates one folder of migrations. Every problem found is
/// reported at once, and only once: a file refused for its name is not
/// blamed again for the sequence it breaks.
pub fn load(
    dir: &Path,
    layout: &Layout,
    owner: Owner<'_>,
    config: &Config,
) -> Result<Vec<Migration>> {
    let Scanned {
        migrations,
        problems,
        ..
    } = scan(dir, layout, owner, config)?;
    match problems.len() {
        0 => Ok(migrations),
        1 => bail!("{}", problems[0]),
        n => bail!(
            "the migrations folder {} has {n} problems:\n  - {}",
            dir.display(),
            problems.join("\n  - ")
        ),
    }
}

/// What [`scan`] found in a folder.
#[derive(Debug, Default)]
pub struct Scanned {
    /// One migration per version: where two files share one, the first by name.
    pub migrations: Vec<Migration>,
    /// The other files of a version two files share (two branches that each
    /// added one, merged), for `renumber`.
    pub duplicates: Vec<Migration>,
    pub problems: Vec<String>,
}

/// [`load`], keeping every migration that could be read despite the
/// problems, which come back beside them (for `status`, which shows what it can).
pub fn scan(dir: &Path, layout: &Layout, owner: Owner<'_>, config: &Config) -> Result<Scanned> {
    let listed = layout.list(dir).with_context(|| {
        format!(
            "cannot read the migrations folder {}: pass `--migrations-dir DIR`, set `migrations_dir` in the wrangler config, \
             or create it with `cargo migrate new`",
            dir.display()
        )
    })?;
    let mut problems = Vec::new();
    // Per version, each file: (its stem, its path, its ledger name, its rollback).
    let mut ups: BTreeMap<u64, Vec<Found>> = BTreeMap::new();
    for file in listed {
        // Our schema snapshots are no migrations, whatever a wide pattern matches.
        if file.name.starts_with("schema/") {
            continue;
        }
        match (file.kind, file.version) {
            (layout::Kind::Up { rollback }, layout::Version::Number(version)) => {
                let rollback_name = rollback.as_ref().map(|_| layout.rollback_name(&file.name));
                ups.entry(version).or_default().push(Found {
                    stem: file.stem,
                    path: file.path,
                    ledger_name: file.name,
                    rollback: rollback.map(|path| {
                        let seen = rollback_name.filter(|name| layout.matches(name));
                        (path, seen)
                    }),
                });
            }
            (layout::Kind::Up { .. }, layout::Version::Missing) => problems.push(format!(
                "{}: does not start with a version number: name migrations like 0007_add_users.sql, \
                 or move the file out of the migrations folder",
                file.path.display()
            )),
            (layout::Kind::Up { .. }, layout::Version::TooLarge) => problems.push(format!(
                "{}: starts with a version number too large to be one",
                file.path.display()
            )),
            (layout::Kind::Rollback { of: Some(_) }, _) => {}
            (layout::Kind::Rollback { of: None }, _) => problems.push(format!(
                "{} has no matching {}: rename it or remove it",
                file.path.display(),
                match layout.pattern() {
                    layout::DEFAULT_PATTERN => format!("{}.sql", file.stem),
                    _ => format!("migration {}", file.stem),
                }
            )),
        }
    }
    for (version, files) in &ups {
        if files.len() > 1 {
            let list: Vec<_> = files.iter().map(|f| f.path.display().to_string()).collect();
            problems.push(format!(
                "version {version} is used by more than one file: {} (two branches that each added one, merged?): \
                 `cargo migrate renumber` gives those not applied the next free versions",
                list.join(" and ")
            ));
        }
    }
    // The seed's model, a routed folder (with its migrate.toml), keeps one
    // sequence without gaps; any other folder only needs increasing versions,
    // as wrangler does (a deleted migration leaves a gap it does not mind).
    let gapless = matches!(owner, Owner::Shared { .. }) && dir.join(ROUTING_FILE).is_file();
    let mut previous: Option<(u64, &PathBuf)> = None;
    for (version, files) in &ups {
        if !gapless {
            break;
        }
        let path = &files[0].path;
        let expected = match previous {
            None if *version <= 1 => *version,
            None => 1,
            Some((before, _)) => before + 1,
        };
        if *version != expected {
            let after = match previous {
                None => "the start (the first version must be 0 or 1)".to_owned(),
                Some((_, p)) => p.display().to_string(),
            };
            problems.push(format!(
                "versions must run on with no gaps: {} comes after {after} (expected version {expected})",
                path.display()
            ));
        }
        previous = Some((*version, path));
    }
    let mut scanned = Scanned::default();
    for (version, (nth, found)) in ups
        .iter()
        .flat_map(|(version, files)| files.iter().enumerate().map(move |f| (version, f)))
    {
        let (stem, path) = (&found.stem, &found.path);
        let (sql, checksum) = match read_sql(path) {
            Ok(read) => read,
            Err(err) => {
                problems.push(format!("{err:#}"));
                continue;
            }
        };
        let rollback = match found
            .rollback
            .as_ref()
            .map(|(path, seen)| read_sql(path).map(|r| (path, seen, r)))
        {
            None => None,
            Some(Ok((path, seen, (sql, checksum)))) => Some(Script {
                path: path.clone(),
                sql,
                checksum,
                ledger_name: seen.clone(),
            }),
            Some(Err(err)) => {
                problems.push(format!("{err:#}"));
                None
            }
        };
        let routed = match owner {
            Owner::Shared { routing, bindings } => routing.route(stem, &sql, bindings),
            Owner::Only(binding) => match header_binding(&sql) {
                Some(header) if header != binding => Err(format!(
                    "its header says `database: {header}`, but it is in {}, the migrations_dir of {binding} in {}: \
                     move it to the folder of {header}, or fix the header",
                    dir.display(),
                    config.path.display()
                )),
                _ => Ok(binding.to_owned()),
            },
        };
        let takes_elsewhere = |binding: &str| match owner {
            Owner::Shared { bindings, .. } => !bindings.contains(&binding),
            Owner::Only(_) => false,
        };
        let binding = match routed {
            Ok(binding) if config.database(&binding).is_some() && takes_elsewhere(&binding) => {
                problems.push(format!(
                    "{} belongs to database {binding}, but {binding} takes its migrations from its own \
                     migrations_dir in {}: move the file there",
                    path.display(),
                    config.path.display()
                ));
                continue;
            }
            Ok(binding) if config.database(&binding).is_some() => binding,
            Ok(binding) => {
                let known: Vec<_> = config.databases.iter().map(|d| &d.binding[..]).collect();
                problems.push(format!(
                    "{} belongs to database {binding}, which {} does not declare (it has: {})",
                    path.display(),
                    config.path.display(),
                    known.join(", ")
                ));
                continue;
            }
            Err(why) => {
                problems.push(format!("{}: {why}", path.display()));
                continue;
            }
        };
        let file_name = found.ledger_name.clone();
        let migration = Migration {
            version: *version,
            name: stem.clone(),
            file_name,
            path: path.clone(),
            sql,
            checksum,
            binding,
            rollback,
            stored: false,
        };
        match nth {
            0 => scanned.migrations.push(migration),
            _ => scanned.duplicates.push(migration),
        }
    }
    scanned.problems = problems;
    Ok(scanned)
}

#[cfg(test)]
mod tests;

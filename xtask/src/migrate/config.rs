//! The project's wrangler configuration, read once: which D1 databases exist.
//!
//! wrangler.toml (or wrangler.jsonc / wrangler.json) is the single source of
//! database names and ids; `--env NAME` selects an `[env.NAME]` section, and
//! the seed's environment overrides rename databases for remote runs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::migrate::layout;

/// One `[[d1_databases]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// The binding the worker uses, e.g. `AUTH`; our name for the database.
    pub binding: String,
    /// `database_name`, after any `D1_DATABASE_NAME` style override.
    pub name: String,
    /// `database_id`; identifies the local database too (its file name derives from it).
    pub id: Option<String>,
    /// Set when an environment variable replaced the configured name.
    pub renamed_by: Option<String>,
    /// The table wrangler's own `d1 migrations` records into (`migrations_table`).
    pub wrangler_table: String,
    /// `migrations_dir`, resolved against the config's folder: this database
    /// then takes its migrations from that folder alone, in their own version
    /// sequence, without routing. `None`: the project's shared folder.
    pub migrations_dir: Option<PathBuf>,
    /// `migrations_pattern` relative to `migrations_dir` (its
    /// `migrations_dir/` prefix removed, as wrangler reads it), checked as
    /// wrangler checks it: e.g. `*/migration.sql` for drizzle-kit or Prisma
    /// folders. `None`: wrangler's default, the `.sql` files directly in
    /// the folder. See [`crate::migrate::layout`].
    pub migrations_pattern: Option<String>,
    /// The name local D1 keeps this database under (wrangler's order:
    /// `preview_database_id`, `database_id`, then the binding).
    pub local_id: String,
}

impl Database {
    /// The heading `status` prints: `AUTH` → `AUTH DATABASE`, `READ_REPLICA` → `READ REPLICA DATABASE`.
    pub fn heading(&self) -> String {
        format!("{} DATABASE", self.binding.replace('_', " "))
    }

    /// The environment variable that renames this database when it is not the default one.
    pub fn override_var(&self) -> String {
        format!("{}_D1_DATABASE_NAME", self.binding)
    }

    /// The tables that record migrations rather than hold the app's data:
    /// ours, our lock, and wrangler's ledger.
    pub fn tracking_tables(&self) -> [&str; 3] {
        ["_migrations", "_migrations_lock", &self.wrangler_table]
    }
}

/// The parsed wrangler configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Absolute path of the configuration file; every wrangler call gets `--config` with it.
    pub path: PathBuf,
    /// `--env NAME`, passed on to wrangler too.
    pub env: Option<String>,
    pub databases: Vec<Database>,
    /// `account_id` (the environment's, else the top level's).
    pub account_id: Option<String>,
    /// Where wrangler keeps local state when not in `.wrangler/state` beside
    /// the config (`--persist-to`, passed on to wrangler's local calls).
    pub persist_to: Option<PathBuf>,
}

#[derive(Deserialize)]
struct RawConfig {
    account_id: Option<String>,
    #[serde(default)]
    d1_databases: Vec<RawDatabase>,
    #[serde(default)]
    env: std::collections::BTreeMap<String, RawEnv>,
}

#[derive(Deserialize)]
struct RawEnv {
    account_id: Option<String>,
    #[serde(default)]
    d1_databases: Vec<RawDatabase>,
}

#[derive(Deserialize)]
struct RawDatabase {
    binding: String,
    database_name: Option<String>,
    database_id: Option<String>,
    preview_database_id: Option<String>,
    migrations_table: Option<String>,
    migrations_dir: Option<String>,
    migrations_pattern: Option<String>,
}

/// wrangler's ledger when the config names no `migrations_table`.
pub const DEFAULT_WRANGLER_TABLE: &str = "d1_migrations";

/// The folder wrangler reads migrations from when the config names no `migrations_dir`.
pub const DEFAULT_MIGRATIONS_DIR: &str = "migrations";

/// The file names wrangler looks for, in its own order of preference.
pub const CONFIG_FILE_NAMES: [&str; 3] = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"];

impl Config {
    /// Finds the configuration in `dir` the way wrangler does.
    pub fn find_in(dir: &Path) -> PathBuf {
        CONFIG_FILE_NAMES
            .iter()
            .map(|name| dir.join(name))
            .find(|path| path.is_file())
            .unwrap_or_else(|| dir.join("wrangler.toml"))
    }

    /// Reads and validates the configuration at `path`.
    pub fn load(path: &Path, env: Option<&str>) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the wrangler config {}: pass `--config PATH` to point at your wrangler.toml",
                path.display()
            )
        })?;
        let raw: RawConfig = match path.extension().and_then(|e| e.to_str()) {
            Some("json") | Some("jsonc") => json5::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?,
            _ => toml::from_str(&text)
                .with_context(|| format!("{} is not valid TOML", path.display()))?,
        };
        let (entries, account_id) = match env {
            None => (raw.d1_databases, raw.account_id),
            Some(name) => match raw.env.into_iter().find(|(key, _)| key == name) {
                Some((_, section)) => (section.d1_databases, section.account_id.or(raw.account_id)),
                None => bail!(
                    "{} has no [env.{name}] section: `--env` must name one of its environments",
                    path.display()
                ),
            },
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut databases: Vec<Database> = Vec::new();
        for entry in entries {
            if databases.iter().any(|db| db.binding == entry.binding) {
                bail!(
                    "{} declares the D1 binding {} twice",
                    path.display(),
                    entry.binding
                );
            }
            let name = entry.database_name.with_context(|| {
                format!(
                    "{}: the D1 database with binding {} has no database_name",
                    path.display(),
                    entry.binding
                )
            })?;
            let local_id = entry
                .preview_database_id
                .clone()
                .or_else(|| entry.database_id.clone())
                .unwrap_or_else(|| entry.binding.clone());
            let migrations_pattern = layout::resolve_pattern(
                entry.migrations_dir.as_deref(),
                entry.migrations_pattern.as_deref(),
            )
            .with_context(|| {
                format!(
                    "{}: the D1 database with binding {}",
                    path.display(),
                    entry.binding
                )
            })?;
            let migrations_dir = entry
                .migrations_dir
                .map(|folder| {
                    std::path::absolute(dir.join(&folder))
                        .with_context(|| format!("cannot resolve migrations_dir {folder:?}"))
                })
                .transpose()?;
            databases.push(Database {
                binding: entry.binding,
                name,
                id: entry.database_id,
                renamed_by: None,
                wrangler_table: entry
                    .migrations_table
                    .unwrap_or_else(|| DEFAULT_WRANGLER_TABLE.to_owned()),
                migrations_dir,
                migrations_pattern,
                local_id,
            });
        }
        if databases.is_empty() {
            let section = env.map_or(String::new(), |e| format!(" in [env.{e}]"));
            bail!(
                "{} declares no D1 databases{section}: add a [[d1_databases]] entry",
                path.display()
            );
        }
        let path = std::path::absolute(path)
            .with_context(|| format!("cannot resolve {}", path.display()))?;
        Ok(Config {
            path,
            env: env.map(str::to_owned),
            databases,
            account_id,
            persist_to: None,
        })
    }

    /// The folder holding the config: local D1 state lives in `.wrangler/state` here.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn database(&self, binding: &str) -> Option<&Database> {
        self.databases.iter().find(|db| db.binding == binding)
    }

    /// Applies the seed's overrides: `D1_DATABASE_NAME` renames the default
    /// database, `<BINDING>_D1_DATABASE_NAME` any database (and wins).
    pub fn apply_name_overrides(
        &mut self,
        default_binding: &str,
        var: impl Fn(&str) -> Option<String>,
    ) {
        for db in &mut self.databases {
            let specific = db.override_var();
            let chosen = var(&specific).map(|name| (specific, name)).or_else(|| {
                (db.binding == default_binding)
                    .then(|| var("D1_DATABASE_NAME"))
                    .flatten()
                    .map(|name| ("D1_DATABASE_NAME".to_owned(), name))
            });
            if let Some((var_name, name)) = chosen.filter(|(_, name)| !name.is_empty()) {
                db.name = name;
                db.renamed_by = Some(var_name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const TOML: &str = r#"
name = "app"
[[d1_databases]]
binding = "READ_REPLICA"
database_name = "rr"
database_id = "id-1"
[[d1_databases]]
binding = "AUTH"
database_name = "auth"
[env.staging]
[[env.staging.d1_databases]]
binding = "AUTH"
database_name = "auth-staging"
"#;

    #[test]
    fn reads_toml_and_env_sections() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "wrangler.toml", TOML);
        let config = Config::load(&path, None).unwrap();
        let bindings: Vec<_> = config.databases.iter().map(|d| &d.binding[..]).collect();
        assert_eq!(bindings, ["READ_REPLICA", "AUTH"]);
        assert_eq!(
            config.database("READ_REPLICA").unwrap().id.as_deref(),
            Some("id-1")
        );
        let staging = Config::load(&path, Some("staging")).unwrap();
        assert_eq!(staging.databases.len(), 1);
        assert_eq!(staging.databases[0].name, "auth-staging");
        let err = Config::load(&path, Some("prod")).unwrap_err();
        assert!(format!("{err:#}").contains("[env.prod]"), "{err:#}");
    }

    #[test]
    fn reads_jsonc_with_comments_and_trailing_commas() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "wrangler.jsonc",
            r#"{
  // the app
  "name": "app",
  "d1_databases": [{ "binding": "DB", "database_name": "main", "database_id": "x", },],
}"#,
        );
        assert_eq!(Config::find_in(dir.path()), path);
        let config = Config::load(&path, None).unwrap();
        assert_eq!(config.databases[0].name, "main");
    }

    #[test]
    fn reads_migrations_pattern_relative_to_migrations_dir() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "wrangler.jsonc",
            r#"{
  "d1_databases": [
    { "binding": "DB", "database_name": "main", "migrations_dir": "./drizzle", "migrations_pattern": "drizzle/*/migration.sql" },
    { "binding": "AUTH", "database_name": "auth" },
  ],
}"#,
        );
        let config = Config::load(&path, None).unwrap();
        assert_eq!(
            config.database("DB").unwrap().migrations_pattern.as_deref(),
            Some("*/migration.sql")
        );
        assert_eq!(config.database("AUTH").unwrap().migrations_pattern, None);
    }

    #[test]
    fn a_migrations_pattern_wrangler_refuses_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "binding = \"DB\"\ndatabase_name = \"main\"\nmigrations_pattern = \"migrations/*.sql\"\n",
                "needs a `migrations_dir`",
            ),
            (
                "binding = \"DB\"\ndatabase_name = \"main\"\nmigrations_dir = \"migrations\"\nmigrations_pattern = \"schema/*.sql\"\n",
                "must start with `migrations/`",
            ),
        ];
        for (entry, expected) in cases {
            let path = write(
                dir.path(),
                "wrangler.toml",
                &format!("[[d1_databases]]\n{entry}"),
            );
            let err = Config::load(&path, None).unwrap_err();
            let text = format!("{err:#}");
            assert!(
                text.contains(expected) && text.contains("binding DB"),
                "{text}"
            );
        }
    }

    #[test]
    fn missing_file_and_missing_databases_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::load(&dir.path().join("nope.toml"), None).unwrap_err();
        assert!(format!("{err:#}").contains("--config"), "{err:#}");
        let path = write(dir.path(), "wrangler.toml", "name = \"x\"\n");
        let err = Config::load(&path, None).unwrap_err();
        assert!(format!("{err:#}").contains("no D1 databases"), "{err:#}");
    }

    #[test]
    fn overrides_rename_default_and_specific_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "wrangler.toml", TOML);
        let mut config = Config::load(&path, None).unwrap();
        config.apply_name_overrides("READ_REPLICA", |var| match var {
            "D1_DATABASE_NAME" => Some("custom-rr".into()),
            "AUTH_D1_DATABASE_NAME" => Some("custom-auth".into()),
            _ => None,
        });
        assert_eq!(config.databases[0].name, "custom-rr");
        assert_eq!(config.databases[1].name, "custom-auth");
        assert_eq!(
            config.databases[1].renamed_by.as_deref(),
            Some("AUTH_D1_DATABASE_NAME")
        );
        assert_eq!(config.databases[1].heading(), "AUTH DATABASE");
        assert_eq!(config.databases[0].heading(), "READ REPLICA DATABASE");
    }
}

//! Everything a `migrate` command starts from, loaded and validated once: the
//! wrangler config, the routing, the migrations folder and the selected databases.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::config::{Config, Database};
use crate::flags::Global;
use crate::source::{self, Migration, Routing};
use crate::wrangler::{Target, Wrangler};

#[derive(Clone)]
pub struct Project {
    /// The workspace root: where `node_modules/.bin/wrangler` lives.
    pub root: PathBuf,
    pub config: Config,
    pub migrations_dir: PathBuf,
    pub migrations: Vec<Migration>,
    /// The databases this run works on (`--db`, or all), in config order.
    pub selected: Vec<Database>,
    pub target: Target,
}

/// The workspace this xtask was built in.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

impl Project {
    /// Loads config and routing only: enough for commands that must work on a
    /// folder that does not validate yet (`new`).
    pub fn load_config(global: &Global) -> Result<(Config, PathBuf, Routing)> {
        let root = workspace_root();
        let config_path = match &global.config {
            Some(path) => path.clone(),
            None => Config::find_in(&root),
        };
        let mut config = Config::load(&config_path, global.env.as_deref())?;
        let migrations_dir = global
            .migrations_dir
            .clone()
            .unwrap_or_else(|| root.join("migrations"));
        let routing = Routing::load(&migrations_dir)?;
        let default = routing.default_binding(&config).map(str::to_owned);
        if let Some(default) = default {
            config.apply_name_overrides(&default, |var| std::env::var(var).ok());
        }
        Ok((config, migrations_dir, routing))
    }

    pub fn load(global: &Global) -> Result<Project> {
        let (config, migrations_dir, routing) = Self::load_config(global)?;
        let migrations = source::load(&migrations_dir, &config, &routing)?;
        let selected = select(&config, &global.databases)?;
        Ok(Project {
            root: workspace_root(),
            config,
            migrations_dir,
            migrations,
            selected,
            target: global.target(),
        })
    }

    /// The migrations routed to `binding`, in version order.
    pub fn files_for(&self, binding: &str) -> Vec<&Migration> {
        self.migrations
            .iter()
            .filter(|m| m.binding == binding)
            .collect()
    }

    pub fn wrangler(&self) -> Result<Wrangler> {
        for db in &self.selected {
            if let Some(var) = &db.renamed_by {
                tracing::info!(database = %db.binding, name = %db.name, "{var} renames {} to {}", db.binding, db.name);
            }
        }
        Wrangler::locate(&self.root, &self.config, self.target)
    }
}

fn select(config: &Config, wanted: &[String]) -> Result<Vec<Database>> {
    for binding in wanted {
        if config.database(binding).is_none() {
            let known: Vec<_> = config.databases.iter().map(|d| &d.binding[..]).collect();
            bail!(
                "--db {binding}: {} has no D1 database with that binding (it has: {})",
                config.path.display(),
                known.join(", ")
            );
        }
    }
    Ok(config
        .databases
        .iter()
        .filter(|db| wanted.is_empty() || wanted.contains(&db.binding))
        .cloned()
        .collect())
}

//! Everything a `migrate` command starts from, loaded and validated once: the
//! wrangler config, the routing, the migrations folder and the selected databases.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::migrate::config::{Config, Database, DEFAULT_MIGRATIONS_DIR};
use crate::migrate::d1::Target;
use crate::migrate::layout::Layout;
use crate::migrate::plan::{self, Recorded, Surroundings};
use crate::migrate::source::{self, BackupTable, Migration, NotifyTable, Owner, Routing};
use crate::migrate::sql::{LintOptions, Splitter};
use crate::migrate::tracking::LedgerChange;

/// Where a project is and what of it a command works on: what the command
/// line (or a test) says to load.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// The workspace root: where `node_modules/.bin/wrangler` lives.
    pub root: PathBuf,
    /// The wrangler config [default: the one in `root`].
    pub config: Option<PathBuf>,
    /// wrangler's `[env.NAME]` section to use.
    pub env: Option<String>,
    /// The shared migrations folder [default: `migrations/` beside the config].
    pub migrations_dir: Option<PathBuf>,
    /// Only these databases, by binding [default: all].
    pub databases: Vec<String>,
    /// Where wrangler keeps local state [default: `.wrangler/state` beside the config].
    pub persist_to: Option<PathBuf>,
    /// The version of the wrangler that will run the files (how it cuts
    /// them into statements), when known.
    pub wrangler_version: Option<String>,
}

#[derive(Clone)]
pub struct Project {
    /// The workspace root: where `node_modules/.bin/wrangler` lives.
    pub root: PathBuf,
    pub config: Config,
    /// The shared folder, routed by its `migrate.toml`, of every database
    /// whose config entry names no `migrations_dir`.
    pub migrations_dir: PathBuf,
    /// Every database's migrations, each folder in version order.
    pub migrations: Vec<Migration>,
    /// Files whose version another file of their folder has (after a merge):
    /// not in `migrations`, and a problem until `renumber` moves them.
    pub duplicates: Vec<Migration>,
    /// The databases this run works on (`--db`, or all), in config order.
    pub selected: Vec<Database>,
    pub target: Target,
    /// How the installed wrangler cuts a file into statements.
    pub splitter: Splitter,
    /// `migrate.toml`'s `[notify]`.
    pub notify: NotifyTable,
    /// `migrate.toml`'s `[backup]`.
    pub backup: BackupTable,
}

pub use crate::process::cargo_build::workspace_root;

impl Project {
    /// Loads config and routing only: enough for commands that must work on a
    /// folder that does not validate yet (`new`).
    pub fn load_config(paths: &Paths) -> Result<(Config, PathBuf, Routing)> {
        let config_path = match &paths.config {
            Some(path) => path.clone(),
            None => Config::find_in(&paths.root),
        };
        let mut config = Config::load(&config_path, paths.env.as_deref())?;
        config.persist_to = match &paths.persist_to {
            Some(dir) => Some(
                std::path::absolute(dir)
                    .with_context(|| format!("cannot resolve {}", dir.display()))?,
            ),
            None => None,
        };
        // As wrangler reads `migrations_dir`: beside the config.
        let migrations_dir = paths
            .migrations_dir
            .clone()
            .unwrap_or_else(|| config.dir().join(DEFAULT_MIGRATIONS_DIR));
        let routing = Routing::load(&migrations_dir)?;
        let default = routing.default_binding(&config).map(str::to_owned);
        if let Some(default) = default {
            config.apply_name_overrides(&default, |var| std::env::var(var).ok());
        }
        Ok((config, migrations_dir, routing))
    }

    /// Loads and validates the project at `paths`, for `target`.
    pub fn load(paths: &Paths, target: Target) -> Result<Project> {
        let (project, problems) = Self::load_lenient(paths, target)?;
        match problems.len() {
            0 => Ok(project),
            _ => bail!("{}", problems.join("\n")),
        }
    }

    /// [`Project::load`] that keeps every migration it could read, with the
    /// folders' problems beside them (`status` shows what it can).
    pub fn load_lenient(paths: &Paths, target: Target) -> Result<(Project, Vec<String>)> {
        let (config, migrations_dir, routing) = Self::load_config(paths)?;
        // A folder named on the command line must exist (a typo is not "no
        // migrations"); one the config implies may not, for a database
        // whose tables something else makes.
        if paths.migrations_dir.is_some() && !migrations_dir.is_dir() {
            bail!(
                "the migrations folder {} does not exist: check `--migrations-dir`, or create it with `cargo migrate new`",
                migrations_dir.display()
            );
        }
        let Folders {
            migrations,
            duplicates,
            mut problems,
        } = load_folders(&config, &migrations_dir, &routing)?;
        for binding in &routing.backup.export {
            if config.database(binding).is_none() {
                problems.push(format!(
                    "{}: [backup] export names {binding}, which is not a D1 database in {}",
                    migrations_dir.join(source::ROUTING_FILE).display(),
                    config.path.display()
                ));
            }
        }
        let selected = select(&config, &paths.databases)?;
        let notify = routing.notify.clone();
        let backup = routing.backup.clone();
        let project = Project {
            root: paths.root.clone(),
            config,
            migrations_dir,
            migrations,
            duplicates,
            selected,
            target,
            splitter: Splitter::for_version(paths.wrangler_version.as_deref()),
            notify,
            backup,
        };
        Ok((project, problems))
    }

    /// The options that find this project again from any folder, each with a
    /// leading space: `--config`, `--migrations-dir` and `--persist-to`, each
    /// only when it is not what a plain `cargo migrate` finds. The commands a
    /// run suggests carry them, so that they act on this project and no other.
    pub(crate) fn selecting_flags(&self) -> String {
        let absolute =
            |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => absolute(a) == absolute(b),
        };
        let mut flags = String::new();
        let mut add = |flag: &str, path: &Path| {
            flags.push_str(&format!(" {flag} {}", shell_word(&absolute(path))));
        };
        if !same(&self.config.path, &Config::find_in(&self.root)) {
            add("--config", &self.config.path);
        }
        if !same(
            &self.migrations_dir,
            &self.config.dir().join(DEFAULT_MIGRATIONS_DIR),
        ) {
            add("--migrations-dir", &self.migrations_dir);
        }
        if let Some(dir) = &self.config.persist_to {
            add("--persist-to", dir);
        }
        flags
    }

    /// The options a suggested command needs to reach these databases again:
    /// `--remote`, `--env NAME`, then [`Project::selecting_flags`].
    pub fn hint_flags(&self) -> String {
        let mut flags = String::new();
        if self.target == Target::Remote {
            flags.push_str(" --remote");
        }
        if let Some(env) = &self.config.env {
            flags.push_str(&format!(" --env {env}"));
        }
        flags + &self.selecting_flags()
    }

    /// The migrations routed to `binding`, in version order.
    pub fn files_for(&self, binding: &str) -> Vec<&Migration> {
        self.migrations
            .iter()
            .filter(|m| m.binding == binding)
            .collect()
    }

    /// `binding`'s migrations as its `recorded` state sees them: its files,
    /// and those it applied on another branch, rebuilt from what it stored
    /// ([`plan::stored_migrations`]), in version order.
    pub fn files_recorded(&self, binding: &str, recorded: Recorded<'_>) -> Vec<&Migration> {
        let mut files = self.files_for(binding);
        let stored = plan::stored_migrations(binding, &files, recorded);
        files.extend(kept(stored));
        files.sort_by_key(|m| m.version);
        files
    }

    /// The newest migration version of the selected databases (0 for none).
    pub fn newest_version(&self) -> u64 {
        self.selected
            .iter()
            .flat_map(|db| self.files_for(&db.binding))
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }

    /// The folder `binding` takes its migrations from.
    pub fn folder_of(&self, binding: &str) -> &Path {
        self.config
            .database(binding)
            .map_or(self.migrations_dir.as_path(), |db| {
                folder_of(db, &self.migrations_dir)
            })
    }

    /// The `.sql` files in `binding`'s folder that wrangler's own `d1
    /// migrations apply` would run on it but that are not its migrations:
    /// rollback files, and migrations routed to another database. Recorded
    /// in wrangler's ledger so that it never runs them there.
    pub fn foreign_sql(&self, binding: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .in_folder_of(binding)
            .flat_map(|m| {
                let routed_elsewhere = (m.binding != binding).then(|| m.file_name.clone());
                let rollback = m.rollback.as_ref().and_then(|r| r.ledger_name.clone());
                routed_elsewhere.into_iter().chain(rollback)
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// What wrangler's ledger of `binding` must hold when the migrations
    /// `versions` are applied: their file names, and [`Project::foreign_sql`]
    /// as its guard rows (stale ones removed).
    pub fn ledger_change(&self, binding: &str, versions: &[u64]) -> LedgerChange {
        LedgerChange {
            present: self
                .files_for(binding)
                .iter()
                .filter(|m| versions.contains(&m.version))
                .map(|m| m.file_name.clone())
                .collect(),
            absent: Vec::new(),
            guards: Some(self.foreign_sql(binding)),
        }
    }

    /// The migrations (of every database) in the folder `binding` takes its own from.
    pub fn in_folder_of<'a>(&'a self, binding: &str) -> impl Iterator<Item = &'a Migration> {
        let folder = self.folder_of(binding).to_path_buf();
        self.migrations
            .iter()
            .filter(move |m| self.folder_of(&m.binding) == folder)
    }

    /// What `binding`'s record is read against besides its own files.
    pub fn surroundings(&self, binding: &str) -> Surroundings<'_> {
        let folder = self.folder_of(binding);
        let routed = folder == self.migrations_dir && folder.join(source::ROUTING_FILE).is_file();
        Surroundings {
            foreign: self.foreign_sql(binding),
            elsewhere: self
                .migrations
                .iter()
                .filter(|m| m.binding != binding)
                .collect(),
            taken: self
                .in_folder_of(binding)
                .filter(|m| routed && m.binding != binding)
                .map(|m| m.version)
                .collect(),
            hints: self.hint_flags(),
        }
    }

    /// How to lint files for the wrangler this project runs.
    pub fn lint_options(&self) -> LintOptions {
        LintOptions {
            splitter: self.splitter,
            ..LintOptions::default()
        }
    }
}

/// How the folder of `db` (`None`: the shared folder) is read: its
/// `migrations_pattern`, or wrangler's default.
pub fn layout_of(db: Option<&Database>) -> Result<Layout> {
    let pattern = db.and_then(|db| db.migrations_pattern.as_deref());
    Layout::new(pattern).with_context(|| {
        format!(
            "the migrations_pattern of {}",
            db.map_or("the shared folder", |db| db.binding.as_str())
        )
    })
}

/// Migrations rebuilt from their database's stored copy, kept for the rest
/// of the process: plans and reports borrow migrations for as long as the
/// project they come from, and these come from no file. Each is kept once, however many
/// runs (the web UI's) meet it.
fn kept(migrations: Vec<Migration>) -> Vec<&'static Migration> {
    static KEPT: std::sync::Mutex<Vec<&'static Migration>> = std::sync::Mutex::new(Vec::new());
    let mut kept = KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    migrations
        .into_iter()
        .map(|m| {
            let same = |k: &&&'static Migration| {
                k.binding == m.binding
                    && k.version == m.version
                    && k.name == m.name
                    && k.checksum == m.checksum
                    && k.file_name == m.file_name
                    && k.rollback.as_ref().map(|r| &r.sql) == m.rollback.as_ref().map(|r| &r.sql)
            };
            match kept.iter().find(same) {
                Some(k) => *k,
                None => {
                    let k: &'static Migration = Box::leak(Box::new(m));
                    kept.push(k);
                    k
                }
            }
        })
        .collect()
}

/// `db`'s folder: its `migrations_dir`, or the shared one.
pub fn folder_of<'a>(db: &'a Database, shared: &'a Path) -> &'a Path {
    db.migrations_dir.as_deref().unwrap_or(shared)
}

fn same(a: &Path, b: &Path) -> bool {
    a == b || a.canonicalize().ok() == b.canonicalize().ok()
}

/// The databases that take their migrations from the shared folder.
pub fn sharing<'a>(config: &'a Config, shared: &Path) -> Vec<&'a str> {
    config
        .databases
        .iter()
        .filter(|db| same(folder_of(db, shared), shared))
        .map(|db| db.binding.as_str())
        .collect()
}

/// What every folder holds: see [`source::Scanned`].
struct Folders {
    migrations: Vec<Migration>,
    duplicates: Vec<Migration>,
    problems: Vec<String>,
}

/// Reads every folder the config's databases take migrations from: the
/// shared one (routed), when any database uses it, and each `migrations_dir`.
/// Returns what could be read and every folder's problems.
fn load_folders(config: &Config, shared: &Path, routing: &Routing) -> Result<Folders> {
    let sharing = sharing(config, shared);
    let mut migrations = Vec::new();
    let mut duplicates = Vec::new();
    let mut problems = Vec::new();
    let mut read = |dir: &Path, db: Option<&Database>, owner: Owner<'_>| -> Result<()> {
        if !dir.exists() {
            let whose = match owner {
                Owner::Only(binding) => binding.to_owned(),
                Owner::Shared { bindings, .. } => bindings.join(", "),
            };
            tracing::info!(
                "{} has no migrations: there is no folder {}",
                whose,
                dir.display()
            );
            return Ok(());
        }
        let source::Scanned {
            migrations: found,
            duplicates: extra,
            problems: mut trouble,
        } = source::scan(dir, &layout_of(db)?, owner, config)?;
        migrations.extend(found);
        duplicates.extend(extra);
        if trouble.len() > 1 {
            let count = trouble.len();
            trouble = std::iter::once(format!(
                "the migrations folder {} has {count} problems:",
                dir.display()
            ))
            .chain(trouble.into_iter().map(|p| format!("  - {p}")))
            .collect();
        }
        problems.extend(trouble);
        Ok(())
    };
    if !sharing.is_empty() {
        let owner = Owner::Shared {
            routing,
            bindings: &sharing,
        };
        read(shared, None, owner)?;
    }
    for db in &config.databases {
        let folder = folder_of(db, shared);
        if !same(folder, shared) {
            read(folder, Some(db), Owner::Only(&db.binding))?;
        }
    }
    Ok(Folders {
        migrations,
        duplicates,
        problems,
    })
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

/// `path` as one shell word: quoted when it holds anything but the
/// characters paths are usually made of.
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    match plain {
        true => text.into_owned(),
        false => format!("'{}'", text.replace('\'', r"'\''")),
    }
}

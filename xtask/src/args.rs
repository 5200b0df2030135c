//! The options every front end takes: the `migrate` commands, the release
//! and the web UI's server parse the same [`Global`] options, and turn them
//! into the engine's types here ([`ProjectFlags::paths`], [`Global::target`],
//! [`ProjectFlags::notify_settings`]).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::migrate::{Paths, Target};
use crate::notify::{Settings, When};
use crate::output::LogFormat;

/// Options every `migrate` command takes, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct Global {
    #[command(flatten)]
    pub project: ProjectFlags,

    /// Target the local D1 (the default)
    #[arg(long, global = true, conflicts_with = "remote")]
    local: bool,

    /// Target the remote D1 on Cloudflare (needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID)
    #[arg(long, global = true)]
    remote: bool,
}

/// Which project, which of its databases, and how logs look.
#[derive(Debug, Clone, Args)]
pub struct ProjectFlags {
    /// The wrangler config that declares the D1 databases [default: the workspace's wrangler.toml]
    #[arg(long, global = true, value_name = "PATH", env = "MIGRATE_CONFIG")]
    pub config: Option<PathBuf>,

    /// The shared folder of NNNN_description.sql files, for the databases whose
    /// config entry names no `migrations_dir` [default: migrations/ beside the config]
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "MIGRATE_MIGRATIONS_DIR"
    )]
    pub migrations_dir: Option<PathBuf>,

    /// Use the databases of wrangler's `[env.NAME]` section
    #[arg(long, global = true, value_name = "NAME", env = "MIGRATE_ENV")]
    pub env: Option<String>,

    /// Only these databases, by binding (repeatable)
    #[arg(long = "db", global = true, value_name = "BINDING")]
    pub databases: Vec<String>,

    /// Where wrangler keeps local state, as its own `--persist-to` (for a
    /// `wrangler dev --persist-to DIR`) [default: .wrangler/state beside the config]
    #[arg(long, global = true, value_name = "DIR", env = "MIGRATE_PERSIST_TO")]
    pub persist_to: Option<PathBuf>,

    /// Logs on stderr at a terminal too: `-v` what each step did, `-vv` how
    /// (debug). Piped, or with `--log-format json`, the logs are always there
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// How logs on stderr look
    #[arg(
        long,
        global = true,
        value_enum,
        env = "MIGRATE_LOG_FORMAT",
        default_value = "human"
    )]
    pub log_format: LogFormat,

    /// When the configured channels (email, Slack, Discord, webhook: see
    /// docs/notifications.md) are told how a run went [default: `on` in migrate.toml's
    /// [notify], else failure]
    #[arg(
        long,
        global = true,
        value_enum,
        env = "MIGRATE_NOTIFY_ON",
        value_name = "WHEN"
    )]
    pub notify: Option<NotifyWhen>,
}

/// When notifications go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NotifyWhen {
    /// When a run fails (the default)
    Failure,
    /// After every run
    Always,
    /// Never
    Never,
}

impl Global {
    /// These options as arguments again (for a program that takes the same),
    /// their paths made absolute against this process's folder: the program
    /// finds the same files wherever it runs.
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        let flags = &self.project;
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        if let Some(config) = &flags.config {
            args.extend(["--config".into(), absolute(config)]);
        }
        if let Some(dir) = &flags.migrations_dir {
            args.extend(["--migrations-dir".into(), absolute(dir)]);
        }
        if let Some(env) = &flags.env {
            args.extend(["--env".into(), env.into()]);
        }
        for db in &flags.databases {
            args.extend(["--db".into(), db.into()]);
        }
        if let Some(dir) = &flags.persist_to {
            args.extend(["--persist-to".into(), absolute(dir)]);
        }
        for _ in 0..flags.verbose {
            args.push("-v".into());
        }
        if flags.log_format == LogFormat::Json {
            args.extend(["--log-format".into(), "json".into()]);
        }
        if let Some(when) = flags.notify {
            let when = match when {
                NotifyWhen::Failure => "failure",
                NotifyWhen::Always => "always",
                NotifyWhen::Never => "never",
            };
            args.extend(["--notify".into(), when.into()]);
        }
        if self.remote {
            args.push("--remote".into());
        }
        args
    }

    /// `migrate` works on the local D1 unless `--remote` says otherwise.
    pub fn target(&self) -> Target {
        if self.remote {
            Target::Remote
        } else {
            Target::Local
        }
    }
}

/// `path` as this process reads it, made absolute (a path that cannot be,
/// when the current folder is gone, is passed on as it is).
fn absolute(path: &Path) -> std::ffi::OsString {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .into_os_string()
}

impl ProjectFlags {
    /// The project these options name: the workspace this xtask was built
    /// in unless `--config` says otherwise.
    pub fn paths(&self) -> Paths {
        let root = crate::migrate::workspace_root();
        Paths {
            wrangler_version: crate::wrangler::project_version(&root),
            root,
            config: self.config.clone(),
            env: self.env.clone(),
            migrations_dir: self.migrations_dir.clone(),
            databases: self.databases.clone(),
            persist_to: self.persist_to.clone(),
        }
    }

    /// The channels and the policy for `project`, `--notify` (or
    /// `MIGRATE_NOTIFY_ON`) winning over `migrate.toml`.
    pub fn notify_settings(&self, project: &crate::migrate::Project) -> Settings {
        let when = self.notify.map(|when| match when {
            NotifyWhen::Failure => When::Failure,
            NotifyWhen::Always => When::Always,
            NotifyWhen::Never => When::Never,
        });
        Settings::load(&project.notify, when, |name| std::env::var(name).ok())
    }
}

/// What a remote restore point is (`--backup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RestorePointKind {
    /// D1's Time Travel bookmark alone: one request, blocks nothing;
    /// restorable for 30 days (7 on the Workers free plan) with `restore`
    Bookmark,
    /// `wrangler d1 export` to a .sql file (and the bookmark after it): kept
    /// as long as you keep the file, but D1 blocks the database's other
    /// requests while the export runs
    Export,
}

impl RestorePointKind {
    /// The engine's restore point of this kind.
    pub fn restore_point(self) -> crate::migrate::RestorePoint {
        match self {
            RestorePointKind::Bookmark => crate::migrate::RestorePoint::Bookmark,
            RestorePointKind::Export => crate::migrate::RestorePoint::Export,
        }
    }
}

//! The whole command line, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::wrangler::Target;

/// Project tasks for this Workers app: D1 migrations (`cargo migrate …`).
#[derive(Debug, Parser)]
#[command(name = "xtask", version)]
pub struct Xtask {
    #[command(subcommand)]
    pub command: XtaskCommand,
}

#[derive(Debug, Subcommand)]
pub enum XtaskCommand {
    /// Apply, roll back and inspect D1 migrations (alias: `cargo migrate`).
    Migrate(Migrate),
}

/// Apply, roll back and inspect the D1 migrations in `migrations/`.
///
/// Every command targets the local D1 (miniflare's SQLite under `.wrangler/state`
/// beside the wrangler config) unless `--remote` is given.
#[derive(Debug, Parser)]
#[command(name = "migrate")]
pub struct Migrate {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: MigrateCommand,
}

/// Options every `migrate` command takes, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The wrangler config that declares the D1 databases [default: the workspace's wrangler.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The folder of NNNN_description.sql files [default: the workspace's migrations/]
    #[arg(long, global = true, value_name = "DIR")]
    pub migrations_dir: Option<PathBuf>,

    /// Use the databases of wrangler's `[env.NAME]` section
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,

    /// Target the local D1 (the default)
    #[arg(long, global = true, conflicts_with = "remote")]
    pub local: bool,

    /// Target the remote D1 on Cloudflare (needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID)
    #[arg(long, global = true)]
    pub remote: bool,

    /// Only these databases, by binding (repeatable)
    #[arg(long = "db", global = true, value_name = "BINDING")]
    pub databases: Vec<String>,

    /// How logs on stderr look
    #[arg(
        long,
        global = true,
        value_enum,
        env = "MIGRATE_LOG_FORMAT",
        default_value = "human"
    )]
    pub log_format: LogFormat,
}

impl Global {
    pub fn target(&self) -> Target {
        if self.remote {
            Target::Remote
        } else {
            Target::Local
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply pending migrations (all, or those up to VERSION), in version order.
    ///
    /// Each database's pending migrations are applied in one all-or-nothing
    /// call (databases in parallel): either all of them land, or the database
    /// is left exactly as it was.
    Up(Up),
    /// Roll back every applied migration above VERSION, newest first.
    ///
    /// Every needed `.rollback.sql` must exist before anything runs. `down 0`
    /// rolls back everything.
    Down(Down),
    /// Show applied, pending, modified and missing migrations per database.
    Status(Status),
    /// Create the next NNNN_description.sql and its .rollback.sql.
    New(New),
    /// Check the migrations folder offline: names, sequence, routing, rollbacks and D1 lint.
    Check(Check),
}

/// How a run applies its batches.
#[derive(Debug, Clone, Args)]
pub struct RunOptions {
    /// Print the plan with its SQL and rehearse it on a throwaway local copy of
    /// each database's schema; write nothing to the target
    #[arg(long)]
    pub dry_run: bool,

    /// One wrangler call per migration instead of one per database: a failure
    /// keeps the migrations before it
    #[arg(long)]
    pub step: bool,
}

#[derive(Debug, Args)]
pub struct Up {
    /// Apply only migrations with a version up to this one
    pub version: Option<u64>,
    #[command(flatten)]
    pub run: RunOptions,
}

#[derive(Debug, Args)]
pub struct Down {
    /// Roll back to this version: every applied migration above it is undone
    pub version: u64,
    #[command(flatten)]
    pub run: RunOptions,
}

#[derive(Debug, Args)]
pub struct Status {
    /// Print JSON on stdout instead of the human report
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct New {
    /// What the migration does, e.g. "add user tier" (becomes add_user_tier).
    /// With `--db BINDING`, the file gets a `-- database: BINDING` header.
    pub description: String,
}

#[derive(Debug, Args)]
pub struct Check {
    /// Treat warnings as errors
    #[arg(long)]
    pub strict: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Xtask::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let before =
            Xtask::try_parse_from(["xtask", "migrate", "--remote", "--db", "AUTH", "status"])
                .unwrap();
        let after =
            Xtask::try_parse_from(["xtask", "migrate", "status", "--remote", "--db", "AUTH"])
                .unwrap();
        for parsed in [before, after] {
            let XtaskCommand::Migrate(m) = parsed.command;
            assert_eq!(m.global.target(), Target::Remote);
            assert_eq!(m.global.databases, ["AUTH"]);
        }
        assert!(Xtask::try_parse_from(["xtask", "migrate", "up", "--local", "--remote"]).is_err());
    }
}

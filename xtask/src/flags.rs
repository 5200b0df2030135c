//! The whole command line, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::args::{Global, RestorePointKind};

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
    #[command(after_help = crate::help_examples::MIGRATE)]
    Migrate(Migrate),
    /// Build the Rust worker to wasm, installing the tools the build needs.
    ///
    /// wrangler.toml's `[build] command` runs this, so `wrangler dev` and
    /// `wrangler deploy` build the worker themselves.
    #[command(after_help = crate::help_examples::BUILD_WORKER)]
    BuildWorker(crate::tasks::build_worker::BuildWorker),
    /// Ship it: check, build the worker, back up, rehearse, migrate, deploy, smoke-check.
    ///
    /// Remote by default; `--local` rehearses the whole chain on this machine
    /// (`wrangler deploy --dry-run`, then `wrangler dev` on 127.0.0.1 for the
    /// smoke check). The first failing step stops the chain.
    #[command(after_help = crate::help_examples::RELEASE)]
    Release(crate::tasks::release::Release),
    /// Measure `migrate` against wrangler's own `d1 migrations`, side by side.
    #[command(after_help = crate::help_examples::BENCH)]
    Bench(crate::tasks::bench::Bench),
    /// Set up what the tests need, saying what it installs and where, then run `cargo test`.
    ///
    /// Installs what is missing: wrangler and playwright-core (`npm ci` into
    /// node_modules/), the worker's build tools (the wasm target with rustup,
    /// wasm-bindgen, worker-build and esbuild into target/tools), Chromium,
    /// sqlite3 and python3-venv (apt-get, as root or with `sudo -n`;
    /// otherwise it prints the command to run), and the notification
    /// receivers' venv (target/test-tools/receivers, from PyPI). The tests
    /// themselves install nothing: one that misses a tool fails with the
    /// command that sets it up.
    ///
    /// Then it builds what the tests would build on first use (the test
    /// binaries, the worker's wasm, the web UI) and runs `cargo test`, saying
    /// how long each took.
    #[command(verbatim_doc_comment, after_help = crate::help_examples::TEST)]
    Test(crate::tasks::test::Test),
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

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply pending migrations (all, or those up to VERSION), in version order.
    ///
    /// Each database's pending migrations are applied in one all-or-nothing
    /// call (databases in parallel): either all of them land, or the database
    /// is left exactly as it was.
    ///
    /// The plan is made from what this machine last saw of each database
    /// (`.wrangler/migrate/`), and the call checks first that the database is
    /// still exactly so; when it is not, nothing is written and the run reads
    /// the database and plans again. Without such a record it reads first.
    #[command(after_help = crate::help_examples::UP)]
    Up(Up),
    /// Roll back every applied migration above VERSION, newest first.
    ///
    /// Every needed `.rollback.sql` must exist before anything runs. `down 0`
    /// rolls back everything. Like `up`, it plans from what this machine last
    /// saw of each database when it can, and the call checks it still holds.
    #[command(after_help = crate::help_examples::DOWN)]
    Down(Down),
    /// Show applied, pending, modified and missing migrations per database
    /// (`-v`: also when each was applied and how long it took).
    #[command(after_help = crate::help_examples::STATUS)]
    Status(Status),
    /// Create the next NNNN_description.sql and its .rollback.sql.
    #[command(after_help = crate::help_examples::NEW)]
    New(New),
    /// Check the migrations folder offline: names, sequence, routing, rollbacks and D1 lint.
    #[command(after_help = crate::help_examples::CHECK)]
    Check(Check),
    /// Export databases (`wrangler d1 export`) into the backup folder.
    #[command(after_help = crate::help_examples::BACKUP)]
    Backup(Backup),
    /// Replace a database's contents with a backup file (or, remotely, a Time Travel bookmark).
    #[command(after_help = crate::help_examples::RESTORE)]
    Restore(Restore),
    /// Clear a migration lock left behind by a run that died.
    #[command(after_help = crate::help_examples::UNLOCK)]
    Unlock(Unlock),
    /// Compare each database's live schema with what its applied migrations produce.
    ///
    /// Exits non-zero with a readable diff when someone changed the schema by
    /// hand, or when an applied migration's file was edited.
    #[command(after_help = crate::help_examples::VERIFY)]
    Verify(Verify),
    /// Record a migration as applied or as not applied, or its file's new
    /// name or checksum, without running it.
    #[command(after_help = crate::help_examples::MARK)]
    Mark(Mark),
    /// After a merge, give each migration that shares its version with
    /// another (and is not applied) the next free version.
    ///
    /// Renames the file and its rollback (or, with a folder per migration,
    /// the folder); a migration applied to the target's database never
    /// moves. With two branches' migrations applied to different targets,
    /// run it against the one that matters (`--remote` for production).
    #[command(after_help = crate::help_examples::RENUMBER)]
    Renumber(Renumber),
    /// Record migrations 1..=VERSION as applied without running them, for a
    /// database that already has that schema.
    #[command(after_help = crate::help_examples::BASELINE)]
    Baseline(Baseline),
    /// Take over databases migrated with wrangler's own `d1 migrations`: map
    /// their `d1_migrations` rows to these files and record them.
    #[command(after_help = crate::help_examples::ADOPT)]
    Adopt(Adopt),
    /// Check the notification channels: `--test` sends a test message to each.
    #[command(after_help = crate::help_examples::NOTIFY)]
    Notify(Notify),
    /// Start the web UI on 127.0.0.1: status, migrations, plans, rehearsals,
    /// runs, history, schema and backups, for the local or (`--remote`) the
    /// remote databases.
    ///
    /// Builds and runs the `migrate-ui` crate (kept out of the xtask, so that
    /// `cargo migrate up` never compiles a web server). Prints one line, the
    /// address with a token made at each start; Ctrl-C stops it.
    #[command(after_help = crate::help_examples::UI)]
    Ui(Ui),
}

/// `migrate ui`.
#[derive(Debug, Args)]
pub struct Ui {
    /// The port on 127.0.0.1 [default: 0, a free one]
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Open the page in the default browser
    #[arg(long)]
    pub open: bool,
}

/// Where backups go and how many are kept.
#[derive(Debug, Clone, Args)]
pub struct BackupOptions {
    /// The backup folder [default: backups/ beside the wrangler config]
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,

    /// How many backups to keep per database (older ones are deleted)
    #[arg(long, value_name = "N", default_value_t = crate::migrate::DEFAULT_KEEP_BACKUPS)]
    pub keep_backups: usize,
}

/// How a run treats another run's lock.
#[derive(Debug, Clone, Args)]
pub struct LockOptions {
    /// Wait up to SECONDS for another run's lock instead of failing at once
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait: u64,

    /// How long this run's lock lasts before another run may take it over
    #[arg(long, value_name = "SECONDS", default_value_t = crate::migrate::DEFAULT_LOCK_TTL_SECS)]
    pub lock_ttl: u64,
}

/// How a run applies its batches.
#[derive(Debug, Clone, Args)]
pub struct RunOptions {
    /// Print the plan with its SQL and rehearse it on a throwaway local copy
    /// of each database; write nothing to the target. Locally the copy is of
    /// the data (SQLite's online copy, which blocks nothing); remotely it is
    /// the newest export of the database in the backup folder taken at its
    /// current version, or else its schema alone (the report says which):
    /// see --with-data
    #[arg(long)]
    pub dry_run: bool,

    /// One wrangler call per migration instead of one per database: a failure
    /// keeps the migrations before it
    #[arg(long)]
    pub step: bool,

    /// Skip the backup taken before changing each database (logged as a warning)
    #[arg(long)]
    pub no_backup: bool,

    /// Remotely, the restore point taken just before each database changes
    /// [default: bookmark, or export for the databases that migrate.toml's
    /// `[backup] export` names]. Locally the backup is always a copy of the
    /// SQLite file and this changes nothing
    #[arg(
        long = "backup",
        value_enum,
        value_name = "KIND",
        conflicts_with = "no_backup"
    )]
    pub restore_point: Option<RestorePointKind>,

    /// With --dry-run: rehearse on a copy of each database's schema alone,
    /// not of its data (for databases too large to copy)
    #[arg(long, conflicts_with = "with_data")]
    pub schema_only: bool,

    /// With --dry-run --remote: export each database first and rehearse on
    /// that export. D1 blocks the database's other requests while an export
    /// runs. Locally a dry run always rehearses on a copy of the data, and
    /// this changes nothing
    #[arg(long, requires = "dry_run")]
    pub with_data: bool,

    /// Let migrations remove rows they do not delete by name (a cascade from a
    /// dropped or rebuilt parent, a dropped table with rows, a REPLACE
    /// conflict); a `-- allow-data-loss: why` line at the top of a file says
    /// the same for that migration alone
    #[arg(long)]
    pub allow_data_loss: bool,

    #[command(flatten)]
    pub backup: BackupOptions,

    #[command(flatten)]
    pub lock: LockOptions,
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

    /// Also show when each migration was applied and how long it took: set
    /// by the global `-v`
    #[arg(skip)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct Backup {
    /// List the backups in the backup folder (per database: when, version,
    /// file, bookmark) instead of taking one
    #[arg(long)]
    pub list: bool,

    #[command(flatten)]
    pub backup: BackupOptions,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["file", "bookmark"]))]
pub struct Restore {
    /// A backup written by `backup` or before `up`/`down` (`.sqlite`, `.sql`
    /// or `.bookmark`); it must be a whole backup of the database named by --db
    pub file: Option<PathBuf>,

    /// With --remote: a Time Travel bookmark to restore instead of a file
    #[arg(long, value_name = "ID")]
    pub bookmark: Option<String>,

    /// Do not ask for confirmation (required when not run from a terminal)
    #[arg(long, short)]
    pub yes: bool,

    /// Restore a file that is not a whole backup of this database (another
    /// database's, a plain `wrangler d1 export`, one cut short)
    #[arg(long)]
    pub force: bool,

    /// Skip the backup of what the restore replaces (taken by default, so a
    /// wrong restore can be undone)
    #[arg(long)]
    pub no_backup: bool,

    #[command(flatten)]
    pub backup: BackupOptions,
}

#[derive(Debug, Args)]
pub struct Unlock {}

#[derive(Debug, Args)]
pub struct Verify {}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("state").required(true).args(["applied", "pending", "checksum", "renamed"]))]
pub struct Mark {
    /// The migration's version
    pub version: u64,

    /// Record it as applied (its SQL is not run)
    #[arg(long)]
    pub applied: bool,

    /// Remove its record, so `up` runs it again (its rollback is not run)
    #[arg(long)]
    pub pending: bool,

    /// Record the checksum of its file as it is now, after a cosmetic edit:
    /// refused when its statements differ from those applied (the copy its
    /// database stored, or git's by the recorded checksum)
    #[arg(long)]
    pub checksum: bool,

    /// Record the name its file has now, after the file of an applied
    /// migration was renamed (in both ledgers; nothing runs). Refused when
    /// its statements changed too
    #[arg(long)]
    pub renamed: bool,

    /// With --checksum: record it even when neither the database nor git has the applied text to compare with
    #[arg(long, requires = "checksum")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct Renumber {
    /// Say what would be renamed, and rename nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct Baseline {
    /// The last version the databases already have
    pub version: u64,
}

#[derive(Debug, Args)]
pub struct Adopt {}

#[derive(Debug, Args)]
pub struct Notify {
    /// Send a test message to every configured channel and report each result
    #[arg(long, required = true)]
    pub test: bool,
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

    /// Also warn about `CREATE` without `IF NOT EXISTS` and `DROP` without
    /// `IF EXISTS` (off by default: a versioned migration runs once)
    #[arg(long)]
    pub guards: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::Target;
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
            let XtaskCommand::Migrate(m) = parsed.command else {
                panic!("parsed as migrate");
            };
            assert_eq!(m.global.target(), Target::Remote);
            assert_eq!(m.global.project.databases, ["AUTH"]);
        }
        assert!(Xtask::try_parse_from(["xtask", "migrate", "up", "--local", "--remote"]).is_err());
    }

    #[test]
    fn restore_points_and_rehearsal_data_are_chosen_and_their_costs_are_in_the_help() {
        let parse = |args: &[&str]| {
            Xtask::try_parse_from([&["xtask", "migrate", "up"], args].concat()).map(|parsed| {
                let XtaskCommand::Migrate(m) = parsed.command else {
                    panic!("parsed as migrate");
                };
                let MigrateCommand::Up(up) = m.command else {
                    panic!("parsed as up");
                };
                up.run
            })
        };
        assert_eq!(parse(&[]).unwrap().restore_point, None);
        let export = parse(&["--backup", "export"]).unwrap();
        assert_eq!(export.restore_point, Some(RestorePointKind::Export));
        assert!(parse(&["--backup", "export", "--no-backup"]).is_err());
        assert!(parse(&["--backup", "tape"]).is_err());
        assert!(parse(&["--dry-run", "--with-data"]).unwrap().with_data);
        // Dry runs only, and not with the schema alone.
        assert!(parse(&["--with-data"]).is_err());
        assert!(parse(&["--dry-run", "--with-data", "--schema-only"]).is_err());

        let mut command = Xtask::command();
        let up = command
            .find_subcommand_mut("migrate")
            .and_then(|m| m.find_subcommand_mut("up"))
            .unwrap();
        let help = up.render_long_help().to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for said in [
            "one request, blocks nothing",
            "restorable for 30 days (7 on the Workers free plan)",
            "D1 blocks the database's other requests while the export runs",
            "Locally the backup is always a copy of the SQLite file and this changes nothing",
            "the newest export of the database in the backup folder",
            "D1 blocks the database's other requests while an export runs",
        ] {
            assert!(help.contains(said), "{said:?} is not in:\n{help}");
        }
    }

    #[test]
    fn release_goes_remote_unless_told_local_and_says_so_in_its_help() {
        let target = |args: &[&str]| {
            let parsed = Xtask::try_parse_from([&["xtask", "release"], args].concat()).unwrap();
            let XtaskCommand::Release(release) = parsed.command else {
                panic!("parsed as release");
            };
            release.target()
        };
        assert_eq!(target(&[]), Target::Remote);
        assert_eq!(target(&["--remote"]), Target::Remote);
        assert_eq!(target(&["--local"]), Target::Local);
        let help = Xtask::command()
            .find_subcommand_mut("release")
            .unwrap()
            .render_long_help()
            .to_string();
        // The flags' own lines (the about text names `--local` too).
        let remote = help.split("\n      --remote").nth(1).unwrap();
        assert!(remote.contains("the default"), "{help}");
        let local = help.split("\n      --local").nth(1).unwrap();
        let local = local.split("\n      --remote").next().unwrap();
        assert!(!local.contains("default"), "{help}");
    }
}

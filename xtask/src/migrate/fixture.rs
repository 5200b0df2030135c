//! A project in a temp folder with SQLite files standing in for D1
//! ([`SqliteD1`]), for the engine's unit tests: the run's, and those of
//! status, verify, the ledger edits and restores.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::migrate::backup::Backups;
use crate::migrate::config::Database;
use crate::migrate::d1::Target;
use crate::migrate::events::{Event, Recorder};
use crate::migrate::project::{Paths, Project};
use crate::migrate::run::{
    run, Backing, Batching, DataLoss, Direction, Locking, Mode, Options, RunContext, Seeding,
};
use crate::migrate::sqlite_stand_in::SqliteD1;

/// A project in a temp folder: two databases (MAIN, and AUX for files with a
/// `-- database: AUX` header), its migrations, and its SQLite "D1".
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) target: Target,
    pub(crate) d1: Arc<SqliteD1>,
}

pub(crate) const CONFIG: &str = r#"name = "fixture"
[[d1_databases]]
binding = "MAIN"
database_name = "fixture-main"
database_id = "11111111-1111-4111-8111-111111111111"

[[d1_databases]]
binding = "AUX"
database_name = "fixture-aux"
database_id = "22222222-2222-4222-8222-222222222222"
"#;

impl Fixture {
    pub(crate) fn new(target: Target) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("wrangler.toml"), CONFIG).unwrap();
        std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
        std::fs::write(
            dir.path().join("migrations/migrate.toml"),
            "default = \"MAIN\"\n",
        )
        .unwrap();
        let d1 = Arc::new(SqliteD1::new(dir.path(), target));
        Fixture { dir, target, d1 }
    }

    pub(crate) fn local() -> Fixture {
        Fixture::new(Target::Local)
    }

    /// The same project, its "D1" reading the files for reads without a
    /// call, as local wrangler reads are answered.
    pub(crate) fn reading_files(self) -> Fixture {
        let d1 = Arc::new(SqliteD1::new(self.dir.path(), self.target).reading_files());
        Fixture { d1, ..self }
    }

    /// Writes `migrations/NAME` (and, for `.rollback.sql` names, a rollback).
    pub(crate) fn file(&self, name: &str, sql: &str) -> &Fixture {
        std::fs::write(self.dir.path().join("migrations").join(name), sql).unwrap();
        self
    }

    pub(crate) fn project(&self) -> Project {
        let paths = Paths {
            root: self.dir.path().to_path_buf(),
            ..Paths::default()
        };
        Project::load(&paths, self.target).unwrap()
    }

    pub(crate) fn db(&self, binding: &str) -> Database {
        self.project().config.database(binding).unwrap().clone()
    }

    /// Runs `direction` to `version` with `options`; returns the result and
    /// what it reported.
    pub(crate) fn run(
        &self,
        direction: Direction,
        version: Option<u64>,
        options: &Options,
    ) -> (Result<()>, Vec<Event>) {
        self.run_on(self.d1.clone(), direction, version, options)
    }

    pub(crate) fn run_on(
        &self,
        d1: Arc<SqliteD1>,
        direction: Direction,
        version: Option<u64>,
        options: &Options,
    ) -> (Result<()>, Vec<Event>) {
        let project = self.project();
        let recorder = Recorder::default();
        let result = run(&RunContext {
            project: &project,
            d1,
            direction,
            version,
            options,
            observer: &recorder,
        });
        (result, recorder.events())
    }

    pub(crate) fn up(&self) -> (Result<()>, Vec<Event>) {
        self.run(Direction::Up, None, &options(self))
    }

    /// The versions `_migrations` records in `binding`.
    pub(crate) fn recorded(&self, binding: &str) -> Vec<i64> {
        self.d1
            .sql(
                &self.db(binding),
                "SELECT version FROM _migrations ORDER BY version",
            )
            .unwrap_or_default()
            .iter()
            .filter_map(|row| row["version"].as_i64())
            .collect()
    }

    pub(crate) fn tables(&self, binding: &str) -> Vec<String> {
        self.d1
            .sql(
                &self.db(binding),
                "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
            )
            .unwrap()
            .iter()
            .filter_map(|row| row["name"].as_str().map(str::to_owned))
            // The app's tables: not the ledgers, the lock or SQLite's own.
            .filter(|name| {
                !name.starts_with('_') && !name.starts_with("sqlite_") && name != "d1_migrations"
            })
            .collect()
    }

    /// Changes `binding` by hand: `sql`, outside any migration.
    pub(crate) fn by_hand(&self, binding: &str, sql: &str) {
        self.d1.sql(&self.db(binding), sql).unwrap();
    }

    /// Puts a lock row of `owner`, expiring at `expires_at` (ms), in `binding`.
    pub(crate) fn lock_held_by(&self, binding: &str, owner: &str, expires_at: i64) {
        self.d1
            .sql(
                &self.db(binding),
                &format!(
                    "CREATE TABLE IF NOT EXISTS _migrations_lock (id INTEGER PRIMARY KEY CHECK (id = 1), \
                     owner TEXT NOT NULL, acquired_at INTEGER NOT NULL, expires_at INTEGER NOT NULL); \
                     INSERT INTO _migrations_lock VALUES (1, '{owner}', 0, {expires_at})"
                ),
            )
            .unwrap();
    }

    pub(crate) fn lock_rows(&self, binding: &str) -> Vec<String> {
        self.d1
            .sql(&self.db(binding), "SELECT owner FROM _migrations_lock")
            .unwrap_or_default()
            .iter()
            .filter_map(|row| row["owner"].as_str().map(str::to_owned))
            .collect()
    }
}

/// `up`'s defaults, without backups (they have tests of their own), the
/// backup folder `backups/` in `fixture`'s folder.
pub(crate) fn options(fixture: &Fixture) -> Options {
    Options {
        mode: Mode::Apply,
        batching: Batching::PerDatabase,
        backups: Backups::new(&fixture.project().config, None, 3),
        backing: Backing::Skip,
        data_loss: DataLoss::Refuse,
        locking: Locking {
            wait: Duration::ZERO,
            ttl: Duration::from_secs(900),
        },
    }
}

/// [`options`] for a dry run on a copy of the data.
pub(crate) fn dry_run(fixture: &Fixture) -> Options {
    Options {
        mode: Mode::DryRun(Seeding::Data),
        ..options(fixture)
    }
}

pub(crate) fn seeded() -> Fixture {
    let fixture = Fixture::local();
    fixture
        .file(
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
        )
        .file("0001_users.rollback.sql", "DROP TABLE users;\n")
        .file(
            "0002_keys.sql",
            "-- database: AUX\nCREATE TABLE keys (id INTEGER PRIMARY KEY, secret TEXT);\n",
        )
        .file("0002_keys.rollback.sql", "-- database: AUX\nDROP TABLE keys;\n")
        .file(
            "0003_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), body TEXT);\n",
        )
        .file("0003_posts.rollback.sql", "DROP TABLE posts;\n");
    fixture
}

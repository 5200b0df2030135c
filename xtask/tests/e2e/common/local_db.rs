//! Looking inside a project's local databases: SQL on their SQLite files or
//! through the real wrangler, their tables, versions and dumps.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

use super::{require, wrangler_command, Project};

impl Project {
    /// The SQLite file local D1 keeps `binding` in.
    pub fn db_file(&self, binding: &str) -> PathBuf {
        let config = xtask::migrate::Config::load(&self.config_path(), None).unwrap();
        let db = config
            .database(binding)
            .unwrap_or_else(|| panic!("no database {binding} in {}", self.config))
            .clone();
        xtask::migrate::local_files::database_file(
            &xtask::migrate::local_files::default_local_state(self.dir.path()),
            &db,
        )
    }

    /// Runs SQL (statements separated by `;`, in one transaction, foreign
    /// keys on, as D1 runs them) on a local database's own SQLite file,
    /// bypassing the xtask; returns the last statement's rows. A database
    /// local D1 has not created yet is created by the real wrangler first.
    pub fn query(&self, binding: &str, sql: &str) -> Vec<Map<String, Value>> {
        let file = self.db_file(binding);
        if !file.is_file() {
            self.query_with_wrangler(binding, "SELECT 1");
        }
        let mut connection = rusqlite::Connection::open(&file).unwrap();
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .unwrap();
        let transaction = connection.transaction().unwrap();
        let mut last = Vec::new();
        for statement in xtask::migrate::sql::split(sql).unwrap() {
            let mut prepared = transaction
                .prepare(&statement.sql)
                .unwrap_or_else(|err| panic!("{err}: {}", statement.sql));
            let names: Vec<String> = prepared
                .column_names()
                .into_iter()
                .map(str::to_owned)
                .collect();
            let mut rows = prepared.query([]).unwrap();
            last.clear();
            while let Some(row) = rows.next().unwrap() {
                let mut map = Map::new();
                for (index, name) in names.iter().enumerate() {
                    let value = match row.get_ref(index).unwrap() {
                        rusqlite::types::ValueRef::Null => Value::Null,
                        rusqlite::types::ValueRef::Integer(n) => Value::from(n),
                        rusqlite::types::ValueRef::Real(x) => Value::from(x),
                        rusqlite::types::ValueRef::Text(t) => {
                            Value::from(String::from_utf8_lossy(t).into_owned())
                        }
                        rusqlite::types::ValueRef::Blob(b) => Value::from(b.to_vec()),
                    };
                    map.insert(name.clone(), value);
                }
                last.push(map);
            }
        }
        transaction.commit().unwrap();
        last
    }

    /// [`Project::query`] through the real wrangler (`d1 execute --local`).
    pub fn query_with_wrangler(&self, binding: &str, sql: &str) -> Vec<Map<String, Value>> {
        let output = self.wrangler(&[
            "d1",
            "execute",
            binding,
            "--local",
            "--json",
            "--command",
            sql,
        ]);
        let results: Vec<Value> =
            serde_json::from_str(&output).unwrap_or_else(|err| panic!("{err}: {output}"));
        results
            .last()
            .and_then(|r| r["results"].as_array())
            .map(|rows| {
                rows.iter()
                    .map(|row| row.as_object().unwrap().clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn wrangler(&self, args: &[&str]) -> String {
        self.wrangler_with(args, &[])
    }

    /// Runs the real wrangler on this project's config with extra environment
    /// (e.g. the Cloudflare API double's), returning its stdout.
    pub fn wrangler_with(&self, args: &[&str], env: &[(&str, String)]) -> String {
        let output = wrangler_command()
            .args(args)
            .arg("--config")
            .arg(self.config_path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "wrangler {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// The user tables (and `_migrations`) of a local database, sorted.
    pub fn tables(&self, binding: &str) -> Vec<String> {
        let rows = self.query(
            binding,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
        );
        rows.iter()
            .map(|row| row["name"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn columns(&self, binding: &str, table: &str) -> Vec<String> {
        let rows = self.query(
            binding,
            &format!("SELECT name FROM pragma_table_info('{table}')"),
        );
        rows.iter()
            .map(|row| row["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The versions recorded in `_migrations`.
    pub fn versions(&self, binding: &str) -> Vec<u64> {
        if !self.tables(binding).contains(&"_migrations".to_owned()) {
            return Vec::new();
        }
        let rows = self.query(binding, "SELECT version FROM _migrations ORDER BY version");
        rows.iter()
            .map(|row| row["version"].as_u64().unwrap())
            .collect()
    }

    /// Creates the local databases `bindings` (if they do not exist yet) and
    /// forgets what this machine saw of them: the next run reads each one
    /// (taking its lock) before it writes, as a run without hints does.
    pub fn forget_hints(&self, bindings: &[&str]) {
        for binding in bindings {
            self.query(binding, "SELECT 1");
        }
        if let Err(err) = std::fs::remove_dir_all(self.path(".wrangler/migrate")) {
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
        }
    }

    /// The whole database (schema and data) as SQL: [`sqlite_dump`] of its
    /// SQLite file.
    pub fn export(&self, binding: &str) -> String {
        sqlite_dump(&self.db_file(binding))
    }

    /// `wrangler d1 export --local`: the whole database as wrangler writes it.
    pub fn wrangler_export(&self, binding: &str) -> String {
        let file = self.path(&format!("export-{binding}.sql"));
        self.wrangler(&[
            "d1",
            "export",
            binding,
            "--local",
            "--output",
            file.to_str().unwrap(),
        ]);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        text
    }
}

/// A database file's schema and data as SQL, as SQLite's own shell dumps it
/// (`sqlite3 FILE .dump`: not this project's code), without miniflare's
/// `_cf_` tables. A database local D1 has not created yet holds nothing: it
/// dumps as an empty one.
pub fn sqlite_dump(file: &Path) -> String {
    let sqlite3 = require(xtask::tasks::test::sqlite3());
    let output = Command::new(sqlite3)
        .arg("-readonly")
        .arg(match file.is_file() {
            true => file.as_os_str(),
            false => std::ffi::OsStr::new(":memory:"),
        })
        .arg(".dump --nosys")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "sqlite3 {} .dump: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    // Leave out each statement about a `_cf_` table, however many lines it
    // spans (miniflare creates them when it first opens the file).
    let mut dump = String::new();
    let mut skipping = false;
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let ends = line.trim_end().ends_with(';');
        if skipping || line.contains("_cf_") {
            skipping = !ends;
            continue;
        }
        dump.push_str(line);
        dump.push('\n');
    }
    dump
}

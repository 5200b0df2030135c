//! The real D1, through wrangler: `d1 execute`, `d1 export` and `d1
//! time-travel`, locally (miniflare) or remotely.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use serde_json::Value;

use super::output_parse::{clean, excerpt, json_part};
use super::Wrangler;
use crate::migrate::d1::{Call, StatementResult, Target, D1};
use crate::migrate::local_files;
use crate::migrate::local_reads;
use crate::migrate::sql::{wrangler_split, Splitter};
use crate::migrate::Database;

impl D1 for Wrangler {
    fn target(&self) -> Target {
        self.target
    }

    fn splitter(&self) -> Splitter {
        Splitter::for_version(self.version.as_deref())
    }

    fn config_dir(&self) -> &Path {
        self.config.parent().unwrap_or(Path::new("."))
    }

    fn local_state(&self) -> PathBuf {
        match &self.persist_to {
            Some(dir) => dir.clone(),
            None => local_files::default_local_state(self.config_dir()),
        }
    }

    /// Locally, unless `MIGRATE_LOCAL_READS=wrangler`.
    fn reads_files(&self) -> bool {
        self.target == Target::Local && local_reads::enabled()
    }

    /// `wrangler d1 execute DB --command SQL --json`; locally a read is
    /// answered from the database's file when it can be
    /// ([`crate::migrate::local_reads`]). What the file cannot answer (a
    /// write, or a read that writes, such as the state read that takes the
    /// lock) goes through the run's runner, and through wrangler when there
    /// is none, or when reads are to go through wrangler
    /// (`MIGRATE_LOCAL_READS=wrangler`).
    fn query(&self, call: Call, db: &Database, sql: &str) -> Result<Vec<StatementResult>> {
        if let Some(answer) = local_reads::answer(self, call, db, sql) {
            return answer;
        }
        if call != Call::Read || self.reads_files() {
            if let Some(answer) = self.run_locally(call, db, sql) {
                return answer;
            }
        }
        let args = self.execute_args(db, ["--command".into(), sql.into()]);
        self.run_json(call, db, "d1 execute --command", args)
    }

    /// `wrangler d1 execute DB --file PATH --json`.
    fn execute_file(&self, db: &Database, file: &Path) -> Result<Vec<StatementResult>> {
        if self.runner.is_some() {
            let sql = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            if let Some(answer) = self.run_locally(Call::Write, db, &sql) {
                return answer;
            }
        }
        let args = self.execute_args(db, ["--file".into(), file.into()]);
        self.run_json(Call::Write, db, "d1 execute --file", args)
    }

    /// `wrangler d1 export DB --output FILE`.
    fn export(&self, db: &Database, output: &Path) -> Result<()> {
        let mut args: Vec<OsString> =
            vec!["d1".into(), "export".into(), self.database_arg(db).into()];
        args.extend(self.target_flags());
        args.extend(["--output".into(), output.into()]);
        self.run_for(Call::Read, &db.binding, "d1 export", args)
            .map(drop)
    }

    /// `wrangler d1 time-travel info DB --json`.
    fn bookmark(&self, db: &Database) -> Result<String> {
        let args: Vec<OsString> = vec![
            "d1".into(),
            "time-travel".into(),
            "info".into(),
            self.database_arg(db).into(),
            "--json".into(),
        ];
        let shown = format!("wrangler d1 time-travel info on {}", db.binding);
        let stdout = self.run_for(Call::Read, &db.binding, "d1 time-travel info", args)?;
        let info: Value = serde_json::from_str(json_part(&stdout)).map_err(|err| {
            anyhow!(
                "{shown} printed output that is not JSON ({err}): {}",
                excerpt(&clean(&stdout))
            )
        })?;
        info.get("bookmark")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("{shown} returned no bookmark: {}", excerpt(&clean(&stdout))))
    }

    /// `wrangler d1 time-travel restore DB --bookmark ID --json`.
    fn restore_bookmark(&self, db: &Database, bookmark: &str) -> Result<()> {
        let args: Vec<OsString> = vec![
            "d1".into(),
            "time-travel".into(),
            "restore".into(),
            self.database_arg(db).into(),
            "--bookmark".into(),
            bookmark.into(),
            "--json".into(),
        ];
        self.run_for(Call::Write, &db.binding, "d1 time-travel restore", args)
            .map(drop)
    }

    fn local_copy(&self, config: &Path) -> Arc<dyn D1> {
        let mut copy = Wrangler {
            launcher: self.launcher.clone(),
            version: self.version.clone(),
            config: config.to_path_buf(),
            env: None,
            target: Target::Local,
            timeout: self.timeout,
            passed: Vec::new(),
            persist_to: None,
            runner: None,
            copies: Default::default(),
        };
        // Its writes go through the runner of the run's copies, also when
        // this D1 is remote (a remote rehearsal is local): one node start-up
        // and one workerd for every rehearsal and replay of the run.
        if let Some(copies) = self.copies() {
            copy.persist_to = Some(copies.state.path().to_path_buf());
            copy.runner = Some(copies.runner.clone());
        }
        Arc::new(copy)
    }
}

impl Wrangler {
    /// `sql` run on the local database as `wrangler d1 execute --local` runs
    /// it, by the run's one runner ([`super::runner`]): the statements
    /// wrangler's splitter cuts, as one batch. `None` when the runner cannot
    /// be used (nothing ran).
    fn run_locally(
        &self,
        call: Call,
        db: &Database,
        sql: &str,
    ) -> Option<Result<Vec<StatementResult>>> {
        let runner = self.runner.as_ref()?;
        // A stopped run starts nothing but what gives locks back.
        if call != Call::Cleanup {
            if let Err(err) = crate::interrupt::check() {
                return Some(Err(err));
            }
        }
        if !runner.usable() {
            return None;
        }
        let statements = wrangler_split(sql, self.splitter());
        Some(self.retrying(call, &db.binding, || {
            runner.batch(call, &db.binding, &db.local_id, &statements)
        }))
    }

    fn execute_args(&self, db: &Database, input: [OsString; 2]) -> Vec<OsString> {
        let mut args: Vec<OsString> =
            vec!["d1".into(), "execute".into(), self.database_arg(db).into()];
        args.extend(self.target_flags());
        args.extend(["--json".into(), "--yes".into()]);
        args.extend(input);
        args
    }

    /// Runs wrangler and parses its `--json` output.
    fn run_json(
        &self,
        call: Call,
        db: &Database,
        what: &str,
        args: Vec<OsString>,
    ) -> Result<Vec<StatementResult>> {
        let shown = format!("wrangler {what} on {} ({})", db.binding, self.target);
        let stdout = self.run_for(call, &db.binding, what, args)?;
        serde_json::from_str::<Vec<StatementResult>>(json_part(&stdout)).map_err(|err| {
            anyhow!(
                "{shown} succeeded but printed output that is not the expected JSON ({err}): {}",
                excerpt(&clean(&stdout))
            )
        })
    }
}

//! The engine's [`D1`] trait over the D1 REST API: queries, the
//! all-or-nothing import of a batch (init, upload, ingest, poll), exports,
//! Time Travel, and the account's databases.

use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

use super::replies::{encode, hex};
use super::{Api, Repeat};
use crate::http;
use crate::migrate::d1::{Call, StatementResult, Target, D1};
use crate::migrate::sql::Splitter;
use crate::migrate::Database;

impl D1 for Api {
    fn target(&self) -> Target {
        Target::Remote
    }

    fn splitter(&self) -> Splitter {
        self.local.splitter()
    }

    fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// `POST …/query`.
    fn query(&self, call: Call, db: &Database, sql: &str) -> Result<Vec<StatementResult>> {
        self.query_with(call, db, sql, &[])
    }

    /// D1's import: `init` (with the file's MD5), the upload, `ingest`, then
    /// polls until it is complete. D1 runs the file all or nothing.
    fn execute_file(&self, db: &Database, file: &Path) -> Result<Vec<StatementResult>> {
        let sql = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let etag = hex(&Md5::digest(&sql));
        let url = self.database_url(db, "/import")?;
        let post = |body: Value| {
            let body = body.to_string();
            let url = url.clone();
            move || {
                http::post(&url)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
            }
        };
        // Nothing runs until the ingest: the init and the upload may repeat.
        let init = self.send(
            "import (init)",
            &db.binding,
            Repeat::Always,
            Call::Write,
            post(json!({ "action": "init", "etag": etag })),
        )?;
        let first = match init.get("upload_url").and_then(Value::as_str) {
            // D1 already had this file and has started on it.
            None => init.clone(),
            Some(upload_url) => {
                let filename = init
                    .get("filename")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                self.upload(db, upload_url, &sql, &etag)?;
                self.send(
                    "import (ingest)",
                    &db.binding,
                    Repeat::IfNotRun,
                    Call::Write,
                    post(json!({ "action": "ingest", "filename": filename, "etag": etag })),
                )?
            }
        };
        let done = self.run_job(
            "import",
            db,
            &url,
            first,
            |bookmark| json!({ "action": "poll", "current_bookmark": bookmark }),
            Call::Cleanup,
        )?;
        let result = done.get("result").cloned().unwrap_or(Value::Null);
        let summary = json!({
            "Total queries executed": result.get("num_queries"),
            "Rows read": result.pointer("/meta/rows_read"),
            "Rows written": result.pointer("/meta/rows_written"),
        });
        Ok(vec![StatementResult {
            results: summary.as_object().into_iter().cloned().collect(),
        }])
    }

    /// D1's export (start, poll), then the download of its signed URL.
    fn export(&self, db: &Database, output: &Path) -> Result<()> {
        let url = self.database_url(db, "/export")?;
        let start = |bookmark: Option<&str>| {
            let mut body = json!({
                "output_format": "polling",
                "dump_options": { "no_data": false, "no_schema": false, "tables": [] },
            });
            if let Some(bookmark) = bookmark {
                body["current_bookmark"] = json!(bookmark);
            }
            body
        };
        let body = start(None).to_string();
        let first = self.send("export", &db.binding, Repeat::Always, Call::Read, || {
            http::post(&url)
                .header("Content-Type", "application/json")
                .body(body.clone())
        })?;
        let done = self.run_job(
            "export",
            db,
            &url,
            first,
            |bookmark| start(Some(bookmark)),
            Call::Read,
        )?;
        let signed = done
            .pointer("/result/signed_url")
            .and_then(Value::as_str)
            .with_context(|| {
                format!(
                    "the D1 API's export of {} finished without a download URL: {done}",
                    db.binding
                )
            })?
            .to_owned();
        let partial = output.with_extension("part");
        let downloaded = self.exchange(
            "export download",
            &db.binding,
            Repeat::Always,
            Call::Read,
            Some(&partial),
            || http::get(&signed).timeout(self.job_timeout),
        );
        let finished = downloaded.and_then(|_| {
            std::fs::rename(&partial, output)
                .with_context(|| format!("cannot write {}", output.display()))
        });
        if finished.is_err() {
            std::fs::remove_file(&partial).ok();
        }
        finished
    }

    /// `GET …/time_travel/bookmark`: the bookmark of the database as it is now.
    fn bookmark(&self, db: &Database) -> Result<String> {
        let url = self.database_url(db, "/time_travel/bookmark")?;
        let result = self.send(
            "time travel bookmark",
            &db.binding,
            Repeat::Always,
            Call::Read,
            || http::get(&url),
        )?;
        result
            .get("bookmark")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "the D1 API returned no bookmark for {}: {result}",
                    db.binding
                )
            })
    }

    /// `POST …/time_travel/restore?bookmark=`: the same bookmark twice is
    /// the same database, so it may repeat.
    fn restore_bookmark(&self, db: &Database, bookmark: &str) -> Result<()> {
        let url = self.database_url(
            db,
            &format!("/time_travel/restore?bookmark={}", encode(bookmark)),
        )?;
        self.send(
            "time travel restore",
            &db.binding,
            Repeat::Always,
            Call::Write,
            || http::post(&url),
        )
        .map(drop)
    }

    fn local_copy(&self, config: &Path) -> Arc<dyn D1> {
        self.local.local_copy(config)
    }
}

impl Api {
    /// `PUT`s the file to the upload URL the import's init returned, and
    /// checks the ETag that comes back.
    fn upload(&self, db: &Database, url: &str, sql: &[u8], etag: &str) -> Result<()> {
        let reply = self.exchange(
            "import (upload)",
            &db.binding,
            Repeat::Always,
            Call::Write,
            None,
            || {
                http::request("PUT", url)
                    .header("Content-Length", &sql.len().to_string())
                    .body(sql.to_vec())
                    .timeout(self.job_timeout)
            },
        )?;
        let returned = reply.header("ETag").unwrap_or("").trim_matches('"');
        if returned != etag {
            bail!(
                "the upload of {}'s batch came back with ETag {returned:?}, not its MD5 {etag}: nothing was run",
                db.binding
            );
        }
        Ok(())
    }
}

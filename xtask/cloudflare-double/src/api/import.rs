//! Imports (`d1 execute --file`): `POST …/d1/database/:id/import` with action `init` (an upload
//! URL), the upload itself (`PUT /__double/upload/:token`), `ingest` (queues the uploaded file)
//! and `poll` (runs it, all or nothing; a repeated poll gets the same answer).

use std::fs;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::http::{bad_request, ok, Reply};
use super::App;
use crate::d1::{lock, ApiError, Database, PendingImport};
use crate::util::{md5_hex, random_hex};

/// A file an import's init asked for; `path` is set once it is uploaded.
pub(super) struct Upload {
    db_id: String,
    etag: String,
    filename: String,
    path: Option<PathBuf>,
}

impl App {
    /// `PUT /__double/upload/:token`: stores the file an import's init asked for.
    pub(super) fn upload(&self, token: &str, body: &[u8]) -> Reply {
        let mut uploads = lock(&self.uploads);
        let Some(upload) = uploads.get_mut(token) else {
            return Reply::text(404, "NoSuchUpload: The specified upload does not exist.");
        };
        let dir = self.data_dir.join("uploads");
        let path = dir.join(format!("{token}.sql"));
        if let Err(e) = fs::create_dir_all(&dir).and_then(|_| fs::write(&path, body)) {
            return Reply::text(500, &format!("InternalError: {e}"));
        }
        upload.path = Some(path);
        Reply {
            status: 200,
            headers: vec![("ETag".into(), format!("\"{}\"", md5_hex(body)))],
            body: Vec::new(),
        }
    }

    pub(super) fn d1_import(&self, id: &str, body: &Value) -> Result<Reply, ApiError> {
        let db = self.store.resolve(id)?;
        let action = body.get("action").and_then(Value::as_str).unwrap_or("");
        match action {
            "init" => {
                let etag = body
                    .get("etag")
                    .and_then(Value::as_str)
                    .filter(|e| !e.is_empty())
                    .ok_or_else(|| bad_request("The request is malformed: `etag` is required"))?;
                let db_id = lock(&db).id.clone();
                let token = random_hex(32);
                let filename = format!("{db_id}-{etag}.sql");
                lock(&self.uploads).insert(
                    token.clone(),
                    Upload {
                        db_id,
                        etag: etag.to_string(),
                        filename: filename.clone(),
                        path: None,
                    },
                );
                Ok(ok(&json!({
                    "success": true,
                    "filename": filename,
                    "upload_url": format!("{}/__double/upload/{token}", self.base_url),
                })))
            }
            "ingest" => {
                let filename = body.get("filename").and_then(Value::as_str).unwrap_or("");
                let etag = body.get("etag").and_then(Value::as_str).unwrap_or("");
                let mut db = lock(&db);
                let path = {
                    let uploads = lock(&self.uploads);
                    let upload = uploads
                        .values()
                        .find(|u| u.db_id == db.id && u.filename == filename && u.path.is_some())
                        .ok_or_else(|| {
                            bad_request(format!(
                                "No uploaded file named {filename} for this database"
                            ))
                        })?;
                    if upload.etag != etag {
                        return Err(bad_request(format!(
                            "The etag {etag} does not match the upload of {filename}"
                        )));
                    }
                    upload.path.clone().unwrap_or_default()
                };
                let actual = fs::read(&path)
                    .map(|b| md5_hex(&b))
                    .map_err(ApiError::internal)?;
                if actual != etag {
                    return Err(bad_request(format!(
                        "The uploaded file's MD5 {actual} does not match the etag {etag}"
                    )));
                }
                db.finished_imports.clear();
                db.pending_import = Some(PendingImport {
                    filename: filename.to_string(),
                    path,
                });
                Ok(ok(&json!({
                    "success": true,
                    "type": "import",
                    "at_bookmark": db.bookmark(),
                    "status": "active",
                    "messages": [format!("Ingesting {filename}")],
                    "errors": [],
                })))
            }
            "poll" => {
                let current = body
                    .get("current_bookmark")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let mut db = lock(&db);
                // The queued import runs now; a repeated poll gets the same answer again.
                let Some(pending) = db.pending_import.take() else {
                    if let Some(done) = db.finished_imports.get(&current) {
                        return Ok(ok(done));
                    }
                    return Ok(ok(&import_error(
                        &current,
                        "No import is in progress for this database.",
                    )));
                };
                let reply = if self.fail_import_poll {
                    import_error(
                        &current,
                        &format!("Import of {} failed (--fail-import-poll): the database was not changed.", pending.filename),
                    )
                } else {
                    run_import(&mut db, &pending, &current)
                };
                db.finished_imports.insert(current, reply.clone());
                Ok(ok(&reply))
            }
            other => Err(bad_request(format!(
                "The request is malformed: unknown import action {other:?}"
            ))),
        }
    }
}

fn import_error(bookmark: &str, message: &str) -> Value {
    json!({
        "success": true,
        "type": "import",
        "at_bookmark": bookmark,
        "status": "error",
        "error": message,
        "errors": [message],
        "messages": [],
    })
}

fn run_import(db: &mut Database, pending: &PendingImport, current: &str) -> Value {
    let sql = match fs::read(&pending.path).map(String::from_utf8) {
        Ok(Ok(sql)) => sql,
        Ok(Err(_)) => return import_error(current, "The uploaded file is not valid UTF-8 text."),
        Err(e) => {
            return import_error(
                current,
                &format!("The uploaded file could not be read: {e}"),
            )
        }
    };
    match db.import(&sql) {
        Ok(outcome) => json!({
            "success": true,
            "type": "import",
            "at_bookmark": outcome.final_bookmark,
            "status": "complete",
            "messages": [format!("Processed {} queries.", outcome.num_queries)],
            "errors": [],
            "result": {
                "success": true,
                "num_queries": outcome.num_queries,
                "final_bookmark": outcome.final_bookmark,
                "meta": {
                    "served_by": "v3-prod",
                    "duration": outcome.duration,
                    "changes": outcome.changes,
                    "last_row_id": outcome.last_row_id,
                    "changed_db": outcome.changes > 0,
                    "size_after": outcome.size_after,
                    "rows_read": outcome.rows_read,
                    "rows_written": outcome.rows_written,
                },
            },
        }),
        Err(e) => import_error(current, &e.message),
    }
}

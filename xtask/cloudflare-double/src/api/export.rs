//! Exports (`d1 export --remote`): `POST …/d1/database/:id/export` dumps the database at once
//! and reports it ready to the next poll; `GET /__double/download/:token/:file` serves the dump.

use std::fs;

use serde_json::{json, Value};

use super::http::{ok, Reply};
use super::App;
use crate::d1::{lock, ApiError, ExportReady};
use crate::dump::DumpOptions;
use crate::util::random_hex;

impl App {
    pub(super) fn d1_export(&self, id: &str, body: &Value) -> Result<Reply, ApiError> {
        let db = self.store.resolve(id)?;
        let mut guard = lock(&db);
        let db = &mut *guard;
        let opts = body.get("dump_options").cloned().unwrap_or(Value::Null);
        let options = DumpOptions {
            no_schema: opts
                .get("no_schema")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            no_data: opts
                .get("no_data")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            tables: match opts.get("tables") {
                Some(Value::Array(t)) => t
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                Some(Value::String(t)) => vec![t.clone()],
                _ => Vec::new(),
            },
        };
        let options_key = format!(
            "{}|{}|{}",
            options.no_schema,
            options.no_data,
            options.tables.join("\u{0}")
        );
        if let Some(current) = body.get("current_bookmark").and_then(Value::as_str) {
            if let Some(ready) = db
                .exports
                .iter()
                .rev()
                .find(|e| e.bookmark == current && e.options_key == options_key)
            {
                return Ok(ok(&json!({
                    "success": true,
                    "type": "export",
                    "at_bookmark": ready.bookmark,
                    "status": "complete",
                    "messages": [format!("Uploaded part 1 of {}", ready.filename), "Export complete"],
                    "result": { "filename": ready.filename, "signed_url": ready.signed_url },
                })));
            }
        }
        let bookmark = db.bookmark();
        let dump = match db.dump(&options) {
            Ok(d) => d,
            Err(e) => {
                return Ok(ok(&json!({
                    "success": true,
                    "type": "export",
                    "at_bookmark": bookmark,
                    "status": "error",
                    "error": e,
                    "messages": [],
                })))
            }
        };
        let token = random_hex(32);
        let dir = self.data_dir.join("exports");
        let path = dir.join(format!("{token}.sql"));
        fs::create_dir_all(&dir)
            .and_then(|_| fs::write(&path, dump))
            .map_err(ApiError::internal)?;
        lock(&self.downloads).insert(token.clone(), path);
        let safe_name: String = db
            .name()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let filename = format!("{safe_name}-{}.sql", &bookmark[..bookmark.len().min(26)]);
        let signed_url = format!("{}/__double/download/{token}/{filename}", self.base_url);
        db.exports.push(ExportReady {
            bookmark: bookmark.clone(),
            options_key,
            filename: filename.clone(),
            signed_url,
        });
        Ok(ok(&json!({
            "success": true,
            "type": "export",
            "at_bookmark": bookmark,
            "status": "active",
            "messages": [format!("Generating {filename}")],
        })))
    }

    /// `GET /__double/download/:token/:file`: the dump of a finished export.
    pub(super) fn download(&self, token: &str) -> Reply {
        let path = lock(&self.downloads).get(token).cloned();
        match path.map(fs::read) {
            Some(Ok(bytes)) => Reply {
                status: 200,
                headers: vec![("Content-Type".into(), "application/sql".into())],
                body: bytes,
            },
            _ => Reply::text(404, "NoSuchKey: The specified key does not exist."),
        }
    }
}

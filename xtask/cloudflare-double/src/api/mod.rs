//! The HTTP surface: authentication, fault injection and routing (here), and every endpoint
//! wrangler uses (one submodule per resource: `databases`, `query`, `import`, `export`,
//! `time_travel`, `account`, `workers`; shared request and reply helpers in `http`).
//!
//! Under `/client/v4` (bearer token required; 401 without `Authorization`, 403 with a wrong one):
//!
//! | method | path | used by |
//! | --- | --- | --- |
//! | GET | `/accounts/:a/d1/database` (`?name=&page=&per_page=`) | `d1 list`, name look-ups |
//! | POST | `/accounts/:a/d1/database` | `d1 create` |
//! | GET, DELETE | `/accounts/:a/d1/database/:id` | `d1 info`, time travel, `d1 delete` |
//! | POST | `/accounts/:a/d1/database/:id/query`, `…/raw` | `d1 execute --command` |
//! | POST | `/accounts/:a/d1/database/:id/import` (`action`: init, ingest, poll) | `d1 execute --file` |
//! | POST | `/accounts/:a/d1/database/:id/export` | `d1 export --remote` |
//! | GET | `/accounts/:a/d1/database/:id/time_travel/bookmark` (`?timestamp=`) | `d1 time-travel info` |
//! | POST | `/accounts/:a/d1/database/:id/time_travel/restore` (`?bookmark=` or `?timestamp=`) | `d1 time-travel restore` |
//! | POST | `/graphql` | `d1 info` (metrics: always zero) |
//! | GET | `/memberships`, `/accounts`, `/user`, `/user/tokens/verify`, `/accounts/:a/tokens/verify` | account discovery, `whoami` |
//! | GET | `/accounts/:a/workers/services/:name` | `deploy` (404 code 10090 until first upload) |
//! | PUT | `/accounts/:a/workers/scripts/:name` (multipart) | first `deploy` |
//! | POST, GET | `/accounts/:a/workers/scripts/:name/versions` (multipart POST), `…/versions/:id` | later `deploy`s |
//! | GET, POST | `/accounts/:a/workers/scripts/:name/deployments` | `deploy` (404 code 10007 for unknown scripts) |
//! | GET, PATCH | `/accounts/:a/workers/scripts/:name/script-settings`, `…/settings` | `deploy` |
//! | GET, POST | `/accounts/:a/workers/scripts/:name/subdomain`, GET `/accounts/:a/workers/subdomain` | `deploy` |
//! | GET, PUT | `/accounts/:a/workers/scripts/:name/schedules` | `deploy` with crons |
//! | DELETE | `/accounts/:a/workers/services/:name`, `/accounts/:a/workers/scripts/:name` | `delete` |
//! | GET | `/accounts/:a/storage/kv/namespaces` | `delete` (always empty) |
//! | GET | `/zones`, `/zones/:z/workers/routes` | `deploy` with routes (always empty) |
//!
//! Outside it, without authentication: `PUT /__double/upload/:token`, `GET /__double/download/:token/:file`,
//! `GET /__double/deploys`, `GET /__double/requests`.

mod account;
mod databases;
mod export;
mod http;
mod import;
mod query;
mod time_travel;
mod workers;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::d1::{lock, ApiError, Store};
use crate::faults::Faults;
use crate::util::{parse_query, percent_decode};

pub use account::ACCOUNT_ID;
pub use http::{error_reply, Reply, Req};
pub use workers::{DeployRecord, WORKERS_SUBDOMAIN};

use http::no_route;
use import::Upload;
use workers::Workers;

/// One request as the double saw it (for `GET /__double/requests`).
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub kind: String,
    pub status: u16,
}

/// Everything the server shares between request threads.
pub struct App {
    token: String,
    base_url: String,
    data_dir: PathBuf,
    pub store: Store,
    faults: Faults,
    fail_import_poll: bool,
    uploads: Mutex<BTreeMap<String, Upload>>,
    downloads: Mutex<BTreeMap<String, PathBuf>>,
    workers: Mutex<Workers>,
    requests: Mutex<Vec<RequestRecord>>,
    /// The first this-many requests of this kind wait until all have arrived.
    gather: Option<(String, usize)>,
    gathered: Mutex<usize>,
    arrived: Condvar,
}

/// The request kind used for fault injection and the request log.
fn classify(method: &str, segs: &[String], body: &[u8]) -> &'static str {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["accounts", _, "d1", "database"] => match method {
            "POST" => "create",
            _ => "list",
        },
        ["accounts", _, "d1", "database", _] => match method {
            "DELETE" => "delete",
            _ => "info",
        },
        ["accounts", _, "d1", "database", _, "query" | "raw"] => "query",
        ["accounts", _, "d1", "database", _, "import"] => {
            let action = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("action").and_then(Value::as_str).map(str::to_string));
            match action.as_deref() {
                Some("init") => "import-init",
                Some("ingest") => "import-ingest",
                Some("poll") => "import-poll",
                _ => "other",
            }
        }
        ["accounts", _, "d1", "database", _, "export"] => "export",
        ["accounts", _, "d1", "database", _, "time_travel", ..] => "time-travel",
        ["graphql"] => "graphql",
        ["memberships", ..] | ["accounts"] | ["user", ..] | ["accounts", _, "tokens", "verify"] => {
            "account"
        }
        ["accounts", _, "workers", "scripts", _] if method == "PUT" => "deploy",
        ["accounts", _, "workers", "scripts", _, "versions"] if method == "POST" => "deploy",
        ["accounts", _, "workers", "services", _] if method == "GET" => "service",
        ["accounts", _, "workers", "scripts", _, "deployments"] => "deployments",
        ["accounts", _, "workers", "subdomain"]
        | ["accounts", _, "workers", "scripts", _, "subdomain"] => "subdomain",
        ["accounts", _, "workers", "scripts", _, "script-settings" | "settings"] => {
            "script-settings"
        }
        ["accounts", _, "workers", ..] | ["accounts", _, "storage", ..] | ["zones", ..] => {
            "workers"
        }
        _ => "other",
    }
}

impl App {
    pub fn new(
        token: String,
        base_url: String,
        data_dir: PathBuf,
        store: Store,
        faults: Faults,
        fail_import_poll: bool,
        gather: Option<(String, usize)>,
    ) -> App {
        App {
            token,
            base_url,
            data_dir,
            store,
            faults,
            fail_import_poll,
            uploads: Mutex::new(BTreeMap::new()),
            downloads: Mutex::new(BTreeMap::new()),
            workers: Mutex::new(Workers::default()),
            requests: Mutex::new(Vec::new()),
            gather,
            gathered: Mutex::new(0),
            arrived: Condvar::new(),
        }
    }

    /// Holds each of the first requests of the gathered kind until as many
    /// as asked have arrived (all in flight then, each held here); `Some`
    /// reply (503) when they never did.
    fn gather(&self, kind: &str) -> Option<Reply> {
        let (_, wanted) = self.gather.as_ref().filter(|(k, _)| k == kind)?;
        let mut count = lock(&self.gathered);
        *count += 1;
        self.arrived.notify_all();
        let (count, waited) = self
            .arrived
            .wait_timeout_while(count, Duration::from_secs(60), |count| *count < *wanted)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match waited.timed_out() {
            true => Some(error_reply(&ApiError::new(
                503,
                7500,
                format!(
                    "only {} of {wanted} {kind} requests were in flight together",
                    *count
                ),
            ))),
            false => None,
        }
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.requests).clone()
    }

    /// Handles one request; never panics on bad input. Returns the reply and the request kind.
    pub fn handle(&self, req: &Req) -> (Reply, &'static str) {
        let (path, query) = req.url.split_once('?').unwrap_or((req.url.as_str(), ""));
        let (reply, kind) = self.route(req, path, query);
        lock(&self.requests).push(RequestRecord {
            method: req.method.clone(),
            path: path.to_string(),
            query: query.to_string(),
            kind: kind.to_string(),
            status: reply.status,
        });
        (reply, kind)
    }

    fn route(&self, req: &Req, path: &str, query: &str) -> (Reply, &'static str) {
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s, false))
            .collect();
        let query = parse_query(query);
        if segs.first().map(String::as_str) == Some("__double") {
            return self.double_route(req, &segs[1..]);
        }
        if segs.len() < 2 || segs[0] != "client" || segs[1] != "v4" {
            return (error_reply(&no_route(path)), "other");
        }
        if let Some(reply) = self.check_auth(req) {
            return (reply, "auth");
        }
        let segs = &segs[2..];
        let kind = classify(&req.method, segs, &req.body);
        if let Some(reply) = self.gather(kind) {
            return (reply, kind);
        }
        let verdict = self.faults.hit(kind);
        if verdict.delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(verdict.delay_ms));
        }
        if verdict.fail {
            let code = if kind.starts_with("import")
                || kind.starts_with("export")
                || matches!(
                    kind,
                    "query" | "time-travel" | "list" | "info" | "create" | "delete"
                ) {
                7500
            } else {
                10013
            };
            let e = ApiError::new(
                500,
                code,
                format!(
                    "Internal server error (injected fault: {kind} #{})",
                    verdict.nth
                ),
            );
            return (error_reply(&e), kind);
        }
        if let Some(secs) = verdict.throttle_secs {
            let mut reply = error_reply(&ApiError::new(
                429,
                971,
                format!(
                    "Please wait and consider throttling your request speed (injected fault: {kind} #{})",
                    verdict.nth
                ),
            ));
            reply.headers.push(("Retry-After".into(), secs.to_string()));
            return (reply, kind);
        }
        let reply = match self.api(req, segs, &query) {
            Ok(reply) => reply,
            Err(e) => error_reply(&e),
        };
        if verdict.lose {
            let e = ApiError::new(
                500,
                7500,
                format!(
                    "Internal server error (injected fault: {kind} #{} was carried out, its answer lost)",
                    verdict.nth
                ),
            );
            return (error_reply(&e), kind);
        }
        (reply, kind)
    }

    /// 401 without credentials, 403 with the wrong ones, in Cloudflare's shape.
    fn check_auth(&self, req: &Req) -> Option<Reply> {
        let body = json!({
            "success": false,
            "errors": [{ "code": 10000, "message": "Authentication error" }],
            "messages": [],
            "result": null,
        });
        match req.header("authorization") {
            None => Some(Reply::json(401, &body)),
            Some(v) => {
                let given = v
                    .strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
                    .map(str::trim);
                if given == Some(self.token.as_str()) {
                    None
                } else {
                    Some(Reply::json(403, &body))
                }
            }
        }
    }

    fn double_route(&self, req: &Req, segs: &[String]) -> (Reply, &'static str) {
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let kind = match (req.method.as_str(), s.as_slice()) {
            ("PUT", ["upload", _]) => "import-upload",
            ("GET", ["download", ..]) => "export-download",
            _ => "double",
        };
        if kind != "double" {
            let verdict = self.faults.hit(kind);
            if verdict.delay_ms > 0 {
                std::thread::sleep(Duration::from_millis(verdict.delay_ms));
            }
            if verdict.fail {
                return (
                    Reply::text(
                        500,
                        &format!("InternalError: injected fault ({kind} #{})", verdict.nth),
                    ),
                    kind,
                );
            }
        }
        let reply = match (req.method.as_str(), s.as_slice()) {
            ("GET", ["deploys"]) => Reply::json(200, &self.deploys()),
            ("GET", ["requests"]) => Reply::json(200, &self.requests()),
            ("PUT", ["upload", token]) => self.upload(token, &req.body),
            ("GET", ["download", token, ..]) => self.download(token),
            _ => Reply::text(404, "not found"),
        };
        (reply, kind)
    }

    fn api(
        &self,
        req: &Req,
        segs: &[String],
        query: &[(String, String)],
    ) -> Result<Reply, ApiError> {
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = req.method.as_str();
        match (m, s.as_slice()) {
            // D1
            ("GET", ["accounts", _, "d1", "database"]) => Ok(self.d1_list(query)),
            ("POST", ["accounts", _, "d1", "database"]) => self.d1_create(req),
            ("GET", ["accounts", _, "d1", "database", id]) => self.d1_info(id),
            ("DELETE", ["accounts", _, "d1", "database", id]) => self.d1_delete(id),
            ("POST", ["accounts", _, "d1", "database", id, action @ ("query" | "raw")]) => {
                self.d1_query(req, id, action)
            }
            ("POST", ["accounts", _, "d1", "database", id, "import"]) => {
                self.d1_import(id, &http::body_json(req)?)
            }
            ("POST", ["accounts", _, "d1", "database", id, "export"]) => {
                self.d1_export(id, &http::body_json(req)?)
            }
            ("GET", ["accounts", _, "d1", "database", id, "time_travel", "bookmark"]) => {
                self.d1_bookmark(id, query)
            }
            ("POST", ["accounts", _, "d1", "database", id, "time_travel", "restore"]) => {
                self.d1_restore(id, query)
            }
            ("POST", ["graphql"]) => Ok(databases::graphql()),
            // Account and user
            ("GET", ["memberships"]) => Ok(account::memberships()),
            ("GET", ["accounts"]) => Ok(account::accounts()),
            ("GET", ["user"]) => Ok(account::user()),
            ("GET", ["user", "tokens", "verify"])
            | ("GET", ["accounts", _, "tokens", "verify"]) => Ok(account::verify_token()),
            // Workers
            ("GET", ["accounts", _, "workers", "subdomain"]) => Ok(workers::subdomain()),
            ("GET", ["accounts", _, "workers", "services", name]) => self.service(name),
            ("PUT", ["accounts", _, "workers", "scripts", name]) => {
                self.upload_script(req, name, false)
            }
            ("POST", ["accounts", _, "workers", "scripts", name, "versions"]) => {
                self.upload_script(req, name, true)
            }
            ("DELETE", ["accounts", _, "workers", "scripts" | "services", name]) => {
                self.delete_script(name)
            }
            (_, ["accounts", _, "workers", "scripts", name, rest @ ..]) => {
                self.script_endpoint(req, name, rest)
            }
            ("GET", ["accounts", _, "storage", "kv", "namespaces"]) => Ok(workers::kv_namespaces()),
            ("GET", ["zones"]) | ("GET", ["zones", _, "workers", "routes"]) => Ok(workers::zones()),
            _ => Err(no_route(&format!("/{}", segs.join("/")))),
        }
    }
}

//! The HTTP surface: authentication, fault injection, routing and every endpoint wrangler uses.
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

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::d1::{lock, ApiError, Database, ExportReady, PendingImport, Store};
use crate::dump::DumpOptions;
use crate::faults::Faults;
use crate::multipart;
use crate::util::{
    iso8601, md5_hex, now_ms, parse_query, parse_timestamp, percent_decode, random_hex, uuid_v4,
};

/// The account every account listing shows (any account id is accepted in paths).
pub const ACCOUNT_ID: &str = "0123456789abcdef0123456789abcdef";
/// The workers.dev subdomain of the double's account.
pub const WORKERS_SUBDOMAIN: &str = "double";

/// A request, independent of the HTTP library.
#[derive(Clone, Default)]
pub struct Req {
    pub method: String,
    /// Path and query as sent (`/client/v4/...?...`).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Req {
    /// Header values are left out: one of them is the API token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Req")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response, independent of the HTTP library.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        }
    }

    fn text(status: u16, text: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: text.as_bytes().to_vec(),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    result: &'a T,
    success: bool,
    errors: [(); 0],
    messages: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    result_info: Option<Value>,
}

/// `{"result": …, "success": true, "errors": [], "messages": []}`.
fn ok(result: &impl Serialize) -> Reply {
    Reply::json(
        200,
        &Envelope {
            result,
            success: true,
            errors: [],
            messages: [],
            result_info: None,
        },
    )
}

fn ok_list(result: &[Value], info: Value) -> Reply {
    Reply::json(
        200,
        &Envelope {
            result: &result,
            success: true,
            errors: [],
            messages: [],
            result_info: Some(info),
        },
    )
}

/// Cloudflare's error envelope.
pub fn error_reply(e: &ApiError) -> Reply {
    Reply::json(
        e.status,
        &json!({
            "success": false,
            "errors": [{ "code": e.code, "message": e.message }],
            "messages": [],
            "result": null,
        }),
    )
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(400, 7400, message)
}

fn no_route(path: &str) -> ApiError {
    ApiError::new(
        404,
        7003,
        format!("Could not route to {path}, perhaps your object identifier is invalid?"),
    )
}

/// One recorded worker upload.
#[derive(Debug, Clone, Serialize)]
pub struct DeployRecord {
    pub script_name: String,
    pub metadata: Value,
    pub files: Vec<String>,
}

/// One request as the double saw it (for `GET /__double/requests`).
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub kind: String,
    pub status: u16,
}

struct Upload {
    db_id: String,
    etag: String,
    filename: String,
    path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct Version {
    id: String,
    number: u64,
    created_on: u64,
    metadata: Value,
    etag: String,
}

#[derive(Debug, Clone)]
struct Script {
    tag: String,
    created_on: u64,
    modified_on: u64,
    compatibility_date: Value,
    versions: Vec<Version>,
    /// Newest first.
    deployments: Vec<Value>,
    subdomain_enabled: bool,
    previews_enabled: bool,
    schedules: Value,
    settings: serde_json::Map<String, Value>,
}

#[derive(Default)]
struct Workers {
    scripts: BTreeMap<String, Script>,
    deploys: Vec<DeployRecord>,
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

fn body_json(req: &Req) -> Result<Value, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| bad_request(format!("The request is malformed: invalid JSON body: {e}")))
}

fn query_param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Keeps a worker module name usable as a relative file path.
fn safe_relative(name: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for seg in name.split(['/', '\\']) {
        match seg {
            "" | "." => continue,
            ".." => out.push("_"),
            s => out.push(s),
        }
    }
    if out.as_os_str().is_empty() {
        out.push("_");
    }
    out
}

impl App {
    pub fn new(
        token: String,
        base_url: String,
        data_dir: PathBuf,
        store: Store,
        faults: Faults,
        fail_import_poll: bool,
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
        }
    }

    /// The recorded worker uploads.
    pub fn deploys(&self) -> Vec<DeployRecord> {
        lock(&self.workers).deploys.clone()
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
            ("GET", ["download", token, ..]) => {
                let path = lock(&self.downloads).get(*token).cloned();
                match path.map(fs::read) {
                    Some(Ok(bytes)) => Reply {
                        status: 200,
                        headers: vec![("Content-Type".into(), "application/sql".into())],
                        body: bytes,
                    },
                    _ => Reply::text(404, "NoSuchKey: The specified key does not exist."),
                }
            }
            _ => Reply::text(404, "not found"),
        };
        (reply, kind)
    }

    fn upload(&self, token: &str, body: &[u8]) -> Reply {
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
            ("GET", ["accounts", _, "d1", "database", id]) => {
                let db = self.store.resolve(id)?;
                let db = lock(&db);
                let mut info = db.summary();
                info["running_in_region"] = json!("WEUR");
                info["read_replication"] = json!({ "mode": "disabled" });
                Ok(ok(&info))
            }
            ("DELETE", ["accounts", _, "d1", "database", id]) => {
                let db = self.store.resolve(id)?;
                let id = lock(&db).id.clone();
                drop(db);
                self.store.delete(&id);
                Ok(ok(&Value::Null))
            }
            ("POST", ["accounts", _, "d1", "database", id, action @ ("query" | "raw")]) => {
                let body = body_json(req)?;
                let sql = body.get("sql").and_then(Value::as_str).ok_or_else(|| {
                    bad_request("The request is malformed: a string `sql` is required")
                })?;
                let params = match body.get("params") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(p)) => p.clone(),
                    Some(_) => {
                        return Err(bad_request(
                            "The request is malformed: `params` must be an array",
                        ))
                    }
                };
                let db = self.store.resolve(id)?;
                let results = lock(&db).execute(sql, &params)?;
                if *action == "raw" {
                    Ok(ok(&results.iter().map(|r| r.as_raw()).collect::<Vec<_>>()))
                } else {
                    Ok(ok(&results
                        .iter()
                        .map(|r| r.as_objects())
                        .collect::<Vec<_>>()))
                }
            }
            ("POST", ["accounts", _, "d1", "database", id, "import"]) => {
                self.d1_import(id, &body_json(req)?)
            }
            ("POST", ["accounts", _, "d1", "database", id, "export"]) => {
                self.d1_export(id, &body_json(req)?)
            }
            ("GET", ["accounts", _, "d1", "database", id, "time_travel", "bookmark"]) => {
                let db = self.store.resolve(id)?;
                let db = lock(&db);
                let bookmark = match query_param(query, "timestamp") {
                    Some(ts) => db.bookmark_at(
                        parse_timestamp(ts)
                            .ok_or_else(|| bad_request(format!("Invalid timestamp '{ts}'")))?,
                    ),
                    None => db.bookmark(),
                };
                Ok(ok(&json!({ "bookmark": bookmark })))
            }
            ("POST", ["accounts", _, "d1", "database", id, "time_travel", "restore"]) => {
                let db = self.store.resolve(id)?;
                let mut db = lock(&db);
                let bookmark = match (
                    query_param(query, "bookmark"),
                    query_param(query, "timestamp"),
                ) {
                    (Some(b), _) => b.to_string(),
                    (None, Some(ts)) => db.bookmark_at(
                        parse_timestamp(ts)
                            .ok_or_else(|| bad_request(format!("Invalid timestamp '{ts}'")))?,
                    ),
                    (None, None) => {
                        return Err(bad_request("Provide either a bookmark or a timestamp"))
                    }
                };
                let previous = db.restore(&bookmark)?;
                Ok(ok(&json!({
                    "bookmark": bookmark,
                    "previous_bookmark": previous,
                    "message": format!("Database restored to bookmark {bookmark}"),
                })))
            }
            ("POST", ["graphql"]) => Ok(Reply::json(
                200,
                &json!({ "data": { "viewer": { "accounts": [{ "d1AnalyticsAdaptiveGroups": [] }] } }, "errors": null }),
            )),
            // Account and user
            ("GET", ["memberships"]) => Ok(ok_list(
                &[json!({
                    "id": "double-membership",
                    "status": "accepted",
                    "account": { "id": ACCOUNT_ID, "name": "Cloudflare Double" },
                    "roles": ["Administrator"],
                })],
                json!({ "page": 1, "per_page": 20, "count": 1, "total_count": 1 }),
            )),
            ("GET", ["accounts"]) => Ok(ok_list(
                &[json!({ "id": ACCOUNT_ID, "name": "Cloudflare Double" })],
                json!({ "page": 1, "per_page": 20, "count": 1, "total_count": 1 }),
            )),
            ("GET", ["user"]) => Ok(ok(
                &json!({ "id": "double-user", "email": "double@example.com" }),
            )),
            ("GET", ["user", "tokens", "verify"])
            | ("GET", ["accounts", _, "tokens", "verify"]) => {
                Ok(ok(&json!({ "id": "double-token", "status": "active" })))
            }
            // Workers
            ("GET", ["accounts", _, "workers", "subdomain"]) => {
                Ok(ok(&json!({ "subdomain": WORKERS_SUBDOMAIN })))
            }
            ("GET", ["accounts", _, "workers", "services", name]) => self.service(name),
            ("PUT", ["accounts", _, "workers", "scripts", name]) => {
                self.upload_script(req, name, false)
            }
            ("POST", ["accounts", _, "workers", "scripts", name, "versions"]) => {
                self.upload_script(req, name, true)
            }
            ("DELETE", ["accounts", _, "workers", "scripts" | "services", name]) => {
                lock(&self.workers)
                    .scripts
                    .remove(*name)
                    .ok_or_else(|| script_not_found(name))?;
                Ok(ok(&Value::Null))
            }
            (_, ["accounts", _, "workers", "scripts", name, rest @ ..]) => {
                self.script_endpoint(req, name, rest)
            }
            ("GET", ["accounts", _, "storage", "kv", "namespaces"]) => Ok(ok_list(
                &[],
                json!({ "page": 1, "per_page": 100, "count": 0, "total_count": 0 }),
            )),
            ("GET", ["zones"]) | ("GET", ["zones", _, "workers", "routes"]) => Ok(ok_list(
                &[],
                json!({ "page": 1, "per_page": 50, "count": 0, "total_count": 0 }),
            )),
            _ => Err(no_route(&format!("/{}", segs.join("/")))),
        }
    }

    fn d1_list(&self, query: &[(String, String)]) -> Reply {
        let name = query_param(query, "name").filter(|n| !n.is_empty());
        let all: Vec<Value> = self
            .store
            .all()
            .iter()
            .map(|db| lock(db).summary())
            .filter(|s| name.is_none_or(|n| s["name"].as_str().is_some_and(|x| x.contains(n))))
            .collect();
        let per_page = query_param(query, "per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1000);
        let page = query_param(query, "page")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1);
        let items: Vec<Value> = all
            .iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .cloned()
            .collect();
        ok_list(
            &items,
            json!({ "page": page, "per_page": per_page, "count": items.len(), "total_count": all.len() }),
        )
    }

    fn d1_create(&self, req: &Req) -> Result<Reply, ApiError> {
        let body = body_json(req)?;
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                bad_request("The request is malformed: a database `name` is required")
            })?;
        if self.store.find_by_name(name).is_some() {
            return Err(ApiError::new(
                400,
                7502,
                "A database with that name already exists",
            ));
        }
        let db = self
            .store
            .get_or_create(&uuid_v4(), Some(name))
            .map_err(ApiError::internal)?;
        let mut summary = lock(&db).summary();
        summary["created_in_region"] = json!("WEUR");
        Ok(ok(&summary))
    }

    fn d1_import(&self, id: &str, body: &Value) -> Result<Reply, ApiError> {
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

    fn d1_export(&self, id: &str, body: &Value) -> Result<Reply, ApiError> {
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

    fn service(&self, name: &str) -> Result<Reply, ApiError> {
        let workers = lock(&self.workers);
        let script = workers
            .scripts
            .get(name)
            .ok_or_else(|| ApiError::new(404, 10090, "workers.api.error.service_not_found"))?;
        let etag = script
            .versions
            .last()
            .map(|v| v.etag.clone())
            .unwrap_or_default();
        Ok(ok(&json!({
            "id": name,
            "created_on": iso8601(script.created_on),
            "modified_on": iso8601(script.modified_on),
            "default_environment": {
                "environment": "production",
                "created_on": iso8601(script.created_on),
                "modified_on": iso8601(script.modified_on),
                "script": {
                    "id": name,
                    "tag": script.tag,
                    "tags": [],
                    "etag": etag,
                    "handlers": ["fetch"],
                    "created_on": iso8601(script.created_on),
                    "modified_on": iso8601(script.modified_on),
                    "usage_model": "standard",
                    "compatibility_date": script.compatibility_date,
                    "last_deployed_from": "wrangler",
                },
            },
        })))
    }

    /// A worker upload (`PUT …/scripts/:name`, or a new version with `POST …/versions`): recorded
    /// under `<data-dir>/deploys/<n>/`.
    fn upload_script(&self, req: &Req, name: &str, version_only: bool) -> Result<Reply, ApiError> {
        let content_type = req.header("content-type").unwrap_or("");
        let parts = multipart::parse(content_type, &req.body)
            .map_err(|e| ApiError::new(400, 10001, format!("Invalid worker upload: {e}")))?;
        let metadata_part = parts
            .iter()
            .find(|p| p.name == "metadata")
            .ok_or_else(|| ApiError::new(400, 10001, "Invalid worker upload: no metadata part"))?;
        let metadata: Value = serde_json::from_slice(&metadata_part.data).map_err(|e| {
            ApiError::new(
                400,
                10001,
                format!("Invalid worker upload: metadata is not JSON: {e}"),
            )
        })?;
        let files: Vec<&multipart::Part> = parts.iter().filter(|p| p.name != "metadata").collect();

        let mut workers = lock(&self.workers);
        if version_only && !workers.scripts.contains_key(name) {
            return Err(script_not_found(name));
        }
        let n = workers.deploys.len() + 1;
        let dir = self.data_dir.join("deploys").join(n.to_string());
        write_deploy(&dir, &metadata_part.data, &files).map_err(ApiError::internal)?;
        workers.deploys.push(DeployRecord {
            script_name: name.to_string(),
            metadata: metadata.clone(),
            files: files.iter().map(|p| p.name.clone()).collect(),
        });

        let now = now_ms();
        let script = workers
            .scripts
            .entry(name.to_string())
            .or_insert_with(|| Script {
                tag: random_hex(32),
                created_on: now,
                modified_on: now,
                compatibility_date: Value::Null,
                versions: Vec::new(),
                deployments: Vec::new(),
                subdomain_enabled: false,
                previews_enabled: false,
                schedules: json!([]),
                settings: serde_json::Map::new(),
            });
        script.modified_on = now;
        script.compatibility_date = metadata
            .get("compatibility_date")
            .cloned()
            .unwrap_or(Value::Null);
        let version = Version {
            id: uuid_v4(),
            number: script.versions.len() as u64 + 1,
            created_on: now,
            metadata: metadata.clone(),
            etag: md5_hex(&req.body),
        };
        script.versions.push(version.clone());
        if version_only {
            return Ok(ok(&version_json(&version)));
        }
        let deployment = deployment_json(&[(version.id.clone(), 100.0)], &Value::Null);
        script.deployments.insert(0, deployment);
        Ok(ok(&json!({
            "id": name,
            "tag": script.tag,
            "etag": version.etag,
            "handlers": ["fetch"],
            "created_on": iso8601(script.created_on),
            "modified_on": iso8601(script.modified_on),
            "usage_model": "standard",
            "compatibility_date": script.compatibility_date,
            "has_modules": metadata.get("main_module").is_some(),
            "deployment_id": version.id,
            "startup_time_ms": 1,
        })))
    }

    fn script_endpoint(&self, req: &Req, name: &str, rest: &[&str]) -> Result<Reply, ApiError> {
        let m = req.method.as_str();
        let mut workers = lock(&self.workers);
        let script = workers
            .scripts
            .get_mut(name)
            .ok_or_else(|| script_not_found(name))?;
        match (m, rest) {
            ("GET", ["deployments"]) => Ok(ok(&json!({ "deployments": script.deployments }))),
            ("POST", ["deployments"]) => {
                let body = body_json(req)?;
                let mut traffic = Vec::new();
                for v in body
                    .get("versions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let id = v
                        .get("version_id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    if !script.versions.iter().any(|x| x.id == id) {
                        return Err(ApiError::new(
                            400,
                            10212,
                            format!("Version {id} does not exist"),
                        ));
                    }
                    traffic.push((
                        id,
                        v.get("percentage").and_then(Value::as_f64).unwrap_or(0.0),
                    ));
                }
                if traffic.is_empty() {
                    return Err(bad_request("A deployment needs at least one version"));
                }
                let deployment =
                    deployment_json(&traffic, body.get("annotations").unwrap_or(&Value::Null));
                script.deployments.insert(0, deployment.clone());
                Ok(ok(&deployment))
            }
            ("GET", ["versions"]) => {
                let items: Vec<Value> = script.versions.iter().rev().map(version_json).collect();
                Ok(ok(&json!({ "items": items })))
            }
            ("GET", ["versions", id]) => script
                .versions
                .iter()
                .find(|v| v.id == *id)
                .map(|v| ok(&version_json(v)))
                .ok_or_else(|| ApiError::new(404, 10007, format!("Version {id} not found"))),
            ("GET", ["subdomain"]) => Ok(ok(
                &json!({ "enabled": script.subdomain_enabled, "previews_enabled": script.previews_enabled }),
            )),
            ("POST", ["subdomain"]) => {
                let body = body_json(req)?;
                if let Some(e) = body.get("enabled").and_then(Value::as_bool) {
                    script.subdomain_enabled = e;
                }
                match body.get("previews_enabled").and_then(Value::as_bool) {
                    Some(p) => script.previews_enabled = p,
                    None => script.previews_enabled = script.subdomain_enabled,
                }
                Ok(ok(
                    &json!({ "enabled": script.subdomain_enabled, "previews_enabled": script.previews_enabled }),
                ))
            }
            ("GET", ["schedules"]) => Ok(ok(&json!({ "schedules": script.schedules }))),
            ("PUT", ["schedules"]) => {
                script.schedules = body_json(req)?;
                Ok(ok(&json!({ "schedules": script.schedules })))
            }
            ("GET", ["script-settings"]) => Ok(ok(&script.settings)),
            ("GET", ["settings"]) => {
                // The settings API: the bindings and runtime settings of the deployed version.
                let latest = script
                    .versions
                    .last()
                    .map(|v| v.metadata.clone())
                    .unwrap_or(Value::Null);
                let mut settings = serde_json::Map::new();
                settings.insert(
                    "bindings".into(),
                    latest.get("bindings").cloned().unwrap_or(json!([])),
                );
                settings.insert(
                    "compatibility_date".into(),
                    latest
                        .get("compatibility_date")
                        .cloned()
                        .unwrap_or(Value::Null),
                );
                settings.insert(
                    "compatibility_flags".into(),
                    latest
                        .get("compatibility_flags")
                        .cloned()
                        .unwrap_or(json!([])),
                );
                settings.insert("logpush".into(), json!(false));
                settings.insert("placement".into(), json!({}));
                settings.insert("tail_consumers".into(), json!([]));
                settings.insert("usage_model".into(), json!("standard"));
                settings.extend(script.settings.clone());
                Ok(ok(&settings))
            }
            ("PATCH", ["script-settings"]) => {
                if let Value::Object(map) = body_json(req)? {
                    script.settings.extend(map);
                }
                Ok(ok(&script.settings))
            }
            ("PATCH", ["settings"]) => {
                // The settings API takes a multipart form whose `settings` part is JSON.
                let content_type = req.header("content-type").unwrap_or("");
                let settings = multipart::parse(content_type, &req.body)
                    .ok()
                    .and_then(|parts| parts.into_iter().find(|p| p.name == "settings"))
                    .map(|p| p.data)
                    .unwrap_or_else(|| req.body.clone());
                if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&settings) {
                    script.settings.extend(map);
                }
                Ok(ok(&script.settings))
            }
            _ => Err(no_route(&format!(
                "/workers/scripts/{name}/{}",
                rest.join("/")
            ))),
        }
    }
}

fn script_not_found(name: &str) -> ApiError {
    ApiError::new(
        404,
        10007,
        format!("This Worker ({name}) does not exist on your account."),
    )
}

fn deployment_json(traffic: &[(String, f64)], annotations: &Value) -> Value {
    json!({
        "id": uuid_v4(),
        "source": "wrangler",
        "strategy": "percentage",
        "author_email": "double@example.com",
        "created_on": iso8601(now_ms()),
        "annotations": annotations,
        "versions": traffic.iter().map(|(id, p)| json!({ "version_id": id, "percentage": p })).collect::<Vec<_>>(),
    })
}

fn version_json(v: &Version) -> Value {
    json!({
        "id": v.id,
        "number": v.number,
        "metadata": {
            "author_email": "double@example.com",
            "source": "wrangler",
            "created_on": iso8601(v.created_on),
            "modified_on": iso8601(v.created_on),
        },
        "annotations": v.metadata.get("annotations").cloned().unwrap_or(json!({})),
        "resources": {
            "script": { "etag": v.etag, "handlers": ["fetch"], "last_deployed_from": "wrangler" },
            "script_runtime": {
                "compatibility_date": v.metadata.get("compatibility_date"),
                "compatibility_flags": v.metadata.get("compatibility_flags").cloned().unwrap_or(json!([])),
                "usage_model": "standard",
            },
            "bindings": v.metadata.get("bindings").cloned().unwrap_or(json!([])),
        },
        "startup_time_ms": 1,
    })
}

fn write_deploy(dir: &Path, metadata: &[u8], files: &[&multipart::Part]) -> std::io::Result<()> {
    fs::create_dir_all(dir.join("files"))?;
    fs::write(dir.join("metadata.json"), metadata)?;
    for part in files {
        let path = dir.join("files").join(safe_relative(&part.name));
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, &part.data)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn app(dir: &Path) -> App {
        let store = Store::open(dir.join("d1")).expect("store");
        App::new(
            "secret".into(),
            "http://127.0.0.1:1".into(),
            dir.to_path_buf(),
            store,
            Faults::default(),
            false,
        )
    }

    fn req(method: &str, url: &str, body: &str) -> Req {
        Req {
            method: method.into(),
            url: url.into(),
            headers: vec![("Authorization".into(), "Bearer secret".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn body(reply: &Reply) -> Value {
        serde_json::from_slice(&reply.body).expect("json body")
    }

    #[test]
    fn auth_codes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = app(dir.path());
        let mut r = req("GET", "/client/v4/accounts/a/d1/database", "");
        r.headers.clear();
        assert_eq!(app.handle(&r).0.status, 401);
        r.headers
            .push(("authorization".into(), "Bearer wrong".into()));
        let (reply, _) = app.handle(&r);
        assert_eq!(reply.status, 403);
        assert_eq!(body(&reply)["errors"][0]["code"], 10000);
        assert_eq!(
            app.handle(&req("GET", "/client/v4/accounts/a/d1/database", ""))
                .0
                .status,
            200
        );
    }

    #[test]
    fn bad_requests_are_400_not_panics() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = app(dir.path());
        for (m, url, b) in [
            (
                "POST",
                "/client/v4/accounts/a/d1/database/x/query",
                "not json",
            ),
            ("POST", "/client/v4/accounts/a/d1/database/x/query", "{}"),
            (
                "POST",
                "/client/v4/accounts/a/d1/database/x/query",
                r#"{"sql":"SELECT ?","params":[{}]}"#,
            ),
            (
                "POST",
                "/client/v4/accounts/a/d1/database/..%2Fetc/query",
                r#"{"sql":"SELECT 1"}"#,
            ),
            (
                "POST",
                "/client/v4/accounts/a/d1/database/x/import",
                r#"{"action":"ingest"}"#,
            ),
            ("PUT", "/client/v4/accounts/a/workers/scripts/w", "garbage"),
            (
                "GET",
                "/client/v4/accounts/a/d1/database/x/time_travel/bookmark?timestamp=soon",
                "",
            ),
        ] {
            let (reply, _) = app.handle(&req(m, url, b));
            assert_eq!(
                reply.status,
                400,
                "{m} {url} {b}: {}",
                String::from_utf8_lossy(&reply.body)
            );
            assert_eq!(body(&reply)["success"], false);
        }
        assert_eq!(
            app.handle(&req("GET", "/client/v4/nothing/here", ""))
                .0
                .status,
            404
        );
    }

    /// init → upload → ingest → poll, as wrangler does it; returns the poll's result.
    fn import(app: &App, sql: &str) -> Value {
        let etag = md5_hex(sql.as_bytes());
        let url = "/client/v4/accounts/a/d1/database/db1/import";
        let init = body(
            &app.handle(&req(
                "POST",
                url,
                &format!(r#"{{"action":"init","etag":"{etag}"}}"#),
            ))
            .0,
        );
        let upload_url = init["result"]["upload_url"].as_str().expect("upload_url");
        let path = upload_url
            .strip_prefix("http://127.0.0.1:1")
            .expect("points back at the double");
        let put = app
            .handle(&Req {
                method: "PUT".into(),
                url: path.into(),
                headers: vec![],
                body: sql.into(),
            })
            .0;
        assert_eq!(put.status, 200);
        assert!(put
            .headers
            .iter()
            .any(|(k, v)| k == "ETag" && v == &format!("\"{etag}\"")));
        let filename = init["result"]["filename"].as_str().expect("filename");
        let ingest = body(
            &app.handle(&req(
                "POST",
                url,
                &format!(r#"{{"action":"ingest","filename":"{filename}","etag":"{etag}"}}"#),
            ))
            .0,
        );
        assert_eq!(ingest["result"]["status"], "active");
        let at = ingest["result"]["at_bookmark"]
            .as_str()
            .expect("at_bookmark");
        body(
            &app.handle(&req(
                "POST",
                url,
                &format!(r#"{{"action":"poll","current_bookmark":"{at}"}}"#),
            ))
            .0,
        )["result"]
            .clone()
    }

    #[test]
    fn import_flow_runs_each_ingested_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = app(dir.path());
        let done = import(&app, "CREATE TABLE t(a);\nINSERT INTO t VALUES (1);");
        assert_eq!(done["status"], "complete", "{done}");
        assert_eq!(done["result"]["num_queries"], 2);
        let failed = import(
            &app,
            "INSERT INTO t VALUES (2);\nINSERT INTO nope VALUES (3);",
        );
        assert_eq!(failed["status"], "error");
        assert_eq!(failed["error"], "no such table: nope: SQLITE_ERROR");
        // A new import at the same bookmark runs; it does not get the failed one's answer.
        let fixed = import(&app, "INSERT INTO t VALUES (2);");
        assert_eq!(fixed["status"], "complete", "{fixed}");
        let (reply, _) = app.handle(&req(
            "POST",
            "/client/v4/accounts/a/d1/database/db1/query",
            r#"{"sql":"SELECT count(*) AS n FROM t"}"#,
        ));
        assert_eq!(body(&reply)["result"][0]["results"], json!([{ "n": 2 }]));
    }

    #[test]
    fn query_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = app(dir.path());
        let (reply, kind) = app.handle(&req(
            "POST",
            "/client/v4/accounts/a/d1/database/db1/query",
            r#"{"sql":"CREATE TABLE t(a); INSERT INTO t VALUES (1); SELECT a FROM t"}"#,
        ));
        assert_eq!(kind, "query");
        let v = body(&reply);
        assert_eq!(v["success"], true);
        assert_eq!(v["result"].as_array().map(Vec::len), Some(3));
        assert_eq!(v["result"][2]["results"], json!([{ "a": 1 }]));
        assert_eq!(v["result"][1]["meta"]["changes"], 1);
        let (reply, _) = app.handle(&req(
            "POST",
            "/client/v4/accounts/a/d1/database/db1/query",
            r#"{"sql":"SELECT * FROM nope"}"#,
        ));
        assert_eq!(reply.status, 400);
        assert_eq!(
            body(&reply)["errors"][0],
            json!({ "code": 7500, "message": "no such table: nope: SQLITE_ERROR" })
        );
    }
}

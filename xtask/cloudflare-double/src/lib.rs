//! A local double of the Cloudflare REST API that the real wrangler CLI talks to in remote mode
//! (`--remote`): D1 (query, import, export, time travel, list, info, create, delete), the account
//! and user look-ups, and everything `wrangler deploy` needs, with fault injection.
//!
//! Start it in-process with [`serve`] (port 0 picks a free port) and point wrangler at
//! [`Double::api_base_url`] through `CLOUDFLARE_API_BASE_URL`, with `CLOUDFLARE_API_TOKEN` set to
//! the double's token and any `CLOUDFLARE_ACCOUNT_ID`.
//!
//! Besides the API under `/client/v4`, the double serves (without authentication):
//! - `PUT /__double/upload/<token>`: the upload URL an import's init returns;
//! - `GET /__double/download/<token>/<file>`: the signed URL of a finished export;
//! - `GET /__double/deploys`: every worker upload, `[{script_name, metadata, files}]`;
//! - `GET /__double/requests`: every request seen, `[{method, path, query, kind, status}]`.

pub mod api;
pub mod d1;
pub mod dump;
pub mod faults;
pub mod multipart;
pub mod util;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{anyhow, Context};
use clap::Parser;

pub use api::{DeployRecord, RequestRecord};
pub use faults::{Fault, KINDS};

/// A `--database NAME=ID` pre-registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedDatabase {
    pub name: String,
    pub id: String,
}

impl std::str::FromStr for NamedDatabase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, id) = s
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=ID, got {s:?}"))?;
        if name.is_empty() {
            return Err("the database name is empty".into());
        }
        if !d1::valid_id(id) {
            return Err(format!(
                "invalid database id {id:?} (letters, digits, '-' and '_', at most 64)"
            ));
        }
        Ok(NamedDatabase {
            name: name.to_string(),
            id: id.to_string(),
        })
    }
}

fn fail_fault(s: &str) -> Result<Fault, String> {
    Fault::parse_fail(s)
}

fn delay_fault(s: &str) -> Result<Fault, String> {
    Fault::parse_delay(s)
}

/// How to run the double (also its command line).
#[derive(Clone, Parser)]
#[command(
    name = "cloudflare-double",
    about = "A local double of the Cloudflare REST API for wrangler's remote mode"
)]
pub struct Options {
    /// Port to listen on (127.0.0.1 only); 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The API token requests must carry as `Authorization: Bearer <token>`.
    #[arg(long, env = "CLOUDFLARE_DOUBLE_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Where databases, uploads, exports and deploys are kept (default: a temporary directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Pre-registers a D1 database name for list/info/name look-ups (repeatable).
    #[arg(long = "database", value_name = "NAME=ID")]
    pub databases: Vec<NamedDatabase>,
    /// The Nth request of KIND gets HTTP 500 with a Cloudflare-shaped error (repeatable).
    #[arg(long = "fail", value_name = "KIND:N", value_parser = fail_fault)]
    pub fail: Vec<Fault>,
    /// The Nth request of KIND is answered after MS milliseconds (repeatable).
    #[arg(long = "delay", value_name = "KIND:N:MS", value_parser = delay_fault)]
    pub delay: Vec<Fault>,
    /// The Nth request of KIND gets HTTP 429 with `Retry-After: SECS`, and is not carried out (repeatable).
    #[arg(long = "throttle", value_name = "KIND:N:SECS", value_parser = delay_fault)]
    pub throttle: Vec<Fault>,
    /// The Nth request of KIND is carried out, then answered with HTTP 500, as if its answer were lost (repeatable).
    #[arg(long = "lose", value_name = "KIND:N", value_parser = fail_fault)]
    pub lose: Vec<Fault>,
    /// Every import's poll step reports an error and the import is not applied.
    #[arg(long)]
    pub fail_import_poll: bool,
    /// Do not log requests to stderr.
    #[arg(long)]
    pub quiet: bool,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("port", &self.port)
            .field("token", &"<redacted>")
            .field("data_dir", &self.data_dir)
            .field("databases", &self.databases)
            .field("fail", &self.fail)
            .field("delay", &self.delay)
            .field("throttle", &self.throttle)
            .field("lose", &self.lose)
            .field("fail_import_poll", &self.fail_import_poll)
            .field("quiet", &self.quiet)
            .finish()
    }
}

impl Options {
    /// Defaults (port 0, temporary data directory, no faults) with this token.
    pub fn new(token: impl Into<String>) -> Options {
        Options {
            port: 0,
            token: token.into(),
            data_dir: None,
            databases: Vec::new(),
            fail: Vec::new(),
            delay: Vec::new(),
            throttle: Vec::new(),
            lose: Vec::new(),
            fail_import_poll: false,
            quiet: false,
        }
    }
}

/// A running double; dropping it stops the server (and removes a temporary data directory).
pub struct Double {
    addr: SocketAddr,
    data_dir: PathBuf,
    app: Arc<api::App>,
    server: Arc<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _temp: Option<tempfile::TempDir>,
}

impl Double {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/client/v4`, the value for `CLOUDFLARE_API_BASE_URL`.
    pub fn api_base_url(&self) -> String {
        format!("{}/client/v4", self.url())
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The SQLite file of a D1 database.
    pub fn database_path(&self, id: &str) -> PathBuf {
        self.data_dir.join("d1").join(format!("{id}.sqlite"))
    }

    /// Every worker upload so far (what `GET /__double/deploys` returns).
    pub fn deploys(&self) -> Vec<DeployRecord> {
        self.app.deploys()
    }

    /// Every request so far (what `GET /__double/requests` returns).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.app.requests()
    }

    /// Blocks until the server stops (it runs until the process is killed).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn stop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Double {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the double on 127.0.0.1 and returns at once; requests are served on background threads.
pub fn serve(options: Options) -> anyhow::Result<Double> {
    let (data_dir, temp) = match &options.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("cloudflare-double-")
                .tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let store = d1::Store::open(data_dir.join("d1"))?;
    for db in &options.databases {
        store.get_or_create(&db.id, Some(&db.name))?;
    }
    let server = tiny_http::Server::http(("127.0.0.1", options.port))
        .map_err(|e| anyhow!("binding 127.0.0.1:{}: {e}", options.port))?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| anyhow!("the server has no IP address"))?;
    let mut faults = options.fail.clone();
    faults.extend(options.delay.iter().cloned());
    let app = Arc::new(api::App::new(
        options.token.clone(),
        format!("http://{addr}"),
        data_dir.clone(),
        store,
        faults::Faults::with(faults, options.throttle.clone(), options.lose.clone()),
        options.fail_import_poll,
    ));
    let server = Arc::new(server);
    let stopping = Arc::new(AtomicBool::new(false));
    let thread = {
        let (server, app, stopping, quiet) =
            (server.clone(), app.clone(), stopping.clone(), options.quiet);
        std::thread::Builder::new()
            .name("cloudflare-double".into())
            .spawn(move || loop {
                match server.recv() {
                    Ok(request) => {
                        let app = app.clone();
                        let spawned = std::thread::Builder::new()
                            .name("cloudflare-double-request".into())
                            .spawn(move || respond(&app, request, quiet));
                        if let Err(e) = spawned {
                            eprintln!("cloudflare-double: cannot start a request thread: {e}");
                        }
                    }
                    Err(_) if stopping.load(Ordering::SeqCst) => break,
                    Err(_) => continue,
                }
            })?
    };
    Ok(Double {
        addr,
        data_dir,
        app,
        server,
        stopping,
        thread: Some(thread),
        _temp: temp,
    })
}

fn respond(app: &api::App, mut request: tiny_http::Request, quiet: bool) {
    let method = request.method().as_str().to_uppercase();
    let url = request.url().to_string();
    let headers = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_string(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let reply = match request.as_reader().read_to_end(&mut body) {
        Ok(_) => {
            let req = api::Req {
                method: method.clone(),
                url: url.clone(),
                headers,
                body,
            };
            app.handle(&req).0
        }
        Err(e) => api::error_reply(&d1::ApiError::new(
            400,
            7400,
            format!("Could not read the request body: {e}"),
        )),
    };
    if !quiet {
        let path = url.split('?').next().unwrap_or("");
        eprintln!("cloudflare-double: {method} {path} {}", reply.status);
    }
    // Always a Content-Length, never chunked: simplest for every client.
    let mut response = tiny_http::Response::from_data(reply.body)
        .with_status_code(reply.status)
        .with_chunked_threshold(usize::MAX);
    for (k, v) in reply.headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    let _ = request.respond(response);
}

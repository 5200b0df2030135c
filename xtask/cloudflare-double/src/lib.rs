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
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
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

fn gather_option(s: &str) -> Result<(String, usize), String> {
    let (kind, n) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: expected KIND:N"))?;
    let n: usize = n.parse().map_err(|_| format!("{s:?}: N is a count"))?;
    Ok((kind.to_owned(), n))
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
    /// The first N requests of KIND are each held until all N have arrived,
    /// then answered: a test that clients are served together (after 60 s
    /// without N, each held one is answered HTTP 503 instead). Later ones
    /// are not held.
    #[arg(long, value_name = "KIND:N", value_parser = gather_option)]
    pub gather: Option<(String, usize)>,
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
            .field("gather", &self.gather)
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
            gather: None,
            quiet: false,
        }
    }
}

/// A running double; dropping it stops the server (and removes a temporary data directory).
pub struct Double {
    addr: SocketAddr,
    data_dir: PathBuf,
    app: Arc<api::App>,
    /// Stops the server when sent (or dropped).
    stop: Option<tokio::sync::oneshot::Sender<()>>,
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
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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
    // Bound here, so that the port is known (and taken) before this returns.
    let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))
        .with_context(|| format!("binding 127.0.0.1:{}", options.port))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let mut faults = options.fail.clone();
    faults.extend(options.delay.iter().cloned());
    let app = Arc::new(api::App::new(
        options.token.clone(),
        format!("http://{addr}"),
        data_dir.clone(),
        store,
        faults::Faults::with(faults, options.throttle.clone(), options.lose.clone()),
        options.fail_import_poll,
        options.gather.clone(),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = {
        let (app, quiet) = (app.clone(), options.quiet);
        std::thread::Builder::new()
            .name("cloudflare-double".into())
            .spawn(move || run_server(listener, app, quiet, stopped))?
    };
    Ok(Double {
        addr,
        data_dir,
        app,
        stop: Some(stop),
        thread: Some(thread),
        _temp: temp,
    })
}

/// Serves until `stopped` fires: hyper (through axum) takes each connection
/// on tokio, and each request runs on a blocking thread of its own, so any
/// number of clients are answered at once, however long one is held.
fn run_server(
    listener: std::net::TcpListener,
    app: Arc<api::App>,
    quiet: bool,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1024)
        .thread_name("cloudflare-double-request")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cloudflare-double: cannot start the server's runtime: {e}");
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("cloudflare-double: cannot listen: {e}");
                return;
            }
        };
        let router = axum::Router::new()
            .fallback(move |request: axum::extract::Request| respond(app.clone(), request, quiet));
        tokio::select! {
            served = axum::serve(listener, router) => {
                if let Err(e) = served {
                    eprintln!("cloudflare-double: the server failed: {e}");
                }
            }
            _ = stopped => {}
        }
    });
    // Requests still held (a delay, a gather) are not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
}

/// Answers one request through [`api::App::handle`], on a blocking thread.
async fn respond(
    app: Arc<api::App>,
    request: axum::extract::Request,
    quiet: bool,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_uppercase();
    let url = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_string(), value)
        })
        .collect();
    let reply = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => {
            let req = api::Req {
                method: method.clone(),
                url: url.clone(),
                headers,
                body: body.to_vec(),
            };
            tokio::task::spawn_blocking(move || app.handle(&req).0)
                .await
                .unwrap_or_else(|e| {
                    api::error_reply(&d1::ApiError::new(
                        500,
                        7500,
                        format!("the request failed: {e}"),
                    ))
                })
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
    let mut response = axum::response::Response::new(axum::body::Body::from(reply.body));
    *response.status_mut() = axum::http::StatusCode::from_u16(reply.status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(&v),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

//! `cargo migrate ui`: the web UI over the migration engine.
//!
//! A server on 127.0.0.1 only, answering the page (its files embedded in
//! the binary) and the JSON API under `/api/` it uses (documented in
//! docs/web-ui.md). Every request needs the token printed at start; a run
//! started from the page is the same run `cargo migrate up` makes, reported through
//! the engine's events as a server-sent event stream.
//!
//! - [`server`]: listening, the security rules, routing.
//! - [`app`]: what the endpoints are given and answer.
//! - [`api`]: what each endpoint answers.
//! - [`assets`]: the page's files: HTML, CSS and the script's ES modules.
//! - [`runs`]: the run in progress and its event stream.
//! - [`schema`]: the entity-relationship data of a database, and what a
//!   migration changes in the schema (rehearsed in memory).

mod api;
mod app;
mod assets;
mod runs;
mod schema;
mod server;

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use xtask::args::Global;
use xtask::interrupt;
use xtask::migrate::Project;

/// The web UI of `cargo migrate`, on 127.0.0.1 only.
///
/// Prints one line on stdout: the address with a token made at this start
/// (`http://127.0.0.1:PORT/?token=TOKEN`). Opening it sets a cookie; scripts
/// send `Authorization: Bearer TOKEN`. Ctrl-C, SIGTERM or SIGHUP stops the
/// server (a run in progress stops as it would at the command line, giving
/// its locks back).
#[derive(Debug, Parser)]
#[command(name = "migrate-ui")]
struct Args {
    #[command(flatten)]
    global: Global,

    /// The port on 127.0.0.1 [default: 0, a free one]
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Open the page in the default browser
    #[arg(long)]
    open: bool,
}

fn main() -> ExitCode {
    // The process layer's reaper is this program run again (it ends the
    // server's wrangler calls if the server is killed outright).
    if std::env::args().nth(1).as_deref() == Some(xtask::process::reaper::SUBCOMMAND) {
        xtask::process::reaper::run();
        return ExitCode::SUCCESS;
    }
    let args = Args::parse();
    xtask::output::init_logging(args.global.project.log_format, args.global.project.verbose);
    if let Err(err) = interrupt::install() {
        tracing::warn!("{err:#}: Ctrl-C will stop the server without waiting for a run");
    }
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", xtask::process::redact(&format!("{err:#}")));
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> Result<()> {
    let paths = args.global.project.paths();
    let target = args.global.target();
    // A config that does not load is said now, not on the first page.
    Project::load_lenient(&paths, target)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
                .await
                .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
            let port = listener.local_addr()?.port();
            let token = token()?;
            let url = format!("http://127.0.0.1:{port}/?token={token}");
            xtask::out!("{url}");
            if args.open {
                open(&url);
            }
            let app = Arc::new(app::App::new(args.global, paths, target, token, port));
            let handler = Arc::clone(&app);
            let router = axum::Router::new().fallback(move |request: axum::extract::Request| {
                Arc::clone(&handler).handle(request)
            });
            // Ctrl-C (or SIGTERM, SIGHUP) stops it: no new connection is
            // taken, and the open ones get a few seconds to end.
            let server = axum::serve(listener, router).with_graceful_shutdown(stopped());
            let server = tokio::spawn(std::future::IntoFuture::into_future(server));
            stopped().await;
            match tokio::time::timeout(Duration::from_secs(10), server).await {
                Ok(Ok(served)) => served.context("the server failed")?,
                Ok(Err(err)) => return Err(anyhow!("the server stopped unexpectedly: {err}")),
                Err(_) => tracing::debug!("connections were still open at the stop"),
            }
            anyhow::Ok(app)
        })
        .map(|app| {
            if app.runs.wait() {
                eprintln!("the run in progress was stopped; its locks were given back");
            }
            eprintln!("stopped");
        })
}

/// Resolves once the process is asked to stop.
async fn stopped() {
    while interrupt::requested().is_none() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// 128 random bits, in hex.
fn token() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for the token")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Opens `url` in the desktop's browser; a machine without one is a warning.
fn open(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let started = xtask::process::Cmd::new(opener)
        .arg(url)
        .capture(Duration::from_secs(20), xtask::process::OnStop::Finish);
    match started {
        Ok(done) if done.status.success() => {}
        Ok(done) => tracing::warn!("`{opener}` could not open the page: {}", done.stderr.trim()),
        Err(err) => tracing::warn!("cannot open the page: {err:#}"),
    }
}

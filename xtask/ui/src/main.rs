//! `cargo migrate ui`: the web UI over the migration engine.
//!
//! A server on 127.0.0.1 only, answering the page (its files embedded in
//! the binary) and the JSON API under `/api/` it uses (documented in the
//! README). Every request needs the token printed at start; a run started
//! from the page is the same run `cargo migrate up` makes, reported through
//! the engine's events as a server-sent event stream.
//!
//! - [`server`]: listening, the security rules, routing.
//! - [`api`]: what each endpoint answers.
//! - [`assets`]: the page's files: HTML, CSS and the script's ES modules.
//! - [`runs`]: the run in progress and its event stream.
//! - [`schema`]: the entity-relationship data of a database, and what a
//!   migration changes in the schema (rehearsed in memory).

mod api;
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
use xtask::flags::Global;
use xtask::interrupt;
use xtask::migrate::project::Project;

/// The web UI of `cargo migrate`, on 127.0.0.1 only.
///
/// Prints one line on stdout: the address with a token made at this start
/// (`http://127.0.0.1:PORT/?token=TOKEN`). Opening it sets a cookie; scripts
/// send `Authorization: Bearer TOKEN`. Ctrl-C stops the server (a run in
/// progress stops as it would at the command line, giving its locks back).
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
    let args = Args::parse();
    xtask::output::init_logging(args.global.project.log_format);
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
    let paths = xtask::commands::paths(&args.global.project);
    let target = args.global.target();
    // A config that does not load is said now, not on the first page.
    Project::load_lenient(&paths, target)?;
    let listener = tiny_http::Server::http(("127.0.0.1", args.port))
        .map_err(|err| anyhow!("cannot listen on 127.0.0.1:{}: {err}", args.port))?;
    let port = listener
        .server_addr()
        .to_ip()
        .map(|address| address.port())
        .context("the server has no TCP address")?;
    let token = token()?;
    let url = format!("http://127.0.0.1:{port}/?token={token}");
    xtask::out!("{url}");
    if args.open {
        open(&url);
    }
    let app = Arc::new(server::App::new(args.global, paths, target, token, port));
    while interrupt::requested().is_none() {
        match listener.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(request)) => {
                let app = Arc::clone(&app);
                std::thread::spawn(move || app.handle(request));
            }
            Ok(None) => {}
            Err(err) => tracing::warn!("a request could not be read: {err}"),
        }
    }
    if app.runs.wait() {
        eprintln!("the run in progress was stopped; its locks were given back");
    }
    eprintln!("stopped");
    Ok(())
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

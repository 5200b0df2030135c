//! `cargo xtask …` / `cargo migrate …`: set up logging, parse, dispatch.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use xtask::flags::{LogFormat, Xtask, XtaskCommand};

fn main() -> ExitCode {
    let flags = Xtask::parse();
    init_logging(match &flags.command {
        XtaskCommand::Migrate(migrate) => migrate.global.log_format,
        XtaskCommand::Release(release) => release.global.log_format,
        _ => LogFormat::from_env(),
    });
    let result = match flags.command {
        XtaskCommand::Migrate(migrate) => migrate.run(),
        XtaskCommand::BuildWorker(build) => build.run(),
        XtaskCommand::Release(release) => release.run(),
        XtaskCommand::Bench(bench) => bench.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let message = xtask::wrangler::redact(&format!("{err:#}"));
            tracing::debug!("{err:?}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: `info` and up by default, `RUST_LOG` to change that.
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Human => builder.without_time().with_ansi(false).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

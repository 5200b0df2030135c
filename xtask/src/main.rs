//! `cargo xtask …` / `cargo migrate …`: set up logging, parse, dispatch.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use xtask::flags::{LogFormat, Xtask, XtaskCommand};
use xtask::interrupt::{self, Stop};

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(xtask::reaper::SUBCOMMAND) {
        xtask::reaper::run();
        return ExitCode::SUCCESS;
    }
    let flags = Xtask::parse();
    init_logging(match &flags.command {
        XtaskCommand::Migrate(migrate) => migrate.global.log_format,
        XtaskCommand::Release(release) => release.global.log_format,
        _ => LogFormat::from_env(),
    });
    if let Err(err) = interrupt::install() {
        tracing::warn!("{err:#}: Ctrl-C will end the run without giving its locks back");
    }
    let result = match flags.command {
        XtaskCommand::Migrate(migrate) => migrate.run(),
        XtaskCommand::BuildWorker(build) => build.run(),
        XtaskCommand::Release(release) => release.run(),
        XtaskCommand::Bench(bench) => bench.run(),
    };
    match (result, interrupt::requested()) {
        (Ok(()), None | Some(Stop::ClosedPipe)) => ExitCode::SUCCESS,
        (Ok(()), Some(stop)) => {
            eprintln!("error: {}", interrupt::Interrupted(stop));
            ExitCode::from(stop.exit_code())
        }
        (Err(err), stop) => {
            let stop = stop.or_else(|| interrupt::stop_of(&err));
            // A reader that went away wants no more output, not even an error.
            if stop != Some(Stop::ClosedPipe) {
                let message = xtask::wrangler::redact(&format!("{err:#}"));
                tracing::debug!("{err:?}");
                eprintln!("error: {message}");
            }
            stop.map_or(ExitCode::FAILURE, |stop| ExitCode::from(stop.exit_code()))
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

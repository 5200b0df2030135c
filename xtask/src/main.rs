//! `cargo xtask …` / `cargo migrate …`: set up logging, parse, dispatch.

use std::process::ExitCode;

use clap::Parser;
use xtask::flags::{MigrateCommand, Xtask, XtaskCommand};
use xtask::interrupt::{self, Stop};
use xtask::output::terminal::{paint_err, Style};
use xtask::output::LogFormat;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(xtask::process::reaper::SUBCOMMAND) {
        xtask::process::reaper::run();
        return ExitCode::SUCCESS;
    }
    let flags = Xtask::parse();
    // The web UI is stopped with Ctrl-C: that is its success.
    let stopped_by_hand = matches!(
        &flags.command,
        XtaskCommand::Migrate(migrate) if matches!(migrate.command, MigrateCommand::Ui(_))
    );
    // The tasks without a report (building, benchmarks, tests) log what
    // they do at info.
    let (log_format, verbose) = match &flags.command {
        XtaskCommand::Migrate(migrate) => (
            migrate.global.project.log_format,
            migrate.global.project.verbose,
        ),
        XtaskCommand::Release(release) => (release.project.log_format, release.project.verbose),
        _ => (LogFormat::from_env(), 1),
    };
    // Colour, and on a terminal something visible during each wait.
    xtask::output::terminal::init(log_format == LogFormat::Human);
    xtask::output::init_logging(log_format, verbose);
    if let Err(err) = interrupt::install() {
        tracing::warn!("{err:#}: Ctrl-C will end the run without giving its locks back");
    }
    let result = match flags.command {
        XtaskCommand::Migrate(migrate) => migrate.run(),
        XtaskCommand::BuildWorker(build) => build.run(),
        XtaskCommand::Release(release) => release.run(),
        XtaskCommand::Bench(bench) => bench.run(),
        XtaskCommand::Test(test) => test.run(),
    };
    match (result, interrupt::requested()) {
        (Ok(()), None | Some(Stop::ClosedPipe)) => ExitCode::SUCCESS,
        (Ok(()), Some(_)) if stopped_by_hand => ExitCode::SUCCESS,
        (Ok(()), Some(stop)) => {
            say_error(interrupt::Interrupted(stop));
            ExitCode::from(stop.exit_code())
        }
        (Err(err), stop) => {
            let stop = stop.or_else(|| interrupt::stop_of(&err));
            // A reader that went away wants no more output, not even an error.
            if stop != Some(Stop::ClosedPipe) {
                tracing::debug!("{err:?}");
                match log_format {
                    LogFormat::Human => say_error(xtask::process::redact(&format!("{err:#}"))),
                    // One JSON line, with what the error is made of.
                    LogFormat::Json => {
                        let error = xtask::migrate::error_json(&err);
                        let line = serde_json::json!({"level": "ERROR", "error": error});
                        eprintln!("{}", xtask::process::redact(&line.to_string()));
                    }
                }
            }
            stop.map_or(ExitCode::FAILURE, |stop| ExitCode::from(stop.exit_code()))
        }
    }
}

/// `error: MESSAGE` on stderr, the prefix in red at a terminal.
fn say_error(message: impl std::fmt::Display) {
    xtask::note!("{} {message}", paint_err(Style::Red, "error:"));
}

//! What the commands print on stdout (the plan, the report, `status`), one
//! line at a time. A closed stdout (`cargo migrate status | head -1`) stops
//! the printing and the run ([`crate::interrupt`]) instead of panicking.

pub mod report;
pub mod terminal;

use std::cell::RefCell;
use std::io::{IsTerminal, Write};

use clap::ValueEnum;

pub use report::{Human, Log};

/// Where captured lines go.
type Sink = Box<dyn Fn(String)>;

thread_local! {
    /// Where this thread's lines go instead of stdout, while [`capture`]d.
    static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
}

/// Runs `work` with the lines it prints on this thread given to `sink`
/// instead of stdout (the web UI streams a command's report this way).
pub fn capture<T>(sink: impl Fn(String) + 'static, work: impl FnOnce() -> T) -> T {
    let previous = SINK.with(|s| s.replace(Some(Box::new(sink))));
    let result = work();
    SINK.with(|s| *s.borrow_mut() = previous);
    result
}

/// Prints one line on stdout, like `println!`.
#[macro_export]
macro_rules! out {
    () => {
        $crate::output::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

/// Prints one line on stderr, like `eprintln!`, with a wait's line cleared
/// first ([`terminal`]).
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::terminal::clear_then(|| eprintln!($($arg)*))
    };
}

/// Writes `args` and a newline to stdout; after stdout has been closed, nothing.
pub fn line(args: std::fmt::Arguments<'_>) {
    let captured = SINK.with(|sink| match &*sink.borrow() {
        Some(sink) => {
            sink(args.to_string());
            true
        }
        None => false,
    });
    if captured {
        return;
    }
    if crate::interrupt::requested() == Some(crate::interrupt::Stop::ClosedPipe) {
        return;
    }
    let written = terminal::clear_then(|| {
        let mut stdout = std::io::stdout().lock();
        let text = args.to_string();
        stdout
            .write_all(terminal::report_line(&text).as_bytes())
            .and_then(|()| stdout.write_all(b"\n"))
            .and_then(|()| stdout.flush())
    });
    if let Err(err) = written {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            crate::interrupt::closed_pipe();
        }
    }
}

/// Prints without a newline (a prompt) and flushes.
pub fn prompt(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_fmt(args)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        crate::interrupt::closed_pipe();
    }
}

/// Logs go to stderr, as much as [`log_level`] says (`RUST_LOG` wins).
pub fn init_logging(format: LogFormat, verbose: u8) {
    let level = log_level(format, verbose, std::io::stdout().is_terminal());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Stderr)
        .with_target(false);
    match format {
        LogFormat::Human => builder
            .without_time()
            .with_ansi(terminal::colour_on_stderr())
            .init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

/// How much the logs say. A person at a terminal reads the report, which
/// says each fact once: the logs add only warnings and errors, unless `-v`
/// (info: what each step did) or `-vv` (debug: how) asks for more. Where
/// nobody watches (stdout not a terminal: CI, a script, a pipe) or JSON is
/// asked for, the logs are the record: info and up.
pub fn log_level(format: LogFormat, verbose: u8, stdout_is_terminal: bool) -> &'static str {
    match verbose {
        0 if format == LogFormat::Human && stdout_is_terminal => "warn",
        0 | 1 => "info",
        _ => "debug",
    }
}

/// stderr for the logs, the wait's line cleared before each.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        terminal::clear_then(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// How logs on stderr look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

impl LogFormat {
    /// `MIGRATE_LOG_FORMAT`, for commands without the `--log-format` flag.
    pub fn from_env() -> LogFormat {
        match std::env::var("MIGRATE_LOG_FORMAT").as_deref() {
            Ok("json") => LogFormat::Json,
            _ => LogFormat::Human,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_say_more_where_nobody_reads_the_report_or_when_asked() {
        use LogFormat::{Human, Json};
        assert_eq!(log_level(Human, 0, true), "warn");
        assert_eq!(log_level(Human, 0, false), "info");
        assert_eq!(log_level(Json, 0, true), "info");
        assert_eq!(log_level(Human, 1, true), "info");
        assert_eq!(log_level(Human, 2, true), "debug");
        assert_eq!(log_level(Json, 3, false), "debug");
    }
}

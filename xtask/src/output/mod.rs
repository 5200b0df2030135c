//! What the commands print on stdout (the plan, the report, `status`), one
//! line at a time. A closed stdout (`cargo migrate status | head -1`) stops
//! the printing and the run ([`crate::interrupt`]) instead of panicking.

pub mod report;

use std::cell::RefCell;
use std::io::Write;

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
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"));
    if let Err(err) = written.and_then(|()| stdout.flush()) {
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

/// Logs go to stderr: `info` and up by default, `RUST_LOG` to change that.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
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

//! What the commands print on stdout (the plan, the report, `status`), one
//! line at a time. A closed stdout (`cargo migrate status | head -1`) stops
//! the printing and the run ([`crate::interrupt`]) instead of panicking.

use std::io::Write;

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

//! The terminal, when there is one: colour (none with `NO_COLOR`, with
//! `TERM=dumb`, or on a stream that is not a terminal) and the line on stderr
//! that shows a wait in progress, once it has lasted [`SHOW_AFTER`]: a
//! spinner, what is awaited and the seconds so far. Whatever else is written
//! to the terminal (the report's lines, logs) first clears that line, which
//! comes back at the next tick.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::process::waits::{self, Shown};

/// How long a wait goes unshown: most are over before a person notices.
pub const SHOW_AFTER: Duration = Duration::from_secs(2);

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(120);

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

static COLOUR_OUT: AtomicBool = AtomicBool::new(false);
static COLOUR_ERR: AtomicBool = AtomicBool::new(false);

/// The waits under way, and whether their line is on the screen.
struct Waits {
    next: u64,
    active: Vec<(u64, String, Instant)>,
    drawn: bool,
    frame: usize,
}

static WAITS: Mutex<Waits> = Mutex::new(Waits {
    next: 0,
    active: Vec::new(),
    drawn: false,
    frame: 0,
});

/// Whether colour is wanted at all: `NO_COLOR` (any value but empty) and
/// `TERM=dumb` say no.
fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// Sets colour for stdout and stderr, each by whether it is a terminal;
/// with `show_waits`, waits are shown on stderr when it is one.
pub fn init(show_waits: bool) {
    let allowed = colour_allowed();
    COLOUR_OUT.store(
        allowed && std::io::stdout().is_terminal(),
        Ordering::Relaxed,
    );
    COLOUR_ERR.store(
        allowed && std::io::stderr().is_terminal(),
        Ordering::Relaxed,
    );
    if show_waits && std::io::stderr().is_terminal() {
        waits::show_with(start_wait);
        std::thread::Builder::new()
            .name("waits".into())
            .spawn(|| loop {
                std::thread::sleep(TICK);
                draw();
            })
            .ok();
    }
}

/// Whether stderr gets colour.
pub fn colour_on_stderr() -> bool {
    COLOUR_ERR.load(Ordering::Relaxed)
}

/// How a piece of text is shown where colour is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Bold,
    Green,
    Red,
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Green => "32",
            Style::Red => "1;31",
            Style::Dim => "2",
        }
    }
}

/// A report line as stdout shows it: with colour on, a database's outcome
/// in green (✅) or red (❌) and a heading (`=== … ===`) in bold.
pub fn report_line(line: &str) -> std::borrow::Cow<'_, str> {
    report_line_if(COLOUR_OUT.load(Ordering::Relaxed), line)
}

fn report_line_if(on: bool, line: &str) -> std::borrow::Cow<'_, str> {
    let style = if line.starts_with('✅') {
        Style::Green
    } else if line.starts_with('❌') {
        Style::Red
    } else if line.starts_with("=== ") {
        Style::Bold
    } else {
        return line.into();
    };
    paint_if(on, style, line).into()
}

/// `text` in `style` when stderr gets colour, else as it is.
pub fn paint_err(style: Style, text: &str) -> String {
    paint_if(colour_on_stderr(), style, text)
}

fn paint_if(on: bool, style: Style, text: &str) -> String {
    match on {
        true => format!("\x1b[{}m{text}\x1b[0m", style.code()),
        false => text.to_owned(),
    }
}

/// Runs `write` (something for the terminal) with the wait's line cleared
/// first, so that neither garbles the other.
pub fn clear_then<T>(write: impl FnOnce() -> T) -> T {
    let mut waits = WAITS.lock().unwrap_or_else(|e| e.into_inner());
    if waits.drawn {
        clear(&mut waits);
    }
    write()
}

/// Clears the wait's line from the terminal.
fn clear(waits: &mut Waits) {
    let mut stderr = std::io::stderr().lock();
    stderr.write_all(b"\r\x1b[2K").ok();
    stderr.flush().ok();
    waits.drawn = false;
}

/// Ends a wait's showing when dropped.
struct Ends(u64);

impl Drop for Ends {
    fn drop(&mut self) {
        let mut waits = WAITS.lock().unwrap_or_else(|e| e.into_inner());
        waits.active.retain(|(id, _, _)| *id != self.0);
        if waits.active.is_empty() && waits.drawn {
            clear(&mut waits);
        }
    }
}

fn start_wait(what: String) -> Shown {
    let mut waits = WAITS.lock().unwrap_or_else(|e| e.into_inner());
    waits.next += 1;
    let id = waits.next;
    waits.active.push((id, what, Instant::now()));
    Box::new(Ends(id))
}

/// Draws the line of the longest wait under way, once it has lasted
/// [`SHOW_AFTER`].
fn draw() {
    let mut waits = WAITS.lock().unwrap_or_else(|e| e.into_inner());
    let line = line(
        &waits.active,
        Instant::now(),
        FRAMES[waits.frame % FRAMES.len()],
    );
    let Some(line) = line.filter(|_| waits::drawable()) else {
        if waits.drawn {
            clear(&mut waits);
        }
        return;
    };
    waits.frame += 1;
    let mut stderr = std::io::stderr().lock();
    let drawn = write!(stderr, "\r\x1b[2K{}", paint_err(Style::Dim, &line))
        .and_then(|()| stderr.flush())
        .is_ok();
    waits.drawn = drawn;
}

/// The line for `active` waits at `now`: the oldest, if it has lasted
/// [`SHOW_AFTER`], with how many others are under way.
fn line(active: &[(u64, String, Instant)], now: Instant, frame: char) -> Option<String> {
    let (_, what, since) = active.iter().min_by_key(|(_, _, since)| *since)?;
    let waited = now.saturating_duration_since(*since);
    if waited < SHOW_AFTER {
        return None;
    }
    let others = match active.len() - 1 {
        0 => String::new(),
        1 => " and 1 more".to_owned(),
        n => format!(" and {n} more"),
    };
    Some(format!(
        "{frame} waiting for {what}{others} ({} s)",
        waited.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_shown_once_it_has_lasted_and_names_the_others() {
        let now = Instant::now();
        let at = |secs: u64| now - Duration::from_secs(secs);
        assert_eq!(line(&[], now, '⠋'), None);
        assert_eq!(
            line(&[(1, "wrangler d1 export".into(), at(1))], now, '⠋'),
            None
        );
        assert_eq!(
            line(&[(1, "wrangler d1 export".into(), at(3))], now, '⠋').as_deref(),
            Some("⠋ waiting for wrangler d1 export (3 s)")
        );
        assert_eq!(
            line(
                &[
                    (2, "b".into(), at(1)),
                    (1, "a".into(), at(12)),
                    (3, "c".into(), at(0))
                ],
                now,
                '⠙'
            )
            .as_deref(),
            Some("⠙ waiting for a and 2 more (12 s)")
        );
    }

    #[test]
    fn text_is_painted_only_where_colour_is_on() {
        assert_eq!(paint_if(false, Style::Red, "error"), "error");
        assert_eq!(
            paint_if(true, Style::Red, "error"),
            "\x1b[1;31merror\x1b[0m"
        );
        assert_eq!(
            report_line_if(false, "✅ AUTH: applied"),
            "✅ AUTH: applied"
        );
        assert_eq!(
            report_line_if(true, "✅ AUTH: applied"),
            "\x1b[32m✅ AUTH: applied\x1b[0m"
        );
        assert_eq!(
            report_line_if(true, "❌ AUTH: failed"),
            "\x1b[1;31m❌ AUTH: failed\x1b[0m"
        );
        assert_eq!(
            report_line_if(true, "=== AUTH DATABASE ==="),
            "\x1b[1m=== AUTH DATABASE ===\x1b[0m"
        );
        assert_eq!(
            report_line_if(true, "   v5 0005_x (1 ms)"),
            "   v5 0005_x (1 ms)"
        );
    }
}

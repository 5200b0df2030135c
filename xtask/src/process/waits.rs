//! Waits announce themselves here, so that a person at a terminal sees
//! something during each one: the command line installs a display (a line
//! on stderr that shows what is awaited and for how long, once a wait has
//! lasted a couple of seconds); without one, as in the web UI, in tests and
//! when piped, a wait costs nothing.
//!
//! The process layer announces every captured command; the parts that wait
//! otherwise (the runner's batches, the API's polls, a lock held elsewhere)
//! announce their own waits with [`waiting`].

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// What a display gives for a wait: it lasts while the wait does.
pub type Shown = Box<dyn Any + Send>;

static DISPLAY: OnceLock<fn(String) -> Shown> = OnceLock::new();

/// Shows every wait from now on with `display`, which is given what the wait
/// is for and returns what ends its showing when dropped. Once per process.
pub fn show_with(display: fn(String) -> Shown) {
    DISPLAY.set(display).ok();
}

/// One wait, shown until this is dropped.
#[must_use = "the wait is shown while this lives"]
pub struct Waiting(#[allow(dead_code)] Option<Shown>);

/// A wait for `what` (called only when a display is installed), shown until
/// the returned guard is dropped.
pub fn waiting(what: impl FnOnce() -> String) -> Waiting {
    Waiting(DISPLAY.get().map(|display| display(what())))
}

/// Something that writes to the terminal itself while it lasts (a build
/// whose output streams to ours): no wait is drawn meanwhile.
static HIDDEN: AtomicUsize = AtomicUsize::new(0);

/// Keeps waits from being drawn until dropped.
#[must_use = "waits are hidden while this lives"]
pub struct Hidden(());

impl Drop for Hidden {
    fn drop(&mut self) {
        HIDDEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Hides every wait's line while the returned guard lives: for a program
/// whose own output goes to the terminal.
pub fn hidden() -> Hidden {
    HIDDEN.fetch_add(1, Ordering::SeqCst);
    Hidden(())
}

/// Whether waits may be drawn now.
pub fn drawable() -> bool {
    HIDDEN.load(Ordering::SeqCst) == 0
}

/// A command as a wait names it: the program's name and its leading words
/// before the first option (`wrangler d1 execute nanotype-auth`).
pub fn label(program: &std::path::Path, args: &[std::ffi::OsString]) -> String {
    let name = program
        .file_name()
        .map_or_else(|| program.to_string_lossy(), |name| name.to_string_lossy());
    let words = args
        .iter()
        .map(|arg| arg.to_string_lossy())
        .take_while(|arg| !arg.starts_with('-'))
        .filter(|arg| !arg.contains('/'))
        .take(3);
    std::iter::once(name)
        .chain(words)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_named_by_its_program_and_leading_words() {
        let args = |words: &[&str]| words.iter().map(Into::into).collect::<Vec<_>>();
        assert_eq!(
            label(
                "/w/node_modules/.bin/wrangler".as_ref(),
                &args(&[
                    "d1",
                    "execute",
                    "nanotype-auth",
                    "--local",
                    "--file",
                    "x.sql"
                ])
            ),
            "wrangler d1 execute nanotype-auth"
        );
        assert_eq!(
            label(
                "node".as_ref(),
                &args(&["/w/cli.js", "d1", "export", "db", "x"])
            ),
            "node d1 export db"
        );
        assert_eq!(label("git".as_ref(), &args(&["--version"])), "git");
    }
}

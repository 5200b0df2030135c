//! Says, on the terminal, that the xtask is being compiled. `cargo migrate`
//! and `cargo xtask` run `cargo run --quiet`, which keeps every later run
//! silent but would also hide a first build of a minute or more (and a
//! rebuild after the sources change): cargo runs this script at the start of
//! such a build, before the dependencies are done, and it writes one line to
//! the controlling terminal. Without one (CI, a pipe) it says nothing.

use std::io::Write;

fn main() {
    // Run again whenever the xtask's sources change: those builds take a
    // while too.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        let _ = writeln!(
            tty,
            "Compiling the xtask (cargo migrate, cargo xtask): a minute or two the first time, seconds after a change; runs after that start at once."
        );
    }
}

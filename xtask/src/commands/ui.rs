//! `migrate ui`: builds the web UI (the `migrate-ui` crate, in `xtask/ui`)
//! and runs its binary in the foreground, with the same options.

use anyhow::{bail, Result};

use crate::args::Global;
use crate::flags;
use crate::process::cargo_build::build_ui as build;
use crate::process::Cmd;

impl flags::Ui {
    pub fn run(self, global: &Global) -> Result<()> {
        let server = build()?;
        // The binary itself, not `cargo run`: so that our signals reach it
        // (see `Cmd::foreground`), and so that it starts in this process's
        // folder, where the relative paths on the command line were written.
        // They are passed on made absolute as well (`Global::to_args`): the
        // UI serves exactly the project every other `migrate` command would.
        let mut command = Cmd::new(server)
            .args(global.to_args())
            .args(["--port".to_owned(), self.port.to_string()]);
        if self.open {
            command = command.arg("--open");
        }
        match command.foreground()? {
            // Stopped by Ctrl-C, SIGTERM or SIGHUP: the way it is meant to end.
            0 | 129 | 130 | 143 => Ok(()),
            code => bail!("the web UI exited with status {code}"),
        }
    }
}

//! `migrate ui`: builds and starts the web UI (the `migrate-ui` crate, in
//! `xtask/ui`) in the foreground, with the same options.

use anyhow::{bail, Result};

use crate::flags::{self, Global};
use crate::migrate::project::workspace_root;
use crate::process::Cmd;

impl flags::Ui {
    pub fn run(self, global: &Global) -> Result<()> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Cmd::new(cargo)
            .args(["run", "--quiet", "--package", "migrate-ui", "--"])
            .args(global.to_args())
            .args(["--port".to_owned(), self.port.to_string()])
            .dir(workspace_root());
        if self.open {
            command = command.arg("--open");
        }
        match command.foreground()? {
            // Stopped by Ctrl-C or SIGTERM: the way it is meant to end.
            0 | 130 | 143 => Ok(()),
            code => bail!("the web UI exited with status {code}"),
        }
    }
}

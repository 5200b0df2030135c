//! `xtask build-worker`: builds `worker/` to wasm for wrangler.

use anyhow::{bail, Result};

use crate::flags;

impl flags::BuildWorker {
    pub fn run(self) -> Result<()> {
        bail!("build-worker is not built yet")
    }
}

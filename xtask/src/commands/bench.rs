//! `xtask bench`: our runner against wrangler's own `d1 migrations`.

use anyhow::{bail, Result};

use crate::flags;

impl flags::Bench {
    pub fn run(self) -> Result<()> {
        bail!("bench is not built yet")
    }
}

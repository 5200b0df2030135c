//! `xtask release`: the whole chain from check to smoke check.

use anyhow::{bail, Result};

use crate::flags;

impl flags::Release {
    pub fn run(self) -> Result<()> {
        bail!("release is not built yet")
    }
}

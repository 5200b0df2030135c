//! `cloudflare-double`: serves the Cloudflare API double until killed; the first line of stdout is
//! `CLOUDFLARE_API_BASE_URL=http://127.0.0.1:PORT/client/v4`.

use std::io::Write;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let options = cloudflare_double::Options::parse();
    let double = cloudflare_double::serve(options)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "CLOUDFLARE_API_BASE_URL={}", double.api_base_url())?;
    stdout.flush()?;
    drop(stdout);
    double.wait();
    Ok(())
}

//! Remote mode, end to end: the real `xtask` binary and the real wrangler,
//! whose real remote code path talks to the Cloudflare API double on 127.0.0.1.
//! With a token and an account the xtask speaks the API itself; the tests
//! of wrangler's own failures ask for the wrangler path
//! (`MIGRATE_REMOTE_VIA=wrangler`). The direct path's retries are in
//! `remote_api.rs`.

use crate::common::*;
use cloudflare_double::{serve, Double, Options};

mod backups;
mod faults;
mod runs;

pub(crate) const TOKEN: &str = "remote-test-token-8c1f2e";
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub(crate) const RR: &str = "READ_REPLICA";
pub(crate) const AUTH: &str = "AUTH";

pub(crate) fn double(options: Options) -> Double {
    serve(Options {
        quiet: true,
        ..options
    })
    .expect("the double starts")
}

fn env(double: &Double) -> Vec<(&'static str, String)> {
    vec![
        ("CLOUDFLARE_API_BASE_URL", double.api_base_url()),
        ("CLOUDFLARE_API_TOKEN", TOKEN.to_owned()),
        ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT.to_owned()),
        ("WRANGLER_HIDE_BANNER", "true".to_owned()),
    ]
}

pub(crate) fn remote(p: &Project, double: &Double, args: &[&str]) -> Run {
    remote_with(p, double, args, &[])
}

pub(crate) fn remote_with(
    p: &Project,
    double: &Double,
    args: &[&str],
    extra: &[(&str, &str)],
) -> Run {
    let env = env(double);
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    let mut args = args.to_vec();
    args.push("--remote");
    p.migrate_with(&args, &all)
}

/// The databases' newest versions as the double's SQLite files hold them.
fn held(p: &Project, cloud: &Double) -> (Vec<u64>, Vec<u64>) {
    (
        remote_versions(p, cloud, RR),
        remote_versions(p, cloud, AUTH),
    )
}

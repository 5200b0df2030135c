//! End to end: the real `xtask` binary and the real wrangler on local D1
//! (miniflare) in temp folders, the Cloudflare API double for remote paths,
//! looking inside the databases afterwards. One test binary, so that its
//! tests share the machine's cores from the first to the last.
//!
//! The engine's logic (sessions, locks, the cache guard, settling, failure
//! location) is tested without node in `src/migrate/run/tests.rs`.

mod common;

mod data_safety;
mod flow;
mod interop;
mod interrupts;
mod notify;
mod reads;
mod release;
mod remote;
mod remote_api;
mod repairs;
mod restore;
mod safety;
mod team;
mod terminal;
mod validation;
mod worker;
mod workflows;
mod writes;

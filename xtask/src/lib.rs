//! The migration runner and release tooling for this Workers app's D1 databases.
//!
//! Three layers, each using only the ones below it:
//! - [`commands`] and [`tasks`]: the command line's edge. `commands` are the
//!   `migrate` subcommands, turning flags into the engine's types and its
//!   events into output; `tasks` are the other `cargo xtask` jobs (release,
//!   build-worker, bench) and the smoke check.
//! - [`migrate`]: the engine, a library that prints nothing: config, sources,
//!   SQL, plans, ledgers, locks, schema, backups and the run, reporting
//!   through [`migrate::events`]; it talks to D1 through [`migrate::d1::D1`].
//! - [`wrangler`] (the D1 of real databases), [`process`] (every program
//!   started), [`http`], [`interrupt`] and [`output`].

pub mod cloudflare;
pub mod commands;
pub mod flags;
pub mod http;
pub mod interrupt;
pub mod migrate;
pub mod notify;
pub mod output;
pub mod process;
pub mod tasks;
pub mod text;
pub mod wrangler;

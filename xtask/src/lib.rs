//! The migration runner and release tooling for this Workers app's D1 databases.
//!
//! Layers, each using only the ones below it (drawn in `docs/architecture.md`):
//! - the edges: [`commands`] (the `migrate` subcommands, with [`flags`] and
//!   the shared options in [`args`]) and [`tasks`] (release, build-worker,
//!   bench, test); the web UI is the `migrate-ui` crate beside this one.
//! - [`jobs`]: a run or a restore as a caller starts it, then its run log
//!   line and notification.
//! - [`migrate`]: the engine, a library that prints nothing and knows no
//!   command line, reporting through [`migrate::events`] and failing with
//!   [`migrate::Failure`]s; it talks to D1 through [`migrate::D1`], which
//!   [`wrangler`] and [`cloudflare`] implement.
//! - below: [`notify`], [`output`], [`process`], [`http`], [`interrupt`],
//!   [`text`].

pub mod args;
pub mod cloudflare;
pub mod commands;
pub mod flags;
pub mod help_examples;
pub mod http;
pub mod interrupt;
pub mod jobs;
pub mod migrate;
pub mod notify;
pub mod output;
pub mod process;
pub mod tasks;
pub mod text;
pub mod wrangler;

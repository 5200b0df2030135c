//! The migration runner and release tooling for this Workers app's D1 databases.
//!
//! `main.rs` parses the command line and dispatches to [`commands`]; everything
//! else is a library so the pure planning code can be tested on its own.

pub mod backup;
pub mod commands;
pub mod config;
pub mod flags;
pub mod hint;
pub mod history;
pub mod interrupt;
pub mod local_d1;
pub mod lock;
pub mod migrator;
pub mod output;
pub mod plan;
pub mod project;
pub mod reaper;
pub mod rehearsal;
pub mod schema;
pub mod smoke;
pub mod source;
pub mod sql;
pub mod tables;
pub mod tracking;
pub mod wrangler;

//! The nanotype Workers app, in Rust (workers-rs).
//!
//! Routes:
//!
//! | route | answers |
//! | --- | --- |
//! | `GET /health` | each database's schema version against the one this build expects (200, or 503 when behind) |
//! | `GET /tasks[?status=S]` | the API key owner's tasks from READ_REPLICA (Bearer key checked in AUTH) |
//! | `GET /rooms/:room_id/access` | the caller's role in a room, from AUTH |
//!
//! Everything that can be decided without the Workers runtime (routing,
//! parsing the expected schema versions, the health report and its status,
//! key hashing, bearer parsing, role checks, the replies) lives in the modules
//! below, compiled for every target and tested on the host. The fetch handler
//! and the D1 queries are in `app`, compiled for wasm32 only; `cargo xtask
//! build-worker` builds it and bakes in the expected schema versions.

pub mod auth;
pub mod health;
pub mod reply;
pub mod routes;
pub mod tasks;

#[cfg(target_arch = "wasm32")]
mod app;

/// The D1 binding with API keys, rooms and room permissions.
pub const AUTH: &str = "AUTH";
/// The D1 binding with tasks and their vectors.
pub const READ_REPLICA: &str = "READ_REPLICA";

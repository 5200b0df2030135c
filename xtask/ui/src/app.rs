//! What the endpoints are given and what they answer: the server's state
//! ([`App`]: its options, token and the run in progress), a request as an
//! endpoint sees it ([`Call`]) and an answer ([`Reply`]).

use std::sync::Arc;

use axum::http::Method;
use serde_json::{json, Value};
use xtask::args::Global;
use xtask::migrate::d1::Target;
use xtask::migrate::Paths;

use crate::runs::{Run, Runs};

/// The server: its options, token, and the run in progress.
pub struct App {
    /// The options it was started with (target, config, `--db`, …).
    pub global: Global,
    pub paths: Paths,
    pub target: Target,
    pub(crate) token: String,
    pub(crate) port: u16,
    pub runs: Runs,
}

/// An answer.
pub enum Reply {
    Json(u16, Value),
    /// A page asset: its type and text.
    Asset(&'static str, &'static str),
    /// A redirect to a path, setting a cookie.
    Redirect(String, String),
    Events(Arc<Run>),
}

/// A request as the endpoints see it.
pub struct Call<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub(crate) query: Vec<(String, String)>,
    pub body: String,
}

impl Call<'_> {
    /// A query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A JSON error answer.
pub fn error(status: u16, message: impl AsRef<str>) -> Reply {
    Reply::Json(
        status,
        json!({"error": xtask::process::redact(message.as_ref())}),
    )
}

impl App {
    pub fn new(global: Global, paths: Paths, target: Target, token: String, port: u16) -> App {
        App {
            global,
            paths,
            target,
            token,
            port,
            runs: Runs::default(),
        }
    }
}

//! Sending a request on a thread of its own (a read is given up at a stop),
//! and reading Cloudflare's answers: their errors, a job's errors, excerpts.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use serde_json::Value;

use crate::http;
use crate::migrate::d1::Call;

/// Sends `request` (its body to `to_file` when given) on a thread of its
/// own. A read is given up as soon as the run is stopped (Ctrl-C), as a
/// wrangler process would be ended; the request is left to its timeout
/// and the run goes on to give its locks back. Anything else is waited for.
pub(super) fn send(
    request: http::Request,
    to_file: Option<&Path>,
    call: Call,
) -> Result<http::Reply> {
    let to_file = to_file.map(Path::to_path_buf);
    let sending = std::thread::Builder::new()
        .name("d1-api".into())
        .spawn(move || match to_file {
            Some(file) => request.send_to_file(&file),
            None => request.send(),
        })
        .context("cannot start a thread for an HTTP request")?;
    loop {
        if sending.is_finished() {
            return sending
                .join()
                .unwrap_or_else(|_| Err(anyhow!("the HTTP request's thread panicked")));
        }
        if call == Call::Read {
            if let Some(stop) = crate::interrupt::requested() {
                return Err(crate::interrupt::Interrupted(stop))
                    .context("the request was abandoned");
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first error of an API envelope (`{"errors": [{"message": …}]}`).
pub(super) fn error_message(reply: &http::Reply) -> Option<String> {
    let envelope: Value = serde_json::from_str(&reply.body).ok()?;
    let errors = envelope.get("errors")?.as_array()?;
    let messages: Vec<&str> = errors
        .iter()
        .filter_map(|e| e.get("message").and_then(Value::as_str))
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

/// True when the envelope says `"success": false`.
pub(super) fn reply_says_failure(reply: &http::Reply) -> bool {
    serde_json::from_str::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("success").cloned())
        == Some(Value::Bool(false))
}

/// The errors of a job's answer (`errors`, else `error`).
pub(super) fn job_errors(answer: &Value) -> String {
    let listed: Vec<&str> = answer
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match listed.is_empty() {
        false => listed.join("\n"),
        true => answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("the job failed without saying why")
            .to_owned(),
    }
}

pub(super) fn excerpt(body: &str) -> String {
    crate::process::truncate(body.trim(), 500).to_owned()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encodes a query value.
pub(super) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

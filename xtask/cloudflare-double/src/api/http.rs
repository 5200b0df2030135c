//! Requests and replies independent of the HTTP library, Cloudflare's JSON envelopes and error
//! shapes, and the small request-parsing helpers every endpoint shares.

use serde::Serialize;
use serde_json::{json, Value};

use crate::d1::ApiError;

/// A request, independent of the HTTP library.
#[derive(Clone, Default)]
pub struct Req {
    pub method: String,
    /// Path and query as sent (`/client/v4/...?...`).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Req {
    /// Header values are left out: one of them is the API token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Req")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response, independent of the HTTP library.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        }
    }

    pub(super) fn text(status: u16, text: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: text.as_bytes().to_vec(),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    result: &'a T,
    success: bool,
    errors: [(); 0],
    messages: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    result_info: Option<Value>,
}

/// `{"result": …, "success": true, "errors": [], "messages": []}`.
pub(super) fn ok(result: &impl Serialize) -> Reply {
    Reply::json(
        200,
        &Envelope {
            result,
            success: true,
            errors: [],
            messages: [],
            result_info: None,
        },
    )
}

pub(super) fn ok_list(result: &[Value], info: Value) -> Reply {
    Reply::json(
        200,
        &Envelope {
            result: &result,
            success: true,
            errors: [],
            messages: [],
            result_info: Some(info),
        },
    )
}

/// Cloudflare's error envelope.
pub fn error_reply(e: &ApiError) -> Reply {
    Reply::json(
        e.status,
        &json!({
            "success": false,
            "errors": [{ "code": e.code, "message": e.message }],
            "messages": [],
            "result": null,
        }),
    )
}

pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(400, 7400, message)
}

pub(super) fn no_route(path: &str) -> ApiError {
    ApiError::new(
        404,
        7003,
        format!("Could not route to {path}, perhaps your object identifier is invalid?"),
    )
}

pub(super) fn body_json(req: &Req) -> Result<Value, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| bad_request(format!("The request is malformed: invalid JSON body: {e}")))
}

pub(super) fn query_param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

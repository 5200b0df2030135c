//! The server's rules, before any endpoint answers:
//!
//! 1. the `Host` header must be `127.0.0.1:PORT` or `localhost:PORT` (a page
//!    on another name that resolves here, DNS rebinding, gets 403);
//! 2. every request needs the token: the `migrate_ui` cookie (HttpOnly,
//!    SameSite=Strict, set by opening `/?token=TOKEN`) or `Authorization:
//!    Bearer TOKEN`; otherwise 401;
//! 3. what changes state (a run, a restore) needs POST and an `Origin` of
//!    this server; otherwise 403.
//!
//! Every answer forbids caching, framing, sniffing and referrers (the first
//! address carries the token), and allows scripts and styles from here only.
//! HTTP itself is axum's (on hyper and tokio); the endpoints are blocking
//! code (they start wrangler) and run on tokio's blocking threads.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;

use crate::app::{error, App, Call, Reply};
use crate::runs::Run;

const COOKIE: &str = "migrate_ui";

/// The largest request body read (the API's bodies are a few bytes).
const MAX_BODY: usize = 64 * 1024;

/// The endpoints that change state: POST only, same origin only.
const STATE_CHANGING: [&str; 4] = ["/api/rehearse", "/api/up", "/api/down", "/api/restore"];

impl App {
    /// Answers one request: the rules and the endpoint run on a blocking
    /// thread; a run's events stream from one.
    pub async fn handle(self: Arc<Self>, request: axum::extract::Request) -> Response {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        let url = parts
            .uri
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned());
        let method = parts.method.clone();
        let app = Arc::clone(&self);
        let reply = tokio::task::spawn_blocking(move || {
            app.check_and_route(&parts.method, &url, &parts.headers, body)
        })
        .await
        .unwrap_or_else(|err| error(500, format!("the request failed: {err}")));
        let response = match reply {
            Reply::Events(run) => stream(run),
            reply => respond(reply),
        };
        tracing::debug!(%method, uri = %parts.uri.path(), status = response.status().as_u16(), "answered");
        response
    }

    fn check_and_route(
        &self,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        body: String,
    ) -> Reply {
        let header = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let host = header(header::HOST).unwrap_or_default();
        if ![
            format!("127.0.0.1:{}", self.port),
            format!("localhost:{}", self.port),
        ]
        .contains(&host)
        {
            return error(
                403,
                format!(
                    "this server answers to 127.0.0.1:{} only, not to {host:?}",
                    self.port
                ),
            );
        }
        let (path, query) = match url.split_once('?') {
            Some((path, query)) => (path, decode_query(query)),
            None => (url, Vec::new()),
        };
        let call = Call {
            method,
            path,
            query,
            body,
        };
        // Opening the printed address: the token becomes a cookie, and the
        // address without it replaces it in the history.
        if let Some(given) = call.param("token") {
            if call.path == "/" && *call.method == Method::GET {
                if !same(given, &self.token) {
                    return error(401, "wrong token: open the address the server printed");
                }
                let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", self.token);
                return Reply::Redirect("/".into(), cookie);
            }
        }
        let bearer = header(header::AUTHORIZATION)
            .and_then(|value| value.strip_prefix("Bearer ").map(str::to_owned));
        let cookie = header(header::COOKIE).and_then(|cookies| {
            cookies.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == COOKIE).then(|| value.to_owned())
            })
        });
        let authorised = [bearer, cookie]
            .iter()
            .flatten()
            .any(|given| same(given, &self.token));
        if !authorised {
            return error(
                401,
                "this needs the token: open the address `cargo migrate ui` printed, or send `Authorization: Bearer TOKEN`",
            );
        }
        if STATE_CHANGING.contains(&call.path) {
            if *call.method != Method::POST {
                return error(403, format!("{} changes state: POST only", call.path));
            }
            let origin = header(header::ORIGIN).unwrap_or_default();
            if ![
                format!("http://127.0.0.1:{}", self.port),
                format!("http://localhost:{}", self.port),
            ]
            .contains(&origin)
            {
                return error(
                    403,
                    format!(
                        "a request that changes state must come from this server's page (Origin {origin:?})"
                    ),
                );
            }
        }
        crate::api::route(self, &call)
    }
}

/// Compares without stopping at the first difference.
fn same(given: &str, token: &str) -> bool {
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// What every answer carries.
const COMMON_HEADERS: [(&str, &str); 5] = [
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
];

fn build(status: u16, content_type: &str, extra: &[(&str, &str)], body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in COMMON_HEADERS
        .iter()
        .chain([("content-type", content_type)].iter())
        .chain(extra)
    {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

fn respond(reply: Reply) -> Response {
    match reply {
        Reply::Json(status, value) => build(
            status,
            "application/json; charset=utf-8",
            &[],
            Body::from(value.to_string()),
        ),
        Reply::Asset(content_type, text) => build(200, content_type, &[], Body::from(text)),
        Reply::Redirect(to, cookie) => build(
            303,
            "text/plain; charset=utf-8",
            &[("location", &to), ("set-cookie", &cookie)],
            Body::empty(),
        ),
        Reply::Events(_) => unreachable!("streams are answered by `stream`"),
    }
}

/// Answers with the run's events as server-sent events, each sent as it
/// happens (from a thread following the run), until the run is over or the
/// page goes away.
fn stream(run: Arc<Run>) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<String>(64);
    std::thread::spawn(move || {
        run.follow(|message| sender.blocking_send(message.to_owned()).is_ok());
    });
    let messages = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let message = receiver.recv().await?;
        Some((Ok::<_, Infallible>(message), receiver))
    });
    build(
        200,
        "text/event-stream; charset=utf-8",
        &[],
        Body::from_stream(messages),
    )
}

/// `a=1&b=x%20y` as pairs, `+` and `%XX` decoded.
fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |byte: u8| (byte as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(high), Some(low)) if hex(high).is_some() && hex(low).is_some() => {
                out.push((hex(high).unwrap_or(0) * 16 + hex(low).unwrap_or(0)) as u8);
                i += 2;
            }
            (byte, _, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_decoded() {
        assert_eq!(
            decode_query("db=AUTH&version=5&q=a+b%20c%2F&bad=%zz&end=%4"),
            vec![
                ("db".into(), "AUTH".into()),
                ("version".into(), "5".into()),
                ("q".into(), "a b c/".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%4".into()),
            ]
        );
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abcd", "abcd"));
        assert!(!same("abce", "abcd"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "abcd"));
    }
}

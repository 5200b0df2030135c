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

use std::io::Write;
use std::sync::Arc;

use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response};
use xtask::flags::Global;
use xtask::migrate::d1::Target;
use xtask::migrate::project::Paths;

use crate::runs::{Run, Runs};

const COOKIE: &str = "migrate_ui";

/// The endpoints that change state: POST only, same origin only.
const STATE_CHANGING: [&str; 4] = ["/api/rehearse", "/api/up", "/api/down", "/api/restore"];

/// The server: its options, token, and the run in progress.
pub struct App {
    /// The options it was started with (target, config, `--db`, …).
    pub global: Global,
    pub paths: Paths,
    pub target: Target,
    token: String,
    port: u16,
    pub runs: Runs,
}

/// An answer.
pub enum Reply {
    Json(u16, Value),
    /// A page asset: its type and text.
    Asset(&'static str, &'static str),
    Redirect(String, Vec<Header>),
    Events(Arc<Run>),
}

/// A request as the endpoints see it.
pub struct Call<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    query: Vec<(String, String)>,
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

    /// Answers one request (on its own thread).
    pub fn handle(&self, mut request: Request) {
        let mut body = String::new();
        if request.as_reader().read_to_string(&mut body).is_err() {
            body.clear();
        }
        let reply = self.check_and_route(&request, body);
        let method = request.method().clone();
        let url = request.url().to_owned();
        let status = match reply {
            Reply::Events(run) => {
                stream(request, &run);
                200
            }
            reply => respond(request, reply),
        };
        let path = url.split('?').next().unwrap_or_default();
        tracing::debug!(%method, path, status, "answered");
    }

    fn check_and_route(&self, request: &Request, body: String) -> Reply {
        let header = |name: &str| {
            request
                .headers()
                .iter()
                .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
                .map(|h| h.value.as_str().to_owned())
        };
        let host = header("Host").unwrap_or_default();
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
        let (path, query) = match request.url().split_once('?') {
            Some((path, query)) => (path, decode_query(query)),
            None => (request.url(), Vec::new()),
        };
        let call = Call {
            method: request.method(),
            path,
            query,
            body,
        };
        // Opening the printed address: the token becomes a cookie, and the
        // address without it replaces it in the history.
        if let Some(given) = call.param("token") {
            if call.path == "/" && *call.method == Method::Get {
                if !same(given, &self.token) {
                    return error(401, "wrong token: open the address the server printed");
                }
                let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", self.token);
                return Reply::Redirect("/".into(), vec![header_of("Set-Cookie", &cookie)]);
            }
        }
        let bearer = header("Authorization")
            .and_then(|value| value.strip_prefix("Bearer ").map(str::to_owned));
        let cookie = header("Cookie").and_then(|cookies| {
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
            if *call.method != Method::Post {
                return error(403, format!("{} changes state: POST only", call.path));
            }
            let origin = header("Origin").unwrap_or_default();
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

fn header_of(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

/// What every answer carries.
fn common_headers() -> Vec<Header> {
    [
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    ]
    .iter()
    .map(|(name, value)| header_of(name, value))
    .collect()
}

fn respond(request: Request, reply: Reply) -> u16 {
    let (status, content_type, body, extra) = match reply {
        Reply::Json(status, value) => (
            status,
            "application/json; charset=utf-8",
            value.to_string(),
            Vec::new(),
        ),
        Reply::Asset(content_type, text) => (200, content_type, text.to_owned(), Vec::new()),
        Reply::Redirect(to, mut extra) => {
            extra.push(header_of("Location", &to));
            (303, "text/plain; charset=utf-8", String::new(), extra)
        }
        Reply::Events(_) => unreachable!("streams are answered by `stream`"),
    };
    let mut response = Response::from_string(body)
        .with_status_code(status)
        .with_header(header_of("Content-Type", content_type));
    for header in common_headers().into_iter().chain(extra) {
        response.add_header(header);
    }
    if let Err(err) = request.respond(response) {
        tracing::debug!("the answer could not be sent: {err}");
    }
    status
}

/// Answers with the run's events as server-sent events, each written (and
/// flushed) as a chunk of its own as it happens, until the run is over (the
/// last, empty chunk ends the answer) or the page goes away.
fn stream(request: Request, run: &Run) {
    let mut writer = request.into_writer();
    let mut head = String::from(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n",
    );
    for header in common_headers() {
        head.push_str(&format!("{}: {}\r\n", header.field, header.value));
    }
    head.push_str("\r\n");
    let mut send = |bytes: &[u8]| {
        writer
            .write_all(bytes)
            .and_then(|()| writer.flush())
            .is_ok()
    };
    if !send(head.as_bytes()) {
        return;
    }
    run.follow(|message| send(format!("{:x}\r\n{message}\r\n", message.len()).as_bytes()));
    send(b"0\r\n\r\n");
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

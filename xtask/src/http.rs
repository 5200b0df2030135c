//! The one HTTP client (ureq, with rustls for `https://`): the D1 REST API
//! ([`crate::cloudflare`]), webhooks, the smoke check's GET of `/health`, and
//! the tests' requests. Any status is an answer; only a failure to get one is
//! an error. One agent serves the whole process, so connections to the same
//! host are kept open and reused.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result};

/// An answer: its status, headers and body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A request: a method, a URL, headers and a body.
#[derive(Debug, Clone)]
pub struct Request {
    method: &'static str,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout: Duration,
    redirects: u32,
}

/// `GET url`.
pub fn get(url: &str) -> Request {
    Request::new("GET", url)
}

/// `POST url`.
pub fn post(url: &str) -> Request {
    Request::new("POST", url)
}

/// Any `method` on `url`.
pub fn request(method: &'static str, url: &str) -> Request {
    Request::new(method, url)
}

impl Request {
    fn new(method: &'static str, url: &str) -> Request {
        Request {
            method,
            url: url.to_owned(),
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(30),
            redirects: 10,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The body, sent as is (set `Content-Type` with [`Request::header`]).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// How long the whole exchange may take [default: 30 s].
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = timeout;
        self
    }

    /// Answers a redirect with the redirect itself, not where it leads.
    pub fn no_redirects(mut self) -> Request {
        self.redirects = 0;
        self
    }

    /// Sends it and reads the whole answer (at most 16 MiB).
    pub fn send(self) -> Result<Reply> {
        let shown = format!("{} {}", self.method, self.url);
        let (status, headers, mut response) = self.exchange()?;
        let body = response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_string()
            .with_context(|| format!("{shown}: the answer was cut off"))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Sends it and, when the answer is a success (2xx), writes its body to
    /// `file` as it arrives (any size); otherwise reads the body like
    /// [`Request::send`] and leaves `file` alone. The reply's body is empty
    /// on success.
    pub fn send_to_file(self, file: &Path) -> Result<Reply> {
        let shown = format!("{} {}", self.method, self.url);
        let (status, headers, mut response) = self.exchange()?;
        if !(200..300).contains(&status) {
            let body = response
                .body_mut()
                .with_config()
                .limit(16 * 1024 * 1024)
                .read_to_string()
                .unwrap_or_default();
            return Ok(Reply {
                status,
                headers,
                body,
            });
        }
        let mut out = std::fs::File::create(file)
            .with_context(|| format!("cannot create {}", file.display()))?;
        let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
        std::io::copy(&mut reader, &mut out)
            .with_context(|| format!("{shown}: the answer was cut off"))?;
        out.flush()
            .and_then(|()| out.sync_all())
            .with_context(|| format!("cannot write {}", file.display()))?;
        Ok(Reply {
            status,
            headers,
            body: String::new(),
        })
    }

    /// Sends it through the process's agent; returns the status, the
    /// headers and the response whose body is still to be read.
    fn exchange(self) -> Result<Answer> {
        let agent = agent();
        let shown = format!("{} {}", self.method, self.url);
        let mut request = ureq::http::Request::builder()
            .method(self.method)
            .uri(&self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let unsendable = || format!("{shown}: not a request that can be sent");
        let (timeout, redirects) = (self.timeout, self.redirects);
        let sent = match self.body {
            Some(body) => run(
                agent,
                request.body(body).with_context(unsendable)?,
                timeout,
                redirects,
            ),
            None => run(
                agent,
                request.body(()).with_context(unsendable)?,
                timeout,
                redirects,
            ),
        };
        let response = sent.with_context(|| format!("{shown} got no answer"))?;
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok((response.status().as_u16(), headers, response))
    }
}

/// Runs `request` through `agent` with this request's timeout and redirects.
fn run<S: ureq::AsSendBody>(
    agent: &ureq::Agent,
    request: ureq::http::Request<S>,
    timeout: Duration,
    redirects: u32,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let request = agent
        .configure_request(request)
        .timeout_global(Some(timeout))
        .max_redirects(redirects)
        .build();
    agent.run(request)
}

/// An answer whose body is still to be read: its status, its headers and
/// the response.
type Answer = (u16, Vec<(String, String)>, ureq::http::Response<ureq::Body>);

/// The process's one agent: any status is an answer, and idle connections
/// are kept for the next request to the same host.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("migrate/", env!("CARGO_PKG_VERSION")))
            .build()
            .into()
    })
}

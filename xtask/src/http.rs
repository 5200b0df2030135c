//! The one HTTP client (ureq, with rustls for `https://`): the smoke check's
//! GET of `/health`, and the tests' requests. Any status is an answer; only
//! a failure to get one is an error.

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

    /// Sends it and reads the whole answer.
    pub fn send(self) -> Result<Reply> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .max_redirects(self.redirects)
            .user_agent(concat!("migrate/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let shown = format!("{} {}", self.method, self.url);
        let mut request = ureq::http::Request::builder()
            .method(self.method)
            .uri(&self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let unsendable = || format!("{shown}: not a request that can be sent");
        let sent = match self.body {
            Some(body) => agent.run(request.body(body).with_context(unsendable)?),
            None => agent.run(request.body(()).with_context(unsendable)?),
        };
        let mut response = sent.with_context(|| format!("{shown} got no answer"))?;
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
        let body = response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_string()
            .with_context(|| format!("{shown}: the answer was cut off"))?;
        Ok(Reply {
            status: response.status().as_u16(),
            headers,
            body,
        })
    }
}

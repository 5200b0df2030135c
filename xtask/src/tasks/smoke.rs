//! The release's smoke check: a GET of a worker's `/health`.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::http;

/// A port on 127.0.0.1 that is free right now.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("cannot find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// Polls `url` until it answers (any status), `alive` says the server died,
/// or `timeout` passes.
pub fn wait_for_health(
    url: &str,
    timeout: Duration,
    mut alive: impl FnMut() -> bool,
) -> Result<(u16, String)> {
    let deadline = Instant::now() + timeout;
    loop {
        match get_health(url) {
            Ok(answer) => return Ok(answer),
            Err(err) if Instant::now() >= deadline => {
                bail!(
                    "{url} did not answer within {} s: {err:#}",
                    timeout.as_secs()
                )
            }
            Err(_) if !alive() => bail!("the server stopped before {url} answered"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// GETs `url` (`http://` or `https://`): its status and body.
pub fn get_health(url: &str) -> Result<(u16, String)> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("{url} is not an http:// or https:// URL");
    }
    let reply = http::get(url).header("Accept", "application/json").send()?;
    Ok((reply.status, reply.body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn gets_status_and_body_from_a_local_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                request.push(byte[0]);
            }
            assert!(String::from_utf8_lossy(&request).starts_with("GET /health HTTP/1.1"));
            stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n")
                .unwrap();
        });
        let (status, body) = get_health(&format!("http://127.0.0.1:{port}/health")).unwrap();
        server.join().unwrap();
        assert_eq!(status, 503);
        assert_eq!(body, "{\"a\":1}");
    }

    #[test]
    fn refuses_other_schemes() {
        assert!(get_health("ftp://x/health").is_err());
    }
}

//! The release's smoke check: a plain HTTP GET of a worker's `/health`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

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

/// GETs `url`: `http://` directly, `https://` through curl. Returns status and body.
pub fn get_health(url: &str) -> Result<(u16, String)> {
    match url.strip_prefix("http://") {
        Some(rest) => http_get(rest),
        None if url.starts_with("https://") => curl_get(url),
        None => bail!("{url} is not an http:// or https:// URL"),
    }
}

fn http_get(rest: &str) -> Result<(u16, String)> {
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream =
        TcpStream::connect(host).with_context(|| format!("cannot connect to {host}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: application/json\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    // workerd keeps the connection open for a while even after
    // `Connection: close`: stop once Content-Length bytes have arrived.
    let mut response = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut buffer)
            .context("the response was cut off")?;
        response.extend_from_slice(&buffer[..n]);
        if n == 0 || complete(&response) {
            break;
        }
    }
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("not an HTTP response")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status in the HTTP response")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

/// True once the headers and a body of the announced length have arrived
/// (or a chunked body's last chunk).
fn complete(response: &[u8]) -> bool {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let head = head.to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with("0\r\n\r\n");
    }
    head.lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|len| len.trim().parse::<usize>().ok())
        .is_some_and(|len| body.len() >= len)
}

/// Decodes a chunked body.
fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn curl_get(url: &str) -> Result<(u16, String)> {
    let output = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--max-time",
            "30",
            "--write-out",
            "\n%{http_code}",
            url,
        ])
        .output()
        .context("https smoke checks need curl on the PATH")?;
    let failed = || {
        format!(
            "curl could not GET {url}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
    };
    // curl still writes the status (000) when the request itself failed.
    if !output.status.success() {
        bail!("{}", failed());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let (body, status) = text.rsplit_once('\n').context("curl printed nothing")?;
    let status = status.trim().parse().with_context(failed)?;
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

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

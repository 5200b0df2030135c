//! The `cloudflare-double` binary: its first line, and its flags.

use super::*;

use std::io::{BufRead, BufReader};

#[test]
fn binary_prints_the_base_url_first() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cloudflare-double"))
        .args(["--port", "0", "--token", TOKEN, "--quiet", "--data-dir"])
        .arg(data.path())
        .args(["--database", &format!("db={DB_ID}"), "--fail", "list:1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the double");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let url = first
        .trim_end()
        .strip_prefix("CLOUDFLARE_API_BASE_URL=http://127.0.0.1:")
        .map(str::to_string);
    let port: Option<u16> = url
        .as_deref()
        .and_then(|u| u.strip_suffix("/client/v4"))
        .and_then(|p| p.parse().ok());
    let result = std::panic::catch_unwind(|| {
        let port = port.unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        let get = |path: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.write_all(
                format!("GET {path} HTTP/1.0\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").as_bytes(),
            )
            .expect("send");
            let mut r = String::new();
            s.read_to_string(&mut r).expect("read");
            r
        };
        let status = |r: &str| r.split(' ').nth(1).map(str::to_string);
        let first = get("/client/v4/accounts/x/d1/database");
        assert_eq!(
            status(&first).as_deref(),
            Some("500"),
            "--fail list:1: {first}"
        );
        let second = get("/client/v4/accounts/x/d1/database");
        assert_eq!(status(&second).as_deref(), Some("200"), "{second}");
        assert!(second.contains(DB_ID), "{second}");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

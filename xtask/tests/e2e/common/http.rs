//! HTTP for the tests: free ports, GET through the xtask's own client, and
//! `wrangler dev` running in the background.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::wrangler_command;

/// A free port on 127.0.0.1 (free when asked; the OS hands out another next time).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What an HTTP request got back.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON; panics (showing it) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {} {}", self.status, self.body))
    }
}

/// `GET http://127.0.0.1:PORT/PATH` with extra headers, through the
/// xtask's own HTTP client.
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<HttpReply> {
    let mut request = xtask::http::get(&format!("http://127.0.0.1:{port}{path}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let reply = request.send()?;
    Ok(HttpReply {
        status: reply.status,
        headers: reply.headers,
        body: reply.body,
    })
}

/// A running `wrangler dev` on 127.0.0.1, started by [`wrangler_dev`].
///
/// Dropping it stops wrangler and everything it started (workerd, esbuild):
/// they share a process group whose id is wrangler's pid, signalled by that id.
pub struct Dev {
    child: std::process::Child,
    pub port: u16,
    log: PathBuf,
}

/// Starts `wrangler dev --ip 127.0.0.1 --port <free> --config CONFIG` (local
/// D1 beside the config) and waits until it answers HTTP, for up to
/// `seconds`; its output goes to `dev-<port>.log` beside the config.
pub fn wrangler_dev(config: &Path, seconds: u64) -> Dev {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let port = free_port();
    let log = config.with_file_name(format!("dev-{port}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let child = wrangler_command()
        .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .arg("--config")
        .arg(config)
        .current_dir(config.parent().unwrap())
        .env("CI", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .process_group(0)
        .spawn()
        .unwrap();
    let mut dev = Dev { child, port, log };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if http_get(port, "/", &[]).is_ok() {
            return dev;
        }
        if let Ok(Some(status)) = dev.child.try_wait() {
            panic!(
                "wrangler dev exited ({status}) before answering:\n{}",
                dev.log()
            );
        }
        if std::time::Instant::now() >= deadline {
            panic!(
                "wrangler dev did not answer on port {port} within {seconds} s:\n{}",
                dev.log()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

impl Dev {
    /// `GET PATH` on the dev server; panics (with wrangler's log) when it does not answer.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpReply {
        http_get(self.port, path, headers)
            .unwrap_or_else(|err| panic!("GET {path}: {err}\nwrangler dev log:\n{}", self.log()))
    }

    /// Everything wrangler dev printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Dev {
    /// SIGTERM to the group, up to 5 s for wrangler to exit, then SIGKILL to
    /// whatever of the group is left. wrangler is reaped only at the end, so
    /// the group id cannot be reused by another process meanwhile.
    fn drop(&mut self) {
        let pid = self.child.id();
        assert!(pid > 1, "refusing to signal process group {pid}");
        let signal = |signal: &str| {
            // `--` before the negative id: see `kill_group`.
            Command::new("kill")
                .args([signal, "--", &format!("-{pid}")])
                .stderr(std::process::Stdio::null())
                .status()
                .ok();
        };
        // Exited (a zombie not reaped yet) or gone, without reaping it.
        let exited = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
            Err(_) => true,
        };
        signal("-TERM");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !exited() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        signal("-KILL");
        self.child.wait().ok();
    }
}

//! End-to-end tests: the real wrangler CLI (the version pinned in the workspace's package.json)
//! against the double on 127.0.0.1, each test with its own double on port 0 and its own temp dirs.

#[path = "wrangler/binary.rs"]
mod binary;
#[path = "wrangler/d1.rs"]
mod d1;
#[path = "wrangler/databases.rs"]
mod databases;
#[path = "wrangler/deploy.rs"]
mod deploy;
#[path = "wrangler/faults.rs"]
mod faults;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cloudflare_double::{serve, Double, Options};
use serde_json::Value;

const TOKEN: &str = "test-token-5f0c9d1e7a";
const ACCOUNT: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const DB_ID: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
const WRANGLER_TIMEOUT: Duration = Duration::from_secs(240);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The pinned wrangler (`npm ci` installs it, as `cargo xtask test` does;
/// the tests install nothing), as the program and the arguments that start
/// it: node on its CLI directly when the package has the usual layout, as
/// the xtask starts it, rather than through `bin/wrangler.js` (which only
/// starts a second node).
fn wrangler_bin() -> &'static (PathBuf, Vec<PathBuf>) {
    static BIN: OnceLock<(PathBuf, Vec<PathBuf>)> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = workspace_root();
        let bin = root.join("node_modules/.bin/wrangler");
        assert!(
            bin.exists(),
            "wrangler is not at {}: run `npm ci` in {} (or `cargo xtask test`, which does)",
            bin.display(),
            root.display()
        );
        let package = root.join("node_modules/wrangler");
        let cli = package.join("wrangler-dist/cli.js");
        let shim = std::fs::read_to_string(package.join("bin/wrangler.js")).unwrap_or_default();
        if cli.is_file() && shim.contains("\"--experimental-vm-modules\"") {
            let flags = ["--no-warnings", "--experimental-vm-modules"].map(PathBuf::from);
            return (PathBuf::from("node"), [&flags[..], &[cli]].concat());
        }
        (bin, Vec::new())
    })
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The JSON document wrangler printed (spinner lines may come before it on stdout).
    fn json(&self) -> Value {
        let start = self
            .stdout
            .lines()
            .scan(0usize, |pos, line| {
                let here = *pos;
                *pos += line.len() + 1;
                Some((here, line))
            })
            .find(|(_, line)| line.starts_with('[') || line.starts_with('{'))
            .map(|(pos, _)| pos)
            .unwrap_or_else(|| panic!("no JSON in wrangler's output:\n{}", self.all()));
        serde_json::from_str(&self.stdout[start..])
            .unwrap_or_else(|e| panic!("bad JSON ({e}):\n{}", self.all()))
    }

    fn assert_ok(&self, what: &str) {
        assert!(
            self.ok(),
            "{what} failed ({:?}):\n{}",
            self.code,
            self.all()
        );
    }
}

/// A temp project (wrangler.toml with a D1 binding, a trivial worker) and a double.
struct Project {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
    double: Double,
}

impl Project {
    fn new(configure: impl FnOnce(&mut Options)) -> Project {
        let mut options = Options::new(TOKEN);
        options.quiet = true;
        configure(&mut options);
        let double = serve(options).expect("starting the double");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("wrangler.toml"),
            format!(
                "name = \"double-test-worker\"\nmain = \"index.js\"\ncompatibility_date = \"2025-11-01\"\n\n\
                 [[d1_databases]]\nbinding = \"DB\"\ndatabase_name = \"db\"\ndatabase_id = \"{DB_ID}\"\n"
            ),
        )
        .expect("writing wrangler.toml");
        std::fs::write(
            dir.path().join("index.js"),
            "export default {\n  async fetch(request, env) {\n    return new Response(\"hello\");\n  },\n};\n",
        )
        .expect("writing index.js");
        let home = tempfile::tempdir().expect("tempdir");
        Project { dir, home, double }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("writing a project file");
        path
    }

    /// Runs wrangler with the double's URL, the right token and the project's config.
    fn wrangler(&self, args: &[&str]) -> Run {
        self.wrangler_with(args, &[("CLOUDFLARE_API_TOKEN", TOKEN)])
    }

    fn wrangler_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let (program, first) = wrangler_bin();
        let mut cmd = Command::new(program);
        cmd.args(first)
            .args(args)
            .arg("--config")
            .arg(self.path("wrangler.toml"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in [
            "CLOUDFLARE_API_TOKEN",
            "CLOUDFLARE_API_KEY",
            "CLOUDFLARE_EMAIL",
            "CF_API_TOKEN",
            "CF_API_KEY",
            "CF_EMAIL",
            "CF_ACCOUNT_ID",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("FORCE_COLOR", "0")
            // No banner, so no update check against the npm registry on every run.
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("WRANGLER_LOG_PATH", self.home.path().join("logs"))
            .env("CLOUDFLARE_API_BASE_URL", self.double.api_base_url())
            .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_with_timeout(cmd)
    }

    fn execute(&self, sql: &str) -> Run {
        self.wrangler(&[
            "d1",
            "execute",
            "DB",
            "--remote",
            "--json",
            "--command",
            sql,
        ])
    }

    fn import(&self, file: &Path) -> Run {
        let file = file.to_str().expect("utf-8 path");
        self.wrangler(&[
            "d1", "execute", "DB", "--remote", "--json", "--yes", "--file", file,
        ])
    }

    /// The rows of the last statement of a remote query.
    fn rows(&self, sql: &str) -> Vec<Value> {
        let run = self.execute(sql);
        run.assert_ok(sql);
        let json = run.json();
        let last = json
            .as_array()
            .and_then(|a| a.last())
            .expect("a result per statement");
        last["results"].as_array().cloned().unwrap_or_default()
    }

    /// The remote database's content, dumped straight from its SQLite file.
    fn dump(&self) -> String {
        let conn = rusqlite::Connection::open(self.double.database_path(DB_ID))
            .expect("opening the database file");
        cloudflare_double::dump::dump_lines(&conn, &Default::default())
            .expect("dump")
            .join("\n")
    }

    fn bookmark(&self) -> String {
        let run = self.wrangler(&["d1", "time-travel", "info", "DB", "--json"]);
        run.assert_ok("time-travel info");
        run.json()["bookmark"]
            .as_str()
            .expect("a bookmark")
            .to_string()
    }
}

fn run_with_timeout(mut cmd: Command) -> Run {
    let start = Instant::now();
    let mut child = cmd.spawn().expect("starting wrangler");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for wrangler") {
            break status;
        }
        if start.elapsed() > WRANGLER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wrangler ran longer than {WRANGLER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    }
}

/// A plain HTTP/1.0 request to the double; returns status and body.
fn http(double: &Double, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream =
        TcpStream::connect(("127.0.0.1", double.port())).expect("connecting to the double");
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("sending");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reading");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn statuses(double: &Double, kind: &str) -> Vec<u16> {
    double
        .requests()
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.status)
        .collect()
}

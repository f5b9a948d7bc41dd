//! `mcpmux auth` and OAuth in the CLI, against the Python SDK's MCP server with its built-in
//! authorization server (`tests/peers/py_oauth_server.py`): a login through `$BROWSER` (a script
//! that follows the redirects, as a browser would), the stored tokens used by later commands,
//! `auth status` and `auth logout`, and a run without a terminal that needs a login (exit 5,
//! naming `mcpmux auth login`). Nothing printed, even at `-vvv`, may contain a token. Every
//! command is bounded; the peer is killed and reaped at the end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");
const LIMIT: Duration = Duration::from_secs(60);
const INSTALL: &str = "install the interop peers with `bash scripts/install-peers.sh`";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the repository root")
        .to_path_buf()
}

/// The Python OAuth peer: killed and reaped on drop.
struct Peer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
    /// `.../mcp`
    url: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    fn start() -> Peer {
        let root = repo_root();
        let python = root.join(".peers/venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: {INSTALL}",
            python.display()
        );
        let mut child = StdCommand::new(python)
            .arg(root.join("tests/peers/py_oauth_server.py"))
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the Python OAuth peer");
        let stderr = child.stderr.take().expect("peer stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("py_oauth_server: listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the Python OAuth peer did not announce its port within 20 s");
            }
        };
        let base = url.strip_suffix("/mcp").expect("an /mcp URL").to_owned();
        Peer { child, base, url }
    }

    /// `GET /test/counters`, over a plain socket.
    fn counters(&self) -> Value {
        let addr = self.base.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).expect("connect to the peer");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        write!(
            s,
            "GET /test/counters HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let body = text.split("\r\n\r\n").nth(1).expect("a body");
        serde_json::from_str(body).expect("counters JSON")
    }
}

/// A private folder with the config, the token store and the `$BROWSER` script.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(url: &str) -> Setup {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = serde_json::json!({"mcpServers": {"oauthy": {"url": url}}});
        std::fs::write(dir.path().join("mcp.json"), config.to_string()).expect("config");
        // A "browser" that opens the URL and follows its redirects to the login callback.
        let script = dir.path().join("browser.sh");
        let python = repo_root().join(".peers/venv/bin/python");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nexec '{}' -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=20).read()' \"$1\"\n",
                python.display()
            ),
        )
        .expect("browser script");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Setup { dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("state/auth.json")
    }

    /// `mcpmux --config mcp.json ARGS` with a private HOME and token store, stdin not a terminal.
    fn mcpmux(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(MCPMUX);
        cmd.arg("--config")
            .arg(self.dir.path().join("mcp.json"))
            .args(args)
            .env("HOME", self.dir.path())
            .env("MCPMUX_TOKEN_STORE", self.store())
            .env("BROWSER", self.dir.path().join("browser.sh"))
            .env_remove("RUST_LOG")
            .env_remove("MCPMUX_CONFIG")
            .write_stdin("")
            .timeout(LIMIT);
        cmd
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every secret the store holds: access and refresh tokens, client secrets, DPoP keys.
fn secrets(store: &Path) -> Vec<String> {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(store).expect("the token store")).expect("JSON");
    let mut out = Vec::new();
    for t in doc["tokens"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        for k in ["access_token", "refresh_token", "dpop_key"] {
            if let Some(s) = t[k].as_str() {
                out.push(s.to_owned());
            }
        }
    }
    for r in doc["registrations"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        if let Some(s) = r["client_secret"].as_str() {
            out.push(s.to_owned());
        }
    }
    out
}

#[test]
fn login_through_the_browser_then_status_calls_and_logout_never_print_a_token() {
    let peer = Peer::start();
    let s = Setup::new(&peer.url);

    let login = s
        .mcpmux(&["-vvv", "auth", "login", "oauthy"])
        .output()
        .expect("run auth login");
    let printed = text(&login);
    assert!(login.status.success(), "auth login failed:\n{printed}");
    assert!(printed.contains("logged in to `oauthy`"), "{printed}");
    assert!(
        printed.contains("http://127.0.0.1:"),
        "the URL is printed too:\n{printed}"
    );
    let mode = std::fs::metadata(s.store())
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .expect("the store exists");
    assert_eq!(mode, 0o600);
    let secrets = secrets(&s.store());
    assert!(
        secrets.len() >= 2,
        "an access and a refresh token: {}",
        secrets.len()
    );
    let c = peer.counters();
    assert_eq!(c["registrations"], 1, "{c}");
    assert_eq!(c["authorizations"], 1, "{c}");

    let status = s
        .mcpmux(&["-vvv", "--json", "auth", "status"])
        .output()
        .expect("run auth status");
    let status_text = text(&status);
    assert!(status.status.success(), "{status_text}");
    let v: Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    assert_eq!(v[0]["server"], "oauthy", "{v}");
    assert_eq!(v[0]["logged_in"], true, "{v}");
    assert_eq!(v[0]["refreshable"], true, "{v}");
    assert!(
        v[0]["issuer"]
            .as_str()
            .is_some_and(|i| i.starts_with(&peer.base)),
        "{v}"
    );

    // A later command without a terminal uses the stored token: no new login.
    let call = s
        .mcpmux(&["-vvv", "call", "oauthy.echo", "--args", r#"{"text":"hi"}"#])
        .output()
        .expect("run call");
    let call_text = text(&call);
    assert!(call.status.success(), "{call_text}");
    assert!(
        String::from_utf8_lossy(&call.stdout).contains("hi"),
        "{call_text}"
    );
    assert_eq!(peer.counters()["authorizations"], 1);

    let logout = s
        .mcpmux(&["-vvv", "auth", "logout", "oauthy"])
        .output()
        .expect("run auth logout");
    let logout_text = text(&logout);
    assert!(logout.status.success(), "{logout_text}");
    assert!(
        logout_text.contains("logged out of `oauthy`"),
        "{logout_text}"
    );
    assert!(
        peer.counters()["revocations"].as_u64().unwrap_or(0) >= 1,
        "the refresh token was revoked at the authorization server:\n{logout_text}"
    );
    let after = s
        .mcpmux(&["--json", "auth", "status", "oauthy"])
        .output()
        .expect("run auth status");
    let v: Value = serde_json::from_slice(&after.stdout).expect("status JSON");
    assert_eq!(v[0]["logged_in"], false, "{v}");

    for (what, out) in [
        ("auth login", &printed),
        ("auth status", &status_text),
        ("call", &call_text),
        ("auth logout", &logout_text),
    ] {
        for secret in &secrets {
            assert!(
                !out.contains(secret.as_str()),
                "`{what}` printed a secret of the token store at -vvv"
            );
        }
    }
}

#[test]
fn a_run_without_a_terminal_that_needs_a_login_exits_5_naming_auth_login() {
    let peer = Peer::start();
    let s = Setup::new(&peer.url);
    let out = s
        .mcpmux(&["call", "oauthy.echo", "--args", r#"{"text":"hi"}"#])
        .env_remove("BROWSER")
        .output()
        .expect("run call");
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(5), "{printed}");
    assert!(printed.contains("mcpmux auth login oauthy"), "{printed}");
    assert_eq!(peer.counters()["authorizations"], 0, "no login was started");

    // The same under --json: the error object's kind is `auth`.
    let out = s
        .mcpmux(&[
            "--json",
            "call",
            "oauthy.echo",
            "--args",
            r#"{"text":"hi"}"#,
        ])
        .env_remove("BROWSER")
        .output()
        .expect("run call --json");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(v["error"]["kind"], "auth", "{}", text(&out));

    // `tools` reports the server as unavailable with the same hint, exit 5.
    let out = s
        .mcpmux(&["tools"])
        .env_remove("BROWSER")
        .output()
        .expect("run tools");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        text(&out).contains("mcpmux auth login oauthy"),
        "{}",
        text(&out)
    );
}

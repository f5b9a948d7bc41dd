//! The OAuth client against an authorization server the project did not write: the official
//! Python SDK's (`mcp` 2.3.0, pinned) built-in authorization-server routes — metadata, dynamic
//! client registration, `/authorize` with PKCE, `/token` (code and refresh grants), revocation —
//! and its bearer middleware, in `tests/peers/py_oauth_server.py`, whose in-memory provider
//! approves every login at once (the consent step) and counts what the authorization server
//! did. Every count asserted here is the provider's (`GET /test/counters`), not the client's.
//!
//! Real processes on 127.0.0.1: the Python peer, and for the restart and shared-store cases the
//! `oauth_call` example (a second mcpmux process). Every wait is bounded; every process is
//! killed and reaped at the end (checked under nextest). A missing peer fails with the install
//! command (`scripts/install-peers.sh`).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use mcpmux::auth::{FileTokenStore, HeadlessLogin, OAuthConfig, status};
use mcpmux::{ErrorKind, ProtocolVersion, Server};
use serde_json::{Value, json};

/// Bound on every test body.
const TEST_LIMIT: Duration = Duration::from_secs(30);

/// The Python OAuth peer; killed and reaped on drop.
struct Peer {
    child: Child,
    /// `http://127.0.0.1:PORT`: the issuer, and the base of the test routes.
    base: String,
    /// The MCP endpoint, `{base}/mcp`.
    url: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tests/peers/py_oauth_server.py --port 0 FLAGS` and waits (bounded) for the line
/// that announces its port.
fn start_peer(flags: &[&str]) -> Peer {
    let root = repo_root();
    let python = require_peer(root.join(".peers/venv/bin/python"));
    let script = require_peer(root.join("tests/peers/py_oauth_server.py"));
    let mut child = Command::new(python)
        .arg(script)
        .args(["--port", "0"])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Python OAuth peer");
    let stderr = child.stderr.take().expect("peer stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the announcement, then drains the rest so the peer never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("py_oauth_server: listening on ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(url.to_owned());
            } else if tx.is_some() {
                eprintln!("peer: {line}");
            }
        }
    });
    let url = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            let status = child.wait();
            panic!("the Python OAuth peer did not announce its port within 20 s ({status:?})");
        }
    };
    let base = url
        .strip_suffix("/mcp")
        .expect("the peer announces its /mcp URL")
        .to_owned();
    Peer { child, base, url }
}

fn http() -> reqwest::Client {
    // As mcpmux does before its first client (this one may come first).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest client")
}

impl Peer {
    /// What the authorization server's provider counted.
    async fn counters(&self) -> Value {
        let body = http()
            .get(format!("{}/test/counters", self.base))
            .send()
            .await
            .expect("GET /test/counters")
            .bytes()
            .await
            .expect("counters body");
        serde_json::from_slice(&body).expect("counters JSON")
    }

    async fn count(&self, name: &str) -> u64 {
        let c = self.counters().await;
        c[name]
            .as_u64()
            .unwrap_or_else(|| panic!("counter {name} in {c}"))
    }

    /// Access tokens issued from now on live `seconds`.
    async fn set_ttl(&self, seconds: u64) {
        let r = http()
            .post(format!("{}/test/ttl", self.base))
            .header("content-type", "application/json")
            .body(json!({ "seconds": seconds }).to_string())
            .send()
            .await
            .expect("POST /test/ttl");
        assert!(r.status().is_success(), "POST /test/ttl: {}", r.status());
    }

    /// Revokes every refresh token the authorization server issued; how many there were.
    async fn revoke_refresh_tokens(&self) -> u64 {
        let body = http()
            .post(format!("{}/test/revoke-refresh", self.base))
            .send()
            .await
            .expect("POST /test/revoke-refresh")
            .bytes()
            .await
            .expect("revoke answer");
        let v: Value = serde_json::from_slice(&body).expect("revoke answer JSON");
        v["revoked"].as_u64().expect("revoked count")
    }
}

/// A directory for one test's token store, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "mcpmux-oauth-interop-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create the test directory");
        TempDir(dir)
    }

    fn store(&self) -> PathBuf {
        self.0.join("auth.json")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An mcpmux handle on the peer with a file token store and the headless login.
fn client(url: &str, store: &Path) -> Server {
    client_with(url, store, None)
}

fn client_with(url: &str, store: &Path, version: Option<ProtocolVersion>) -> Server {
    let builder = Server::http(url);
    let builder = match version {
        Some(v) => builder.protocol_version(v),
        None => builder,
    };
    builder
        .name("py-oauth")
        .request_timeout(Duration::from_secs(20))
        .oauth(
            OAuthConfig::new()
                .login(HeadlessLogin::new())
                .store(FileTokenStore::new(store))
                .login_timeout(Duration::from_secs(20)),
        )
        .build()
        .expect("build the server handle")
}

async fn echo(server: &Server, text: &str) {
    let r = server
        .call_tool("echo", json!({ "text": text }))
        .await
        .expect("echo call");
    assert!(!r.is_error(), "{r:?}");
    assert_eq!(r.text(), text);
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
}

/// Sleeps until the stored access token has expired at the authorization server too (it
/// accepts a token through the second its `expires_at` names).
async fn wait_expired(url: &str, store: &Path) {
    let status = status(url, &FileTokenStore::new(store))
        .expect("read the token store")
        .expect("tokens stored for the server");
    let at = status.expires_at.expect("the token has an expiry");
    assert!(status.refreshable, "no refresh token stored");
    let until = Duration::from_secs(at + 1) + Duration::from_millis(100);
    let wait = until.saturating_sub(unix_now());
    assert!(
        wait < Duration::from_secs(10),
        "token lives too long: {wait:?}"
    );
    tokio::time::sleep(wait).await;
}

/// The `oauth_call` example (a second mcpmux process), built on first use.
fn oauth_call_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target profile dir");
        let bin = dir.join("examples").join("oauth_call");
        if !bin.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "mcpmux", "--example", "oauth_call"])
                .status()
                .expect("run cargo build for the oauth_call example");
            assert!(status.success(), "cargo build --example oauth_call failed");
        }
        assert!(bin.exists(), "example missing at {}", bin.display());
        bin
    })
    .clone()
}

/// Runs `oauth_call URL STORE CALLS [START_AT_MS]` processes side by side and waits (bounded)
/// for each; asserts each said `ok CALLS`.
async fn run_processes(url: &str, store: &Path, calls: usize, count: usize, start_at: Option<u64>) {
    let bin = oauth_call_bin();
    let mut children: Vec<Child> = (0..count)
        .map(|_| {
            let mut cmd = Command::new(&bin);
            cmd.arg(url).arg(store).arg(calls.to_string());
            if let Some(at) = start_at {
                cmd.arg(at.to_string());
            }
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start oauth_call")
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut pending: Vec<usize> = (0..count).collect();
    while !pending.is_empty() {
        if Instant::now() > deadline {
            for c in &mut children {
                let _ = c.kill();
                let _ = c.wait();
            }
            panic!("oauth_call processes did not finish within 20 s");
        }
        pending.retain(|&i| matches!(children[i].try_wait(), Ok(None)));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for c in children {
        let out = c.wait_with_output().expect("oauth_call output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.trim() == format!("ok {calls}"),
            "oauth_call failed ({}): stdout {stdout:?}, stderr {stderr:?}",
            out.status
        );
    }
}

/// First login: discovery, one dynamic registration, one authorization (approved by the
/// provider), one code exchange; the tools list and a call work; the store file is 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login() {
    let peer = start_peer(&[]);
    let dir = TempDir::new("first");
    bounded("first login", TEST_LIMIT, async {
        let server = client(&peer.url, &dir.store());
        let names: Vec<String> = server
            .list_tools()
            .await
            .expect("list tools")
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert!(names.contains(&"echo".to_owned()), "{names:?}");
        assert!(names.contains(&"admin_echo".to_owned()), "{names:?}");
        echo(&server, "hello").await;
        let c = peer.counters().await;
        assert_eq!(c["registrations"], 1, "{c}");
        assert_eq!(c["authorizations"], 1, "{c}");
        assert_eq!(c["code_exchanges"], 1, "{c}");
        assert_eq!(c["refreshes"], 0, "{c}");
        assert_eq!(c["authorization_scopes"], json!([["mcp"]]), "{c}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.store())
            .expect("the store file exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "store file mode {mode:o}");
        server.close().await;
    })
    .await;
    drop(peer);
    assert_no_children_left().await;
}

/// A restart (a new process, the same store) neither registers nor logs in again while the
/// token is valid; after it expired, the next process refreshes instead of logging in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_without_reregistration() {
    let peer = start_peer(&["--token-ttl", "4"]);
    let dir = TempDir::new("restart");
    bounded("restart", TEST_LIMIT, async {
        run_processes(&peer.url, &dir.store(), 2, 1, None).await;
        let c = peer.counters().await;
        assert_eq!(
            (c["registrations"].as_u64(), c["authorizations"].as_u64()),
            (Some(1), Some(1)),
            "{c}"
        );
        // Restart with the token still valid: nothing at the authorization server.
        run_processes(&peer.url, &dir.store(), 2, 1, None).await;
        let c = peer.counters().await;
        assert_eq!(c["registrations"], 1, "{c}");
        assert_eq!(c["authorizations"], 1, "{c}");
        assert_eq!(c["code_exchanges"], 1, "{c}");
        assert_eq!(c["refreshes"], 0, "{c}");
        // Restart after expiry: one refresh, no login, no registration.
        wait_expired(&peer.url, &dir.store()).await;
        run_processes(&peer.url, &dir.store(), 2, 1, None).await;
        let c = peer.counters().await;
        assert_eq!(c["registrations"], 1, "{c}");
        assert_eq!(c["authorizations"], 1, "{c}");
        assert_eq!(c["refreshes"], 1, "{c}");
        assert_eq!(c["rejected_refreshes"], 0, "{c}");
    })
    .await;
    drop(peer);
    assert_no_children_left().await;
}

/// 1,000 calls start after the token expired: the provider sees exactly one refresh (and no
/// login), and every call succeeds.
///
/// Pinned to 2025-11-25 (one session): on 2026-07-28 this SDK version answers one client's
/// concurrent calls about one at a time (~75 ms each here), which would make 1,000 calls take
/// over a minute; the refresh path is the same under both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_with_1000_calls_in_flight() {
    let peer = start_peer(&["--token-ttl", "2"]);
    let dir = TempDir::new("thousand");
    bounded("1,000 calls across an expiry", TEST_LIMIT, async {
        let server = client_with(&peer.url, &dir.store(), Some(ProtocolVersion::V2025_11_25));
        echo(&server, "login").await;
        // The refreshed token must outlive the burst.
        peer.set_ttl(300).await;
        wait_expired(&peer.url, &dir.store()).await;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..1000 {
            let server = server.clone();
            set.spawn(async move {
                let text = format!("call {i}");
                let r = server
                    .call_tool("echo", json!({ "text": text }))
                    .await
                    .unwrap_or_else(|e| panic!("call {i}: {e}"));
                assert_eq!(r.text(), text);
            });
        }
        while let Some(r) = set.join_next().await {
            r.expect("call task");
        }
        let c = peer.counters().await;
        assert_eq!(c["refreshes"], 1, "{c}");
        assert_eq!(c["rejected_refreshes"], 0, "{c}");
        assert_eq!(c["authorizations"], 1, "{c}");
        assert_eq!(c["registrations"], 1, "{c}");
        server.close().await;
    })
    .await;
    drop(peer);
    assert_no_children_left().await;
}

/// Two mcpmux processes share one store and start together after the token expired: one
/// refresh at the authorization server, and the other process adopts its result (a second
/// spend of the rotating refresh token would be counted as rejected).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_store() {
    let peer = start_peer(&["--token-ttl", "2"]);
    let dir = TempDir::new("shared");
    bounded("two processes", TEST_LIMIT, async {
        let server = client(&peer.url, &dir.store());
        echo(&server, "login").await;
        server.close().await;
        peer.set_ttl(300).await;
        wait_expired(&peer.url, &dir.store()).await;
        // Both start at the same moment, well after their process start-up.
        let start_at = (unix_now() + Duration::from_millis(500)).as_millis() as u64;
        run_processes(&peer.url, &dir.store(), 20, 2, Some(start_at)).await;
        let c = peer.counters().await;
        assert_eq!(c["refreshes"], 1, "{c}");
        assert_eq!(c["rejected_refreshes"], 0, "{c}");
        assert_eq!(c["authorizations"], 1, "{c}");
        assert_eq!(c["registrations"], 1, "{c}");
    })
    .await;
    drop(peer);
    assert_no_children_left().await;
}

/// The refresh token is revoked at the authorization server; after expiry, a call succeeds
/// through one fresh login (no new registration), and the next calls cost nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_refresh_token() {
    let peer = start_peer(&["--token-ttl", "2"]);
    let dir = TempDir::new("revoked");
    bounded("revoked refresh token", TEST_LIMIT, async {
        let server = client(&peer.url, &dir.store());
        echo(&server, "login").await;
        assert_eq!(peer.revoke_refresh_tokens().await, 1);
        peer.set_ttl(300).await;
        wait_expired(&peer.url, &dir.store()).await;
        echo(&server, "after revocation").await;
        let c = peer.counters().await;
        assert_eq!(c["authorizations"], 2, "{c}");
        assert_eq!(c["code_exchanges"], 2, "{c}");
        assert_eq!(c["registrations"], 1, "{c}");
        assert_eq!(c["refreshes"], 0, "{c}");
        assert_eq!(c["rejected_refreshes"], 1, "{c}");
        // Not a loop: more calls cost nothing at the authorization server.
        for i in 0..5 {
            echo(&server, &format!("again {i}")).await;
        }
        assert_eq!(peer.counters().await, c);
        server.close().await;
    })
    .await;
    drop(peer);
    assert_no_children_left().await;
}

/// A tool that needs scope `admin` answers 403 insufficient_scope: one re-authorization asks
/// for the union (`mcp` and `admin`), the call succeeds, and the other tools keep working.
///
/// The SDK's authorization server holds a dynamically registered client to the scopes it
/// registered with (`mcp`, the first login's), so `/authorize` refuses `mcp admin` with
/// `invalid_scope` before the provider sees it; the client then registers once more with the
/// union and logs in again: 2 registrations, 2 authorizations at the provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up() {
    let peer = start_peer(&[]);
    let dir = TempDir::new("stepup");
    bounded("step-up", TEST_LIMIT, async {
        let server = client(&peer.url, &dir.store());
        echo(&server, "before").await;
        let r = server
            .call_tool("admin_echo", json!({ "text": "x" }))
            .await
            .expect("admin_echo after a step-up");
        assert!(!r.is_error(), "{r:?}");
        assert_eq!(r.text(), "admin: x");
        let c = peer.counters().await;
        assert_eq!(c["authorizations"], 2, "{c}");
        assert_eq!(c["registrations"], 2, "{c}");
        assert_eq!(c["authorization_scopes"][0], json!(["mcp"]), "{c}");
        let scopes: Vec<&str> = c["authorization_scopes"][1]
            .as_array()
            .expect("second authorization's scopes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            scopes.contains(&"mcp") && scopes.contains(&"admin"),
            "step-up scopes {scopes:?}"
        );
        echo(&server, "after").await;
        let r = server
            .call_tool("admin_echo", json!({ "text": "y" }))
            .await
            .expect("admin_echo again");
        assert_eq!(r.text(), "admin: y");
        let after = peer.counters().await;
        assert_eq!(after["authorizations"], 2, "{after}");
        assert_eq!(after["registrations"], c["registrations"], "{after}");
        server.close().await;
    })
    .await;
    drop(peer);
    assert_no_children_left().await;
}

/// The protected-resource metadata names another resource: the client refuses with an auth
/// error before asking the authorization server for anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatched_resource() {
    let peer = start_peer(&["--resource-mismatch"]);
    let dir = TempDir::new("mismatch");
    bounded("mismatched resource", TEST_LIMIT, async {
        let server = client(&peer.url, &dir.store());
        let e = server
            .call_tool("echo", json!({ "text": "x" }))
            .await
            .expect_err("a call through a mismatched resource must fail");
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        assert!(e.to_string().contains("/elsewhere"), "{e}");
        assert_eq!(peer.count("authorizations").await, 0);
        assert_eq!(peer.count("registrations").await, 0);
        assert_eq!(peer.count("code_exchanges").await, 0);
        server.close().await;
    })
    .await;
    drop(peer);
    assert_no_children_left().await;
}

/// A user who takes their time: the headless login, after a pause.
#[derive(Debug)]
struct SlowUser {
    pause: Duration,
}

#[derive(Debug)]
struct SlowPending {
    inner: Box<dyn mcpmux::auth::PendingLogin>,
    pause: Duration,
}

impl mcpmux::auth::LoginFlow for SlowUser {
    fn prepare<'a>(
        &'a self,
        previous: Option<&'a str>,
    ) -> mcpmux::auth::LoginFuture<'a, Box<dyn mcpmux::auth::PendingLogin>> {
        let pause = self.pause;
        Box::pin(async move {
            let inner = mcpmux::auth::LoginFlow::prepare(&HeadlessLogin::new(), previous).await?;
            Ok(Box::new(SlowPending { inner, pause }) as Box<dyn mcpmux::auth::PendingLogin>)
        })
    }
}

impl mcpmux::auth::PendingLogin for SlowPending {
    fn redirect_uri(&self) -> &str {
        self.inner.redirect_uri()
    }

    fn complete(
        self: Box<Self>,
        url: reqwest::Url,
    ) -> mcpmux::auth::LoginFuture<'static, mcpmux::auth::Callback> {
        Box::pin(async move {
            tokio::time::sleep(self.pause).await;
            self.inner.complete(url).await
        })
    }
}

/// Time a user spends at the login page counts against neither the connect timeout nor the
/// request (initialize) timeout: a 3 s login under 1 s limits succeeds; without a login, the
/// same limits still hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_login_does_not_count_against_the_connect_or_request_timeout() {
    let peer = start_peer(&[]);
    let dir = TempDir::new("slow");
    bounded("slow login", TEST_LIMIT, async {
        let server = Server::http(&peer.url)
            .name("py-oauth")
            .connect_timeout(Some(Duration::from_secs(1)))
            .initialize_timeout(Duration::from_secs(1))
            .request_timeout(Duration::from_secs(1))
            .oauth(
                OAuthConfig::new()
                    .login(SlowUser {
                        pause: Duration::from_secs(3),
                    })
                    .store(FileTokenStore::new(dir.store())),
            )
            .build()
            .expect("build the server handle");
        let started = Instant::now();
        echo(&server, "patient").await;
        assert!(
            started.elapsed() >= Duration::from_secs(3),
            "the login did wait: {:?}",
            started.elapsed()
        );
        assert_eq!(peer.counters().await["authorizations"], 1);
        server.close().await;
    })
    .await;
    drop(peer);
    assert_no_children_left().await;
}

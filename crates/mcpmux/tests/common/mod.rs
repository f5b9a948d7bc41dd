//! Helpers shared by the integration tests: the test server binary, process checks, bounds.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mcpmux::{Server, ServerBuilder};

/// Path of the `mcpmux-test-server` binary, built on first use if a plain `cargo test -p mcpmux`
/// did not build it.
pub fn test_server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target profile dir");
        let bin = dir.join("mcpmux-test-server");
        if !bin.exists() {
            let status = std::process::Command::new(env!("CARGO"))
                .args([
                    "build",
                    "-p",
                    "mcpmux-test-server",
                    "--bin",
                    "mcpmux-test-server",
                ])
                .status()
                .expect("run cargo build for the test server");
            assert!(status.success(), "cargo build -p mcpmux-test-server failed");
        }
        assert!(
            bin.exists(),
            "test server binary missing at {}",
            bin.display()
        );
        bin
    })
    .clone()
}

/// A builder for the test server with short shutdown timeouts.
pub fn test_server() -> ServerBuilder {
    Server::stdio(test_server_bin())
        .name("test")
        .shutdown_timeouts(Duration::from_millis(500), Duration::from_millis(500))
}

/// The state letter from /proc/PID/stat, or None if the process no longer exists (reaped).
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// Whether the process exists and is not a zombie.
pub fn is_running(pid: u32) -> bool {
    matches!(proc_state(pid), Some(s) if s != 'Z' && s != 'X')
}

/// Polls until `pid` no longer exists at all (killed and reaped), up to `limit`.
pub async fn wait_reaped(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if proc_state(pid).is_none() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proc_state(pid).is_none()
}

/// Polls until `pid` is not running (gone, or a zombie), up to `limit`. For processes that are
/// not our children (grandchildren), which we cannot reap.
pub async fn wait_not_running(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !is_running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    !is_running(pid)
}

/// Bounds a test step so a hang fails instead of blocking the suite.
pub async fn bounded<F: std::future::IntoFuture>(what: &str, limit: Duration, f: F) -> F::Output {
    match tokio::time::timeout(limit, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// The direct children of this process, zombies included: a child that exited but was never
/// reaped is a leak too.
pub fn children() -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some(close) = stat.rfind(')') else {
                continue;
            };
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(me) {
                out.push(pid);
            }
        }
    }
    out
}

/// Whether this test runs in a process of its own (cargo-nextest), so process-wide checks see
/// only its own children.
pub fn own_process() -> bool {
    std::env::var("NEXTEST_EXECUTION_MODE").as_deref() == Ok("process-per-test")
}

/// Under nextest: waits up to 3 s for every child process of this test to be gone (exited
/// and reaped).
/// (Under `cargo test`, tests share a process and each test checks its own pids instead.)
pub async fn assert_no_children_left() {
    if !own_process() {
        return;
    }
    for _ in 0..300 {
        if children().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("child processes left (running or zombie): {:?}", children());
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path that a pinned interop peer provides; fails with the install command if missing.
pub fn require_peer(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "interop peer missing: {} — install the pinned peers with `scripts/install-peers.sh`",
        path.display()
    );
    path
}

/// A peer server process started by a test; killed and reaped on drop.
pub struct PeerProcess {
    child: std::process::Child,
    /// Where it listens.
    pub url: String,
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; small race, fine for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

fn wait_listening(port: u16, child: &mut std::process::Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("peer server exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("peer server did not listen on 127.0.0.1:{port} within 20 s");
}

/// The Python SDK peer over HTTP: `mode` is `sse` or `http`, with extra flags.
pub fn start_python_http(mode: &str, flags: &[&str]) -> PeerProcess {
    let root = repo_root();
    let python = require_peer(root.join(".peers/venv/bin/python"));
    let script = require_peer(root.join("tests/peers/py_server.py"));
    let port = free_port();
    let mut child = std::process::Command::new(python)
        .arg(script)
        .arg(mode)
        .args(["--port", &port.to_string()])
        .args(flags)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the Python peer");
    wait_listening(port, &mut child);
    let path = if mode == "sse" { "sse" } else { "mcp" };
    PeerProcess {
        child,
        url: format!("http://127.0.0.1:{port}/{path}"),
    }
}

/// `@modelcontextprotocol/server-everything` over HTTP (`sse` or `streamableHttp`), bound to
/// 127.0.0.1 by the loopback preload.
pub fn start_everything_http(mode: &str) -> PeerProcess {
    let root = repo_root();
    let entry = require_peer(
        root.join(".peers/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
    );
    let preload = require_peer(root.join("scripts/node-loopback.cjs"));
    let port = free_port();
    let mut child = std::process::Command::new("node")
        .arg("--require")
        .arg(preload)
        .arg(entry)
        .arg(mode)
        .env("PORT", port.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start server-everything");
    wait_listening(port, &mut child);
    let path = if mode == "sse" { "sse" } else { "mcp" };
    PeerProcess {
        child,
        url: format!("http://127.0.0.1:{port}/{path}"),
    }
}

/// The seed scenario: `tasks` tasks enter at random moments, each makes one call chosen by its
/// entry ticket (0 = first in), checks the answer, and leaves. With `first_leaves_early`, asserts
/// the first to enter was not the last to leave. Returns the server pids seen (stdio only).
pub async fn parallel_scenario<F>(
    server: mcpmux::Server,
    tasks: usize,
    first_leaves_early: bool,
    make_call: F,
) -> std::collections::HashSet<u32>
where
    F: Fn(usize) -> (String, serde_json::Value, String) + Send + Sync + 'static,
{
    use rand::Rng;
    use std::sync::{Arc, Mutex};
    let make_call = Arc::new(make_call);
    let pids = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (server, pids, order, make_call) = (
            server.clone(),
            pids.clone(),
            order.clone(),
            make_call.clone(),
        );
        set.spawn(async move {
            let delay = rand::rng().random_range(0..20);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let guard = server.enter().await.expect("enter");
            let ticket = {
                let mut order = order.lock().unwrap();
                let ticket = order.iter().filter(|(e, _)| *e == "enter").count();
                order.push(("enter", ticket));
                ticket
            };
            if let Some(pid) = guard.process_id() {
                pids.lock().unwrap().insert(pid);
            }
            let (tool, args, expected) = make_call(ticket);
            let r = guard.call_tool(&tool, args).await.expect("call");
            assert!(!r.is_error(), "{r:?}");
            assert_eq!(r.text(), expected);
            order.lock().unwrap().push(("leave", ticket));
        });
    }
    bounded("parallel scenario", Duration::from_secs(60), async {
        while let Some(r) = set.join_next().await {
            r.expect("task panicked");
        }
    })
    .await;
    let order = order.lock().unwrap().clone();
    assert_eq!(order.len(), 2 * tasks);
    if first_leaves_early {
        let first_in = order.iter().find(|(e, _)| *e == "enter").unwrap().1;
        let last_out = order.iter().rev().find(|(e, _)| *e == "leave").unwrap().1;
        assert_ne!(first_in, last_out, "the first to enter left last");
    }
    pids.lock().unwrap().clone()
}

/// Open file descriptors of this process (`/proc/self/fd`; the directory handle itself excluded).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count().saturating_sub(1))
        .unwrap_or(0)
}

/// Tasks alive on the current tokio runtime (`RuntimeMetrics::num_alive_tasks`, stable tokio).
pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// This process's peak resident set size in KiB (`VmHWM` in /proc/self/status).
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Open descriptors (only when the test has its own process) and live runtime tasks, to compare
/// before and after a scenario.
#[derive(Debug, Clone, Copy)]
pub struct Resources {
    /// Open file descriptors, under nextest's process-per-test only.
    pub fds: Option<usize>,
    /// Live tasks on the current runtime.
    pub tasks: usize,
}

impl Resources {
    /// A snapshot now.
    pub fn now() -> Self {
        Resources {
            fds: own_process().then(open_fds),
            tasks: alive_tasks(),
        }
    }

    /// Waits up to 5 s for the descriptors and tasks to be back within `fd_slack` / `task_slack`
    /// of this snapshot; panics with both snapshots otherwise.
    pub async fn assert_back(&self, what: &str, fd_slack: usize, task_slack: usize) {
        let within = |now: &Resources| {
            now.tasks <= self.tasks + task_slack
                && match (self.fds, now.fds) {
                    (Some(before), Some(after)) => after <= before + fd_slack,
                    _ => true,
                }
        };
        for _ in 0..250 {
            if within(&Resources::now()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let now = Resources::now();
        assert!(
            within(&now),
            "{what}: resources grew: before {self:?}, after {now:?}"
        );
    }
}

/// Reads one HTTP request from a raw test listener, head and body (by its Content-Length), and
/// returns its head, lowercased. The start of a TLS handshake (a ClientHello) returns an empty
/// head at once, so the listener can answer it in plain HTTP as a web server does.
pub async fn read_http_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.first() == Some(&0x16) {
            return Some(String::new());
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some(head)
}

/// One HTTP request read from a raw test listener: its method, headers (lowercase names) and
/// body (by its Content-Length); `None` when the connection ends first.
pub async fn read_request(
    sock: &mut tokio::net::TcpStream,
) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::io::AsyncReadExt::read(sock, &mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let method = lines.next()?.split(' ').next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        let n = tokio::io::AsyncReadExt::read(sock, &mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((method, headers, body))
}

/// A raw mock server on 127.0.0.1: each accepted connection is handed to `serve` in a task of
/// its own. Returns the listener's address (`http://ADDR`) and the accept loop's handle.
pub async fn start_mock<F, Fut>(serve: F) -> (String, tokio::task::JoinHandle<()>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let accept = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(serve(sock));
        }
    });
    (addr, accept)
}

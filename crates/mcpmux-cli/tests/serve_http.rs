//! End-to-end tests of `mcpmux serve --http` (the gateway over HTTP): real upstream processes
//! (`mcpmux test-server`), mcpmux's own client over Streamable HTTP (SSE and JSON answers) and
//! legacy SSE, the official Python SDK client, and raw HTTP requests for the edge cases
//! (sessions, resumption, cancellation, Host/Origin, bearer token, limits, garbage). Every wait
//! is bounded; each test checks that no process it started is left.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpmux::{HttpMode, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");
/// The longest wait for any one answer, start or exit.
const LIMIT: Duration = Duration::from_secs(30);
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An environment variable that marks the upstreams of one test (found in /proc afterwards).
fn marker(test: &str) -> (String, String) {
    (
        "MCPMUX_SERVE_HTTP_TEST".to_owned(),
        format!("{test}-{}", std::process::id()),
    )
}

/// A config of `mcpmux test-server` upstreams named `names`, marked.
fn config(marker: &(String, String), names: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let servers: serde_json::Map<String, Value> = names
        .iter()
        .map(|n| {
            (
                (*n).to_owned(),
                json!({"command": MCPMUX, "args": ["test-server"], "env": {&marker.0: &marker.1}}),
            )
        })
        .collect();
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("mcp.json");
    std::fs::write(&path, json!({ "mcpServers": servers }).to_string()).expect("write config");
    (dir, path)
}

/// `mcpmux --config CONFIG serve --http 127.0.0.1:0 ARGS...`, started and listening.
struct Gateway {
    child: Child,
    /// `http://ADDR/mcp`.
    url: String,
    /// `http://ADDR`.
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Gateway {
    fn start(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Gateway {
        let (child, stderr) = spawn(config, "127.0.0.1:0", args, env);
        let deadline = Instant::now() + LIMIT;
        let url = loop {
            let text = stderr.lock().map(|s| s.clone()).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.starts_with("listening on ")) {
                break line.trim_start_matches("listening on ").to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not listen within {LIMIT:?}: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let base = url
            .strip_suffix("/mcp")
            .unwrap_or_else(|| panic!("not the default path: {url}"))
            .to_owned();
        Gateway {
            child,
            url,
            base,
            stderr,
        }
    }

    /// Sends `signal` (TERM, INT) and waits for the exit: its status and stderr.
    fn stop(mut self, signal: &str) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
        let status = wait(&mut self.child);
        // The reader thread sees EOF once the process is gone.
        std::thread::sleep(Duration::from_millis(50));
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
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

/// Starts `mcpmux serve --http ADDR`, its stderr collected on a thread.
fn spawn(
    config: &Path,
    addr: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, Arc<Mutex<String>>) {
    let mut child = Command::new(MCPMUX)
        .arg("--config")
        .arg(config)
        .args(["serve", "--http", addr])
        .args(args)
        .envs(env.iter().copied())
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
    (child, stderr)
}

/// Waits for a child's exit, at most [`LIMIT`].
fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the gateway did not exit within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
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

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(LIMIT)
        .build()
        .expect("a reqwest client")
}

/// A POST of `body` with these headers (Content-Type JSON, Accept both unless given).
async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = http().post(url).header("content-type", "application/json");
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("accept"))
    {
        request = request.header("accept", ACCEPT_BOTH);
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request
        .body(body)
        .send()
        .await
        .expect("the POST is answered")
}

/// A response's body as JSON (`Null` if it is not).
async fn json_of(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn request(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn initialize() -> String {
    request(
        0,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "serve-http-test", "version": "1"}}),
    )
}

/// Opens a session with raw requests: its id.
async fn open_session(url: &str) -> String {
    let response = post(url, &[("accept", "application/json")], initialize()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("a session id")
        .to_owned();
    let body: Value = json_of(response).await;
    assert_eq!(body["result"]["serverInfo"]["name"], "mcpmux", "{body}");
    let done = post(
        url,
        &[("mcp-session-id", &id)],
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    assert_eq!(done.status(), StatusCode::ACCEPTED);
    id
}

/// One SSE event: its id (if any) and data.
#[derive(Debug)]
struct Event {
    id: Option<String>,
    data: String,
}

/// Reads SSE events off a streaming response.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    fn new(response: reqwest::Response) -> Events {
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next event; `None` when the stream ended. Panics after [`LIMIT`].
    async fn next(&mut self) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let normalized = self.buffer.replace("\r\n", "\n");
            if let Some(end) = normalized.find("\n\n") {
                let raw = normalized[..end].to_owned();
                self.buffer = normalized[end + 2..].to_owned();
                let mut event = Event {
                    id: None,
                    data: String::new(),
                };
                for line in raw.lines() {
                    if let Some(id) = line.strip_prefix("id:") {
                        event.id = Some(id.trim().to_owned());
                    } else if let Some(data) = line.strip_prefix("data:") {
                        if !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data.push_str(data.strip_prefix(' ').unwrap_or(data));
                    }
                }
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no SSE event within {LIMIT:?}"));
            match chunk {
                Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next event carrying a JSON message (skipping priming events).
    async fn message(&mut self) -> Option<(Option<String>, Value)> {
        while let Some(event) = self.next().await {
            if !event.data.trim().is_empty() {
                let v = serde_json::from_str(&event.data)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {}", event.data));
                return Some((event.id, v));
            }
        }
        None
    }
}

/// The ids the upstream saw cancelled (the test server's `cancellations` tool), through a
/// session of the gateway.
async fn upstream_cancellations(url: &str, session: &str) -> usize {
    let answer = post(
        url,
        &[("mcp-session-id", session), ("accept", "application/json")],
        request(
            99,
            "tools/call",
            json!({"name": "one_cancellations", "arguments": {}}),
        ),
    )
    .await;
    let v: Value = json_of(answer).await;
    v["result"]["structuredContent"]["cancelled"]
        .as_array()
        .map_or(0, Vec::len)
}

/// Waits until the upstream saw `n` cancellations, at most 15 s.
async fn await_cancellations(url: &str, session: &str, n: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = upstream_cancellations(url, session).await;
        if seen >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the upstream saw {seen} cancellations, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_lists_and_calls_over_streamable_http_and_legacy_sse() {
    let m = marker("client");
    let (_dir, path) = config(&m, &["one", "two"]);
    let gw = Gateway::start(&path, &[], &[]);

    // Streamable HTTP, SSE answers.
    let client = Server::http(&gw.url)
        .http_mode(HttpMode::Streamable)
        .build()
        .expect("a client");
    let tools = client.list_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    for n in ["one_echo", "one_add", "two_echo", "two_sleep"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let echo = client
        .call_tool("one_echo", json!({"text": "over streamable http"}))
        .await
        .expect("a call");
    assert_eq!(echo.text(), "over streamable http");
    let sum = client
        .call_tool("two_add", json!({"a": 2, "b": 40}))
        .await
        .expect("a call");
    assert_eq!(sum.structured_content, Some(json!({"sum": 42})));
    client.close().await;

    // The legacy transport for 2024-11-05 clients.
    let legacy = Server::http(&format!("{}/sse", gw.base))
        .http_mode(HttpMode::Sse)
        .build()
        .expect("a client");
    assert!(legacy.list_tools().await.expect("tools/list").len() >= names.len());
    let echo = legacy
        .call_tool("two_echo", json!({"text": "over legacy sse"}))
        .await
        .expect("a call");
    assert_eq!(echo.text(), "over legacy sse");
    legacy.close().await;

    // A client that accepts only JSON gets JSON.
    let session = open_session(&gw.url).await;
    let answer = post(
        &gw.url,
        &[("mcp-session-id", &session), ("accept", "application/json")],
        request(
            1,
            "tools/call",
            json!({"name": "one_echo", "arguments": {"text": "json"}}),
        ),
    )
    .await;
    assert_eq!(
        answer.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let v: Value = json_of(answer).await;
    assert_eq!(v["result"]["content"][0]["text"], "json", "{v}");

    let (status, stderr) = gw.stop("TERM");
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_none_left(&m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_responses_and_two_hundred_concurrent_calls_from_four_clients() {
    let m = marker("json");
    let (_dir, path) = config(&m, &["one", "two"]);
    let gw = Gateway::start(&path, &["--json-response"], &[]);

    // --json-response: JSON even for a client that accepts SSE.
    let session = open_session(&gw.url).await;
    let answer = post(
        &gw.url,
        &[("mcp-session-id", &session)],
        request(1, "ping", json!({})),
    )
    .await;
    assert_eq!(
        answer.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );

    let clients: Vec<Server> = (0..4)
        .map(|_| {
            Server::http(&gw.url)
                .http_mode(HttpMode::Streamable)
                .build()
                .expect("a client")
        })
        .collect();
    let calls = clients.iter().enumerate().flat_map(|(c, client)| {
        (0..50).map(move |i| async move {
            let upstream = if i % 2 == 0 { "one" } else { "two" };
            let want = format!("client {c} call {i}");
            let got = client
                .call_tool(&format!("{upstream}_echo"), json!({"text": want}))
                .await
                .map(|r| r.text());
            (want, got)
        })
    });
    let results = tokio::time::timeout(LIMIT, futures_util::future::join_all(calls))
        .await
        .expect("200 calls within the limit");
    assert_eq!(results.len(), 200);
    for (want, got) in results {
        assert_eq!(got.as_deref().ok(), Some(want.as_str()), "{got:?}");
    }
    for client in clients {
        client.close().await;
    }
    let (status, stderr) = gw.stop("INT");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_none_left(&m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_resumption_and_cancellation() {
    let m = marker("sessions");
    let (_dir, path) = config(&m, &["one"]);
    let gw = Gateway::start(&path, &[], &[]);
    let url = gw.url.as_str();

    // No session: 400; an unknown one: 404; an unsupported protocol version: 400.
    let ping = request(1, "ping", json!({}));
    assert_eq!(
        post(url, &[], ping.clone()).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(url, &[("mcp-session-id", "nope")], ping.clone())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let session = open_session(url).await;
    let sid = ("mcp-session-id", session.as_str());
    assert_eq!(
        post(
            url,
            &[sid, ("mcp-protocol-version", "1999-01-01")],
            ping.clone()
        )
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(
            url,
            &[sid, ("mcp-protocol-version", "2025-11-25")],
            ping.clone()
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        post(
            url,
            &[sid, ("mcp-protocol-version", "2025-03-26")],
            ping.clone()
        )
        .await
        .status(),
        StatusCode::OK,
        "any supported version passes, as the SDKs' servers let it (conformance 0.1.16 sends it)"
    );

    // The GET stream: one at a time.
    let get = |last: Option<&str>| {
        let mut r = http()
            .get(url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session);
        if let Some(last) = last {
            r = r.header("last-event-id", last);
        }
        r.send()
    };
    let stream = get(None).await.expect("GET");
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/event-stream"[..])
    );
    assert_eq!(get(None).await.expect("GET").status(), StatusCode::CONFLICT);
    drop(stream);

    // An SSE answer starts with a priming event; the client drops the stream and resumes it
    // with Last-Event-ID: the response comes on the new connection.
    let slow = post(
        url,
        &[sid],
        request(
            2,
            "tools/call",
            json!({"name": "one_sleep", "arguments": {"ms": 1500}}),
        ),
    )
    .await;
    let mut events = Events::new(slow);
    let priming = events.next().await.expect("a priming event");
    assert!(priming.data.trim().is_empty(), "{priming:?}");
    let last = priming.id.expect("the priming event has an id");
    drop(events);
    let resumed = get(Some(&last)).await.expect("GET with Last-Event-ID");
    assert_eq!(resumed.status(), StatusCode::OK);
    let (id, answer) = Events::new(resumed).message().await.expect("the response");
    assert_eq!(answer["id"], 2, "{answer}");
    assert!(answer["result"].is_object(), "{answer}");
    assert!(id.is_some_and(|id| id != last));

    // A quick answer comes as one finished stream (priming event, then the response), and it
    // can be resumed like any other: its events are kept.
    let quick = post(
        url,
        &[sid],
        request(
            6,
            "tools/call",
            json!({"name": "one_echo", "arguments": {"text": "at once"}}),
        ),
    )
    .await;
    assert_eq!(
        quick.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/event-stream"[..])
    );
    let mut events = Events::new(quick);
    let priming = events.next().await.expect("a priming event");
    assert!(priming.data.trim().is_empty(), "{priming:?}");
    let last = priming.id.expect("the priming event has an id");
    let (id, answer) = events.message().await.expect("the response");
    assert_eq!(answer["id"], 6, "{answer}");
    assert!(id.is_some_and(|id| id != last));
    assert!(
        events.next().await.is_none(),
        "the stream ends after the response"
    );
    let replayed = get(Some(&last)).await.expect("GET with Last-Event-ID");
    assert_eq!(replayed.status(), StatusCode::OK);
    let (_, again) = Events::new(replayed)
        .message()
        .await
        .expect("the response, replayed");
    assert_eq!(again, answer);

    assert_eq!(
        get(Some("9999-0")).await.expect("GET").status(),
        StatusCode::BAD_REQUEST,
        "a stream the session never had"
    );

    // DELETE ends the session and cancels its calls in flight, upstream too.
    let observer = open_session(url).await;
    let before = upstream_cancellations(url, &observer).await;
    let victim = open_session(url).await;
    let hanging = post(
        url,
        &[("mcp-session-id", &victim)],
        request(
            3,
            "tools/call",
            json!({"name": "one_sleep", "arguments": {"ms": 60000}}),
        ),
    )
    .await;
    let mut hanging = Events::new(hanging);
    assert!(hanging.next().await.is_some(), "the priming event");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deleted = http()
        .delete(url)
        .header("mcp-session-id", &victim)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(deleted.status(), StatusCode::OK);
    assert!(
        hanging.message().await.is_none(),
        "the stream ends without an answer"
    );
    await_cancellations(url, &observer, before + 1, "after DELETE").await;
    assert_eq!(
        post(url, &[("mcp-session-id", &victim)], ping.clone())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // A client that drops its answer's stream and does not resume: cancelled after the grace.
    let hanging = post(
        url,
        &[sid],
        request(
            4,
            "tools/call",
            json!({"name": "one_sleep", "arguments": {"ms": 60000}}),
        ),
    )
    .await;
    let mut hanging = Events::new(hanging);
    assert!(hanging.next().await.is_some(), "the priming event");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(hanging);
    await_cancellations(url, &observer, before + 2, "after a disconnect").await;

    // A JSON POST whose client goes away is cancelled at once.
    let json_client = http();
    let gone = tokio::time::timeout(
        Duration::from_millis(500),
        json_client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("mcp-session-id", &session)
            .body(request(
                5,
                "tools/call",
                json!({"name": "one_sleep", "arguments": {"ms": 60000}}),
            ))
            .send(),
    )
    .await;
    assert!(gone.is_err(), "the call must still be running");
    drop(json_client);
    await_cancellations(url, &observer, before + 3, "after a JSON client left").await;

    // Legacy SSE: the stream names where to POST; an unknown session is 404; the client
    // closing the stream ends its session and cancels its calls upstream.
    let base = url.trim_end_matches("/mcp");
    let legacy = http()
        .get(format!("{base}/sse"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("GET /sse");
    assert_eq!(legacy.status(), StatusCode::OK);
    let mut legacy = Events::new(legacy);
    let endpoint = legacy.next().await.expect("the endpoint event").data;
    assert!(endpoint.starts_with("/messages?sessionId="), "{endpoint}");
    let unknown = post(
        &format!("{base}/messages?sessionId=nope"),
        &[],
        ping.clone(),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let accepted = post(
        &format!("{base}{endpoint}"),
        &[],
        request(
            6,
            "tools/call",
            json!({"name": "one_sleep", "arguments": {"ms": 60000}}),
        ),
    )
    .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(legacy);
    await_cancellations(url, &observer, before + 4, "after a legacy stream closed").await;
    let gone = post(&format!("{base}{endpoint}"), &[], ping.clone()).await;
    assert_eq!(
        gone.status(),
        StatusCode::NOT_FOUND,
        "the legacy session ended"
    );

    let (status, stderr) = gw.stop("TERM");
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_none_left(&m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_origins_garbage_the_body_limit_and_stateless_requests() {
    let m = marker("guard");
    let (_dir, path) = config(&m, &["one"]);
    let gw = Gateway::start(&path, &[], &[]);
    let url = gw.url.as_str();
    let ping = request(1, "ping", json!({}));

    // DNS rebinding: a Host that is not loopback, or a foreign Origin: 403.
    assert_eq!(
        post(url, &[("host", "evil.example.com")], initialize())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(url, &[("origin", "http://evil.example.com")], initialize())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .unwrap_or("");
    assert_eq!(
        post(
            url,
            &[
                ("host", &format!("localhost:{port}")),
                ("origin", "http://localhost:3000")
            ],
            initialize()
        )
        .await
        .status(),
        StatusCode::OK
    );

    // Garbage: 400 with -32700; a body over 4 MiB: 413; the gateway goes on.
    let session = open_session(url).await;
    let sid = ("mcp-session-id", session.as_str());
    let garbage = post(url, &[sid], "this is not json").await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    let v: Value = json_of(garbage).await;
    assert_eq!(v["error"]["code"], -32700, "{v}");
    assert_eq!(v["id"], Value::Null, "{v}");
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"one_echo","arguments":{{"text":"{}"}}}}}}"#,
        "x".repeat(5 << 20)
    );
    assert_eq!(
        post(url, &[sid], big).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let invalid = post(url, &[sid], r#"{"jsonrpc":"2.0","id":3}"#).await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    let answer = post(url, &[sid, ("accept", "application/json")], ping).await;
    assert_eq!(answer.status(), StatusCode::OK);

    // A stateless (2026-07-28) request needs no session and gets none; it cannot GET.
    let stateless = [("mcp-protocol-version", "2026-07-28")];
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "serve-http-test", "version": "1"}
    });
    for accept in ["application/json", ACCEPT_BOTH] {
        let answer = post(
            url,
            &[
                stateless[0],
                ("accept", accept),
                ("mcp-method", "server/discover"),
            ],
            request(4, "server/discover", json!({"_meta": meta})),
        )
        .await;
        assert_eq!(answer.status(), StatusCode::OK, "{accept}");
        assert!(answer.headers().get("mcp-session-id").is_none(), "{accept}");
        let body = String::from_utf8_lossy(&answer.bytes().await.unwrap_or_default()).into_owned();
        assert!(body.contains(r#""id":4,"result":{"#), "{accept}: {body}");
        assert!(
            !body.contains("id: "),
            "no event ids: nothing to resume: {body}"
        );
    }
    // Its errors say themselves in the HTTP status too: an unknown or removed method 404, a
    // _meta without the protocol version or capabilities 400 with -32602, a version the
    // gateway does not speak 400 with -32022 (listing those it does), a body `_meta` version
    // other than the header's 400 with -32020.
    for method in ["nope/nope", "ping", "initialize"] {
        let unknown = post(
            url,
            &[stateless[0], ("mcp-method", method)],
            request(6, method, json!({"_meta": meta})),
        )
        .await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "{method}");
        assert_eq!(json_of(unknown).await["error"]["code"], -32601, "{method}");
    }
    let bare = post(
        url,
        &[stateless[0], ("mcp-method", "tools/list")],
        request(6, "tools/list", json!({})),
    )
    .await;
    assert_eq!(bare.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(bare).await["error"]["code"], -32602);
    let unsupported = post(
        url,
        &[("mcp-protocol-version", "v999.0.0")],
        request(7, "server/discover", json!({})),
    )
    .await;
    assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
    let v = json_of(unsupported).await;
    assert_eq!(v["error"]["code"], -32022, "{v}");
    assert_eq!(v["id"], 7, "{v}");
    assert_eq!(v["error"]["data"]["requested"], "v999.0.0", "{v}");
    assert!(
        v["error"]["data"]["supported"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("2026-07-28"))),
        "{v}"
    );
    // initialize negotiates in its body, whatever version its header names.
    let init = post(
        url,
        &[
            ("mcp-protocol-version", "2099-01-01"),
            ("accept", "application/json"),
        ],
        initialize(),
    )
    .await;
    assert_eq!(init.status(), StatusCode::OK);
    let mismatch = post(
        url,
        &[stateless[0], ("mcp-method", "tools/list")],
        request(
            8,
            "tools/list",
            json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2025-11-25"}}),
        ),
    )
    .await;
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(mismatch).await["error"]["code"], -32020);

    // Its Mcp-Method and Mcp-Name headers must match the body (SEP-2243): 400 with -32020.
    let call = request(
        5,
        "tools/call",
        json!({"name": "one_echo", "arguments": {"text": "x"}, "_meta": meta}),
    );
    for (headers, why) in [
        (vec![], "no Mcp-Method"),
        (
            vec![("mcp-method", "TOOLS/CALL"), ("mcp-name", "one_echo")],
            "case",
        ),
        (vec![("mcp-method", "tools/call")], "no Mcp-Name"),
        (
            vec![("mcp-method", "tools/call"), ("mcp-name", "other")],
            "another name",
        ),
    ] {
        let mut all = vec![stateless[0]];
        all.extend(headers);
        let answer = post(url, &all, call.clone()).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{why}");
        let v = json_of(answer).await;
        assert_eq!(v["error"]["code"], -32020, "{why}: {v}");
        assert_eq!(v["id"], 5, "{why}: {v}");
    }
    let answer = post(
        url,
        &[
            stateless[0],
            ("accept", "application/json"),
            ("Mcp-Method", "tools/call"),
            ("MCP-NAME", "  one_echo "),
        ],
        call,
    )
    .await;
    assert_eq!(json_of(answer).await["result"]["content"][0]["text"], "x");
    let get = http()
        .get(url)
        .header("accept", "text/event-stream")
        .header(stateless[0].0, stateless[0].1)
        .send()
        .await
        .expect("GET");
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);

    let (status, stderr) = gw.stop("TERM");
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_none_left(&m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_token_guards_every_route_and_the_python_sdk_client_presents_it() {
    let m = marker("token");
    let (_dir, path) = config(&m, &["one", "two"]);
    let gw = Gateway::start(
        &path,
        &["--token-env", "MCPMUX_TEST_GATEWAY_TOKEN"],
        &[("MCPMUX_TEST_GATEWAY_TOKEN", "s3cret-t0ken")],
    );
    let url = gw.url.clone();
    let metrics = format!("{}/metrics", gw.base);

    let denied = post(&url, &[], initialize()).await;
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        denied
            .headers()
            .get("www-authenticate")
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    let wrong = post(
        &url,
        &[("authorization", "Bearer s3cret-t0keN")],
        initialize(),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let open = http().get(&metrics).send().await.expect("GET /metrics");
    assert_eq!(open.status(), StatusCode::UNAUTHORIZED);

    // The official Python SDK client, with the token.
    let python = repo_root().join(".peers/venv/bin/python");
    assert!(
        python.exists(),
        "interop peer missing: {} — install the pinned peers with `scripts/install-peers.sh`",
        python.display()
    );
    let script = repo_root().join("tests/peers/py_gateway_http_client.py");
    let out = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new(&python)
            .arg(script)
            .arg(&url)
            .arg("s3cret-t0ken")
            .arg(r#"one_echo={"text": "python over http"}"#)
            .arg(r#"two_add={"a": 2, "b": 40}"#)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client finishes within 90 s")
    .expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v["server"], "mcpmux", "{v}");
    assert_eq!(v["protocol"], "2025-11-25", "{v}");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        tools.contains(&"one_echo") && tools.contains(&"two_add"),
        "{v}"
    );
    assert_eq!(v["calls"]["one_echo"]["text"], "python over http", "{v}");
    assert_eq!(v["calls"]["two_add"]["structured"]["sum"], 42, "{v}");

    // /metrics with the token counts the calls, per upstream and tool.
    let text = http()
        .get(&metrics)
        .bearer_auth("s3cret-t0ken")
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains(r#"mcpmux_gateway_tool_calls_total{server="one",tool="echo"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"mcpmux_gateway_tool_call_seconds_count{server="two",tool="add"} 1"#),
        "{text}"
    );

    let (status, stderr) = gw.stop("TERM");
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(
        !stderr.contains("s3cret"),
        "the token is never printed: {stderr}"
    );
    assert_none_left(&m);
}

#[test]
fn a_non_loopback_address_needs_a_token_and_the_token_variable_must_be_set() {
    let m = marker("refuse");
    let (_dir, path) = config(&m, &["one"]);
    let (mut child, stderr) = spawn(&path, "0.0.0.0:0", &[], &[]);
    let status = wait(&mut child);
    std::thread::sleep(Duration::from_millis(50));
    let text = stderr.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(status.code(), Some(2), "{text}");
    assert!(
        text.contains("non-loopback") && text.contains("--token-env"),
        "{text}"
    );

    let (mut child, stderr) = spawn(
        &path,
        "127.0.0.1:0",
        &["--token-env", "MCPMUX_TEST_UNSET_TOKEN_VARIABLE"],
        &[],
    );
    let status = wait(&mut child);
    std::thread::sleep(Duration::from_millis(50));
    let text = stderr.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(status.code(), Some(2), "{text}");
    assert!(text.contains("MCPMUX_TEST_UNSET_TOKEN_VARIABLE"), "{text}");
    // Refused before any upstream started.
    assert!(processes_with(&m).is_empty());
    assert_none_left(&m);
}

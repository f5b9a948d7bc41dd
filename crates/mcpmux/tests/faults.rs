//! The fault matrix: every fault on every transport it applies to — stdio, Streamable HTTP
//! answering with JSON bodies, Streamable HTTP answering with SSE streams, and legacy HTTP+SSE —
//! driven by the test server's fault switches (`--fault-tools`, `HttpOptions`,
//! `HttpServer::fail_next_posts`). RELIABILITY.md has the matrix and what each test asserts.
//!
//! Each fault is its own test, so nextest runs each in a process of its own. Every test checks
//! that each call succeeds or fails with the expected error kind within a bounded time, and
//! afterwards that a follow-up call on the same handle works (nothing is left pending or stuck),
//! that no child process is left (nextest only), and that the open file descriptors (nextest
//! only) and the live tasks of the test's runtime are back to their level before the fault.
//!
//! The HTTP test server runs on a runtime of its own, so the task count is the client's alone.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use mcpmux::{CallToolResult, ErrorKind, Guard, HttpMode, RequestOptions, Server, ServerBuilder};
use mcpmux_test_server::{HttpOptions, HttpServer, start_http_on};
use rand::Rng;
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// Descriptors that may legitimately differ after a test (a lazily opened runtime resource).
const FD_SLACK: usize = 2;
/// Tasks that may still be winding down when the check gives up (it polls for 5 s first).
const TASK_SLACK: usize = 0;
/// The outer bound of any single scenario step.
const STEP: Duration = Duration::from_secs(60);

type CallResult = mcpmux::Result<CallToolResult>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stdio,
    /// Streamable HTTP, every answer one `application/json` body.
    Json,
    /// Streamable HTTP, every answer an SSE stream (with event ids unless a test turns them off).
    Sse,
    /// The legacy HTTP+SSE transport (2024-11-05).
    Legacy,
}

impl Kind {
    fn is_http(self) -> bool {
        self != Kind::Stdio
    }
}

/// The HTTP test server, on a runtime of its own (one worker thread).
struct HttpSide {
    rt: Option<tokio::runtime::Runtime>,
    server: Option<HttpServer>,
    opts: HttpOptions,
}

impl HttpSide {
    async fn start(opts: HttpOptions, addr: Option<std::net::SocketAddr>) -> HttpSide {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("http-test-server")
            .enable_all()
            .build()
            .expect("server runtime");
        let o = opts.clone();
        let server = rt
            .spawn(async move {
                let addr = addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap());
                // Re-binding the port of a crashed server: retry briefly.
                let mut tries = 0;
                let listener = loop {
                    match tokio::net::TcpListener::bind(addr).await {
                        Ok(l) => break l,
                        Err(e) if tries < 100 => {
                            tries += 1;
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => panic!("bind {addr}: {e}"),
                    }
                };
                start_http_on(listener, o)
                    .await
                    .expect("start the HTTP test server")
            })
            .await
            .expect("server start task");
        HttpSide {
            rt: Some(rt),
            server: Some(server),
            opts,
        }
    }

    fn get(&self) -> &HttpServer {
        self.server.as_ref().expect("HTTP server")
    }
}

impl Drop for HttpSide {
    fn drop(&mut self) {
        drop(self.server.take()); // aborts the server task
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// One test's setup: the transport, the HTTP server if any, and the resource baseline.
struct Rig {
    kind: Kind,
    stdio_args: Vec<String>,
    http: Option<HttpSide>,
    base: Resources,
}

impl Rig {
    /// Starts the server side, opens and closes one warm-up connection (so that what a process
    /// sets up once — the child-signal pipe, blocking threads, the TLS provider — is in the
    /// baseline), then takes the baseline.
    async fn start(kind: Kind, stdio_args: &[&str], http: impl FnOnce(&mut HttpOptions)) -> Rig {
        let mut opts = HttpOptions::default();
        opts.server.fault_tools = true;
        opts.json_response = kind == Kind::Json;
        http(&mut opts);
        let http = match kind {
            Kind::Stdio => None,
            _ => Some(HttpSide::start(opts, None).await),
        };
        let mut rig = Rig {
            kind,
            stdio_args: stdio_args.iter().map(|s| s.to_string()).collect(),
            http,
            base: Resources {
                fds: None,
                tasks: 0,
            },
        };
        let warm = rig.client(|b| b);
        let guard = bounded("warm-up enter", STEP, warm.enter())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "warm-up connection failed: {e} (stdio: is the test server current? \
                     `cargo build -p mcpmux-test-server` — it needs --fault-tools)"
                )
            });
        guard.ping().await.expect("warm-up ping");
        drop(guard);
        bounded("warm-up close", STEP, warm.close()).await;
        drop(warm);
        tokio::time::sleep(Duration::from_millis(100)).await;
        rig.base = Resources::now();
        rig
    }

    fn builder(&self) -> ServerBuilder {
        let b = match self.kind {
            Kind::Stdio => test_server().arg("--fault-tools").args(&self.stdio_args),
            Kind::Json | Kind::Sse => Server::http(&self.http().url_mcp)
                .http_mode(HttpMode::Streamable)
                // One resumption attempt (after the default 1 s): a lost stream fails fast.
                .max_reconnects(1),
            Kind::Legacy => Server::http(&self.http().url_sse).http_mode(HttpMode::Sse),
        };
        b.request_timeout(Duration::from_secs(20))
    }

    fn client(&self, f: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Server {
        f(self.builder()).build().expect("build the client")
    }

    fn http(&self) -> &HttpServer {
        self.http.as_ref().expect("an HTTP transport").get()
    }

    /// HTTP: a fresh server on the same port, after `crash` stopped the old one.
    async fn restart(&mut self) {
        let old = self.http.take().expect("an HTTP transport");
        let addr = old.get().addr;
        let opts = old.opts.clone();
        drop(old);
        self.http = Some(HttpSide::start(opts, Some(addr)).await);
    }

    /// How many `notifications/cancelled` the server has received on this connection (stdio) or
    /// in all (HTTP).
    async fn cancellations(&self, guard: &Guard) -> usize {
        match self.kind {
            Kind::Stdio => {
                let r = guard
                    .call_tool("cancellations", json!({}))
                    .await
                    .expect("cancellations");
                r.structured_content.expect("structured")["cancelled"]
                    .as_array()
                    .expect("array")
                    .len()
            }
            _ => self.http().stats.cancelled_ids().len(),
        }
    }

    /// Waits (up to 5 s) until the server has seen at least `n` cancellations.
    async fn wait_cancellations(&self, guard: &Guard, n: usize) {
        let mut seen = 0;
        for _ in 0..50 {
            seen = self.cancellations(guard).await;
            if seen >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server saw {seen} cancellations, expected at least {n}");
    }

    /// Streamable HTTP in JSON mode sends a request's notifications, stray and duplicate
    /// responses and garbage on the session's GET stream, and drops them when none is open: a
    /// cell could then pass without its fault. Checks at least `n` of them went out on the
    /// stream and none was dropped. (Elsewhere the faults travel with the answers the calls wait
    /// for, so they cannot be skipped.)
    fn assert_faults_arrived(&self, n: u64) {
        if self.kind != Kind::Json {
            return;
        }
        let stats = &self.http().stats;
        let (delivered, dropped) = (
            stats.get(&stats.standalone_delivered),
            stats.get(&stats.standalone_dropped),
        );
        assert_eq!(
            dropped, 0,
            "{dropped} fault messages never reached the client"
        );
        assert!(
            delivered >= n,
            "only {delivered} of {n} fault messages went out on the GET stream"
        );
    }

    /// The end of every test: a follow-up call on the handle works, the handle is closed and
    /// dropped, and the process is back to its baseline (descriptors, tasks, children).
    async fn finish(self, server: Server) {
        let r = bounded(
            "follow-up call",
            Duration::from_secs(15),
            server.call_tool("echo", json!({"text": "follow-up"})),
        )
        .await
        .unwrap_or_else(|e| panic!("the follow-up call failed: {e}"));
        assert_eq!(r.text(), "follow-up");
        self.assert_faults_arrived(0);
        bounded("close", Duration::from_secs(15), server.close()).await;
        drop(server);
        self.base
            .assert_back(&format!("{:?}", self.kind), FD_SLACK, TASK_SLACK)
            .await;
        eprintln!(
            "resources: before {:?}, after {:?} (fds counted under nextest only)",
            self.base,
            Resources::now()
        );
        assert_no_children_left().await;
    }
}

/// Awaits every task of `set` within `limit`; the results in completion order.
async fn join_all<T: 'static>(mut set: JoinSet<T>, limit: Duration) -> Vec<T> {
    bounded("calls", limit, async {
        let mut out = Vec::with_capacity(set.len());
        while let Some(r) = set.join_next().await {
            out.push(r.expect("a call task panicked"));
        }
        out
    })
    .await
}

/// Spawns a tool call that reports its tag, result and duration.
fn spawn_call(
    set: &mut JoinSet<(String, CallResult, Duration)>,
    guard: &Guard,
    tag: impl Into<String>,
    tool: &'static str,
    args: Value,
    options: RequestOptions,
) {
    let (g, tag) = (guard.clone(), tag.into());
    set.spawn(async move {
        let started = Instant::now();
        let r = g.call_tool(tool, args).options(options).await;
        (tag, r, started.elapsed())
    });
}

fn spawn_echoes(set: &mut JoinSet<(String, CallResult, Duration)>, guard: &Guard, n: usize) {
    for i in 0..n {
        let text = format!("echo-{i}");
        spawn_call(
            set,
            guard,
            text.clone(),
            "echo",
            json!({ "text": text }),
            RequestOptions::new(),
        );
    }
}

/// Asserts the echo calls among `results` (tag `echo-N`) all got their own text back.
fn check_echoes(results: &[(String, CallResult, Duration)]) -> usize {
    let mut n = 0;
    for (tag, r, _) in results.iter().filter(|(t, _, _)| t.starts_with("echo-")) {
        match r {
            Ok(r) => assert_eq!(&r.text(), tag, "an echo got another call's answer"),
            Err(e) => panic!("{tag} failed: {e}"),
        }
        n += 1;
    }
    n
}

#[track_caller]
fn assert_kind(tag: &str, r: &CallResult, kinds: &[ErrorKind]) {
    match r {
        Ok(ok) => panic!("{tag}: expected an error of kind {kinds:?}, got {ok:?}"),
        Err(e) => assert!(
            kinds.contains(&e.kind()),
            "{tag}: expected kind {kinds:?}, got {:?}: {e}",
            e.kind()
        ),
    }
}

async fn enter(server: &Server) -> Guard {
    bounded("enter", STEP, server.enter()).await.expect("enter")
}

// ---------------------------------------------------------------------------------------------
// The scenarios. Each takes the transport; the test functions at the end instantiate them.
// ---------------------------------------------------------------------------------------------

/// The server dies with 20 calls in flight (stdio: the process exits; HTTP: the whole server
/// stops). Every call fails at once: `Closed` with the exit status on stdio, `Closed` on legacy
/// SSE (its stream ended), `Http` on Streamable HTTP (the POST or its stream broke; with event
/// ids after one resumption attempt). The next call reconnects (HTTP: to a restarted server).
async fn crash_mid_call(kind: Kind) {
    let mut rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let pid = guard.process_id();
    let mut set = JoinSet::new();
    for i in 0..20 {
        spawn_call(
            &mut set,
            &guard,
            format!("sleep-{i}"),
            "sleep",
            json!({"ms": 30_000}),
            RequestOptions::new(),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    spawn_call(
        &mut set,
        &guard,
        "crash",
        "crash",
        json!({"code": 7}),
        RequestOptions::new(),
    );
    let results = join_all(set, Duration::from_secs(15)).await;
    let took = started.elapsed();
    let expected = match kind {
        Kind::Stdio | Kind::Legacy => ErrorKind::Closed,
        Kind::Json | Kind::Sse => ErrorKind::Http,
    };
    assert_eq!(results.len(), 21);
    for (tag, r, _) in &results {
        assert_kind(tag, r, &[expected]);
        if kind == Kind::Stdio {
            let status = r
                .as_ref()
                .unwrap_err()
                .close_reason()
                .and_then(|c| c.exit_status());
            assert_eq!(status.and_then(|s| s.code()), Some(7), "{tag}");
        }
    }
    // One resumption attempt waits the default retry (1 s) on SSE.
    let limit = Duration::from_secs(if kind == Kind::Sse { 5 } else { 2 });
    assert!(took < limit, "the calls failed only after {took:?}");
    drop(guard);
    if let Some(pid) = pid {
        assert!(wait_reaped(pid, Duration::from_secs(3)).await, "not reaped");
    }
    if kind.is_http() {
        rig.restart().await;
    }
    rig.finish(server).await;
}

/// Ten calls to a tool that never answers, each with a 300 ms timeout: each fails with
/// `Timeout` in time, and the server receives `notifications/cancelled` for each.
async fn hang_times_out_and_cancels(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let before = rig.cancellations(&guard).await;
    let mut set = JoinSet::new();
    for i in 0..10 {
        spawn_call(
            &mut set,
            &guard,
            format!("hang-{i}"),
            "hang",
            json!({}),
            RequestOptions::new().timeout(Duration::from_millis(300)),
        );
    }
    spawn_echoes(&mut set, &guard, 50);
    let results = join_all(set, Duration::from_secs(10)).await;
    for (tag, r, took) in results.iter().filter(|(t, _, _)| t.starts_with("hang-")) {
        assert_kind(tag, r, &[ErrorKind::Timeout]);
        assert!(
            *took >= Duration::from_millis(290) && *took < Duration::from_secs(3),
            "{tag} timed out after {took:?}"
        );
    }
    assert_eq!(check_echoes(&results), 50);
    // `cancellations` itself is one more request on stdio; counting starts from `before`.
    rig.wait_cancellations(&guard, before + 10).await;
    drop(guard);
    rig.finish(server).await;
}

/// Garbage on the server's output (non-JSON lines, truncated JSON, JSON that is not JSON-RPC)
/// while 200 calls run: skipped, every call answered. stdio also gets responses written in
/// pieces (up to 8, 5 ms apart: half-written lines the framer must join).
async fn garbage_and_half_written_lines(kind: Kind) {
    let rig = Rig::start(kind, &["--garbage-at-start", "3"], |_| {}).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let mut set = JoinSet::new();
    for i in 0..5 {
        spawn_call(
            &mut set,
            &guard,
            format!("garbage-{i}"),
            "garbage",
            json!({"lines": 500}),
            RequestOptions::new(),
        );
    }
    if kind == Kind::Stdio {
        for i in 0..20 {
            spawn_call(
                &mut set,
                &guard,
                format!("split-{i}"),
                "split",
                json!({"text": format!("split-{i}-{}", "y".repeat(i * 100)), "parts": 1 + i % 8, "ms": 5}),
                RequestOptions::new(),
            );
        }
    }
    spawn_echoes(&mut set, &guard, 200);
    let results = join_all(set, Duration::from_secs(30)).await;
    assert_eq!(check_echoes(&results), 200);
    for (tag, r, _) in &results {
        let text = match r {
            Ok(r) => r.text(),
            Err(e) => panic!("{tag}: {e}"),
        };
        if tag.starts_with("garbage-") {
            assert_eq!(text, "ok");
        } else if let Some(i) = tag.strip_prefix("split-") {
            assert!(text.starts_with(&format!("split-{i}-")), "{tag}: {text}");
        }
    }
    rig.assert_faults_arrived(5 * 500);
    drop(guard);
    rig.finish(server).await;
}

/// Responses over the client's 64 KiB message limit (1 MB each) among normal ones: each fails
/// alone with `Protocol`, quickly (not at its 8 s timeout); the others are answered.
async fn oversized_response(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| {
        b.max_message_size(64 * 1024)
            .request_timeout(Duration::from_secs(8))
    });
    let guard = enter(&server).await;
    let mut set = JoinSet::new();
    for i in 0..3 {
        spawn_call(
            &mut set,
            &guard,
            format!("huge-{i}"),
            "big",
            json!({"bytes": 1_000_000}),
            RequestOptions::new(),
        );
    }
    for i in 0..20 {
        spawn_call(
            &mut set,
            &guard,
            format!("small-{i}"),
            "big",
            json!({"bytes": 1000}),
            RequestOptions::new(),
        );
    }
    spawn_echoes(&mut set, &guard, 20);
    let results = join_all(set, Duration::from_secs(20)).await;
    assert_eq!(check_echoes(&results), 20);
    for (tag, r, took) in &results {
        if tag.starts_with("huge-") {
            assert_kind(tag, r, &[ErrorKind::Protocol]);
            assert!(
                *took < Duration::from_secs(4),
                "{tag} failed after {took:?}"
            );
        } else if tag.starts_with("small-") {
            assert_eq!(r.as_ref().expect("small").text().len(), 1000, "{tag}");
        }
    }
    drop(guard);
    rig.finish(server).await;
}

/// A notification over the message limit (a 200 KB log message, limit 64 KiB) is dropped; the
/// call that caused it is still answered.
async fn oversized_notification(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| b.max_message_size(64 * 1024));
    let guard = enter(&server).await;
    let r = bounded(
        "log call",
        Duration::from_secs(10),
        guard.call_tool(
            "log",
            json!({"level": "info", "message": "z".repeat(200_000)}),
        ),
    )
    .await;
    match r {
        Ok(r) => assert_eq!(r.text(), "ok"),
        Err(e) => panic!("an oversized notification failed the call that caused it: {e}"),
    }
    rig.assert_faults_arrived(1);
    drop(guard);
    rig.finish(server).await;
}

/// Responses for ids nobody asked about (a large number, a string, a negative number, an error
/// with a null id) among 100 calls: ignored; every call gets its own answer.
async fn unknown_id_response(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let mut set = JoinSet::new();
    for i in 0..50 {
        spawn_call(
            &mut set,
            &guard,
            format!("stray-{i}"),
            "stray",
            json!({}),
            RequestOptions::new(),
        );
    }
    spawn_echoes(&mut set, &guard, 100);
    let results = join_all(set, Duration::from_secs(20)).await;
    assert_eq!(check_echoes(&results), 100);
    for (tag, r, _) in results.iter().filter(|(t, _, _)| t.starts_with("stray-")) {
        assert_eq!(r.as_ref().expect("stray").text(), "ok", "{tag}");
    }
    rig.assert_faults_arrived(50 * 4);
    drop(guard);
    rig.finish(server).await;
}

/// The server answers a request under another id, so the request itself is never answered.
/// stdio and legacy SSE cannot tell: the call fails with `Timeout` at its 2.5 s timeout (and is
/// cancelled). Streamable HTTP can: a JSON body that is not the answer fails it with `Protocol`
/// at once; an SSE stream that ends without the answer fails it with `Http` after the one
/// resumption attempt.
async fn response_under_wrong_id(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    // Where the answer can only be missed, the call times out (2.5 s); where the transport
    // can tell, it fails with its own error long before its 20 s timeout.
    let (expected, timeout) = match kind {
        Kind::Stdio | Kind::Legacy => (ErrorKind::Timeout, Duration::from_millis(2500)),
        Kind::Sse => (ErrorKind::Http, Duration::from_secs(20)),
        Kind::Json => (ErrorKind::Protocol, Duration::from_secs(20)),
    };
    let limit = Duration::from_secs(10);
    let mut set = JoinSet::new();
    spawn_call(
        &mut set,
        &guard,
        "wrong",
        "wrong_id",
        json!({}),
        RequestOptions::new().timeout(timeout),
    );
    spawn_echoes(&mut set, &guard, 20);
    let results = join_all(set, Duration::from_secs(30)).await;
    assert_eq!(check_echoes(&results), 20);
    let (_, r, took) = results.iter().find(|(t, _, _)| t == "wrong").unwrap();
    assert_kind("wrong_id", r, &[expected]);
    assert!(*took < limit, "wrong_id failed after {took:?}");
    drop(guard);
    rig.finish(server).await;
}

/// Every response of 50 calls sent twice (texts "first", then "second") among 100 other calls:
/// each caller gets exactly one answer — the first (JSON mode: either copy, as the first goes
/// out on the GET stream and the second in the POST's body) — and no caller gets another's.
async fn duplicate_responses(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let mut set = JoinSet::new();
    for i in 0..50 {
        spawn_call(
            &mut set,
            &guard,
            format!("dup-{i}"),
            "duplicate",
            json!({}),
            RequestOptions::new(),
        );
    }
    spawn_echoes(&mut set, &guard, 100);
    let results = join_all(set, Duration::from_secs(20)).await;
    assert_eq!(check_echoes(&results), 100);
    for (tag, r, _) in results.iter().filter(|(t, _, _)| t.starts_with("dup-")) {
        let text = r.as_ref().expect("duplicate").text();
        if kind == Kind::Json {
            assert!(text == "first" || text == "second", "{tag}: {text}");
        } else {
            assert_eq!(text, "first", "{tag}");
        }
    }
    rig.assert_faults_arrived(50);
    drop(guard);
    rig.finish(server).await;
}

/// stdio: the server writes half a line, then closes its stdout but keeps running (and, with
/// `--ignore-stdin-eof`, ignores its stdin closing too). Ten calls in flight and the trigger
/// fail at once with `Closed` ("closed its stdout"); the process is still shut down and reaped.
async fn stdout_closed_server_keeps_running(extra: &[&str]) {
    let rig = Rig::start(Kind::Stdio, extra, |_| {}).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let pid = guard.process_id().expect("pid");
    let mut set = JoinSet::new();
    for i in 0..10 {
        spawn_call(
            &mut set,
            &guard,
            format!("sleep-{i}"),
            "sleep",
            json!({"ms": 30_000}),
            RequestOptions::new(),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    spawn_call(
        &mut set,
        &guard,
        "close",
        "close_stdout",
        json!({"partial": "{\"jsonrpc\":\"2.0\",\"id\":"}),
        RequestOptions::new(),
    );
    let results = join_all(set, Duration::from_secs(10)).await;
    let took = started.elapsed();
    for (tag, r, _) in &results {
        assert_kind(tag, r, &[ErrorKind::Closed]);
        let e = r.as_ref().unwrap_err();
        assert!(e.to_string().contains("closed its stdout"), "{tag}: {e}");
    }
    // Far below the calls' 30 s sleeps and 60 s timeout: nobody waited for them.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(is_running(pid) || proc_state(pid).is_none());
    drop(guard);
    assert!(
        wait_reaped(pid, Duration::from_secs(5)).await,
        "the server that closed its stdout was not reaped"
    );
    rig.finish(server).await;
}

/// stdio: 100 MB on stderr (as `lines` lines) while 2,000 calls run: every call is answered,
/// the client's peak memory grows by less than 64 MiB (nothing buffers the flood), and the
/// stderr lines kept for error messages are capped.
async fn stderr_flood(lines: u64, bytes: u64) {
    let rig = Rig::start(Kind::Stdio, &[], |_| {}).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let peak_before = peak_rss_kib();
    let started = Instant::now();
    let mut set = JoinSet::new();
    spawn_call(
        &mut set,
        &guard,
        "flood",
        "stderr",
        json!({"lines": lines, "bytes": bytes}),
        RequestOptions::new(),
    );
    spawn_echoes(&mut set, &guard, 2000);
    let results = join_all(set, Duration::from_secs(60)).await;
    assert_eq!(check_echoes(&results), 2000);
    let (_, flood, _) = results.iter().find(|(t, _, _)| t == "flood").unwrap();
    assert_eq!(flood.as_ref().expect("flood").text(), "ok");
    let took = started.elapsed();
    let grew_mib = peak_rss_kib().saturating_sub(peak_before) / 1024;
    if own_process() {
        assert!(
            grew_mib < 64,
            "peak RSS grew by {grew_mib} MiB during the flood"
        );
    }
    // The stderr tail reported on a crash: short lines only.
    let err = guard
        .call_tool("crash", json!({"code": 3}))
        .await
        .expect_err("crash");
    let tail = err.close_reason().expect("close reason").stderr_tail();
    assert!(!tail.is_empty());
    assert!(
        tail.iter().all(|l| l.len() < 5000),
        "stderr lines are capped"
    );
    eprintln!(
        "stderr flood of {lines} line(s) x {bytes} bytes with 2,000 calls: {took:?}, \
         peak RSS +{grew_mib} MiB"
    );
    drop(guard);
    rig.finish(server).await;
}

/// Streamable HTTP: the session expires (404) after its 100th POST while 150 calls, and 5 slow
/// ones that straddle the expiry, are under way: callers see nothing — the rejected requests
/// are re-sent on a re-initialized session.
async fn session_404_mid_batch(kind: Kind) {
    let rig = Rig::start(kind, &[], |o| o.expire_session_after = Some(100)).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let mut set = JoinSet::new();
    for i in 0..5 {
        spawn_call(
            &mut set,
            &guard,
            format!("slow-{i}"),
            "sleep",
            json!({"ms": 400}),
            RequestOptions::new(),
        );
    }
    spawn_random_echoes(&mut set, &guard, 150, 50);
    let results = join_all(set, Duration::from_secs(30)).await;
    assert_eq!(check_echoes(&results), 150);
    for (tag, r, _) in results.iter().filter(|(t, _, _)| t.starts_with("slow-")) {
        assert!(r.is_ok(), "{tag}: {r:?}");
    }
    let stats = &rig.http().stats;
    assert_eq!(stats.get(&stats.sessions_expired), 1);
    drop(guard);
    rig.finish(server).await;
}

/// Streamable HTTP: a storm of expiries — every session dies after 50 POSTs while 500 calls
/// are under way, so a request may be rejected by several sessions in a row. Each call is
/// answered or, once rejected by more sessions than the client re-sends for (3), fails with
/// `Http` 404; nothing hangs; the connection works afterwards.
async fn session_404_storm(kind: Kind) {
    let rig = Rig::start(kind, &[], |o| o.expire_session_after = Some(50)).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let mut set = JoinSet::new();
    spawn_random_echoes(&mut set, &guard, 500, 100);
    let results = join_all(set, Duration::from_secs(30)).await;
    let mut failed = 0;
    for (tag, r, _) in &results {
        match r {
            Ok(r) => assert_eq!(&r.text(), tag),
            Err(e) => {
                assert_eq!(
                    (e.kind(), e.http_status()),
                    (ErrorKind::Http, Some(404)),
                    "{tag}: {e}"
                );
                failed += 1;
            }
        }
    }
    let stats = &rig.http().stats;
    let expired = stats.get(&stats.sessions_expired);
    // How many sessions die depends on how many calls are in flight at each expiry, so only
    // the bounds that hold for any timing are checked: a session serves at most 50 POSTs, so
    // the answered calls fit in the expired sessions plus the live one; a failed call was
    // rejected by 4 different sessions (each re-send carries a newer session id), and if none
    // failed, 500 answered calls needed at least 9 expiries.
    let answered = results.len() - failed;
    assert!(
        answered as u64 <= 50 * (expired + 1),
        "{answered} calls answered by {expired} expired sessions and the live one"
    );
    assert!(
        expired >= 4,
        "only {expired} sessions expired ({failed} calls failed)"
    );
    eprintln!("{kind:?}: 500 calls, {expired} session expiries, {failed} calls failed with 404");
    drop(guard);
    rig.finish(server).await;
}

/// Spawns `n` echo calls (tags `echo-N`), each after a random delay below `spread_ms`.
fn spawn_random_echoes(
    set: &mut JoinSet<(String, CallResult, Duration)>,
    guard: &Guard,
    n: usize,
    spread_ms: u64,
) {
    for i in 0..n {
        let g = guard.clone();
        set.spawn(async move {
            let ms = rand::rng().random_range(0..spread_ms);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let started = Instant::now();
            let text = format!("echo-{i}");
            let r = g.call_tool("echo", json!({ "text": text })).await;
            (text, r, started.elapsed())
        });
    }
}

/// The SSE stream carrying a response is cut by the server, before or after the response
/// event. Streamable HTTP with event ids: resumed with GET + Last-Event-ID, every call
/// answered once. Without ids, a cut before the response fails exactly that call with `Http`.
/// Legacy SSE: its one stream is the connection: every call in flight fails with `Closed`
/// (the caller of a cut after its response may have it), and the next call reconnects.
async fn sse_drop(kind: Kind, before_response: bool, event_ids: bool) {
    let rig = Rig::start(kind, &[], |o| o.event_ids = event_ids).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let mut set = JoinSet::new();
    if kind == Kind::Legacy {
        for i in 0..10 {
            spawn_call(
                &mut set,
                &guard,
                format!("sleep-{i}"),
                "sleep",
                json!({"ms": 30_000}),
                RequestOptions::new(),
            );
        }
        // All ten have reached the server before the stream is cut: a POST arriving later
        // would be refused, not lost with the stream. (The warm-up made no tool calls.)
        let stats = &rig.http().stats;
        assert!(
            stats
                .wait_for(Duration::from_secs(10), |s| s.get(&s.tool_calls) >= 10)
                .await
        );
        let started = Instant::now();
        spawn_call(
            &mut set,
            &guard,
            "drop",
            "drop_stream",
            json!({ "before_response": before_response }),
            RequestOptions::new(),
        );
        let results = join_all(set, Duration::from_secs(10)).await;
        // Far below the 30 s sleeps: the cut failed them at once.
        assert!(started.elapsed() < Duration::from_secs(10));
        for (tag, r, _) in &results {
            if tag == "drop" && !before_response && r.is_ok() {
                continue; // the response went out before the cut
            }
            assert_kind(tag, r, &[ErrorKind::Closed]);
        }
    } else {
        for i in 0..10 {
            spawn_call(
                &mut set,
                &guard,
                format!("drop-{i}"),
                "drop_stream",
                json!({ "before_response": before_response }),
                RequestOptions::new(),
            );
        }
        spawn_echoes(&mut set, &guard, 50);
        let results = join_all(set, Duration::from_secs(15)).await;
        assert_eq!(check_echoes(&results), 50);
        for (tag, r, took) in results.iter().filter(|(t, _, _)| t.starts_with("drop-")) {
            if before_response && !event_ids {
                assert_kind(tag, r, &[ErrorKind::Http]);
                let e = r.as_ref().unwrap_err();
                assert!(e.to_string().contains("without event ids"), "{e}");
                assert!(*took < Duration::from_secs(2), "{tag}: {took:?}");
            } else {
                assert_eq!(r.as_ref().expect("resumed").text(), "dropped", "{tag}");
            }
        }
        if before_response && event_ids {
            let stats = &rig.http().stats;
            assert!(stats.get(&stats.resumes) >= 10);
        }
    }
    drop(guard);
    rig.finish(server).await;
}

/// A burst of 25 × 503 while 300 calls are under way: exactly the calls whose POST got a 503
/// fail, with `Http` and status 503 (tool calls are not retried silently); the rest succeed.
async fn http_5xx_burst(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    // Final once the warm-up connection is closed (its `initialized` may or may not have made
    // it before the close).
    let stats = &rig.http().stats;
    let initialized_before = stats.get(&stats.initialized);
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    guard.ping().await.expect("ping");
    // This connection's `initialized` has landed, so no 503 goes to it.
    assert!(
        stats
            .wait_for(Duration::from_secs(10), |s| s.get(&s.initialized)
                > initialized_before)
            .await
    );
    // Armed before the calls start (spread over 200 ms): all 25 go to tool calls, whatever
    // the scheduling.
    rig.http().fail_next_posts(25);
    let mut set = JoinSet::new();
    for i in 0..300 {
        let g = guard.clone();
        set.spawn(async move {
            let ms = rand::rng().random_range(0..200);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let started = Instant::now();
            let text = format!("call-{i}");
            let r = g.call_tool("echo", json!({ "text": text })).await;
            (text, r, started.elapsed())
        });
    }
    let results = join_all(set, Duration::from_secs(20)).await;
    let mut failed = 0;
    for (tag, r, _) in &results {
        match r {
            Ok(r) => assert_eq!(&r.text(), tag),
            Err(e) => {
                assert_eq!(
                    (e.kind(), e.http_status()),
                    (ErrorKind::Http, Some(503)),
                    "{tag}: {e}"
                );
                failed += 1;
            }
        }
    }
    let stats = &rig.http().stats;
    assert_eq!(stats.get(&stats.http_5xx), 25);
    assert_eq!(failed, 25, "one failed call per 503");
    drop(guard);
    rig.finish(server).await;
}

/// 10,000 calls on one connection; a third run to completion and must be answered correctly, a
/// third are dropped by a timeout at a random moment (0–20 ms), a third are in tasks aborted at
/// a random moment. Everything finishes in bounded time; no dropped call leaves anything
/// behind (the follow-up works, resources are back); the server saw at most one cancellation
/// per dropped call. HTTP caps requests in flight at 64 (`max_concurrent_requests`), as the
/// client and the server share this process's descriptor limit, which may be 1024 elsewhere;
/// `MCPMUX_FAULTS_UNCAPPED=1` runs it with the default (no cap).
async fn dropped_callers_10k(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| {
        if kind.is_http() && std::env::var_os("MCPMUX_FAULTS_UNCAPPED").is_none() {
            b.max_concurrent_requests(64)
        } else {
            b
        }
    });
    let guard = enter(&server).await;
    let before = rig.cancellations(&guard).await;
    let started = Instant::now();
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    let mut aborts = Vec::new();
    for i in 0..10_000u32 {
        let g = guard.clone();
        let dropped = dropped.clone();
        let text = format!("call-{i}");
        let args = json!({ "text": text });
        let handle = set.spawn(async move {
            match i % 3 {
                0 => {
                    let r = g.call_tool("echo", args).await;
                    assert_eq!(r.expect("a completed call failed").text(), text);
                }
                1 => {
                    let ms = rand::rng().random_range(0..20);
                    match tokio::time::timeout(Duration::from_millis(ms), g.call_tool("echo", args))
                        .await
                    {
                        Ok(r) => assert_eq!(r.expect("answered before its drop").text(), text),
                        Err(_) => {
                            dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                _ => {
                    // Aborted from outside at a random moment; counted there.
                    let r = g.call_tool("echo", args).await;
                    assert_eq!(r.expect("answered before its abort").text(), text);
                }
            }
        });
        if i % 3 == 2 {
            aborts.push(handle);
        }
    }
    // Abort the third group at random moments over the first 20 ms.
    let mut aborted = 0;
    let abort_start = Instant::now();
    for h in aborts {
        let at = Duration::from_micros(rand::rng().random_range(0..20_000));
        if let Some(wait) = at.checked_sub(abort_start.elapsed()) {
            tokio::time::sleep(wait.min(Duration::from_millis(1))).await;
        }
        if !h.is_finished() {
            h.abort();
            aborted += 1;
        }
    }
    bounded("10,000 calls", Duration::from_secs(90), async {
        while let Some(r) = set.join_next().await {
            match r {
                Ok(()) => {}
                Err(e) if e.is_cancelled() => {}
                Err(e) => panic!("a call task panicked: {e}"),
            }
        }
    })
    .await;
    let dropped = dropped.load(Ordering::Relaxed) + aborted;
    let took = started.elapsed();
    let cancelled = rig.cancellations(&guard).await - before;
    assert!(
        cancelled <= dropped,
        "{cancelled} cancellations for {dropped} dropped calls"
    );
    eprintln!(
        "{kind:?}: 10,000 calls, {dropped} dropped, {cancelled} cancellations seen, {took:?}"
    );
    drop(guard);
    rig.finish(server).await;
}

/// 100 `sleep` calls the server has received (stdio: an echo sent after them was answered, and
/// the server reads in order; HTTP: its `tools/call` count), then every caller dropped: exactly
/// 100 `notifications/cancelled`, one per call, none twice. The deterministic companion of
/// `dropped_callers_10k`, where a call dropped before the connection task took it is never
/// sent at all (HTTP), or sent and cancelled at once (stdio: its line was already in the
/// outbox).
async fn dropped_after_received_100(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| b);
    let guard = enter(&server).await;
    let before = rig.cancellations(&guard).await;
    let calls_before = match kind {
        Kind::Stdio => 0,
        _ => rig.http().stats.get(&rig.http().stats.tool_calls),
    };
    let mut set = JoinSet::new();
    for i in 0..100 {
        spawn_call(
            &mut set,
            &guard,
            format!("sleep-{i}"),
            "sleep",
            json!({"ms": 60_000}),
            RequestOptions::new(),
        );
    }
    match kind {
        Kind::Stdio => {
            // Written after the 100 (their tasks' first polls queue them; half a second is
            // ample on a loaded machine, and too short would fail the count, never pass it):
            // answered means read, as the server reads in order.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let r = bounded(
                "echo",
                Duration::from_secs(10),
                guard.call_tool("echo", json!({"text": "after"})),
            )
            .await
            .expect("echo");
            assert_eq!(r.text(), "after");
        }
        _ => {
            let stats = &rig.http().stats;
            let received = stats
                .wait_for(Duration::from_secs(10), |s| {
                    s.get(&s.tool_calls) >= calls_before + 100
                })
                .await;
            assert!(received, "the server never received the 100 calls");
        }
    }
    set.abort_all();
    while let Some(r) = set.join_next().await {
        assert!(
            r.is_err_and(|e| e.is_cancelled()),
            "a sleep call finished early"
        );
    }
    rig.wait_cancellations(&guard, before + 100).await;
    // Give a duplicate the time to arrive, then count exactly.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rig.cancellations(&guard).await - before, 100);
    drop(guard);
    rig.finish(server).await;
}

/// 1,000 connect / enter / close cycles on one handle: even cycles close and wait for the
/// shutdown, odd ones only drop the guard (the shutdown overlaps the next connect); every 10th
/// makes a call. Afterwards: no process, descriptor or task left over.
async fn connect_close_cycles(kind: Kind) {
    let rig = Rig::start(kind, &[], |_| {}).await;
    let server = rig.client(|b| b);
    let started = Instant::now();
    let mut pids = std::collections::HashSet::new();
    for i in 0..1000 {
        let guard = bounded("enter", Duration::from_secs(10), server.enter())
            .await
            .unwrap_or_else(|e| panic!("cycle {i}: {e}"));
        if let Some(pid) = guard.process_id() {
            pids.insert(pid);
        }
        if i % 10 == 0 {
            let r = guard
                .call_tool("echo", json!({"text": "cycle"}))
                .await
                .unwrap_or_else(|e| panic!("cycle {i}: {e}"));
            assert_eq!(r.text(), "cycle");
        }
        drop(guard);
        if i % 2 == 0 {
            bounded("close", Duration::from_secs(10), server.close()).await;
        }
    }
    let took = started.elapsed();
    // An enter right after a guard was dropped may still join that connection (it had not
    // closed yet): fewer processes than cycles, each one reaped.
    let processes = pids.len();
    for pid in pids {
        assert!(wait_reaped(pid, Duration::from_secs(5)).await, "{pid} left");
    }
    eprintln!("{kind:?}: 1,000 connect/enter/close cycles in {took:?} ({processes} processes)");
    rig.finish(server).await;
}

// ---------------------------------------------------------------------------------------------
// The matrix: one test per fault and transport.
// ---------------------------------------------------------------------------------------------

macro_rules! cases {
    ($kind:expr; $($name:ident => $body:expr;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let kind: Kind = $kind;
                let _ = kind;
                bounded(stringify!($name), Duration::from_secs(120), $body(kind)).await;
            }
        )*
    };
}

/// Calls `f(kind)`; lets `cases!` take scenarios with extra arguments as closures.
fn with<F: Future<Output = ()>>(f: impl FnOnce(Kind) -> F) -> impl FnOnce(Kind) -> F {
    f
}

mod stdio {
    use super::*;
    cases!(Kind::Stdio;
        crash_mid_call => super::crash_mid_call;
        hang_times_out_and_cancels => super::hang_times_out_and_cancels;
        garbage_and_half_written_lines => super::garbage_and_half_written_lines;
        oversized_response => super::oversized_response;
        oversized_notification => super::oversized_notification;
        unknown_id_response => super::unknown_id_response;
        response_under_wrong_id => super::response_under_wrong_id;
        duplicate_responses => super::duplicate_responses;
        stdout_closed_server_keeps_running =>
            with(|_| super::stdout_closed_server_keeps_running(&[]));
        stdout_closed_and_stdin_eof_ignored =>
            with(|_| super::stdout_closed_server_keeps_running(&["--ignore-stdin-eof"]));
        stderr_flood_100mb_in_lines => with(|_| super::stderr_flood(100_000, 999));
        stderr_flood_100mb_one_line => with(|_| super::stderr_flood(1, 100_000_000));
        dropped_callers_10k => super::dropped_callers_10k;
        dropped_after_received_100 => super::dropped_after_received_100;
        connect_close_cycles_1000 => super::connect_close_cycles;
    );
}

mod streamable_json {
    use super::*;
    cases!(Kind::Json;
        crash_mid_call => super::crash_mid_call;
        hang_times_out_and_cancels => super::hang_times_out_and_cancels;
        garbage_lines => super::garbage_and_half_written_lines;
        oversized_response => super::oversized_response;
        oversized_notification => super::oversized_notification;
        unknown_id_response => super::unknown_id_response;
        response_under_wrong_id => super::response_under_wrong_id;
        duplicate_responses => super::duplicate_responses;
        session_404_mid_batch => super::session_404_mid_batch;
        session_404_storm => super::session_404_storm;
        http_5xx_burst => super::http_5xx_burst;
        dropped_callers_10k => super::dropped_callers_10k;
        dropped_after_received_100 => super::dropped_after_received_100;
        connect_close_cycles_1000 => super::connect_close_cycles;
    );
}

mod streamable_sse {
    use super::*;
    cases!(Kind::Sse;
        crash_mid_call => super::crash_mid_call;
        hang_times_out_and_cancels => super::hang_times_out_and_cancels;
        garbage_lines => super::garbage_and_half_written_lines;
        oversized_response => super::oversized_response;
        oversized_notification => super::oversized_notification;
        unknown_id_response => super::unknown_id_response;
        response_under_wrong_id => super::response_under_wrong_id;
        duplicate_responses => super::duplicate_responses;
        session_404_mid_batch => super::session_404_mid_batch;
        session_404_storm => super::session_404_storm;
        sse_drop_before_response => with(|k| super::sse_drop(k, true, true));
        sse_drop_after_response => with(|k| super::sse_drop(k, false, true));
        sse_drop_before_response_without_ids => with(|k| super::sse_drop(k, true, false));
        sse_drop_after_response_without_ids => with(|k| super::sse_drop(k, false, false));
        http_5xx_burst => super::http_5xx_burst;
        dropped_callers_10k => super::dropped_callers_10k;
        dropped_after_received_100 => super::dropped_after_received_100;
        connect_close_cycles_1000 => super::connect_close_cycles;
    );
}

mod legacy_sse {
    use super::*;
    cases!(Kind::Legacy;
        crash_mid_call => super::crash_mid_call;
        hang_times_out_and_cancels => super::hang_times_out_and_cancels;
        garbage_lines => super::garbage_and_half_written_lines;
        oversized_response => super::oversized_response;
        oversized_notification => super::oversized_notification;
        unknown_id_response => super::unknown_id_response;
        response_under_wrong_id => super::response_under_wrong_id;
        duplicate_responses => super::duplicate_responses;
        sse_drop_before_response => with(|k| super::sse_drop(k, true, false));
        sse_drop_after_response => with(|k| super::sse_drop(k, false, false));
        http_5xx_burst => super::http_5xx_burst;
        dropped_callers_10k => super::dropped_callers_10k;
        dropped_after_received_100 => super::dropped_after_received_100;
        connect_close_cycles_1000 => super::connect_close_cycles;
    );
}

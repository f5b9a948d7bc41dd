//! Process lifecycle and startup flags: crash, stdin EOF, signals, delayed
//! initialize, garbage at start, grandchild.

mod common;

use std::time::{Duration, Instant};

use common::{Server, TIMEOUT, alive, signal};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use std::os::unix::process::ExitStatusExt;

#[tokio::test]
async fn crash_exits_with_code_without_answering() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    let id = s
        .send_request(
            "tools/call",
            json!({"name": "crash", "arguments": {"code": 42}}),
        )
        .await;
    let status = s.wait_exit_within(TIMEOUT).await.expect("server exits");
    assert_eq!(status.code(), Some(42));
    while let Some(line) = s.next_line().await {
        let m: Value = serde_json::from_str(&line).expect("json");
        assert_ne!(m.get("id"), Some(&id), "crash answered: {m}");
    }
    s.finish().await;
}

#[tokio::test]
async fn exits_zero_on_stdin_eof_even_with_requests_in_flight() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    s.send_request("tools/call", json!({"name": "hang", "arguments": {}}))
        .await;
    s.send_request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 60000}}),
    )
    .await;
    // Answered quickly, so it is still written out before exit.
    let echo = s
        .send_request(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "last"}}),
        )
        .await;
    let started = Instant::now();
    s.close_stdin();
    let status = s.wait_exit_within(TIMEOUT).await.expect("server exits");
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let mut ids = Vec::new();
    while let Some(line) = s.next_line().await {
        let m: Value = serde_json::from_str(&line).expect("json");
        ids.push(m["id"].clone());
    }
    assert_eq!(ids, vec![echo]);
    s.finish().await;
}

#[tokio::test]
async fn ignore_stdin_eof_keeps_running() {
    let mut s = Server::start(&["--ignore-stdin-eof"]).await;
    s.initialize().await;
    let id = s
        .send_request(
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 300}}),
        )
        .await;
    s.close_stdin();
    // In-flight requests are still answered after EOF.
    assert_eq!(
        s.response(&id).await["result"]["content"][0]["text"],
        "slept 300 ms"
    );
    assert!(
        s.wait_exit_within(Duration::from_millis(500))
            .await
            .is_none()
    );
    let status = s.finish().await;
    assert_eq!(status.signal(), Some(Signal::SIGKILL as i32));
}

#[tokio::test]
async fn garbage_at_start_comes_before_responses() {
    let mut s = Server::start(&["--garbage-at-start", "5"]).await;
    let id = s
        .send_request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    for i in 0..5 {
        let line = s.next_line().await.expect("garbage line");
        let rpc = serde_json::from_str::<Value>(&line)
            .map(|v| v.get("jsonrpc").is_some() && v.get("id").is_some())
            .unwrap_or(false);
        assert!(!rpc, "line {i} looks like a response: {line}");
    }
    let resp = s.next_message().await;
    assert_eq!(resp["id"], id);
    assert_eq!(resp["result"]["protocolVersion"], "2025-06-18");
    s.finish().await;
}

#[tokio::test]
async fn sigterm_default_and_ignored() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    signal(s.pid(), Signal::SIGTERM);
    let status = s.wait_exit_within(TIMEOUT).await.expect("SIGTERM kills");
    assert_eq!(status.signal(), Some(Signal::SIGTERM as i32));
    s.finish().await;

    let mut s = Server::start(&["--ignore-sigterm"]).await;
    // The handler is installed before stdin is read: a response proves it.
    s.initialize().await;
    signal(s.pid(), Signal::SIGTERM);
    assert!(
        s.wait_exit_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    assert_eq!(s.result("ping", json!({})).await, json!({}));
    let status = s.finish().await;
    assert_eq!(status.signal(), Some(Signal::SIGKILL as i32));
}

#[tokio::test]
async fn delayed_initialize() {
    let mut s = Server::start(&["--delay-initialize-ms", "300"]).await;
    let started = Instant::now();
    s.initialize().await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    s.finish().await;
}

#[tokio::test]
async fn never_initialize() {
    let mut s = Server::start(&["--never-initialize"]).await;
    let id = s
        .send_request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    // Other requests still work.
    assert_eq!(s.result("ping", json!({})).await, json!({}));
    assert!(
        s.next_line_within(Duration::from_millis(300))
            .await
            .is_err()
    );
    s.notify("notifications/cancelled", json!({"requestId": id}))
        .await;
    let r = s
        .result(
            "tools/call",
            json!({"name": "cancellations", "arguments": {}}),
        )
        .await;
    assert_eq!(r["structuredContent"]["cancelled"], json!([id]));
    s.finish().await;
}

#[tokio::test]
async fn grandchild_at_start() {
    let mut s = Server::start_with_stderr(&["--grandchild"]).await;
    let err = s.stderr.as_mut().expect("stderr");
    let line = tokio::time::timeout(TIMEOUT, err.next_line())
        .await
        .expect("stderr timed out")
        .expect("read stderr")
        .expect("stderr line");
    let pid: u32 = line
        .strip_prefix("mcpmux-test-server: grandchild pid ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected stderr line: {line}"));
    assert!(alive(pid));
    s.initialize().await;
    signal(pid, Signal::SIGKILL);
    let deadline = Instant::now() + TIMEOUT;
    while alive(pid) {
        assert!(Instant::now() < deadline, "grandchild not reaped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.finish().await;
}

#[tokio::test]
async fn help_lists_flags() {
    let out = tokio::time::timeout(
        TIMEOUT,
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpmux-test-server"))
            .arg("--help")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("--help timed out")
    .expect("run --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--page-size",
        "--cancel-log",
        "--garbage-at-start",
        "--grandchild",
        "--ignore-sigterm",
        "--ignore-stdin-eof",
        "--delay-initialize-ms",
        "--never-initialize",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}

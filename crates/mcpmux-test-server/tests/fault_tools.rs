//! The `--fault-tools` tools on stdio, and the 503 burst switch on HTTP.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn fault_tools_are_listed_only_with_the_flag() {
    let mut plain = Server::start(&[]).await;
    plain.initialize().await;
    let resp = plain
        .request("tools/call", json!({"name": "duplicate", "arguments": {}}))
        .await;
    assert_eq!(resp["error"]["code"], -32602, "{resp}");
    plain.finish().await;

    let mut s = Server::start(&["--fault-tools"]).await;
    s.initialize().await;
    let r = s.result("tools/list", json!({})).await;
    let names: Vec<&str> = r["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let mut expected = mcpmux_test_server::TOOL_NAMES.to_vec();
    expected.extend(mcpmux_test_server::FAULT_TOOL_NAMES);
    assert_eq!(names, expected);
    s.finish().await;
}

#[tokio::test]
async fn duplicate_stray_and_wrong_id() {
    let mut s = Server::start(&["--fault-tools"]).await;
    s.initialize().await;
    let id = s
        .send_request("tools/call", json!({"name": "duplicate", "arguments": {}}))
        .await;
    let first = s.response(&id).await;
    let second = s.response(&id).await;
    assert_eq!(text(&first["result"]), "first");
    assert_eq!(text(&second["result"]), "second");

    let id = s
        .send_request("tools/call", json!({"name": "stray", "arguments": {}}))
        .await;
    let answer = s.response(&id).await;
    assert_eq!(text(&answer["result"]), "ok");
    let strays: Vec<Value> = s.backlog.drain(..).map(|m| m["id"].clone()).collect();
    assert_eq!(
        strays,
        vec![
            json!(9_007_199_254_740_991_u64),
            json!("mcpmux-test-server-stray"),
            json!(-1),
            Value::Null
        ]
    );

    s.send_request("tools/call", json!({"name": "wrong_id", "arguments": {}}))
        .await;
    let wrong = s.next_message().await;
    assert_eq!(wrong["id"], "mcpmux-test-server-wrong-id");
    s.finish().await;
}

#[tokio::test]
async fn split_writes_one_line_in_pieces() {
    let mut s = Server::start(&["--fault-tools"]).await;
    s.initialize().await;
    let started = Instant::now();
    let r = s
        .call("split", json!({"text": "in pieces", "parts": 5, "ms": 30}))
        .await;
    assert_eq!(text(&r), "in pieces");
    assert!(started.elapsed() >= Duration::from_millis(120));
    let resp = s
        .request(
            "tools/call",
            json!({"name": "split", "arguments": {"text": "x", "parts": 0, "ms": 0}}),
        )
        .await;
    assert_eq!(resp["error"]["code"], -32602, "{resp}");
    s.finish().await;
}

#[tokio::test]
async fn close_stdout_keeps_the_process_running() {
    let mut s = Server::start(&["--fault-tools"]).await;
    s.initialize().await;
    let pid = s.pid();
    s.send_request(
        "tools/call",
        json!({"name": "close_stdout", "arguments": {"partial": "{\"jsonrpc\":\"2.0\",\"id\":"}}),
    )
    .await;
    // The partial line, then EOF.
    assert_eq!(
        s.next_line().await.as_deref(),
        Some("{\"jsonrpc\":\"2.0\",\"id\":")
    );
    assert_eq!(s.next_line().await, None);
    // Still running, still reading stdin (answers go to /dev/null).
    s.send_request("ping", json!({})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(alive(pid));
    assert!(
        s.wait_exit_within(Duration::from_millis(50))
            .await
            .is_none()
    );
    // stdin EOF still ends it.
    s.close_stdin();
    let status = s
        .wait_exit_within(TIMEOUT)
        .await
        .expect("exits on stdin EOF");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn a_single_huge_stderr_line_is_streamed() {
    let mut s = Server::start_with_stderr(&[]).await;
    s.initialize().await;
    let mut stderr = s.stderr.take().unwrap();
    let reader = tokio::spawn(async move {
        let mut lens = Vec::new();
        while let Ok(Some(line)) = stderr.next_line().await {
            lens.push(line.len());
        }
        lens
    });
    let r = s
        .call("stderr", json!({"lines": 2, "bytes": 300_000}))
        .await;
    assert_eq!(text(&r), "ok");
    s.close_stdin();
    s.wait_exit_within(TIMEOUT).await.expect("exits");
    let lens = tokio::time::timeout(TIMEOUT, reader)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lens, vec![300_000, 300_000]);
}

#[tokio::test]
async fn http_bursts_of_503() {
    let server = mcpmux_test_server::start_http(Default::default())
        .await
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let post = || {
        client
            .post(&server.url_mcp)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
            .send()
    };
    assert_eq!(post().await.unwrap().status(), 400); // no session: past the burst check
    server.fail_next_posts(2);
    assert_eq!(post().await.unwrap().status(), 503);
    assert_eq!(post().await.unwrap().status(), 503);
    assert_eq!(post().await.unwrap().status(), 400);
    assert_eq!(server.stats.get(&server.stats.http_5xx), 2);
}

//! Interop with MCP servers nobody here wrote: the official Python SDK (`mcp`, pinned) and
//! `@modelcontextprotocol/server-everything` (npm, pinned), over stdio.
//!
//! The peers are installed by `scripts/install-peers.sh` into `.peers/`. These tests never skip:
//! a missing peer fails with the install command.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use mcpmux::Server;
use rand::Rng;
use serde_json::json;

fn python_server() -> Server {
    let root = repo_root();
    let python = require_peer(root.join(".peers/venv/bin/python"));
    let script = require_peer(root.join("tests/peers/py_server.py"));
    Server::stdio(python)
        .arg(script)
        .arg("stdio")
        .name("python-mcp")
        .shutdown_timeouts(Duration::from_secs(2), Duration::from_secs(1))
        .build()
        .unwrap()
}

fn everything_server() -> Server {
    let entry = require_peer(
        repo_root()
            .join(".peers/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
    );
    Server::stdio("node")
        .arg(entry)
        .arg("stdio")
        .name("server-everything")
        .shutdown_timeouts(Duration::from_secs(2), Duration::from_secs(1))
        .build()
        .unwrap()
}

/// The seed scenario over stdio: one process for everyone, reaped at the end.
async fn stdio_scenario<F>(server: Server, tasks: usize, first_leaves_early: bool, make_call: F)
where
    F: Fn(usize) -> (String, serde_json::Value, String) + Send + Sync + 'static,
{
    let pids = parallel_scenario(server, tasks, first_leaves_early, make_call).await;
    assert_eq!(pids.len(), 1, "one process for all tasks: {pids:?}");
    let pid = *pids.iter().next().unwrap();
    assert!(
        wait_reaped(pid, Duration::from_secs(6)).await,
        "{pid} still exists: {:?}",
        proc_state(pid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_server_parallel_calls() {
    let server = python_server();
    // Everyone enters, then sleeps a random time: the exit order is random.
    stdio_scenario(server, 50, true, |ticket| {
        let ms = if ticket == 0 {
            1
        } else {
            rand::rng().random_range(50..150)
        };
        ("sleep".into(), json!({"ms": ms}), format!("slept {ms} ms"))
    })
    .await;
}

#[tokio::test]
async fn python_sdk_server_tools_and_structured_output() {
    let server = python_server();
    let guard = server.enter().await.unwrap();
    assert_eq!(guard.initialize_result().server_info.name, "py-peer");
    let tools = guard.list_tools().await.unwrap();
    let names: HashSet<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, HashSet::from(["echo", "add", "sleep"]));
    let r = guard
        .call_tool("add", json!({"a": 2, "b": 0.5}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 2.5})));
    let r = guard
        .call_tool("echo", json!({"text": "ünï \"q\"\n"}))
        .await
        .unwrap();
    assert_eq!(r.text(), "ünï \"q\"\n");
    // A Python tool error is a result with isError, not a JSON-RPC error.
    let r = guard.call_tool("add", json!({"a": "x"})).await.unwrap();
    assert!(r.is_error());
    // Cancelling a slow call leaves the connection usable.
    let slow = guard.call_tool("sleep", json!({"ms": 5000}));
    assert!(
        tokio::time::timeout(Duration::from_millis(100), slow)
            .await
            .is_err()
    );
    guard.ping().await.unwrap();
    let r = guard
        .call_tool("echo", json!({"text": "after cancel"}))
        .await
        .unwrap();
    assert_eq!(r.text(), "after cancel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_parallel_calls() {
    let server = everything_server();
    stdio_scenario(server, 100, false, |i| {
        let msg = format!("hello {i}");
        (
            "echo".into(),
            json!({"message": msg}),
            format!("Echo: {msg}"),
        )
    })
    .await;
}

#[tokio::test]
async fn server_everything_tools_annotations_and_content() {
    let server = everything_server();
    let guard = server.enter().await.unwrap();
    let tools = guard.list_tools().await.unwrap();
    let echo = tools.iter().find(|t| t.name == "echo").expect("echo tool");
    let ann = echo.annotations.as_ref().expect("annotations");
    assert_eq!(ann.read_only_hint, Some(true));
    // Unknown fields (`execution`) survive.
    assert!(echo.extra.contains_key("execution"), "{echo:?}");
    let r = guard
        .call_tool("get-sum", json!({"a": 2, "b": 0.5}))
        .await
        .unwrap();
    assert!(r.text().contains("2.5"), "{}", r.text());
    let r = guard.call_tool("get-tiny-image", json!({})).await.unwrap();
    assert!(r.content.iter().any(|c| c.type_name() == "image"), "{r:?}");
    let r = guard.call_tool("nope", json!({})).await;
    match r {
        Ok(r) => assert!(r.is_error()),
        Err(e) => assert!(e.is_rpc(), "{e}"),
    }
}

//! Interop with MCP servers nobody here wrote: the official Python SDK (`mcp`, pinned) and
//! `@modelcontextprotocol/server-everything` (npm, pinned), over stdio.
//!
//! The peers are installed by `scripts/install-peers.sh` into `.peers/`. These tests never skip:
//! a missing peer fails with the install command.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mcpmux::Server;
use rand::Rng;
use serde_json::json;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn require(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "interop peer missing: {} — install the pinned peers with `scripts/install-peers.sh`",
        path.display()
    );
    path
}

fn python_server() -> Server {
    let root = repo_root();
    let python = require(root.join(".peers/venv/bin/python"));
    let script = require(root.join("tests/peers/py_server.py"));
    Server::stdio(python)
        .arg(script)
        .arg("stdio")
        .name("python-mcp")
        .shutdown_timeouts(Duration::from_secs(2), Duration::from_secs(1))
        .build()
        .unwrap()
}

fn everything_server() -> Server {
    let entry = require(
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

/// The seed scenario against a third-party server: `tasks` tasks enter at random, each makes one
/// call chosen by its entry ticket (0 = first in), and leaves; one process; reaped at the end.
/// With `first_leaves_early`, asserts the first to enter was not the last to leave.
async fn parallel_scenario<F>(
    server: Server,
    tasks: usize,
    first_leaves_early: bool,
    make_call: F,
) -> u32
where
    F: Fn(usize) -> (String, serde_json::Value, String) + Send + Sync + 'static,
{
    let make_call = Arc::new(make_call);
    let pids = Arc::new(Mutex::new(HashSet::new()));
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
            let i = {
                let mut order = order.lock().unwrap();
                let ticket = order.iter().filter(|(e, _)| *e == "enter").count();
                order.push(("enter", ticket));
                ticket
            };
            pids.lock().unwrap().insert(guard.process_id().unwrap());
            let (tool, args, expected) = make_call(i);
            let r = guard.call_tool(&tool, args).await.expect("call");
            assert!(!r.is_error(), "{r:?}");
            assert_eq!(r.text(), expected);
            order.lock().unwrap().push(("leave", i));
        });
    }
    bounded("parallel scenario", Duration::from_secs(60), async {
        while let Some(r) = set.join_next().await {
            r.expect("task panicked");
        }
    })
    .await;
    let pids = pids.lock().unwrap().clone();
    assert_eq!(pids.len(), 1, "one process for all tasks: {pids:?}");
    let order = order.lock().unwrap().clone();
    let first_in = order.iter().find(|(e, _)| *e == "enter").unwrap().1;
    let last_out = order.iter().rev().find(|(e, _)| *e == "leave").unwrap().1;
    assert_eq!(order.len(), 2 * tasks);
    let pid = *pids.iter().next().unwrap();
    assert!(
        wait_reaped(pid, Duration::from_secs(6)).await,
        "{} still exists: {:?}",
        pid,
        proc_state(pid)
    );
    if first_leaves_early {
        assert_ne!(first_in, last_out, "the first to enter left last");
    }
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_server_parallel_calls() {
    let server = python_server();
    // Everyone enters, then sleeps a random time: the exit order is random.
    parallel_scenario(server, 50, true, |ticket| {
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
    parallel_scenario(server, 100, false, |i| {
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

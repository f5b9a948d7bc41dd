//! Interop over HTTP with servers nobody here wrote: the official Python SDK (`mcp`, pinned)
//! over Streamable HTTP (SSE and JSON responses, stateful and stateless) and legacy SSE, and
//! `@modelcontextprotocol/server-everything` over `streamableHttp` and `sse`. All on 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;
use mcpmux::{HttpMode, Server};
use rand::Rng;
use serde_json::json;

fn http_server(url: &str, mode: HttpMode) -> Server {
    Server::http(url)
        .http_mode(mode)
        .request_timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn python_scenario(server: Server) {
    parallel_scenario(server.clone(), 40, true, |ticket| {
        let ms = if ticket == 0 {
            1
        } else {
            rand::rng().random_range(50..150)
        };
        ("sleep".into(), json!({"ms": ms}), format!("slept {ms} ms"))
    })
    .await;
    let guard = server.enter().await.unwrap();
    let names: Vec<String> = guard
        .list_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"echo".to_owned()), "{names:?}");
    let r = guard
        .call_tool("add", json!({"a": 2, "b": 0.5}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 2.5})));
    guard.ping().await.unwrap();
    drop(guard);
    bounded("close", Duration::from_secs(5), server.close()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_streamable_http_sse_responses() {
    let peer = start_python_http("http", &[]);
    python_scenario(http_server(&peer.url, HttpMode::Streamable)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_streamable_http_json_responses() {
    let peer = start_python_http("http", &["--json-response"]);
    python_scenario(http_server(&peer.url, HttpMode::Auto)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_streamable_http_stateless() {
    let peer = start_python_http("http", &["--stateless", "--json-response"]);
    python_scenario(http_server(&peer.url, HttpMode::Streamable)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_legacy_sse() {
    let peer = start_python_http("sse", &[]);
    python_scenario(http_server(&peer.url, HttpMode::Sse)).await;
}

/// A legacy-only server reached with a bare URL: Streamable HTTP is refused, the client falls
/// back to HTTP+SSE on the same URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_legacy_sse_via_fallback() {
    let peer = start_python_http("sse", &[]);
    let server = http_server(&peer.url, HttpMode::Auto);
    let guard = server.enter().await.unwrap();
    let r = guard
        .call_tool("echo", json!({"text": "fell back"}))
        .await
        .unwrap();
    assert_eq!(r.text(), "fell back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_streamable_http() {
    let peer = start_everything_http("streamableHttp");
    let server = http_server(&peer.url, HttpMode::Auto);
    parallel_scenario(server.clone(), 100, false, |i| {
        let msg = format!("hello {i}");
        (
            "echo".into(),
            json!({"message": msg}),
            format!("Echo: {msg}"),
        )
    })
    .await;
    let guard = server.enter().await.unwrap();
    let r = guard
        .call_tool("get-sum", json!({"a": 1, "b": 2}))
        .await
        .unwrap();
    assert!(r.text().contains('3'), "{}", r.text());
    drop(guard);
    bounded("close", Duration::from_secs(5), server.close()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_legacy_sse() {
    let peer = start_everything_http("sse");
    let server = http_server(&peer.url, HttpMode::Sse);
    parallel_scenario(server.clone(), 100, false, |i| {
        let msg = format!("hello {i}");
        (
            "echo".into(),
            json!({"message": msg}),
            format!("Echo: {msg}"),
        )
    })
    .await;
    bounded("close", Duration::from_secs(5), server.close()).await;
}

//! Protocol corners driven by a scripted server (tests/fixtures/scripted_server.py): batches,
//! server-to-client requests, duplicate responses, a server that closes stdout but lives on;
//! and a stateless server whose `server/discover` answer comes after the probe gave up
//! (tests/fixtures/late_discover_server.py).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use mcpmux::{Received, Server, ServerNotification};
use serde_json::{Value, json};

fn scripted() -> Server {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scripted_server.py");
    Server::stdio("python3")
        .arg(script)
        .name("scripted")
        .shutdown_timeouts(Duration::from_millis(500), Duration::from_millis(500))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_response_inside_a_batch_is_delivered() {
    let server = scripted();
    let mut sub = server.notifications();
    let guard = server.enter().await.unwrap();
    assert_eq!(
        guard.protocol_version(),
        mcpmux::ProtocolVersion::V2025_03_26
    );
    let r = guard.call_tool("batch", json!({})).await.unwrap();
    assert_eq!(r.text(), "batched");
    match bounded("notification", Duration::from_secs(2), sub.recv()).await {
        Some(Received::Notification(ServerNotification::Log(l))) => {
            assert_eq!(l.data, "in a batch")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_requests_get_ping_answers_and_method_not_found() {
    let server = scripted();
    let guard = server.enter().await.unwrap();
    let r = guard.call_tool("probe", json!({})).await.unwrap();
    let answers: Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(answers["s1"], json!({"result": {}}));
    assert_eq!(answers["s2"]["error"]["code"], -32601);
}

#[tokio::test]
async fn duplicate_and_unknown_responses_are_ignored() {
    let server = scripted();
    let guard = server.enter().await.unwrap();
    let r = guard.call_tool("duplicate", json!({})).await.unwrap();
    assert_eq!(r.text(), "first");
    let r = guard.call_tool("batch", json!({})).await.unwrap();
    assert_eq!(r.text(), "batched");
}

#[tokio::test]
async fn a_server_that_closes_stdout_fails_calls_and_is_shut_down() {
    let server = scripted();
    let guard = server.enter().await.unwrap();
    let pid = guard.process_id().unwrap();
    let started = Instant::now();
    let err = guard
        .call_tool("close_stdout", json!({}))
        .await
        .unwrap_err();
    assert!(err.is_closed(), "{err}");
    assert!(err.to_string().contains("closed its stdout"), "{err}");
    // Well before the call's 60 s timeout (the script sleeps for an hour).
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(guard);
    // It sleeps through stdin closing, so shutdown escalates to SIGTERM; it is reaped either way.
    assert!(wait_reaped(pid, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn a_truncated_result_fails_its_own_call_and_other_layouts_route_too() {
    let server = scripted();
    let guard = server.enter().await.unwrap();
    // Routed by its shape, rejected by its owner's parse: a protocol error for this call only.
    let err = bounded(
        "truncated call",
        Duration::from_secs(5),
        guard.call_tool("truncated", json!({})),
    )
    .await
    .unwrap_err();
    assert!(err.is_protocol(), "{err}");
    // `result` first, `jsonrpc` last (the TypeScript SDK's order): routed by shape too.
    let r = guard.call_tool("reordered", json!({})).await.unwrap();
    assert_eq!(r.text(), "reordered");
    // A member after `result`: the shape's range does not parse, the full decoder takes over.
    let r = guard.call_tool("extra_member", json!({})).await.unwrap();
    assert_eq!(r.text(), "extra");
    let r = guard.call_tool("batch", json!({})).await.unwrap();
    assert_eq!(r.text(), "batched");
}

/// A stateless-only server that answers the `server/discover` probe after the probe gave up
/// (a slow start) and then refuses `initialize` with -32022 listing 2026-07-28: the handshake
/// asks `server/discover` again and connects on 2026-07-28 instead of failing. Pinned to a
/// session version, the refusal stands.
#[tokio::test]
async fn a_discover_answer_after_the_probe_window_still_negotiates_2026() {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/late_discover_server.py");
    let late = |pinned: bool| {
        let b = Server::stdio("python3")
            .arg(&script)
            .arg("3000")
            .name("late")
            // The probe waits min(initialize timeout, 5 s) = 2 s; the answer comes after 3 s.
            .initialize_timeout(Duration::from_secs(2))
            .shutdown_timeouts(Duration::from_millis(500), Duration::from_millis(500));
        let b = if pinned {
            b.protocol_version(mcpmux::ProtocolVersion::V2025_11_25)
        } else {
            b
        };
        b.build().unwrap()
    };

    let server = late(false);
    let started = Instant::now();
    let guard = bounded("enter", Duration::from_secs(20), server.enter())
        .await
        .expect("a late discover answer must not fail the handshake");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the probe did time out"
    );
    assert_eq!(
        guard.protocol_version(),
        mcpmux::ProtocolVersion::V2026_07_28
    );
    assert_eq!(guard.initialize_result().server_info.name, "late");
    assert!(guard.tools().await.unwrap().is_empty());
    drop(guard);
    bounded("close", Duration::from_secs(5), server.close()).await;

    let server = late(true);
    let err = bounded("enter", Duration::from_secs(20), server.enter())
        .await
        .unwrap_err();
    assert_eq!(err.rpc_error().map(|e| e.code), Some(-32022), "{err}");
    bounded("close", Duration::from_secs(5), server.close()).await;
}

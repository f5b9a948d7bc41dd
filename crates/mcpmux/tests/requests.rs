//! Requests on one connection: concurrency, cancellation, timeouts, faults, notifications.

mod common;

use std::future::IntoFuture as _;
use std::time::{Duration, Instant};

use common::*;
use mcpmux::{Received, RequestOptions, ServerNotification};
use serde_json::{Value, json};

async fn cancelled_ids(guard: &mcpmux::Guard) -> Vec<Value> {
    let r = guard.call_tool("cancellations", json!({})).await.unwrap();
    r.structured_content.unwrap()["cancelled"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_calls_each_get_their_own_answer() {
    let server = test_server().build().unwrap();
    let guard = server.enter().await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10_000u32 {
        let g = guard.clone();
        tasks.spawn(async move {
            let text = format!("call-{i}");
            let r = g.call_tool("echo", json!({"text": text})).await?;
            Ok::<_, mcpmux::Error>((text, r.text()))
        });
    }
    let mut n = 0;
    bounded("10k calls", Duration::from_secs(60), async {
        while let Some(res) = tasks.join_next().await {
            let (sent, got) = res.unwrap().unwrap();
            assert_eq!(sent, got);
            n += 1;
        }
    })
    .await;
    assert_eq!(n, 10_000);
    assert!(cancelled_ids(&guard).await.is_empty());
}

/// The test server with request ids that tests can count: no output validation (its
/// `tools/list` would take an id) and a pinned version (no `server/discover` probe).
fn numbered_server() -> mcpmux::ServerBuilder {
    test_server()
        .validate_structured_output(false)
        .protocol_version(mcpmux::ProtocolVersion::V2025_11_25)
}

/// Request ids are sequential per connection: initialize is 1, then one per request.
#[tokio::test]
async fn a_dropped_caller_cancels_exactly_its_request() {
    let server = numbered_server().build().unwrap();
    let guard = server.enter().await.unwrap(); // id 1: initialize
    guard.call_tool("echo", json!({"text": "a"})).await.unwrap(); // id 2
    let hang = guard.call_tool("hang", json!({})); // id 3, dropped below
    let r = tokio::time::timeout(Duration::from_millis(100), hang).await;
    assert!(r.is_err(), "hang answered");
    guard.call_tool("echo", json!({"text": "b"})).await.unwrap(); // id 4
    assert_eq!(cancelled_ids(&guard).await, vec![json!(3)]); // id 5
    // A task aborted mid-call cancels too.
    let g = guard.clone();
    let task = tokio::spawn(async move { g.call_tool("hang", json!({})).await }); // id 6
    tokio::time::sleep(Duration::from_millis(50)).await;
    task.abort();
    let _ = task.await;
    assert_eq!(cancelled_ids(&guard).await, vec![json!(3), json!(6)]); // id 7
}

/// A call dropped right after its first poll (queued, the connection task not yet run: one
/// thread) reaches the server and is cancelled there, in that order: on stdio its line is
/// already in the outbox's chunk when the caller goes, and the task drains the outbox before it
/// handles the cancellation.
#[tokio::test]
async fn a_call_dropped_right_after_it_was_queued_is_sent_then_cancelled() {
    let server = numbered_server().build().unwrap();
    let guard = server.enter().await.unwrap(); // id 1: initialize
    let mut hang = Box::pin(guard.call_tool("hang", json!({})).into_future()); // id 2
    let first =
        std::future::poll_fn(|cx| std::task::Poll::Ready(hang.as_mut().poll(cx).is_pending()))
            .await;
    assert!(first, "hang answered at once");
    drop(hang);
    guard.call_tool("echo", json!({"text": "b"})).await.unwrap(); // id 3
    assert_eq!(cancelled_ids(&guard).await, vec![json!(2)]); // id 4
}

#[tokio::test]
async fn a_request_timeout_fails_the_call_and_cancels_it_on_the_server() {
    let server = numbered_server()
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let guard = server.enter().await.unwrap(); // id 1
    let started = Instant::now();
    let err = guard.call_tool("hang", json!({})).await.unwrap_err(); // id 2
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A per-call override beats the default, both ways.
    let err = guard
        .call_tool("sleep", json!({"ms": 1000}))
        .options(RequestOptions::new().timeout(Duration::from_millis(50)))
        .await
        .unwrap_err(); // id 3
    assert!(err.is_timeout());
    let ok = guard
        .call_tool("sleep", json!({"ms": 300}))
        .options(RequestOptions::new().timeout(Duration::from_secs(5)))
        .await; // id 4
    assert!(ok.is_ok());
    assert_eq!(cancelled_ids(&guard).await, vec![json!(2), json!(3)]);
}

#[tokio::test]
async fn garbage_on_stdout_is_skipped() {
    let server = test_server()
        .args(["--garbage-at-start", "5"])
        .build()
        .unwrap();
    let guard = server.enter().await.unwrap();
    let r = guard
        .call_tool("garbage", json!({"lines": 50}))
        .await
        .unwrap();
    assert_eq!(r.text(), "ok");
    let r = guard
        .call_tool("echo", json!({"text": "still fine"}))
        .await
        .unwrap();
    assert_eq!(r.text(), "still fine");
}

#[tokio::test]
async fn an_oversized_response_fails_only_its_request() {
    let server = test_server().max_message_size(64 * 1024).build().unwrap();
    let guard = server.enter().await.unwrap();
    let (big, small) = tokio::join!(
        guard.call_tool("big", json!({"bytes": 1_000_000})),
        guard.call_tool("big", json!({"bytes": 1000})),
    );
    let err = big.unwrap_err();
    assert!(err.is_protocol(), "{err}");
    assert!(
        err.to_string().contains("65536-byte message limit"),
        "{err}"
    );
    assert_eq!(small.unwrap().text().len(), 1000);
    assert!(guard.call_tool("echo", json!({"text": "x"})).await.is_ok());
}

#[tokio::test]
async fn tool_errors_and_rpc_errors_are_distinct() {
    let server = test_server().build().unwrap();
    let guard = server.enter().await.unwrap();
    let r = guard
        .call_tool("fail", json!({"message": "nope"}))
        .await
        .unwrap();
    assert!(r.is_error());
    assert_eq!(r.text(), "nope");
    let err = guard
        .call_tool("no-such-tool", json!({}))
        .await
        .unwrap_err();
    assert!(err.is_rpc(), "{err}");
    assert_eq!(err.rpc_error().unwrap().code, -32602);
    let err = guard
        .request::<_, Value>("no/such/method", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.rpc_error().unwrap().code, -32601);
    let err = guard.call_tool("echo", json!([1, 2])).await.unwrap_err();
    assert_eq!(err.kind(), mcpmux::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn structured_content_list_tools_and_ping() {
    let server = test_server().args(["--page-size", "3"]).build().unwrap();
    let guard = server.enter().await.unwrap();
    assert_eq!(guard.protocol_version(), mcpmux::ProtocolVersion::LATEST);
    assert_eq!(
        guard.initialize_result().server_info.name,
        "mcpmux-test-server"
    );
    let tools = guard.list_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    for expected in ["echo", "add", "sleep", "fail", "progress", "crash", "hang"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let add = tools.iter().find(|t| t.name == "add").unwrap();
    assert!(add.output_schema.is_some());
    let r = guard
        .call_tool("add", json!({"a": 2, "b": 3.5}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"sum": 5.5})));
    guard.ping().await.unwrap();
}

#[tokio::test]
async fn older_protocol_versions_are_negotiated() {
    for v in mcpmux::ProtocolVersion::SUPPORTED {
        let server = test_server().protocol_version(v).build().unwrap();
        let guard = server.enter().await.unwrap();
        assert_eq!(guard.protocol_version(), v);
    }
}

#[tokio::test]
async fn progress_and_log_notifications_reach_subscribers() {
    let server = test_server().build().unwrap();
    let mut sub = server.notifications();
    let guard = server.enter().await.unwrap();
    let r = guard
        .call_tool("progress", json!({"steps": 3, "ms": 5}))
        .options(RequestOptions::new().progress_token("tok"))
        .await
        .unwrap();
    assert_eq!(r.text(), "done");
    guard
        .call_tool("log", json!({"level": "warning", "message": "careful"}))
        .await
        .unwrap();
    let mut progress = Vec::new();
    let mut logs = Vec::new();
    bounded("notifications", Duration::from_secs(2), async {
        while progress.len() < 3 || logs.is_empty() {
            match sub.recv().await.unwrap() {
                Received::Notification(ServerNotification::Progress(p)) => {
                    assert_eq!(p.progress_token, "tok".into());
                    progress.push(p.progress);
                }
                Received::Notification(ServerNotification::Log(l)) => logs.push(l.data.clone()),
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(progress, vec![1.0, 2.0, 3.0]);
    assert_eq!(logs, vec![json!("careful")]);
}

/// A subscriber that never reads loses old notifications and is told; calls are unaffected.
#[tokio::test]
async fn a_slow_subscriber_misses_notifications_but_never_blocks() {
    let server = test_server().notification_capacity(4).build().unwrap();
    let mut sub = server.notifications();
    let guard = server.enter().await.unwrap();
    for i in 0..20 {
        guard
            .call_tool("log", json!({"level": "info", "message": format!("m{i}")}))
            .await
            .unwrap();
    }
    match sub.recv().await.unwrap() {
        Received::Missed(n) => assert_eq!(n, 16),
        other => panic!("expected Missed, got {other:?}"),
    }
    let mut rest = Vec::new();
    while rest.len() < 4 {
        if let Received::Notification(ServerNotification::Log(l)) = sub.recv().await.unwrap() {
            rest.push(l.data);
        }
    }
    assert_eq!(
        rest,
        vec![json!("m16"), json!("m17"), json!("m18"), json!("m19")]
    );
}

#[tokio::test]
async fn stderr_is_captured_and_reported_on_crash() {
    let server = test_server().build().unwrap();
    let guard = server.enter().await.unwrap();
    // A flood of stderr never blocks the server (the pipe is drained).
    guard
        .call_tool("stderr", json!({"lines": 2000, "bytes": 1000}))
        .await
        .unwrap();
    guard
        .call_tool("stderr", json!({"lines": 1, "bytes": 100_000}))
        .await
        .unwrap();
    let err = guard
        .call_tool("crash", json!({"code": 3}))
        .await
        .unwrap_err();
    let reason = err.close_reason().unwrap();
    assert!(!reason.stderr_tail().is_empty());
    assert!(
        reason.stderr_tail().iter().all(|l| l.len() < 5000),
        "lines are capped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_timeouts_on_one_connection_each_end_at_their_own_deadline() {
    let server = test_server()
        .validate_structured_output(false)
        .build()
        .unwrap();
    let guard = server.enter().await.unwrap();
    let started = Instant::now();
    // 40 calls in flight at once: even ones sleep 30 s with timeouts of 100..290 ms (deadlines
    // out of id order), odd ones sleep 10 ms with a 5 s timeout.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40u64 {
        let g = guard.clone();
        set.spawn(async move {
            let (ms, timeout) = if i % 2 == 0 {
                (30_000, 290 - i * 5)
            } else {
                (10, 5_000)
            };
            let t = Instant::now();
            let r = g
                .call_tool("sleep", json!({ "ms": ms }))
                .options(RequestOptions::new().timeout(Duration::from_millis(timeout)))
                .await;
            (i, timeout, t.elapsed(), r)
        });
    }
    let mut timed_out = 0;
    while let Some(joined) = set.join_next().await {
        let (i, timeout, took, r) = joined.unwrap();
        if i % 2 == 0 {
            let err = r.unwrap_err();
            assert!(err.is_timeout(), "call {i}: {err}");
            assert!(
                took >= Duration::from_millis(timeout)
                    && took < Duration::from_millis(timeout + 10_000),
                "call {i}: timeout {timeout} ms, took {took:?}"
            );
            timed_out += 1;
        } else {
            assert!(!r.unwrap().is_error(), "call {i}");
        }
    }
    assert_eq!(timed_out, 20);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // Each timed-out call was cancelled on the server, exactly once.
    let mut ids: Vec<u64> = cancelled_ids(&guard)
        .await
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "{ids:?}");
}

#[tokio::test]
async fn the_call_future_stays_small() {
    // Each concurrent call is typically a spawned task holding this future: its size is the
    // per-call memory (BENCHMARKS.md: 10,000 calls in flight).
    fn size_of<F: std::future::Future>(_: &F) -> usize {
        std::mem::size_of::<F>()
    }
    let server = test_server().build().unwrap();
    let guard = server.enter().await.unwrap();
    let call = guard.call_tool("echo", json!({"text": "x"})).into_future();
    let size = size_of(&call);
    eprintln!("Guard::call_tool future: {size} bytes");
    // 88 bytes (a hand-written future, features/tools/call.rs, holding 24-byte options until
    // it is queued); the `async fn` it replaced was 904.
    assert!(
        size <= 128,
        "Guard::call_tool's future grew to {size} bytes"
    );
    assert_eq!(call.await.unwrap().text(), "x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_and_large_requests_interleaved_arrive_intact() {
    // Small frames are coalesced, large ones queued as they are and written with writev in
    // partial writes (the pipe holds 64 KiB): every byte must arrive in order.
    let server = test_server().build().unwrap();
    let guard = server.enter().await.unwrap();
    let sizes = [10usize, 9_000, 100, 130_000, 8_191, 8_192, 1_500_000, 3];
    let mut set = tokio::task::JoinSet::new();
    for i in 0..160usize {
        let g = guard.clone();
        let size = sizes[i % sizes.len()];
        set.spawn(async move {
            let text: String = (0..size)
                .map(|j| char::from(b'a' + ((i + j) % 26) as u8))
                .collect();
            let r = g.call_tool("echo", json!({ "text": text })).await.unwrap();
            assert_eq!(r.text(), text, "call {i} ({size} bytes)");
        });
    }
    while let Some(joined) = set.join_next().await {
        joined.unwrap();
    }
}

#[tokio::test]
async fn borrowed_arguments_are_sent_as_is_and_stay_with_the_caller() {
    let server = test_server().build().unwrap();
    let guard = server.enter().await.unwrap();
    let args = json!({"text": "a \"quoted\"\nline ✓"});
    let map = args.as_object().unwrap();
    for _ in 0..3 {
        let r = guard.call_tool("echo", map).await.unwrap();
        assert_eq!(r.text(), "a \"quoted\"\nline ✓");
    }
    let r = server
        .call_tool("add", json!({"a": 2, "b": 40}).as_object().unwrap())
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"sum": 42})));
    // Validation applies as for owned arguments.
    let err = guard.call_tool("no-such-tool", map).await.unwrap_err();
    assert!(
        err.rpc_error().is_some() || err.to_string().contains("no-such-tool"),
        "{err}"
    );
}

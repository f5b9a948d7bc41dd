//! Connection lifecycle: shared connection, guards from anywhere, shutdown, crashes, groups.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rand::Rng;
use serde_json::json;

/// The seed: 100 tasks share one server, each enters, sleeps a random time on the server, and
/// leaves; the first to enter is not the last to leave. One process; reaped after the last guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_tasks_share_one_process_and_leave_in_any_order() {
    let server = test_server().build().unwrap();
    let entered = Arc::new(AtomicUsize::new(0));
    let left = Arc::new(Mutex::new(Vec::new()));
    let pids = Arc::new(Mutex::new(HashSet::new()));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (server, entered, left, pids) =
            (server.clone(), entered.clone(), left.clone(), pids.clone());
        tasks.push(tokio::spawn(async move {
            let guard = server.enter().await.expect("enter");
            let ticket = entered.fetch_add(1, Ordering::SeqCst);
            pids.lock()
                .unwrap()
                .insert(guard.process_id().expect("pid"));
            // The first to enter leaves early; everyone else sleeps 20..200 ms.
            let ms = if ticket == 0 {
                1
            } else {
                rand::rng().random_range(20..200)
            };
            let r = guard
                .call_tool("sleep", json!({"ms": ms}))
                .await
                .expect("sleep call");
            assert_eq!(r.text(), format!("slept {ms} ms"));
            left.lock().unwrap().push(ticket);
            drop(guard);
        }));
    }
    for t in tasks {
        bounded("seed task", Duration::from_secs(20), t)
            .await
            .expect("task panicked");
    }
    let left = left.lock().unwrap().clone();
    assert_eq!(left.len(), 100, "every call succeeded");
    assert_ne!(
        *left.last().unwrap(),
        0,
        "the first to enter was not the last to leave"
    );
    let pids = pids.lock().unwrap().clone();
    assert_eq!(pids.len(), 1, "exactly one process was spawned: {pids:?}");
    let pid = *pids.iter().next().unwrap();
    assert!(
        wait_reaped(pid, Duration::from_secs(3)).await,
        "server process {pid} still exists after the last guard left: {:?}",
        proc_state(pid)
    );
    assert_no_children_left().await;
}

#[tokio::test]
async fn concurrent_first_enters_spawn_one_process() {
    let server = test_server().build().unwrap();
    let guards = futures_join_all((0..20).map(|_| server.enter())).await;
    let pids: HashSet<u32> = guards
        .iter()
        .map(|g| g.as_ref().expect("enter").process_id().unwrap())
        .collect();
    assert_eq!(pids.len(), 1);
    let pid = *pids.iter().next().unwrap();
    drop(guards);
    assert!(wait_reaped(pid, Duration::from_secs(3)).await);
}

async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.collect();
    let mut out = Vec::with_capacity(handles.len());
    // Poll them concurrently through a JoinSet-free select: tokio::join! needs a fixed count.
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for d in done {
        out.push(d.expect("completed"));
    }
    out
}

/// Guards dropped on plain threads close the connection like any other.
#[test]
fn guards_dropped_from_std_threads_and_outside_any_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = test_server().build().unwrap();
    let (g1, g2, g3) = rt.block_on(async {
        let g1 = server.enter().await.unwrap();
        let g2 = server.enter().await.unwrap();
        let g3 = g2.clone();
        g1.call_tool("echo", json!({"text": "x"})).await.unwrap();
        (g1, g2, g3)
    });
    let pid = g1.process_id().unwrap();
    // Two guards go away on std threads, outside any runtime context.
    let t1 = std::thread::spawn(move || drop(g1));
    let t2 = std::thread::spawn(move || drop(g2));
    t1.join().unwrap();
    t2.join().unwrap();
    assert!(is_running(pid), "still one guard left");
    // The last one on this (non-runtime) thread.
    drop(g3);
    let reaped = rt.block_on(wait_reaped(pid, Duration::from_secs(3)));
    assert!(reaped, "process {pid} not reaped: {:?}", proc_state(pid));
}

/// If the runtime that drives the connection is shut down, the server is killed anyway.
#[test]
fn runtime_shutdown_kills_the_server() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = test_server().build().unwrap();
    let guard = rt.block_on(server.enter()).unwrap();
    let pid = guard.process_id().unwrap();
    let grandchild = rt
        .block_on(guard.call_tool("spawn_grandchild", json!({})).into_future())
        .unwrap();
    let gpid = grandchild.structured_content.unwrap()["pid"]
        .as_u64()
        .unwrap() as u32;
    assert!(is_running(pid) && is_running(gpid));
    drop(rt); // connection task dropped mid-flight
    let start = Instant::now();
    while (is_running(pid) || is_running(gpid)) && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!is_running(pid), "server survived its runtime");
    assert!(
        !is_running(gpid),
        "grandchild survived its server's runtime"
    );
    drop(guard);
}

#[tokio::test]
async fn crash_fails_in_flight_calls_with_exit_status_then_reconnects() {
    let server = test_server().build().unwrap();
    let guard = server.enter().await.unwrap();
    let pid = guard.process_id().unwrap();
    let mut sleepers = Vec::new();
    for _ in 0..20 {
        let g = guard.clone();
        sleepers.push(tokio::spawn(async move {
            g.call_tool("sleep", json!({"ms": 10_000})).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let crash = guard.call_tool("crash", json!({"code": 7})).await;
    let err = crash.expect_err("crash has no answer");
    assert!(err.is_closed(), "{err}");
    let reason = err.close_reason().unwrap();
    assert_eq!(
        reason.exit_status().and_then(|s| s.code()),
        Some(7),
        "{reason}"
    );
    for s in sleepers {
        let e = bounded("in-flight call", Duration::from_secs(1), s)
            .await
            .unwrap()
            .expect_err("server crashed");
        assert!(e.is_closed());
        assert_eq!(
            e.close_reason()
                .unwrap()
                .exit_status()
                .and_then(|s| s.code()),
            Some(7)
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert!(guard.is_closed());
    assert!(wait_reaped(pid, Duration::from_secs(2)).await);
    // The next enter spawns a new process and works.
    let fresh = server.enter().await.unwrap();
    assert_ne!(fresh.process_id(), Some(pid));
    assert_eq!(
        fresh
            .call_tool("echo", json!({"text": "again"}))
            .await
            .unwrap()
            .text(),
        "again"
    );
    // Calls through the old guard keep failing with the original reason.
    let old = guard
        .call_tool("echo", json!({"text": "x"}))
        .await
        .unwrap_err();
    assert!(old.is_closed());
}

#[tokio::test]
async fn shutdown_kills_grandchildren_too() {
    let server = test_server().build().unwrap();
    let guard = server.enter().await.unwrap();
    let pid = guard.process_id().unwrap();
    let r = guard
        .call_tool("spawn_grandchild", json!({}))
        .await
        .unwrap();
    let gpid = r.structured_content.unwrap()["pid"].as_u64().unwrap() as u32;
    assert!(is_running(gpid));
    drop(guard);
    assert!(wait_reaped(pid, Duration::from_secs(3)).await);
    assert!(
        wait_not_running(gpid, Duration::from_secs(3)).await,
        "grandchild {gpid} alive"
    );
}

/// A server that ignores stdin EOF and SIGTERM is escalated to SIGKILL and still reaped.
#[tokio::test]
async fn stubborn_server_is_killed_and_reaped() {
    let server = test_server()
        .args(["--ignore-stdin-eof", "--ignore-sigterm"])
        .shutdown_timeouts(Duration::from_millis(200), Duration::from_millis(200))
        .build()
        .unwrap();
    let guard = server.enter().await.unwrap();
    let pid = guard.process_id().unwrap();
    let started = Instant::now();
    drop(guard);
    assert!(wait_reaped(pid, Duration::from_secs(5)).await);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "escalation skipped a step"
    );
}

#[tokio::test]
async fn close_waits_for_shutdown_and_a_new_enter_starts_fresh() {
    let server = test_server().build().unwrap();
    let guard = server.enter().await.unwrap();
    let pid = guard.process_id().unwrap();
    let slow = {
        let g = guard.clone();
        tokio::spawn(async move { g.call_tool("sleep", json!({"ms": 5000})).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    bounded("close", Duration::from_secs(3), server.close()).await;
    assert!(
        proc_state(pid).is_none(),
        "close() returned before the process was reaped"
    );
    assert!(slow.await.unwrap().unwrap_err().is_closed());
    let again = server.enter().await.unwrap();
    assert_ne!(again.process_id(), Some(pid));
}

/// A new enter while the previous connection is still shutting down gets a fresh connection.
#[tokio::test]
async fn enter_during_shutdown_starts_a_fresh_connection() {
    let server = test_server()
        .args(["--ignore-stdin-eof"])
        .shutdown_timeouts(Duration::from_secs(2), Duration::from_secs(2))
        .build()
        .unwrap();
    let g = server.enter().await.unwrap();
    let old = g.process_id().unwrap();
    drop(g); // the old connection will wait 2 s for an exit that won't come
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(is_running(old), "the old connection is still shutting down");
    let g2 = server.enter().await.unwrap();
    assert_ne!(g2.process_id(), Some(old));
    assert!(g2.call_tool("echo", json!({"text": "ok"})).await.is_ok());
    assert!(wait_reaped(old, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn idle_linger_keeps_the_connection_warm() {
    let server = test_server()
        .idle_linger(Duration::from_secs(2))
        .build()
        .unwrap();
    let pid = server.enter().await.unwrap().process_id().unwrap();
    // Handle-level calls reuse the lingering connection.
    for _ in 0..5 {
        server
            .call_tool("echo", json!({"text": "x"}))
            .await
            .unwrap();
    }
    let again = server.enter().await.unwrap();
    assert_eq!(again.process_id(), Some(pid));
    drop(again);
    // Reaped once the 2 s linger has passed.
    assert!(wait_reaped(pid, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn spawn_failure_is_a_spawn_error() {
    let server = mcpmux::Server::stdio("/nonexistent/mcp-server")
        .build()
        .unwrap();
    let err = server.enter().await.unwrap_err();
    assert!(err.is_spawn(), "{err}");
    assert!(err.to_string().contains("/nonexistent/mcp-server"));
}

#[tokio::test]
async fn initialize_timeout_closes_and_reports() {
    let server = test_server()
        .arg("--never-initialize")
        .initialize_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let (a, b) = tokio::join!(server.enter(), server.enter());
    let (a, b) = (a.unwrap_err(), b.unwrap_err());
    assert!(a.is_timeout() && b.is_timeout(), "{a} / {b}");
    // Three attempts of 300 ms each and their backoff; the default initialize timeout (30 s)
    // would take far longer.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_no_children_left().await;
}

#[tokio::test]
async fn health_tracks_crashes_and_restarts() {
    let server = test_server().build().unwrap();
    assert_eq!(server.health().state, mcpmux::HealthState::Idle);
    let guard = server.enter().await.unwrap();
    assert_eq!(server.health().state, mcpmux::HealthState::Connected);
    let _ = guard.call_tool("crash", json!({"code": 1})).await;
    drop(guard);
    let h = server.health();
    assert_eq!(h.state, mcpmux::HealthState::Disconnected);
    assert!(
        h.last_error.as_ref().is_some_and(|e| e.is_closed()),
        "{h:?}"
    );
    // The next request reconnects.
    server
        .call_tool("echo", json!({"text": "back"}))
        .await
        .unwrap();
    let h = server.health();
    assert_eq!((h.connections, h.restarts), (2, 1), "{h:?}");
}

#[tokio::test]
async fn a_failing_server_opens_the_circuit() {
    let server = test_server()
        .arg("--never-initialize")
        .initialize_timeout(Duration::from_millis(100))
        .reconnect(
            mcpmux::ReconnectPolicy::default()
                .max_attempts(2)
                .backoff(Duration::from_millis(10), Duration::from_millis(20))
                .circuit(2, Duration::from_secs(60)),
        )
        .build()
        .unwrap();
    let err = server.enter().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(server.health().consecutive_failures, 2);
    let started = Instant::now();
    let err = server.enter().await.unwrap_err();
    assert_eq!(err.kind(), mcpmux::ErrorKind::Unavailable, "{err}");
    assert!(
        err.to_string().contains("timed out"),
        "names the last error: {err}"
    );
    // No attempt was made: it would have failed (never initializing) and been counted, and
    // would have taken two initialize timeouts.
    assert_eq!(
        server.health().consecutive_failures,
        2,
        "no attempt while open"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "fails fast while open"
    );
    assert_eq!(server.health().state, mcpmux::HealthState::CircuitOpen);
    assert_no_children_left().await;
}

/// The leak check counts a child that exited but was never reaped (a zombie), and stops
/// counting it once it is reaped.
#[test]
fn the_child_check_counts_zombies() {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn `true`");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(5);
    // Exited, not reaped: a zombie, still our child.
    while std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "`true` did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        children().contains(&pid),
        "a zombie is a leak: {:?}",
        children()
    );
    child.wait().expect("reap it");
    assert!(!children().contains(&pid), "reaped: {:?}", children());
}

/// A server that never answers `initialize`: the connect timeout bounds the whole startup
/// (probe, handshake, retries), the error says so, and the process is shut down and reaped.
#[tokio::test]
async fn the_connect_timeout_bounds_the_whole_startup() {
    let server = mcpmux::Server::stdio("sleep")
        .arg("100")
        .initialize_timeout(Duration::from_secs(30))
        .connect_timeout(Some(Duration::from_millis(1500)))
        .shutdown_timeouts(Duration::from_millis(200), Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = bounded("enter", Duration::from_secs(10), server.enter())
        .await
        .expect_err("sleep never initializes");
    let took = started.elapsed();
    assert!(err.is_timeout() && err.is_connect(), "{err}");
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(4),
        "failed after {took:?}"
    );
    assert!(err.to_string().contains("after 1.5s"), "{err}");
    assert_no_children_left().await;
}

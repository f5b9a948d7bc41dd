//! Error messages a person can act on (issue 15): the informative stderr line of a crashed
//! server, a stdio server that writes no JSON-RPC at all, HTTP errors summarised and hinted.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use mcpmux::{ReconnectPolicy, Server, ServerBuilder};

/// A stdio server run by `sh -c SCRIPT`, tried once, with short timeouts.
fn sh(script: &str) -> ServerBuilder {
    Server::stdio("sh")
        .arg("-c")
        .arg(script)
        .name("sh")
        .reconnect(ReconnectPolicy::default().max_attempts(1))
        .shutdown_timeouts(Duration::from_millis(200), Duration::from_millis(500))
}

/// A Node-like crash at startup: the error quotes the `Error:` line, not the version banner
/// printed after it.
#[tokio::test]
async fn a_crash_is_reported_by_its_error_line_not_the_version_banner() {
    let server = sh(r#"echo "Error: Cannot find module x" >&2; echo "" >&2; echo "Node.js v20.20.2" >&2; exit 1"#)
        .build()
        .unwrap();
    let err = bounded("enter", Duration::from_secs(10), server.enter())
        .await
        .expect_err("the server exits at once");
    let reason = err.close_reason().expect("a close reason");
    assert_eq!(reason.stderr_line(), Some("Error: Cannot find module x"));
    let shown = err.to_string();
    assert!(
        shown.contains("stderr: Error: Cannot find module x"),
        "{shown}"
    );
    assert_no_children_left().await;
}

/// Counts the library's warnings (a test runs on one thread: the guard of `set_default` sees the
/// connection's tasks too).
struct CountWarnings(Arc<AtomicUsize>);

impl tracing::Subscriber for CountWarnings {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        *meta.level() == tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target().starts_with("mcpmux") {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// `yes` on stdout: no JSON-RPC ever. The handshake fails at once (not at the 30 s initialize
/// timeout), the error quotes the first line, and the flood costs a handful of warnings, not one
/// per line.
#[tokio::test]
async fn a_server_that_writes_no_json_rpc_fails_fast_quoting_its_first_line() {
    let warnings = Arc::new(AtomicUsize::new(0));
    let _log = tracing::subscriber::set_default(CountWarnings(warnings.clone()));
    let server = sh("echo 'Server listening on http://localhost:3000'; exec yes hello")
        .initialize_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = bounded("enter", Duration::from_secs(20), server.enter())
        .await
        .expect_err("yes is no MCP server");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "failed after {took:?}: {err}"
    );
    assert!(err.is_protocol(), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains("not JSON-RPC")
            && shown.contains("\"Server listening on http://localhost:3000\""),
        "{shown}"
    );
    drop(server);
    assert_no_children_left().await;
    let warned = warnings.load(Ordering::Relaxed);
    assert!((1..=10).contains(&warned), "{warned} warnings");
}

/// A few log lines on stdout before the first message are tolerated: the handshake succeeds.
#[tokio::test]
async fn a_few_stray_lines_before_the_handshake_are_tolerated() {
    let server = test_server()
        .arg("--garbage-at-start")
        .arg("40")
        .reconnect(ReconnectPolicy::default().max_attempts(1))
        .build()
        .unwrap();
    let guard = bounded("enter", Duration::from_secs(20), server.enter())
        .await
        .expect("40 stray lines are under the limit");
    drop(guard);
}

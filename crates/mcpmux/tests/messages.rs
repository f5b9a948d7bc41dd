//! Error messages a person can act on (issue 15): the informative stderr line of a crashed
//! server, a stdio server that writes no JSON-RPC at all, HTTP errors summarised and hinted.

mod common;

use std::time::Duration;

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

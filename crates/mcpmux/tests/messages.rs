//! Error messages a person can act on (issue 15): the informative stderr line of a crashed
//! server, a stdio server that writes no JSON-RPC at all, HTTP errors summarised and hinted.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use mcpmux::{ReconnectPolicy, Server, ServerBuilder};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

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

/// A server that prints a usage line to stdout and exits, or a line and then stalls: the
/// failure (closed, timeout) quotes that line.
#[tokio::test]
async fn a_failed_start_quotes_the_first_stray_stdout_line() {
    let server = sh(r#"echo "Usage: server [--port N]"; exit 2"#)
        .build()
        .unwrap();
    let err = bounded("enter", Duration::from_secs(20), server.enter())
        .await
        .expect_err("the server exits at once");
    assert!(err.is_closed(), "{err}");
    assert!(
        err.to_string().contains("\"Usage: server [--port N]\""),
        "{err}"
    );
    let server = sh("echo 'Listening on port 3000'; exec sleep 30")
        .initialize_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = bounded("enter", Duration::from_secs(20), server.enter())
        .await
        .expect_err("the server never answers");
    assert!(err.is_timeout(), "{err}");
    assert!(
        err.to_string().contains("\"Listening on port 3000\""),
        "{err}"
    );
    drop(server);
    assert_no_children_left().await;
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

/// A plain-HTTP web server on 127.0.0.1 that answers every request with `status` and a long
/// HTML page titled "Welcome to nginx!". Runs until the test ends.
async fn web_server(status: &'static str) -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = l.local_addr().expect("local address").port();
    let body = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n{}</body>\n</html>\n",
        "<p>If you see this page, the nginx web server is working.</p>\n".repeat(40)
    );
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = l.accept().await {
            if read_http_request(&mut stream).await.is_some() {
                let _ = stream.write_all(answer.as_bytes()).await;
            }
            let _ = stream.shutdown().await;
        }
    });
    port
}

async fn enter_error(url: &str) -> mcpmux::Error {
    let server = Server::http(url)
        .name("web")
        .reconnect(ReconnectPolicy::default().max_attempts(1))
        .build()
        .unwrap();
    bounded("enter", Duration::from_secs(20), server.enter())
        .await
        .expect_err("a web server is no MCP server")
}

/// A web server's page is summarised by its status and title, never pasted, with a hint about
/// the usual MCP paths.
#[tokio::test]
async fn an_html_page_is_summarised_by_its_title_with_a_path_hint() {
    let port = web_server("200 OK").await;
    let err = enter_error(&format!("http://127.0.0.1:{port}/")).await;
    let shown = err.to_string();
    assert!(
        shown.contains("200 OK and an HTML page titled \"Welcome to nginx!\", not JSON-RPC")
            && shown.contains("/mcp")
            && shown.contains("/sse")
            && !shown.contains("<p>")
            && shown.len() < 600,
        "{shown}"
    );
}

/// A 404 (Streamable HTTP refused, then legacy SSE refused): the status, the page's title and
/// where MCP endpoints usually are.
#[tokio::test]
async fn a_404_names_the_usual_mcp_paths() {
    let port = web_server("404 Not Found").await;
    let err = enter_error(&format!("http://127.0.0.1:{port}/api")).await;
    let shown = err.to_string();
    assert!(
        shown.contains("404 Not Found with an HTML page titled \"Welcome to nginx!\"")
            && shown.contains("Streamable HTTP servers usually serve it at /mcp")
            && shown.contains("legacy SSE servers at /sse")
            && !shown.contains("<html")
            && shown.len() < 600,
        "{shown}"
    );
}

/// `https://` to a port that speaks plain HTTP: named as a TLS mismatch, with the http:// URL
/// to try, not rustls's "received corrupt message of type InvalidContentType" alone.
#[tokio::test]
async fn https_to_a_plain_http_port_says_try_http() {
    let port = web_server("200 OK").await;
    let err = enter_error(&format!("https://127.0.0.1:{port}/mcp")).await;
    let shown = err.to_string();
    assert!(
        shown.contains(&format!(
            "the server does not speak TLS on this port: try http://127.0.0.1:{port}/mcp"
        )),
        "{shown}"
    );
    assert!(err.is_http(), "{err}");
}

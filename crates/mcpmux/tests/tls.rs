//! TLS and HTTP/2 against the Rust test server (in-process, 127.0.0.1): a CA made at test time,
//! trusted only when given (`ca_cert_pem`), ALPN h2 over TLS, prior-knowledge h2c on request;
//! the HTTP version each request used is what the server counted.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use mcpmux::{HttpMode, ReconnectPolicy, Server};
use mcpmux_test_server::test_certs::TestCerts;
use mcpmux_test_server::{HttpOptions, HttpServer, Stats, start_http};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(20);

fn temp_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mcpmux-tls-{tag}-{}", std::process::id()))
}

async fn https_server(tag: &str) -> (HttpServer, TestCerts, PathBuf) {
    let certs = TestCerts::generate().unwrap();
    let dir = temp_dir(tag);
    let files = certs.write_to(&dir).unwrap();
    let server = start_http(HttpOptions {
        tls_cert: Some(files.cert),
        tls_key: Some(files.key),
        ..HttpOptions::default()
    })
    .await
    .unwrap();
    (server, certs, dir)
}

fn versions(stats: &Stats) -> (u64, u64) {
    (
        stats.get(&stats.http1_requests),
        stats.get(&stats.http2_requests),
    )
}

/// tools/list and tools/call, then close (DELETE); the server saw the GET stream and the DELETE.
async fn use_and_close(server: Server, http: &HttpServer) {
    let tools = bounded("tools/list", LIMIT, server.list_tools())
        .await
        .unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let result = bounded(
        "tools/call",
        LIMIT,
        server.call_tool("echo", json!({"text": "over tls"})),
    )
    .await
    .unwrap();
    assert!(format!("{result:?}").contains("over tls"), "{result:?}");
    bounded("close", LIMIT, server.close()).await;
    let s = &http.stats;
    assert!(
        // Each session the calls opened is deleted (one, or two when the first closed between
        // the calls: `Server`'s own calls enter and leave).
        s.wait_for(LIMIT, |s| {
            s.get(&s.deletes) >= 1 && s.get(&s.deletes) == s.get(&s.sessions_created)
        })
        .await,
        "no DELETE: {s:?}"
    );
    assert!(s.get(&s.get_streams_opened) >= 1, "no GET stream: {s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused_with_a_clear_error() {
    let (http, _certs, dir) = https_server("untrusted").await;
    let server = Server::http(&http.url_mcp)
        .reconnect(ReconnectPolicy::none())
        .build()
        .unwrap();
    let err = bounded("connect", LIMIT, server.enter()).await.unwrap_err();
    let text = err.to_string();
    assert!(err.is_http(), "{text}");
    assert!(
        text.contains("TLS certificate was not accepted") && text.contains("UnknownIssuer"),
        "{text}"
    );
    assert_eq!(http.stats.get(&http.stats.posts), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_ca_gives_http2_over_alpn_for_every_request() {
    let (http, certs, dir) = https_server("trusted").await;
    let server = Server::http(&http.url_mcp)
        .http_mode(HttpMode::Streamable)
        .ca_cert_pem(&certs.ca_pem)
        .build()
        .unwrap();
    use_and_close(server, &http).await;
    let (h1, h2) = versions(&http.stats);
    // initialize, initialized, tools/list, tools/call POSTs, the GET stream and the DELETE.
    assert_eq!(h1, 0);
    assert!(h2 >= 6, "{h2}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_http1_unless_prior_knowledge_is_asked_for() {
    let http = start_http(HttpOptions::default()).await.unwrap();
    let plain = Server::http(&http.url_mcp).build().unwrap();
    use_and_close(plain, &http).await;
    let (h1, h2) = versions(&http.stats);
    assert!(h1 >= 6 && h2 == 0, "{h1} {h2}");

    let http = start_http(HttpOptions::default()).await.unwrap();
    let h2c = Server::http(&http.url_mcp)
        .http2_prior_knowledge(true)
        .build()
        .unwrap();
    use_and_close(h2c, &http).await;
    let (h1, h2) = versions(&http.stats);
    assert!(h1 == 0 && h2 >= 6, "{h1} {h2}");
}

#[test]
fn ca_cert_pem_without_a_certificate_fails_the_build() {
    let err = Server::http("https://127.0.0.1:1/mcp")
        .ca_cert_pem("just text\n")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no CA certificate found"), "{err}");
    let err = Server::stdio("x")
        .http2_prior_knowledge(true)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("HTTP servers only"), "{err}");
}

/// `n` echo calls, `concurrency` at a time, on one entered connection; every one must succeed.
async fn many_calls(server: &Server, n: usize, concurrency: usize) {
    use futures_util::StreamExt;
    let guard = bounded("enter", LIMIT, server.enter()).await.unwrap();
    let failures: Vec<String> = futures_util::stream::iter(0..n)
        .map(|i| {
            let server = server.clone();
            async move {
                let text = format!("call {i}");
                match server.call_tool("echo", json!({ "text": text })).await {
                    Ok(r) if format!("{r:?}").contains(&text) => None,
                    Ok(r) => Some(format!("call {i}: {r:?}")),
                    Err(e) => Some(format!("call {i}: {e}")),
                }
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    let mut kinds: Vec<String> = failures
        .iter()
        .map(|f| f.chars().filter(|c| !c.is_ascii_digit()).collect())
        .collect();
    kinds.sort();
    kinds.dedup();
    assert!(
        failures.is_empty(),
        "{} of {n} calls failed, first: {:?}; kinds: {kinds:#?}",
        failures.len(),
        failures.first()
    );
    drop(guard);
    bounded("close", LIMIT, server.close()).await;
}

/// 10,000 calls in flight on one HTTP/2 connection all succeed. Their SSE answers (a priming
/// event and the response, small DATA frames each) arrive faster than they are read; with
/// hyper's 5 MiB connection window the client's h2 closed the connection once the unread small
/// frames passed half of it (GOAWAY `too_many_data_frames`, 2,000–4,700 of 30,000 calls failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_ten_thousand_calls_in_flight_all_succeed() {
    let http = start_http(HttpOptions::default()).await.unwrap();
    let server = Server::http(&http.url_mcp)
        .http2_prior_knowledge(true)
        .build()
        .unwrap();
    bounded(
        "30,000 calls",
        Duration::from_secs(60),
        many_calls(&server, 30_000, 10_000),
    )
    .await;
    let (h1, h2) = versions(&http.stats);
    assert!(h1 == 0 && h2 > 3_000, "{h1} {h2}");
    let s = &http.stats;
    assert_eq!(s.get(&s.connections), 1, "{s:?}");
}

/// Over HTTP/1.1 a call's connection goes back to the pool for a later call (a body dropped
/// before its end cannot be reused: each call would open a new connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_calls_reuse_their_connections() {
    let http = start_http(HttpOptions::default()).await.unwrap();
    let server = Server::http(&http.url_mcp).build().unwrap();
    bounded(
        "500 calls",
        Duration::from_secs(60),
        many_calls(&server, 500, 1),
    )
    .await;
    let s = &http.stats;
    // The GET stream's connection and a few for the POSTs: a call's result reaches its caller
    // before its POST has handed the connection back, so the next call sometimes opens
    // another (more often on a loaded machine). Without reuse it would be one per call.
    assert!(s.get(&s.connections) <= 25, "{s:?}");
}

/// An h2c client of a test server that ends each request's stream `end_after_ms` after its
/// response, entered; `calls` echo calls made one after another, within `limit` in all.
async fn calls_with_late_stream_ends(
    end_after_ms: u64,
    calls: usize,
    limit: Duration,
) -> (HttpServer, Server, mcpmux::Guard) {
    let http = start_http(HttpOptions {
        end_stream_after_ms: Some(end_after_ms),
        ..HttpOptions::default()
    })
    .await
    .unwrap();
    let server = Server::http(&http.url_mcp)
        .http2_prior_knowledge(true)
        .build()
        .unwrap();
    let guard = bounded("enter", LIMIT, server.enter()).await.unwrap();
    bounded("the calls", limit, async {
        for i in 0..calls {
            let text = format!("late end {i}");
            let result = server
                .call_tool("echo", json!({ "text": text }))
                .await
                .unwrap();
            assert!(format!("{result:?}").contains(&text), "{result:?}");
        }
    })
    .await;
    (http, server, guard)
}

/// A request's stream that ends a while after its response is read to its end, not reset: on
/// HTTP/2 each dropped stream is an RST_STREAM, and the client's h2 closes the connection after
/// 1,024 resets of streams it no longer tracks (GOAWAY `too_many_internal_resets`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ending_after_its_response_is_read_to_its_end() {
    let (http, server, guard) = calls_with_late_stream_ends(150, 20, LIMIT).await;
    let s = &http.stats;
    // Every stream has ended on the server's side by now.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.get(&s.sse_streams_closed_by_client), 0, "{s:?}");
    drop(guard);
    bounded("close", LIMIT, server.close()).await;
}

/// A request's stream that does not end soon after its response is let go after a bounded
/// wait (half a second), not held until the server ends it; the calls return with their
/// responses, not with their streams' ends (five calls within 10 s, the ends 20 s away).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_going_on_after_its_response_is_let_go() {
    let (http, server, guard) =
        calls_with_late_stream_ends(20_000, 5, Duration::from_secs(10)).await;
    let s = &http.stats;
    // The initialize request's stream and the five calls'.
    assert!(
        s.wait_for(Duration::from_secs(5), |s| s
            .get(&s.sse_streams_closed_by_client)
            == 6)
            .await,
        "{s:?}"
    );
    drop(guard);
    bounded("close", LIMIT, server.close()).await;
}

//! The conformance suite's `sse-retry` scenario, as a regression test of the race that made it
//! fail about half the time (scripts/conformance.sh used to retry it).
//!
//! The suite's mock is looser than the spec: it answers a pending `tools/call` on *any* GET,
//! the plain server-stream GET included (the spec allows a response on a GET only when it
//! resumes that request's stream). If the client's first request reaches the server before its
//! optional GET stream, the response goes out on that GET, before the close and `retry` under
//! test: no resumption, no `Last-Event-ID`, and the suite's timing check has nothing to measure.
//! The transport prevents this by holding requests until `notifications/initialized` was
//! answered and the GET stream settled (opened or refused). This mock takes its time over the
//! GET (as a loaded machine may), so without that hold the call is always pending by then.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpmux::{HttpMode, Server};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The `retry` the mock primes every stream with (the suite's value).
const RETRY_MS: u64 = 500;
/// How long the mock sits on a GET before it answers (well under the transport's 1 s limit on
/// waiting for the GET stream).
const GET_DELAY: Duration = Duration::from_millis(300);

/// What the mock saw, in the order it handled it (a GET when it answered), with the time it
/// arrived.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Post(String),
    /// A GET, with its `Last-Event-ID`, and whether the pending response went out on it.
    Get {
        last_event_id: Option<String>,
        delivered: bool,
    },
}

#[derive(Default)]
struct Mock {
    seen: Vec<(Instant, Seen)>,
    /// The id of the `tools/call` waiting for a GET.
    pending: Option<Value>,
    next_event: u32,
    tool_stream_closed: Option<Instant>,
}

type Shared = Arc<Mutex<Mock>>;

async fn respond_json(sock: &mut TcpStream, status: &str, body: &Value) {
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nmcp-session-id: s1\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body.as_bytes()).await;
}

/// Starts an SSE answer (delimited by closing the connection) with a priming event.
async fn start_sse(sock: &mut TcpStream, mock: &Shared) {
    let id = {
        let mut m = mock.lock().unwrap();
        m.next_event += 1;
        m.next_event
    };
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                mcp-session-id: s1\r\nconnection: close\r\n\r\n";
    let _ = sock.write_all(head.as_bytes()).await;
    let priming = format!("id: event-{id}\nretry: {RETRY_MS}\ndata: \n\n");
    let _ = sock.write_all(priming.as_bytes()).await;
}

/// The suite's sse-retry mock, one request per connection.
async fn serve(mut sock: TcpStream, mock: Shared) {
    let Some((method, headers, body)) = common::read_request(&mut sock).await else {
        return;
    };
    match method.as_str() {
        "GET" => {
            let last_event_id = headers
                .iter()
                .find(|(k, _)| k == "last-event-id")
                .map(|(_, v)| v.clone());
            let arrived = Instant::now();
            tokio::time::sleep(GET_DELAY).await;
            let pending = {
                let mut m = mock.lock().unwrap();
                let pending = m.pending.take();
                m.seen.push((
                    arrived,
                    Seen::Get {
                        last_event_id,
                        delivered: pending.is_some(),
                    },
                ));
                pending
            };
            start_sse(&mut sock, &mock).await;
            if let Some(id) = pending {
                let event = {
                    let mut m = mock.lock().unwrap();
                    m.next_event += 1;
                    m.next_event
                };
                let response = json!({"jsonrpc": "2.0", "id": id, "result": {
                    "content": [{"type": "text", "text": "reconnected"}]}});
                let _ = sock
                    .write_all(
                        format!("event: message\nid: event-{event}\ndata: {response}\n\n")
                            .as_bytes(),
                    )
                    .await;
            }
            // Open until the client goes.
            let mut rest = [0u8; 64];
            while matches!(sock.read(&mut rest).await, Ok(n) if n > 0) {}
        }
        "POST" => {
            let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let name = msg["method"].as_str().unwrap_or("").to_owned();
            mock.lock()
                .unwrap()
                .seen
                .push((Instant::now(), Seen::Post(name.clone())));
            let id = msg.get("id").cloned();
            match (name.as_str(), id) {
                (_, None) => {
                    let head =
                        "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = sock.write_all(head.as_bytes()).await;
                }
                ("initialize", Some(id)) => {
                    let result = json!({"protocolVersion": "2025-03-26",
                        "serverInfo": {"name": "sse-retry-mock", "version": "1"},
                        "capabilities": {"tools": {}}});
                    respond_json(
                        &mut sock,
                        "200 OK",
                        &json!({"jsonrpc": "2.0", "id": id, "result": result}),
                    )
                    .await;
                }
                ("tools/call", Some(id)) => {
                    mock.lock().unwrap().pending = Some(id);
                    start_sse(&mut sock, &mock).await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    mock.lock().unwrap().tool_stream_closed = Some(Instant::now());
                    // Dropping the socket closes the stream.
                }
                // Like the suite: anything else gets an empty result.
                (_, Some(id)) => {
                    respond_json(
                        &mut sock,
                        "200 OK",
                        &json!({"jsonrpc": "2.0", "id": id, "result": {}}),
                    )
                    .await;
                }
            }
        }
        _ => {
            let head =
                "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            let _ = sock.write_all(head.as_bytes()).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_request_waits_for_the_get_stream_so_its_stream_is_resumed() {
    let mock: Shared = Arc::default();
    let m = mock.clone();
    let (addr, accept) = common::start_mock(move |sock| serve(sock, m.clone())).await;
    let url = format!("{addr}/");

    let server = Server::http(&url)
        .http_mode(HttpMode::Auto)
        .request_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let guard = server.enter().await.unwrap();
    let result = guard
        .call_tool("test_reconnection", json!({}))
        .await
        .unwrap();
    assert_eq!(result.text(), "reconnected");
    drop(guard);
    accept.abort();

    let m = mock.lock().unwrap();
    let seen: Vec<&Seen> = m.seen.iter().map(|(_, s)| s).collect();
    let call = seen
        .iter()
        .position(|s| **s == Seen::Post("tools/call".into()))
        .expect("a tools/call POST");
    let gets: Vec<(usize, &Instant, &Seen)> = m
        .seen
        .iter()
        .enumerate()
        .filter(|(_, (_, s))| matches!(s, Seen::Get { .. }))
        .map(|(i, (t, s))| (i, t, s))
        .collect();
    // The server stream was open (and the mock had nothing pending) before the call went out.
    assert!(
        gets.first().is_some_and(|(i, _, s)| *i < call
            && matches!(
                s,
                Seen::Get {
                    last_event_id: None,
                    delivered: false
                }
            )),
        "the GET stream did not settle before tools/call: {seen:?}"
    );
    // The response came on the resumed stream: a GET after the close, with Last-Event-ID.
    let resumed: Vec<_> = gets
        .iter()
        .filter(|(_, _, s)| {
            matches!(
                s,
                Seen::Get {
                    delivered: true,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(resumed.len(), 1, "{seen:?}");
    let (_, at, s) = resumed[0];
    assert!(
        matches!(s, Seen::Get { last_event_id: Some(id), .. } if id == "event-2"),
        "resumed without the tools/call stream's last event id: {seen:?}"
    );
    // ... sent the server's retry after the close.
    let closed = m
        .tool_stream_closed
        .expect("the tools/call stream was closed");
    let waited = at.saturating_duration_since(closed);
    assert!(
        waited >= Duration::from_millis(RETRY_MS - 10) && waited < Duration::from_secs(5),
        "resumed {waited:?} after the close, expected the {RETRY_MS} ms retry"
    );
}

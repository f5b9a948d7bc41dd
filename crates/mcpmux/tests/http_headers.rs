//! What a Streamable HTTP request carries, seen on the wire by a mock on 127.0.0.1: the
//! configured headers, `Accept` and `Content-Type`, the session id and the negotiated protocol
//! version (prebuilt once per session), and the message itself as the body, also when a request
//! is re-sent after its session expired.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcpmux::{HttpMode, Server};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The version the mock negotiates (not the client's newest, so a stale value would show).
const VERSION: &str = "2025-06-18";

/// One request as the mock received it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Lowercase names, in arrival order (a repeated name appears twice).
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(all.len() <= 1, "{name} sent {} times: {self:?}", all.len());
        all.first().copied()
    }

    fn rpc_method(&self) -> String {
        serde_json::from_slice::<Value>(&self.body).unwrap_or(Value::Null)["method"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

#[derive(Default)]
struct Mock {
    seen: Vec<Seen>,
    /// Sessions handed out so far; the current one is `s{sessions}`.
    sessions: u32,
    /// Answer the next `tools/call` with 404, as for an expired session.
    expire_next_call: bool,
}

type Shared = Arc<Mutex<Mock>>;

/// One request: method, headers (lowercase names), body.
async fn read_request(sock: &mut TcpStream) -> Option<Seen> {
    let (method, headers, body) = common::read_request(sock).await?;
    Some(Seen {
        method,
        headers,
        body,
    })
}

async fn respond(sock: &mut TcpStream, status: &str, session: Option<&str>, body: Option<&Value>) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let session = session
        .map(|s| format!("mcp-session-id: {s}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{session}\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body.as_bytes()).await;
}

/// One request per connection.
async fn serve(mut sock: TcpStream, mock: Shared) {
    let Some(seen) = read_request(&mut sock).await else {
        return;
    };
    mock.lock().unwrap().seen.push(seen.clone());
    if seen.method != "POST" {
        // The GET stream is refused; the DELETE is accepted.
        let status = if seen.method == "DELETE" {
            "200 OK"
        } else {
            "405 Method Not Allowed"
        };
        return respond(&mut sock, status, None, None).await;
    }
    let msg: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
    let Some(id) = msg.get("id").cloned() else {
        return respond(&mut sock, "202 Accepted", None, None).await;
    };
    match msg["method"].as_str() {
        Some("initialize") => {
            let session = {
                let mut m = mock.lock().unwrap();
                m.sessions += 1;
                format!("s{}", m.sessions)
            };
            let result = json!({"protocolVersion": VERSION,
                "serverInfo": {"name": "headers-mock", "version": "1"},
                "capabilities": {"tools": {}}});
            let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
            respond(&mut sock, "200 OK", Some(&session), Some(&answer)).await;
        }
        Some("tools/call") => {
            let expire = std::mem::take(&mut mock.lock().unwrap().expire_next_call);
            if expire {
                return respond(&mut sock, "404 Not Found", None, None).await;
            }
            let answer = json!({"jsonrpc": "2.0", "id": id, "result": {
                "content": [{"type": "text", "text": "ok"}]}});
            respond(&mut sock, "200 OK", None, Some(&answer)).await;
        }
        _ => {
            let answer = json!({"jsonrpc": "2.0", "id": id, "result": {}});
            respond(&mut sock, "200 OK", None, Some(&answer)).await;
        }
    }
}

/// The headers every message POST carries, whatever its session.
fn assert_post_headers(seen: &Seen) {
    assert_eq!(seen.one("x-api-key"), Some("k3y"), "{seen:?}");
    assert_eq!(
        seen.one("accept"),
        Some("application/json, text/event-stream"),
        "{seen:?}"
    );
    assert_eq!(
        seen.one("content-type"),
        Some("application/json"),
        "{seen:?}"
    );
    assert_eq!(
        seen.one("content-length"),
        Some(seen.body.len().to_string().as_str()),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_carry_the_session_headers_and_the_message_also_after_the_session_expired() {
    let mock: Shared = Arc::default();
    let m = mock.clone();
    let (addr, accept) = common::start_mock(move |sock| serve(sock, m.clone())).await;
    let url = format!("{addr}/mcp");

    let server = Server::http(&url)
        .http_mode(HttpMode::Streamable)
        .header("x-api-key", "k3y")
        .request_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // One connection for both calls (a `Server` closes its connection when its last user
    // leaves, so two bare calls could each open a session of their own).
    let guard = server.enter().await.unwrap();
    let first = guard.call_tool("echo", json!({"text": "one"})).await;
    assert_eq!(first.unwrap().text(), "ok");
    mock.lock().unwrap().expire_next_call = true;
    let second = guard.call_tool("echo", json!({"text": "two"})).await;
    assert_eq!(second.unwrap().text(), "ok");
    drop(guard);
    server.close().await;
    accept.abort();

    let seen = mock.lock().unwrap().seen.clone();
    let posts = |method: &str| -> Vec<&Seen> {
        seen.iter()
            .filter(|s| s.method == "POST" && s.rpc_method() == method)
            .collect()
    };
    let inits = posts("initialize");
    assert_eq!(
        inits.len(),
        2,
        "the first session and its replacement: {seen:#?}"
    );
    // The first initialize: no session yet, no version negotiated yet.
    assert_post_headers(inits[0]);
    assert_eq!(inits[0].one("mcp-session-id"), None);
    assert_eq!(inits[0].one("mcp-protocol-version"), None);
    // Re-initializing: no session, the version negotiated before.
    assert_post_headers(inits[1]);
    assert_eq!(inits[1].one("mcp-session-id"), None);
    assert_eq!(inits[1].one("mcp-protocol-version"), Some(VERSION));

    let initialized = posts("notifications/initialized");
    assert_eq!(initialized.len(), 2, "{seen:#?}");
    for (n, s) in initialized.iter().enumerate() {
        assert_post_headers(s);
        assert_eq!(
            s.one("mcp-session-id"),
            Some(format!("s{}", n + 1).as_str())
        );
        assert_eq!(s.one("mcp-protocol-version"), Some(VERSION));
    }

    // Call one, call two (refused: session s1 expired), call two again in session s2.
    let calls = posts("tools/call");
    assert_eq!(calls.len(), 3, "{seen:#?}");
    let sessions: Vec<Option<&str>> = calls.iter().map(|s| s.one("mcp-session-id")).collect();
    assert_eq!(sessions, [Some("s1"), Some("s1"), Some("s2")]);
    for call in &calls {
        assert_post_headers(call);
        assert_eq!(call.one("mcp-protocol-version"), Some(VERSION));
        assert!(!call.body.ends_with(b"\n"), "the body is the message alone");
        let msg: Value = serde_json::from_slice(&call.body).unwrap();
        assert_eq!(msg["method"], "tools/call");
    }
    assert_eq!(
        calls[1].body, calls[2].body,
        "the re-sent request is the one the expired session refused"
    );
    let text = |s: &Seen| {
        serde_json::from_slice::<Value>(&s.body).unwrap()["params"]["arguments"]["text"].clone()
    };
    assert_eq!(text(calls[0]), "one");
    assert_eq!(text(calls[2]), "two");

    // The session is deleted with its own id and the version.
    let deletes: Vec<&Seen> = seen.iter().filter(|s| s.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1, "{seen:#?}");
    assert_eq!(deletes[0].one("mcp-session-id"), Some("s2"));
    assert_eq!(deletes[0].one("mcp-protocol-version"), Some(VERSION));
    assert_eq!(deletes[0].one("x-api-key"), Some("k3y"));
}

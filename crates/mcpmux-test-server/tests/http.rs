//! The HTTP transports, driven in-process with reqwest (and once through
//! the binary). Every wait is bounded by [`TIMEOUT`].

use std::process::Stdio;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use mcpmux_test_server::{HttpOptions, HttpServer, Stats, start_http};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const TIMEOUT: Duration = Duration::from_secs(10);
const BOTH: &str = "application/json, text/event-stream";

async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

fn count(stats: &Stats, counter: &AtomicU64) -> u64 {
    stats.get(counter)
}

async fn wait_stat(stats: &Stats, what: &str, cond: impl Fn(&Stats) -> bool) {
    assert!(
        stats.wait_for(TIMEOUT, cond).await,
        "timed out: {what}: {stats:?}"
    );
}

/// A reqwest client. The workspace builds reqwest with rustls but no
/// crypto provider, so one is installed first (plain `http://` only here).
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn start(opts: HttpOptions) -> HttpServer {
    within("start", start_http(opts))
        .await
        .expect("start server")
}

/// One parsed SSE event.
#[derive(Debug, Default, Clone)]
struct Event {
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    retry: Option<u64>,
}

impl Event {
    fn json(&self) -> Value {
        let data = self
            .data
            .as_deref()
            .unwrap_or_else(|| panic!("no data: {self:?}"));
        serde_json::from_str(data).unwrap_or_else(|e| panic!("bad JSON {data}: {e}"))
    }
}

/// What reading an SSE body gave.
#[derive(Debug)]
enum Next {
    Event(Event),
    /// The body ended cleanly.
    End,
    /// The body broke (connection cut mid-stream).
    Broken,
}

/// A minimal SSE reader over a reqwest response.
struct Sse {
    resp: reqwest::Response,
    buf: String,
}

impl Sse {
    fn new(resp: reqwest::Response) -> Self {
        let ct = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Sse {
            resp,
            buf: String::new(),
        }
    }

    async fn next(&mut self) -> Next {
        within("next SSE event", async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..end + 2).collect();
                    let mut ev = Event::default();
                    let mut any = false;
                    for line in block.lines() {
                        if line.starts_with(':') || line.is_empty() {
                            continue;
                        }
                        any = true;
                        let (field, value) = line.split_once(':').unwrap_or((line, ""));
                        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                        match field {
                            "id" => ev.id = Some(value),
                            "event" => ev.event = Some(value),
                            "retry" => ev.retry = value.parse().ok(),
                            "data" => {
                                ev.data = Some(match ev.data.take() {
                                    Some(d) => format!("{d}\n{value}"),
                                    None => value,
                                })
                            }
                            other => panic!("unknown SSE field {other}"),
                        }
                    }
                    if any {
                        return Next::Event(ev);
                    }
                    continue;
                }
                match self.resp.chunk().await {
                    Ok(Some(bytes)) => self
                        .buf
                        .push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n")),
                    Ok(None) => {
                        assert!(self.buf.trim().is_empty(), "leftover: {:?}", self.buf);
                        return Next::End;
                    }
                    Err(_) => return Next::Broken,
                }
            }
        })
        .await
    }

    async fn event(&mut self) -> Event {
        match self.next().await {
            Next::Event(ev) => ev,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// All remaining events and how the body ended.
    async fn rest(&mut self) -> (Vec<Event>, Next) {
        let mut events = Vec::new();
        loop {
            match self.next().await {
                Next::Event(ev) => events.push(ev),
                end => return (events, end),
            }
        }
    }
}

/// A client for one server.
struct Client {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
    next_id: i64,
}

fn request(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn init_params() -> Value {
    json!({
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "http-test", "version": "0"},
    })
}

fn call_params(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments})
}

impl Client {
    fn new(url: &str) -> Self {
        Client {
            http: http_client(),
            url: url.to_owned(),
            session: None,
            next_id: 0,
        }
    }

    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// POSTs `body` with the usual headers (session and protocol version
    /// when known), `extra` replacing or adding to them.
    async fn post_with(&self, body: &Value, extra: &[(&str, &str)]) -> reqwest::Response {
        let mut headers = vec![("accept", BOTH), ("content-type", "application/json")];
        if let Some(s) = &self.session {
            headers.push(("mcp-session-id", s));
            headers.push(("mcp-protocol-version", "2025-11-25"));
        }
        headers.retain(|(k, _)| extra.iter().all(|(e, _)| e != k));
        headers.extend_from_slice(extra);
        let mut req = self.http.post(&self.url).body(body.to_string());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        within("POST", req.send()).await.expect("POST")
    }

    async fn post(&self, body: &Value) -> reqwest::Response {
        self.post_with(body, &[]).await
    }

    async fn get(&self, last_event_id: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(&self.url).header(ACCEPT, "text/event-stream");
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        within("GET", req.send()).await.expect("GET")
    }

    async fn delete(&self) -> reqwest::Response {
        let mut req = self.http.delete(&self.url);
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        within("DELETE", req.send()).await.expect("DELETE")
    }

    /// The JSON-RPC response to a request, from a JSON body or an SSE
    /// stream (notifications before it are returned too).
    async fn answer(resp: reqwest::Response) -> (Value, Vec<Value>) {
        assert_eq!(resp.status(), StatusCode::OK);
        let ct = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        if ct.starts_with("application/json") {
            let bytes = within("body", resp.bytes()).await.expect("body");
            return (serde_json::from_slice(&bytes).expect("json"), Vec::new());
        }
        let mut sse = Sse::new(resp);
        let mut notes = Vec::new();
        loop {
            let ev = sse.event().await;
            if ev.data.as_deref().is_none_or(str::is_empty) {
                continue; // priming
            }
            let msg = ev.json();
            if msg.get("method").is_some() {
                notes.push(msg);
            } else {
                assert!(matches!(sse.next().await, Next::End));
                return (msg, notes);
            }
        }
    }

    async fn rpc(&mut self, method: &str, params: Value) -> Value {
        let id = self.id();
        let resp = self.post(&request(id, method, params)).await;
        let (msg, _) = Self::answer(resp).await;
        assert_eq!(msg["id"], id, "{msg}");
        msg
    }

    async fn call(&mut self, name: &str, arguments: Value) -> Value {
        let msg = self.rpc("tools/call", call_params(name, arguments)).await;
        msg.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("tools/call failed: {msg}"))
    }

    async fn notify(&self, method: &str, params: Value) -> reqwest::Response {
        self.post(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await
    }

    /// initialize + notifications/initialized; keeps the session id.
    async fn initialize(&mut self) -> Value {
        self.session = None;
        let id = self.id();
        let resp = self.post(&request(id, "initialize", init_params())).await;
        self.session = resp
            .headers()
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let (msg, _) = Self::answer(resp).await;
        let resp = self.notify("notifications/initialized", json!({})).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        msg["result"].clone()
    }
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().expect("text content")
}

async fn error_message(resp: reqwest::Response) -> String {
    let body: Value = serde_json::from_slice(&within("body", resp.bytes()).await.unwrap()).unwrap();
    body["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn initialize_session_and_sse_answers() {
    let server = start(HttpOptions::default()).await;
    let mut c = Client::new(&server.url_mcp);

    let id = c.id();
    let resp = c.post(&request(id, "initialize", init_params())).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let session = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(session.len(), 32);
    assert!(session.bytes().all(|b| b.is_ascii_hexdigit()));
    let mut sse = Sse::new(resp);
    let priming = sse.event().await;
    assert_eq!(priming.data.as_deref(), Some(""));
    assert!(priming.retry.is_none());
    let priming_id = priming.id.expect("priming id");
    let ev = sse.event().await;
    assert_eq!(ev.event.as_deref(), Some("message"));
    let ev_id = ev.id.clone().expect("event id");
    assert_ne!(ev_id, priming_id);
    assert_eq!(
        ev_id.rsplit_once('-').unwrap().0,
        priming_id.rsplit_once('-').unwrap().0
    );
    let msg = ev.json();
    assert_eq!(msg["id"], id);
    assert_eq!(msg["result"]["serverInfo"]["name"], "mcpmux-test-server");
    assert!(matches!(sse.next().await, Next::End));
    c.session = Some(session.clone());

    let resp = c.notify("notifications/initialized", json!({})).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert!(within("body", resp.bytes()).await.unwrap().is_empty());

    let r = c.call("echo", json!({"text": "hi"})).await;
    assert_eq!(text(&r), "hi");
    let tools = c.rpc("tools/list", json!({})).await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"drop_stream") && names.contains(&"echo"));

    let s = &server.stats;
    assert_eq!(count(s, &s.initializes), 1);
    assert_eq!(count(s, &s.initialized), 1);
    assert_eq!(count(s, &s.tool_calls), 1);
    assert_eq!(count(s, &s.sessions_created), 1);
    assert_eq!(count(s, &s.posts), 4);
    assert_eq!(count(s, &s.sse_streams_closed_by_client), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_status_codes() {
    let server = start(HttpOptions::default()).await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;
    let ping = request(99, "ping", json!({}));

    // No session id on a non-initialize request: 400. Unknown: 404.
    let saved = c.session.take();
    assert_eq!(c.post(&ping).await.status(), StatusCode::BAD_REQUEST);
    c.session = Some("nope".into());
    assert_eq!(c.post(&ping).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(c.get(None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(c.delete().await.status(), StatusCode::NOT_FOUND);
    c.session = saved;

    let bad_version = c
        .post_with(&ping, &[("mcp-protocol-version", "1999-01-01")])
        .await;
    assert_eq!(bad_version.status(), StatusCode::BAD_REQUEST);
    assert!(
        error_message(bad_version)
            .await
            .contains("MCP-Protocol-Version")
    );
    let html = c.post_with(&ping, &[("accept", "text/html")]).await;
    assert_eq!(html.status(), StatusCode::NOT_ACCEPTABLE);
    let text_ct = c.post_with(&ping, &[("content-type", "text/plain")]).await;
    assert_eq!(text_ct.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let evil = c
        .post_with(&ping, &[("origin", "https://evil.example")])
        .await;
    assert_eq!(evil.status(), StatusCode::FORBIDDEN);
    let local = c
        .post_with(&ping, &[("origin", "http://localhost:1234")])
        .await;
    assert_eq!(local.status(), StatusCode::OK);

    let resp = within(
        "POST",
        c.http
            .post(&c.url)
            .header(ACCEPT, BOTH)
            .header(CONTENT_TYPE, "application/json")
            .header("mcp-session-id", c.session.as_deref().unwrap())
            .body("{not json")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], -32700);

    let invalid = c
        .post(&json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(invalid).await.contains("jsonrpc"));

    // Wrong methods and paths.
    let put = within("PUT", c.http.put(&server.url_mcp).send())
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    let other = format!("{}/other", server.url_base);
    let resp = within("GET", c.http.get(other).send()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    server.shutdown().await;
}

#[tokio::test]
async fn json_mode_answers_json_and_logs_on_the_get_stream() {
    let server = start(HttpOptions {
        json_response: true,
        ..HttpOptions::default()
    })
    .await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;
    assert!(c.session.is_some());

    let id = c.id();
    let resp = c
        .post(&request(
            id,
            "tools/call",
            call_params("echo", json!({"text": "j"})),
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let (msg, _) = Client::answer(resp).await;
    assert_eq!(text(&msg["result"]), "j");

    // Without a GET stream the log notification is dropped.
    assert_eq!(
        text(
            &c.call("log", json!({"level": "info", "message": "lost"}))
                .await
        ),
        "ok"
    );

    let resp = c.get(None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut stream = Sse::new(resp);
    let priming = stream.event().await;
    assert_eq!(priming.data.as_deref(), Some(""));
    wait_stat(&server.stats, "GET opened", |s| {
        s.get(&s.get_streams_opened) == 1
    })
    .await;
    // One GET stream per session.
    assert_eq!(c.get(None).await.status(), StatusCode::CONFLICT);

    assert_eq!(
        text(
            &c.call("log", json!({"level": "info", "message": "m1"}))
                .await
        ),
        "ok"
    );
    let note = stream.event().await;
    assert!(note.id.is_some());
    let note = note.json();
    assert_eq!(note["method"], "notifications/message");
    assert_eq!(note["params"]["data"], "m1");

    // A batch (2025-03-26) is answered with one array.
    let batch = json!([
        request(50, "ping", json!({})),
        request(
            51,
            "tools/call",
            call_params("add", json!({"a": 1, "b": 2}))
        )
    ]);
    let (answer, _) = Client::answer(c.post(&batch).await).await;
    assert_eq!(answer[0]["id"], 50);
    assert_eq!(answer[1]["result"]["structuredContent"]["sum"], 3);

    // drop_stream has nothing to drop in JSON mode.
    let r = c
        .call("drop_stream", json!({"before_response": true}))
        .await;
    assert_eq!(r["isError"], true);

    // The client closing the GET stream is seen; a new one may then open.
    drop(stream);
    wait_stat(&server.stats, "GET closed", |s| {
        s.get(&s.sse_streams_closed_by_client) == 1
    })
    .await;
    assert_eq!(c.get(None).await.status(), StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn stateless_has_no_session_get_or_delete() {
    let server = start(HttpOptions {
        stateless: true,
        ..HttpOptions::default()
    })
    .await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;
    assert_eq!(c.session, None);
    assert_eq!(text(&c.call("echo", json!({"text": "s"})).await), "s");
    assert_eq!(c.get(None).await.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(c.delete().await.status(), StatusCode::METHOD_NOT_ALLOWED);
    let s = &server.stats;
    assert_eq!(count(s, &s.sessions_created), 0);
    assert_eq!(count(s, &s.deletes), 1);
    assert!(s.deleted_sessions().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn session_expiry_gives_404_then_reinitialize_works() {
    let server = start(HttpOptions {
        expire_session_after: Some(3),
        ..HttpOptions::default()
    })
    .await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await; // POSTs 1 and 2
    let first = c.session.clone().unwrap();
    assert_eq!(text(&c.call("echo", json!({"text": "3"})).await), "3"); // 3: expires
    let resp = c.post(&request(100, "ping", json!({}))).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let s = &server.stats;
    assert_eq!(count(s, &s.sessions_expired), 1);

    c.initialize().await;
    let second = c.session.clone().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        text(&c.call("echo", json!({"text": "again"})).await),
        "again"
    );
    assert_eq!(
        c.post(&request(101, "ping", json!({}))).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(count(s, &s.sessions_expired), 2);
    assert_eq!(count(s, &s.sessions_created), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn delete_ends_the_session() {
    let server = start(HttpOptions::default()).await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;
    let session = c.session.clone().unwrap();
    let resp = c.delete().await;
    assert_eq!(resp.status(), StatusCode::OK);
    let s = &server.stats;
    assert_eq!(count(s, &s.deletes), 1);
    assert_eq!(s.deleted_sessions(), vec![session]);
    assert_eq!(
        c.post(&request(7, "ping", json!({}))).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(c.delete().await.status(), StatusCode::NOT_FOUND);
    assert_eq!(count(s, &s.deletes), 2);
    assert_eq!(s.deleted_sessions().len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn progress_goes_on_the_request_stream_with_unique_ids() {
    let server = start(HttpOptions::default()).await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;
    let resp = c
        .post(&json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
            "name": "progress", "arguments": {"steps": 3, "ms": 1}, "_meta": {"progressToken": "p"}}}))
        .await;
    let mut sse = Sse::new(resp);
    let (events, end) = sse.rest().await;
    assert!(matches!(end, Next::End), "{end:?}");
    assert_eq!(events.len(), 5, "{events:?}"); // priming, 3 progress, response
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_deref().unwrap()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 5, "{ids:?}");
    for (i, ev) in events[1..4].iter().enumerate() {
        let m = ev.json();
        assert_eq!(m["method"], "notifications/progress");
        assert_eq!(m["params"]["progress"], i + 1);
        assert_eq!(m["params"]["progressToken"], "p");
    }
    assert_eq!(text(&events[4].json()["result"]), "done");
    server.shutdown().await;
}

#[tokio::test]
async fn priming_retry_then_resume_delivers_the_response_once() {
    let server = start(HttpOptions {
        priming_retry_ms: Some(200),
        ..HttpOptions::default()
    })
    .await;
    let mut c = Client::new(&server.url_mcp);
    // initialize itself is primed and delivered on resume.
    let resp = c.post(&request(1, "initialize", init_params())).await;
    c.session = Some(
        resp.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned(),
    );
    let mut sse = Sse::new(resp);
    let priming = sse.event().await;
    assert_eq!(priming.retry, Some(200));
    assert_eq!(priming.data.as_deref(), Some(""));
    assert!(matches!(sse.next().await, Next::End));
    let mut resumed = Sse::new(c.get(priming.id.as_deref()).await);
    let (events, end) = resumed.rest().await;
    assert!(matches!(end, Next::End));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].json()["id"], 1);
    assert_eq!(
        c.notify("notifications/initialized", json!({}))
            .await
            .status(),
        StatusCode::ACCEPTED
    );

    let resp = c
        .post(&request(
            2,
            "tools/call",
            call_params("sleep", json!({"ms": 50})),
        ))
        .await;
    let mut sse = Sse::new(resp);
    let priming = sse.event().await;
    assert_eq!(priming.retry, Some(200));
    let (events, end) = sse.rest().await;
    assert!(events.is_empty(), "{events:?}");
    assert!(matches!(end, Next::End));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp = c.get(priming.id.as_deref()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let (events, end) = Sse::new(resp).rest().await;
    assert!(matches!(end, Next::End));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(text(&events[0].json()["result"]), "slept 50 ms");
    // Resuming after the response's id gives nothing more.
    let resp = c.get(events[0].id.as_deref()).await;
    let (again, _) = Sse::new(resp).rest().await;
    assert!(again.is_empty(), "{again:?}");

    let s = &server.stats;
    assert_eq!(count(s, &s.sse_streams_closed_by_server), 2);
    assert_eq!(count(s, &s.resumes), 3);
    let delays = s.resume_delays();
    assert_eq!(delays.len(), 2, "{delays:?}");
    assert!(delays[1] >= Duration::from_millis(190), "{delays:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn drop_stream_with_event_ids_is_resumable() {
    let server = start(HttpOptions::default()).await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;

    // Before the response: the stream breaks after the priming event; the
    // response comes on resume.
    let resp = c
        .post(&request(
            10,
            "tools/call",
            call_params("drop_stream", json!({"before_response": true})),
        ))
        .await;
    let mut sse = Sse::new(resp);
    let priming = sse.event().await;
    let (events, end) = sse.rest().await;
    assert!(events.is_empty(), "{events:?}");
    assert!(matches!(end, Next::Broken), "{end:?}");
    let (events, end) = Sse::new(c.get(priming.id.as_deref()).await).rest().await;
    assert!(matches!(end, Next::End));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].json()["id"], 10);
    assert_eq!(text(&events[0].json()["result"]), "dropped");

    // After the response: the response arrives, then the stream breaks.
    let resp = c
        .post(&request(
            11,
            "tools/call",
            call_params("drop_stream", json!({"before_response": false})),
        ))
        .await;
    let mut sse = Sse::new(resp);
    let _priming = sse.event().await;
    assert_eq!(sse.event().await.json()["id"], 11);
    assert!(matches!(sse.next().await, Next::Broken));

    let s = &server.stats;
    assert_eq!(count(s, &s.sse_streams_closed_by_server), 2);
    assert_eq!(count(s, &s.sse_streams_closed_by_client), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn without_event_ids_nothing_is_resumable() {
    let server = start(HttpOptions {
        event_ids: false,
        ..HttpOptions::default()
    })
    .await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;
    let resp = c
        .post(&request(
            3,
            "tools/call",
            call_params("echo", json!({"text": "x"})),
        ))
        .await;
    let (events, end) = Sse::new(resp).rest().await;
    assert!(matches!(end, Next::End));
    assert_eq!(events.len(), 1, "no priming without ids: {events:?}");
    assert!(events[0].id.is_none());

    let resp = c
        .post(&request(
            4,
            "tools/call",
            call_params("drop_stream", json!({"before_response": true})),
        ))
        .await;
    let (events, end) = Sse::new(resp).rest().await;
    assert!(events.is_empty(), "{events:?}");
    assert!(matches!(end, Next::Broken));
    let resp = c.get(Some("whatever-0")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    server.shutdown().await;
}

#[tokio::test]
async fn client_dropping_a_request_stream_and_cancelling() {
    let server = start(HttpOptions::default()).await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;
    let resp = c
        .post(&request(20, "tools/call", call_params("hang", json!({}))))
        .await;
    let mut sse = Sse::new(resp);
    let priming = sse.event().await;
    drop(sse);
    let s = &server.stats;
    wait_stat(s, "POST stream closed", |s| {
        s.get(&s.sse_streams_closed_by_client) == 1
    })
    .await;

    let resp = c
        .notify(
            "notifications/cancelled",
            json!({"requestId": 20, "reason": "test"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(s.cancelled_ids(), vec![json!(20)]);
    // The cancelled request's stream ends without a response.
    let (events, end) = Sse::new(c.get(priming.id.as_deref()).await).rest().await;
    assert!(events.is_empty(), "{events:?}");
    assert!(matches!(end, Next::End));
    let r = c.call("cancellations", json!({})).await;
    assert_eq!(r["structuredContent"]["cancelled"], json!([20]));
    server.shutdown().await;
}

#[tokio::test]
async fn fail_first_posts_gives_503s() {
    let server = start(HttpOptions {
        fail_first_posts: 2,
        ..HttpOptions::default()
    })
    .await;
    let c = Client::new(&server.url_mcp);
    let init = request(1, "initialize", init_params());
    for _ in 0..2 {
        assert_eq!(
            c.post(&init).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert_eq!(c.post(&init).await.status(), StatusCode::OK);
    let s = &server.stats;
    assert_eq!(count(s, &s.http_5xx), 2);
    assert_eq!(count(s, &s.posts), 3);
    assert_eq!(count(s, &s.initializes), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn moved_paths_redirect_to_mcp() {
    let server = start(HttpOptions::default()).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for (path, status) in [
        ("moved", StatusCode::TEMPORARY_REDIRECT),
        ("moved-permanently", StatusCode::PERMANENT_REDIRECT),
    ] {
        let url = format!("{}/{path}", server.url_base);
        for req in [
            http.post(&url).body("{}"),
            http.get(&url),
            http.delete(&url),
        ] {
            let resp = within("redirect", req.send()).await.expect("send");
            assert_eq!(resp.status(), status, "{path}");
            assert_eq!(resp.headers()["location"], "/mcp", "{path}");
        }
    }
    let s = &server.stats;
    assert_eq!(count(s, &s.redirects), 6);
    assert_eq!(count(s, &s.posts), 0);
    server.shutdown().await;
}

/// Opens a legacy stream: returns it and the POST URL from its endpoint event.
async fn legacy_open(http: &reqwest::Client, server: &HttpServer, url: &str) -> (Sse, String) {
    let resp = within(
        "GET",
        http.get(url).header(ACCEPT, "text/event-stream").send(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("mcp-session-id").is_none());
    let mut sse = Sse::new(resp);
    let ev = sse.event().await;
    assert_eq!(ev.event.as_deref(), Some("endpoint"));
    let endpoint = ev.data.unwrap();
    assert!(endpoint.starts_with("/messages?sessionId="), "{endpoint}");
    (sse, format!("{}{endpoint}", server.url_base))
}

async fn legacy_post(http: &reqwest::Client, url: &str, body: &Value) -> StatusCode {
    within(
        "POST",
        http.post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send(),
    )
    .await
    .unwrap()
    .status()
}

#[tokio::test]
async fn legacy_sse_endpoint_messages_and_close() {
    let server = start(HttpOptions::default()).await;
    let http = http_client();
    let (mut sse, post_url) = legacy_open(&http, &server, &server.url_sse).await;

    assert_eq!(
        legacy_post(&http, &post_url, &request(1, "initialize", init_params())).await,
        StatusCode::ACCEPTED
    );
    let ev = sse.event().await;
    assert_eq!(ev.event.as_deref(), Some("message"));
    assert!(ev.id.is_none());
    assert_eq!(ev.json()["result"]["protocolVersion"], "2025-11-25");
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        legacy_post(&http, &post_url, &note).await,
        StatusCode::ACCEPTED
    );
    let call = request(
        2,
        "tools/call",
        call_params("log", json!({"level": "info", "message": "L"})),
    );
    assert_eq!(
        legacy_post(&http, &post_url, &call).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(sse.event().await.json()["params"]["data"], "L");
    assert_eq!(text(&sse.event().await.json()["result"]), "ok");

    // The two transports do not answer each other's methods.
    let resp = within("POST", http.post(&server.url_sse).send())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let resp = within("GET", http.get(&post_url).send()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let unknown = format!("{}/messages?sessionId=nope", server.url_base);
    assert_eq!(
        legacy_post(&http, &unknown, &note).await,
        StatusCode::NOT_FOUND
    );

    let s = &server.stats;
    assert_eq!(count(s, &s.legacy_streams_opened), 1);
    drop(sse);
    wait_stat(s, "legacy stream closed", |s| {
        s.get(&s.legacy_streams_closed) == 1
    })
    .await;
    assert_eq!(
        legacy_post(&http, &post_url, &note).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(count(s, &s.sse_streams_closed_by_client), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn legacy_only_serves_the_endpoint_stream_on_mcp() {
    let server = start(HttpOptions {
        legacy_only: true,
        ..HttpOptions::default()
    })
    .await;
    let c = Client::new(&server.url_mcp);
    // What a client tries first: POST initialize to the URL → 405.
    let resp = c.post(&request(1, "initialize", init_params())).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(c.delete().await.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Then GET the same URL and expect the endpoint event.
    let (mut sse, post_url) = legacy_open(&c.http, &server, &server.url_mcp).await;
    assert_eq!(
        legacy_post(&c.http, &post_url, &request(1, "initialize", init_params())).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(sse.event().await.json()["id"], 1);
    server.shutdown().await;
}

#[tokio::test]
async fn crash_stops_the_server_and_shutdown_breaks_streams() {
    let mut server = start(HttpOptions::default()).await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;
    let mut get = Sse::new(c.get(None).await);
    let _priming = get.event().await;
    let resp = c
        .post(&request(
            9,
            "tools/call",
            call_params("crash", json!({"code": 3})),
        ))
        .await;
    let mut post = Sse::new(resp);
    let _priming = post.event().await;
    assert_eq!(within("crash", server.wait()).await, Some(3));
    assert!(matches!(post.next().await, Next::Broken | Next::End));
    assert!(matches!(get.next().await, Next::Broken | Next::End));
    let s = &server.stats;
    assert_eq!(count(s, &s.sse_streams_closed_by_client), 0);
    let refused = c.http.post(&server.url_mcp).body("{}").send().await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let server = start(HttpOptions::default()).await;
    let mut c = Client::new(&server.url_mcp);
    c.initialize().await;
    let mut get = Sse::new(c.get(None).await);
    let _priming = get.event().await;
    let started = Instant::now();
    drop(server);
    assert!(matches!(get.next().await, Next::Broken | Next::End));
    assert!(started.elapsed() < TIMEOUT);
}

#[tokio::test]
async fn binary_serves_http_and_refuses_remote() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpmux-test-server"))
        .args(["--http", "127.0.0.1:0", "--http-json-response"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let line = within("listening line", BufReader::new(stdout).lines().next_line())
        .await
        .unwrap()
        .expect("a line");
    let base = line.strip_prefix("listening on ").expect(&line);
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let mut c = Client::new(&format!("{base}/mcp"));
    let r = c.initialize().await;
    assert_eq!(r["serverInfo"]["name"], "mcpmux-test-server");
    let resp = c.post(&request(5, "ping", json!({}))).await;
    assert!(resp.headers().contains_key("mcp-session-id"));
    assert_eq!(Client::answer(resp).await.0["result"], json!({}));
    // crash ends the process with its code.
    let _ = c
        .http
        .post(&c.url)
        .header(ACCEPT, BOTH)
        .header(CONTENT_TYPE, "application/json")
        .header("mcp-session-id", c.session.as_deref().unwrap())
        .body(request(6, "tools/call", call_params("crash", json!({"code": 7}))).to_string())
        .timeout(TIMEOUT)
        .send()
        .await;
    let status = within("exit", child.wait()).await.unwrap();
    assert_eq!(status.code(), Some(7));

    let out = within(
        "refusal",
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpmux-test-server"))
            .args(["--http", "0.0.0.0:0"])
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
    assert!(out.stdout.is_empty());
}

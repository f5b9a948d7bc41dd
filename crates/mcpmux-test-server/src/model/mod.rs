//! A scripted model server: an OpenAI-compatible chat-completions endpoint
//! (`POST /v1/chat/completions`) and an Anthropic Messages endpoint (`POST /v1/messages`) that
//! replay a [`Script`], for testing agents end to end without a model.
//!
//! Each request gets the script's turn for the number of assistant messages in its history
//! (so concurrent conversations each follow the script). Before answering, the server checks
//! that every tool call of the previous assistant turn is answered exactly once (a
//! `tool_call_id`, or Anthropic's `tool_use_id`), and answers **400** otherwise. With
//! `"stream": true` the reply is an SSE stream whose chunks arrive one by one, tool-call
//! arguments split mid-JSON across several; otherwise one JSON body. Every request is recorded
//! ([`ModelServer::requests`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use mcpmux_test_server::model::{Script, start_model};
//! let script = Script::from_json(&serde_json::json!({"turns": [
//!     {"tool_calls": [{"name": "time_now", "arguments": {}}]},
//!     {"text": "It is noon."}
//! ]}))?;
//! let server = start_model(script).await?;
//! println!("base URL: {}", server.url);
//! # Ok(()) }
//! ```

mod anthropic;
mod openai;
mod script;

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

pub use script::{Script, Turn};

/// The pause between two chunks of a streamed reply, so that they reach the client apart.
const CHUNK_GAP: Duration = Duration::from_millis(1);

/// One request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The path (`/v1/chat/completions` or `/v1/messages`).
    pub path: String,
    /// The request's headers (name in lower case, value), in order.
    pub headers: Vec<(String, String)>,
    /// The body (`null` if it was not JSON).
    pub body: Value,
    /// The status answered.
    pub status: u16,
    /// When it arrived.
    pub received: Instant,
}

impl Recorded {
    /// The value of header `name` (lower case), if the request had it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct App {
    script: Script,
    requests: Mutex<Vec<Recorded>>,
}

/// A running model server (see [`start_model`]). Dropping it stops the server.
#[derive(Debug)]
pub struct ModelServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The API root, as OpenAI SDKs take it: `http://ADDR/v1`.
    pub url: String,
    requests: Arc<AppRef>,
    task: JoinHandle<()>,
}

/// The shared state, behind a type that can be `Debug`.
struct AppRef(Arc<App>);

impl std::fmt::Debug for AppRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ModelServer state")
    }
}

impl ModelServer {
    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.requests.0.requests).clone()
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `127.0.0.1:0` and serves `script` there.
///
/// # Errors
/// The port cannot be bound.
pub async fn start_model(script: Script) -> std::io::Result<ModelServer> {
    let listener = crate::listen((Ipv4Addr::LOCALHOST, 0).into())?;
    start_model_on(listener, script)
}

/// Serves `script` on `listener` (until the returned server is dropped).
///
/// # Errors
/// The listener's address cannot be read.
pub fn start_model_on(listener: TcpListener, script: Script) -> std::io::Result<ModelServer> {
    let addr = listener.local_addr()?;
    let app = Arc::new(App {
        script,
        requests: Mutex::new(Vec::new()),
    });
    let router = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/chat/completions", post(chat))
        .route("/v1/messages", post(messages))
        .with_state(Arc::clone(&app));
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => {
                        let _ = tcp.set_nodelay(true);
                        let service = TowerToHyperService::new(router.clone());
                        connections.spawn(async move {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(tcp), service)
                                .await;
                        });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    Ok(ModelServer {
        addr,
        url: format!("http://{addr}/v1"),
        requests: Arc::new(AppRef(app)),
        task,
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Which API a request came in on.
#[derive(Clone, Copy)]
enum Api {
    OpenAi,
    Anthropic,
}

async fn chat(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    answer(&app, Api::OpenAi, "/v1/chat/completions", &headers, &body)
}

async fn messages(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    answer(&app, Api::Anthropic, "/v1/messages", &headers, &body)
}

fn answer(app: &App, api: Api, path: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let received = Instant::now();
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let (status, response) = match &parsed {
        None => (
            StatusCode::BAD_REQUEST,
            error(StatusCode::BAD_REQUEST, "the body is not JSON"),
        ),
        Some(request) => match respond(app, api, request) {
            Ok(response) => (StatusCode::OK, response),
            Err(message) => (
                StatusCode::BAD_REQUEST,
                error(StatusCode::BAD_REQUEST, &message),
            ),
        },
    };
    lock(&app.requests).push(Recorded {
        path: path.to_owned(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: parsed.unwrap_or(Value::Null),
        status: status.as_u16(),
        received,
    });
    response
}

/// The reply to a well-formed request, or why it is not.
fn respond(app: &App, api: Api, request: &Value) -> Result<Response, String> {
    let assistant_messages = match api {
        Api::OpenAi => {
            openai::check(request)?;
            openai::assistant_messages(request)
        }
        Api::Anthropic => {
            anthropic::check(request)?;
            anthropic::assistant_messages(request)
        }
    };
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("scripted");
    let stream = request.get("stream").and_then(Value::as_bool) == Some(true);
    let (turn, reply) = app.script.turn(assistant_messages);
    let (text, calls) = match reply {
        Turn::Garbage => {
            let kind = if stream {
                "text/event-stream"
            } else {
                "application/json"
            };
            return Ok(([(header::CONTENT_TYPE, kind)], "this is not {json").into_response());
        }
        Turn::Reply { text, tool_calls } => (text.as_str(), tool_calls.as_slice()),
    };
    Ok(match (api, stream) {
        (Api::OpenAi, false) => json_response(&openai::reply(model, turn, text, calls)),
        (Api::Anthropic, false) => json_response(&anthropic::reply(model, turn, text, calls)),
        (Api::OpenAi, true) => sse(openai::chunks(model, turn, text, calls)
            .into_iter()
            .map(|data| format!("data: {data}\n\n"))
            .collect()),
        (Api::Anthropic, true) => sse(anthropic::events(model, turn, text, calls)
            .into_iter()
            .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
            .collect()),
    })
}

fn json_response(body: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
            .to_string(),
    )
        .into_response()
}

/// An SSE response sending `frames` one by one, [`CHUNK_GAP`] apart.
fn sse(frames: Vec<String>) -> Response {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        for frame in frames {
            if tx.send(Bytes::from(frame)).await.is_err() {
                return;
            }
            tokio::time::sleep(CHUNK_GAP).await;
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(Frames(rx)),
    )
        .into_response()
}

/// The frames of a streamed reply as a body stream.
struct Frames(mpsc::Receiver<Bytes>);

impl futures_core::Stream for Frames {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}

/// Checks that the ids `answered` (the tool results of a request) answer each of `asked` (the
/// previous turn's tool calls) exactly once, and nothing else.
fn check_answers(asked: &[&str], answered: &[&str], field: &str) -> Result<(), String> {
    for id in asked {
        match answered.iter().filter(|a| *a == id).count() {
            1 => {}
            0 => return Err(format!("tool call `{id}` has no tool result ({field})")),
            n => return Err(format!("tool call `{id}` is answered {n} times ({field})")),
        }
    }
    if let Some(extra) = answered.iter().find(|a| !asked.contains(a)) {
        return Err(format!(
            "`{field}` `{extra}` answers no tool call of the previous turn"
        ));
    }
    Ok(())
}

/// `text` in `n` pieces of about equal length (fewer if it is shorter), cut at char boundaries.
fn split(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let size = chars.len().div_ceil(n.max(1));
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_cuts_into_pieces_that_join_back() {
        assert_eq!(split("abcdef", 3), ["ab", "cd", "ef"]);
        assert_eq!(split("ab", 3), ["a", "b"]);
        assert!(split("", 2).is_empty());
        assert_eq!(split("{\"é\":1}", 3).concat(), "{\"é\":1}");
    }
}

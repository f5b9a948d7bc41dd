//! Streamable HTTP (MCP 2025-03-26 … 2025-11-25) on the endpoint path: POST (messages in; the
//! answer as an SSE stream or one JSON body), GET (the session's stream, or the resumption of
//! any of its streams with `Last-Event-ID`) and DELETE (the session ends).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mcpmux_protocol::ProtocolVersion;

use super::events::{EventStream, OnGone, SseBody, parse_event_id};
use super::reply::{self, LAST_EVENT_ID, PROTOCOL_VERSION, SESSION_ID};
use super::sessions::{Finish, HttpSession};
use super::{App, read_body};
use crate::incoming::is_response;
use crate::inflight::{InFlight, TaskNo};
use crate::message::{self, Line, Message};
use crate::session::Outbox;
use mcpmux_protocol::RequestId;
use mcpmux_protocol::stateless::HEADER_MISMATCH;

/// The session a request names, or the error response: 400 without `Mcp-Session-Id`, 404 for
/// one the gateway does not know (any more).
fn find_session(app: &App, headers: &HeaderMap) -> Result<Arc<HttpSession>, Response> {
    match reply::text(headers, SESSION_ID) {
        None => Err(reply::error(
            StatusCode::BAD_REQUEST,
            "bad request: no Mcp-Session-Id header (send initialize first)",
        )),
        Some(id) => app.sessions.get(id).ok_or_else(|| {
            reply::error(
                StatusCode::NOT_FOUND,
                "session not found: it ended or never existed (initialize again)",
            )
        }),
    }
}

/// 400 for an `MCP-Protocol-Version` the gateway does not speak. No header: fine (the spec's
/// fallback, 2025-03-26). A supported version other than the negotiated one passes too, as with
/// the SDKs' servers: the conformance suite 0.1.16 sends `2025-03-26` after negotiating
/// 2025-11-25.
fn check_version(headers: &HeaderMap) -> Result<(), Response> {
    match reply::text(headers, PROTOCOL_VERSION) {
        Some(v) if ProtocolVersion::parse(v).is_none() => Err(reply::error(
            StatusCode::BAD_REQUEST,
            &format!(
                "bad request: unsupported MCP-Protocol-Version `{v}` (supported: {})",
                ProtocolVersion::SUPPORTED.map(|v| v.as_str()).join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// Whether a request without `Mcp-Session-Id` speaks the stateless protocol (2026-07-28),
/// where each request stands alone.
fn is_stateless(headers: &HeaderMap) -> bool {
    !headers.contains_key(SESSION_ID)
        && reply::text(headers, PROTOCOL_VERSION)
            .is_some_and(|v| v == ProtocolVersion::STATELESS.as_str())
}

/// The standard headers of a stateless request (SEP-2243): `Mcp-Method` must be the body's
/// method, exactly; `Mcp-Name` the body's `params.name` (tools/call, prompts/get), `params.uri`
/// (resources/read) or `params.taskId` (tasks/get, tasks/update, tasks/cancel) when it has
/// one. Values are compared without surrounding whitespace. 400 with -32020 otherwise.
fn check_standard_headers(headers: &HeaderMap, line: &Line) -> Result<(), Response> {
    let (id, method, params) = match line {
        Line::Single(Message::Request { id, method, params }) => (Some(id), method, params),
        Line::Single(Message::Notification { method, params }) => (None, method, params),
        _ => return Ok(()),
    };
    let mismatch = |why: String| {
        Err(reply::json(
            StatusCode::BAD_REQUEST,
            message::response(
                id,
                Err(mcpmux_protocol::ErrorObject::new(HEADER_MISMATCH, why)),
            ),
            None,
        ))
    };
    match reply::text(headers, "mcp-method") {
        Some(h) if h == method => {}
        Some(h) => {
            return mismatch(format!(
                "header mismatch: Mcp-Method `{h}` is not the body's method `{method}`"
            ));
        }
        None => {
            return mismatch(format!(
                "header mismatch: no Mcp-Method header (the body's method is `{method}`)"
            ));
        }
    }
    let field = match method.as_str() {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        "tasks/get" | "tasks/update" | "tasks/cancel" => "taskId",
        _ => return Ok(()),
    };
    let Some(value) = params.get(field).and_then(serde_json::Value::as_str) else {
        return Ok(());
    };
    match reply::text(headers, "mcp-name") {
        Some(h) if h == value => Ok(()),
        Some(h) => mismatch(format!(
            "header mismatch: Mcp-Name `{h}` is not the body's {field} `{value}`"
        )),
        None => mismatch(format!(
            "header mismatch: no Mcp-Name header (the body's {field} is `{value}`)"
        )),
    }
}

/// The request id and params of a single request or notification.
fn single(line: &Line) -> Option<(Option<&RequestId>, &serde_json::Value)> {
    match line {
        Line::Single(Message::Request { id, params, .. }) => Some((Some(id), params)),
        Line::Single(Message::Notification { params, .. }) => Some((None, params)),
        _ => None,
    }
}

/// A request without a session (but `initialize`) whose `MCP-Protocol-Version` the gateway does
/// not speak at all:
/// 400 with an `UnsupportedProtocolVersionError` (-32022) listing the versions it speaks and
/// echoing the one asked for.
fn check_unknown_version(headers: &HeaderMap, line: &Line) -> Result<(), Response> {
    let Some(v) = reply::text(headers, PROTOCOL_VERSION) else {
        return Ok(());
    };
    // `initialize` negotiates its version in the body.
    if headers.contains_key(SESSION_ID)
        || is_initialize(line)
        || ProtocolVersion::parse(v).is_some()
        || v == ProtocolVersion::STATELESS.as_str()
    {
        return Ok(());
    }
    // The versions server/discover names.
    let supported = crate::modern::SUPPORTED;
    let mut error = mcpmux_protocol::ErrorObject::new(
        mcpmux_protocol::stateless::UNSUPPORTED_PROTOCOL_VERSION,
        format!("unsupported protocol version `{v}`"),
    );
    error.data = Some(serde_json::json!({"supported": supported, "requested": v}));
    Err(reply::json(
        StatusCode::BAD_REQUEST,
        message::response(single(line).and_then(|(id, _)| id), Err(error)),
        None,
    ))
}

/// A stateless request whose body `_meta` names another protocol version than its
/// `MCP-Protocol-Version` header: 400 with -32020.
fn check_meta_version(headers: &HeaderMap, line: &Line) -> Result<(), Response> {
    let (Some(header), Some((id, params))) = (reply::text(headers, PROTOCOL_VERSION), single(line))
    else {
        return Ok(());
    };
    let body = params
        .get("_meta")
        .and_then(|m| m.get(mcpmux_protocol::stateless::META_PROTOCOL_VERSION))
        .and_then(serde_json::Value::as_str);
    match body {
        Some(body) if body != header => Err(reply::json(
            StatusCode::BAD_REQUEST,
            message::response(
                id,
                Err(mcpmux_protocol::ErrorObject::new(
                    HEADER_MISMATCH,
                    format!(
                        "header mismatch: MCP-Protocol-Version `{header}` is not the body's \
                         _meta protocol version `{body}`"
                    ),
                )),
            ),
            None,
        )),
        _ => Ok(()),
    }
}

/// The `Mcp-Param-*` headers of a stateless `tools/call` (SEP-2243): for each argument of the
/// tool that its input schema marks with `x-mcp-header`, a value in the body needs the header,
/// and the header's value (plain, or `=?base64?…?=`) must be that value. 400 with -32020
/// otherwise.
fn check_param_headers(app: &App, headers: &HeaderMap, line: &Line) -> Result<(), Response> {
    let Line::Single(Message::Request { id, method, params }) = line else {
        return Ok(());
    };
    if method != "tools/call" {
        return Ok(());
    }
    let Some(name) = params.get("name").and_then(serde_json::Value::as_str) else {
        return Ok(());
    };
    let map = app.gateway.current_map();
    let Some(exposed) = map.get(name) else {
        return Ok(());
    };
    // A schema whose annotations are invalid declares no headers the gateway could check.
    let Ok(declared) = mcpmux_protocol::stateless::param_headers(&exposed.tool.input_schema) else {
        return Ok(());
    };
    let arguments = params.get("arguments");
    for (property, header) in declared {
        let Some(value) = arguments
            .and_then(|a| a.get(&property))
            .filter(|v| !v.is_null())
        else {
            continue;
        };
        let field = format!("mcp-param-{header}");
        let sent = reply::text(headers, &field);
        let why = match sent.map(decode_param) {
            None => Some(format!(
                "no Mcp-Param-{header} header for argument `{property}`"
            )),
            Some(None) => Some(format!("Mcp-Param-{header}: invalid characters or Base64")),
            Some(Some(text)) if !param_matches(&text, value) => Some(format!(
                "Mcp-Param-{header} does not match argument `{property}`"
            )),
            Some(Some(_)) => None,
        };
        if let Some(why) = why {
            return Err(reply::json(
                StatusCode::BAD_REQUEST,
                message::response(
                    Some(id),
                    Err(mcpmux_protocol::ErrorObject::new(
                        HEADER_MISMATCH,
                        format!("header mismatch: {why}"),
                    )),
                ),
                None,
            ));
        }
    }
    Ok(())
}

/// An `Mcp-Param-*` value as text: `=?base64?…?=` decoded (strict, padded Base64 of UTF-8),
/// else the value itself, which must be visible ASCII. `None` when invalid.
fn decode_param(value: &str) -> Option<String> {
    use base64::Engine as _;
    if let Some(encoded) = value
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        return String::from_utf8(bytes).ok();
    }
    value
        .chars()
        .all(|c| (' '..='~').contains(&c))
        .then(|| value.to_owned())
}

/// Whether a header's text is the body's value: strings exactly, numbers numerically,
/// booleans as `true`/`false`.
fn param_matches(text: &str, value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s == text,
        serde_json::Value::Number(n) => match (n.as_f64(), text.trim().parse::<f64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => n.to_string() == text,
        },
        serde_json::Value::Bool(b) => b.to_string() == text,
        // x-mcp-header is only allowed on strings, integers and booleans.
        _ => false,
    }
}

/// Methods of the session era that the stateless protocol removed: a stateless request for one
/// gets 404 with -32601, whatever the session era would answer.
const REMOVED_METHODS: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// A stateless request must be one of the stateless protocol: a removed method gets 404 with
/// -32601; a request whose `_meta` lacks the protocol version or the client capabilities 400
/// with -32602 (invalid params).
fn check_stateless_request(line: &Line) -> Result<(), Response> {
    let Line::Single(Message::Request { id, method, params }) = line else {
        return Ok(());
    };
    let reject = |status: StatusCode, code: i64, why: String| {
        Err(reply::json(
            status,
            message::response(Some(id), Err(mcpmux_protocol::ErrorObject::new(code, why))),
            None,
        ))
    };
    if REMOVED_METHODS.contains(&method.as_str()) {
        return reject(
            StatusCode::NOT_FOUND,
            mcpmux_protocol::jsonrpc::METHOD_NOT_FOUND,
            format!(
                "method not found: `{method}` is not part of the stateless protocol (2026-07-28)"
            ),
        );
    }
    let meta = params.get("_meta");
    for key in [
        mcpmux_protocol::stateless::META_PROTOCOL_VERSION,
        mcpmux_protocol::stateless::META_CLIENT_CAPABILITIES,
    ] {
        if meta.and_then(|m| m.get(key)).is_none() {
            return reject(
                StatusCode::BAD_REQUEST,
                mcpmux_protocol::jsonrpc::INVALID_PARAMS,
                format!("invalid params: a stateless request's _meta needs `{key}`"),
            );
        }
    }
    Ok(())
}

/// The HTTP status of a stateless request's answer: 404 for an unknown method, 400 for the
/// errors the transport's rules name (header mismatch, missing capability, unsupported
/// version, invalid request or JSON), 200 otherwise.
fn stateless_status(answer: &[u8]) -> StatusCode {
    let code = serde_json::from_slice::<serde_json::Value>(answer)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(|e| e.get("code"))
                .and_then(serde_json::Value::as_i64)
        });
    match code {
        Some(mcpmux_protocol::jsonrpc::METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        Some(
            HEADER_MISMATCH
            | MISSING_CAPABILITY
            | mcpmux_protocol::stateless::UNSUPPORTED_PROTOCOL_VERSION
            | mcpmux_protocol::jsonrpc::INVALID_REQUEST
            | mcpmux_protocol::jsonrpc::PARSE_ERROR,
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// JSON-RPC error code of a request that needs a capability the client did not declare.
const MISSING_CAPABILITY: i64 = -32021;

fn is_initialize(line: &Line) -> bool {
    matches!(line, Line::Single(Message::Request { method, .. }) if method == "initialize")
}

/// `POST`: one message or batch.
pub(crate) async fn post(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    match handle_post(&app, &headers, body).await {
        Ok(response) | Err(response) => response,
    }
}

async fn handle_post(
    app: &Arc<App>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    if !reply::is_json_body(headers) {
        return Err(reply::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported media type: the body must be application/json",
        ));
    }
    let (accepts_json, accepts_sse) = reply::accepts(headers);
    if !accepts_json && !accepts_sse {
        return Err(reply::error(
            StatusCode::NOT_ACCEPTABLE,
            "not acceptable: Accept must allow application/json or text/event-stream",
        ));
    }
    let bytes = read_body(app, body).await?;
    let line = message::parse(&bytes);
    if let Line::Single(Message::Invalid { id, error }) = line {
        return Err(reply::json(
            StatusCode::BAD_REQUEST,
            message::response(id.as_ref(), Err(error)),
            reply::text(headers, SESSION_ID),
        ));
    }
    check_unknown_version(headers, &line)?;
    let session = if is_stateless(headers) {
        check_standard_headers(headers, &line)?;
        check_meta_version(headers, &line)?;
        check_stateless_request(&line)?;
        check_param_headers(app, headers, &line)?;
        // A 2026-07-28 request stands alone: a session for it only, in no table, gone with
        // its answer.
        HttpSession::new(&app.gateway, app.opts.session_concurrency, app.epoch, true)
    } else if !headers.contains_key(SESSION_ID) && is_initialize(&line) {
        let session =
            HttpSession::new(&app.gateway, app.opts.session_concurrency, app.epoch, false);
        let room = app.sessions.insert(
            session.clone(),
            app.opts.max_sessions,
            app.legacy.len(),
            app.opts.session_idle,
        );
        if !room {
            session.end();
            return Err(reply::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "service unavailable: too many sessions",
            ));
        }
        tracing::debug!(session = %session.id, "new Streamable HTTP session");
        session
    } else {
        let session = find_session(app, headers)?;
        check_version(headers)?;
        session
    };
    session.touch();
    let sid = (!session.stateless).then_some(session.id.as_str());

    let (outbox, rx) = Outbox::new();
    let handled = session.client.accept(&app.gateway, line, &outbox);
    drop(outbox);
    if !handled.answers {
        return Ok(reply::empty(StatusCode::ACCEPTED, sid));
    }
    let mut guard = CancelOnDrop {
        inflight: session.client.inflight.clone(),
        tasks: handled.tasks,
    };
    let mut rx = rx;
    let sse = accepts_sse && !(app.opts.json_response && accepts_json);
    if session.stateless && accepts_json {
        // Its HTTP status tells its error (404, 400): an answer that comes before anything
        // else goes as one JSON body, with its status; the stream starts only for a request
        // that sends something first (progress, ...).
        let first = rx.recv().await;
        match first {
            None => return Ok(reply::empty(StatusCode::ACCEPTED, None)),
            Some(m) if is_response(&m) => {
                drop(rx);
                guard.tasks.clear();
                return Ok(reply::json(stateless_status(&m), m, None));
            }
            Some(m) if sse => {
                let tasks = std::mem::take(&mut guard.tasks);
                return Ok(sse_answer(app, &session, Some(m), rx, tasks));
            }
            Some(m) => {
                session.client.session.outbox.send(m);
            }
        }
    } else if sse {
        // Most answers come before anything else: wait a little for the first message, and if
        // it is the response, send the whole stream (priming event, response) as one body —
        // one write for the gateway, one read for the client, no task to feed it. Anything
        // else (progress, a request to the client), or no answer yet, starts the stream.
        // Until then the requests stay with the guard: a client gone before a byte of the
        // stream reached it could not resume it, so they are cancelled.
        let first = tokio::time::timeout(WHOLE_ANSWER_WAIT, rx.recv()).await;
        let tasks = std::mem::take(&mut guard.tasks);
        return Ok(match first {
            Ok(Some(m)) if is_response(&m) => sse_whole(app, &session, &m, tasks),
            Ok(m) => sse_answer(app, &session, m, rx, tasks),
            Err(_) => sse_answer(app, &session, None, rx, tasks),
        });
    }
    // One JSON body: the response; other messages related to the request go to the GET stream.
    let mut answer = None;
    while let Some(m) = rx.recv().await {
        if is_response(&m) {
            answer = Some(m);
        } else {
            session.client.session.outbox.send(m);
        }
    }
    guard.tasks.clear();
    Ok(match answer {
        Some(body) if session.stateless => reply::json(stateless_status(&body), body, None),
        Some(body) => reply::json(StatusCode::OK, body, sid),
        // Cancelled: nothing to answer.
        None => reply::empty(StatusCode::ACCEPTED, sid),
    })
}

/// Cancels a JSON POST's requests when its handler is dropped (the client went away).
struct CancelOnDrop {
    inflight: Arc<InFlight>,
    tasks: Vec<TaskNo>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.tasks.is_empty() {
            self.inflight.cancel_tasks(&self.tasks);
        }
    }
}

/// How long a POST's SSE answer waits for its first message before the stream starts (with
/// its priming event) without it: a response that comes in time goes out as one body
/// ([`sse_whole`]).
const WHOLE_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The answer as a finished SSE stream: the priming event and the response, kept for a
/// resumption like any stream's events, sent at once.
fn sse_whole(
    app: &Arc<App>,
    session: &Arc<HttpSession>,
    response: &[u8],
    tasks: Vec<TaskNo>,
) -> Response {
    let stream = session.new_stream();
    stream.set_tasks(tasks);
    let (mut events, _) = stream.attach(None);
    stream.prime(app.opts.retry_ms);
    stream.push("message", &String::from_utf8_lossy(response));
    stream.finish();
    session.finished(stream.no());
    let mut body = Vec::new();
    while let Ok(event) = events.try_recv() {
        body.extend_from_slice(&event);
    }
    let sid = (!session.stateless).then_some(session.id.as_str());
    reply::sse_whole(body, sid)
}

/// The answer as an SSE stream: a priming event, the messages related to the request, the
/// response; then the stream ends. If the client drops it, its requests run on for the
/// disconnect grace, waiting for a resumption, then they are cancelled.
fn sse_answer(
    app: &Arc<App>,
    session: &Arc<HttpSession>,
    first: Option<Vec<u8>>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    tasks: Vec<TaskNo>,
) -> Response {
    let stream = session.new_stream();
    stream.set_tasks(tasks);
    let (events, attachment) = stream.attach(None);
    stream.prime(app.opts.retry_ms);
    if let Some(m) = first {
        stream.push("message", &String::from_utf8_lossy(&m));
    }
    let feeding = stream.clone();
    let weak = Arc::downgrade(session);
    session.client.inflight.spawn(None, async move {
        let finish = Finish(feeding);
        while let Some(m) = rx.recv().await {
            finish.0.push("message", &String::from_utf8_lossy(&m));
        }
        if let Some(session) = weak.upgrade() {
            session.finished(finish.0.no());
        }
    });
    let on_gone = gone(app, session, stream, attachment);
    let sid = (!session.stateless).then_some(session.id.as_str());
    reply::sse(SseBody::new(events, on_gone), sid)
}

/// What happens when the client drops its connection to `stream`: unless it resumes the
/// stream within the grace, the requests it carries are cancelled.
fn gone(app: &App, session: &HttpSession, stream: Arc<EventStream>, attachment: u64) -> OnGone {
    // A stateless request's stream cannot be resumed: no grace.
    let grace = if session.stateless {
        std::time::Duration::ZERO
    } else {
        app.opts.disconnect_grace
    };
    let inflight = session.client.inflight.clone();
    Box::new(move || {
        if !stream.detach(attachment) || stream.is_finished() || stream.tasks().is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            inflight.cancel_tasks(stream.tasks());
            return;
        };
        tracing::debug!(
            ?grace,
            "a client dropped a response stream; waiting for it to resume"
        );
        runtime.spawn(async move {
            tokio::time::sleep(grace).await;
            if !stream.is_attached() && inflight.any_running(stream.tasks()) {
                tracing::debug!("the client did not resume its stream: cancelling its requests");
                inflight.cancel_tasks(stream.tasks());
            }
        });
    })
}

/// `GET`: the session's stream, or with `Last-Event-ID` the rest of any of its streams.
pub(crate) async fn get(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    handle_get(&app, &headers).unwrap_or_else(|response| response)
}

fn handle_get(app: &Arc<App>, headers: &HeaderMap) -> Result<Response, Response> {
    if is_stateless(headers) {
        return Err(reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: a stateless (2026-07-28) client has no stream to GET",
        ));
    }
    if !reply::accepts(headers).1 {
        return Err(reply::error(
            StatusCode::NOT_ACCEPTABLE,
            "not acceptable: Accept must allow text/event-stream",
        ));
    }
    let session = find_session(app, headers)?;
    check_version(headers)?;
    session.touch();
    let sid = Some(session.id.as_str());
    let (stream, after) = match reply::text(headers, LAST_EVENT_ID) {
        Some(last) => {
            let found = parse_event_id(last).and_then(|(no, n)| Some((session.stream(no)?, n)));
            let Some((stream, n)) = found else {
                return Err(reply::error(
                    StatusCode::BAD_REQUEST,
                    "bad request: Last-Event-ID names no stream this session keeps",
                ));
            };
            (stream, Some(n))
        }
        None => {
            let Some(stream) = session.stream(0) else {
                return Err(reply::error(StatusCode::NOT_FOUND, "session not found"));
            };
            if stream.is_attached() {
                return Err(reply::error(
                    StatusCode::CONFLICT,
                    "conflict: this session's GET stream is already open",
                ));
            }
            (stream, None)
        }
    };
    let (events, attachment) = stream.attach(after);
    if stream.no() == 0 && after.is_none() {
        stream.prime(app.opts.retry_ms);
    }
    let on_gone = gone(app, &session, stream, attachment);
    Ok(reply::sse(SseBody::new(events, on_gone), sid))
}

/// `DELETE`: ends the session (its requests in flight are cancelled).
pub(crate) async fn delete(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    handle_delete(&app, &headers).unwrap_or_else(|response| response)
}

fn handle_delete(app: &App, headers: &HeaderMap) -> Result<Response, Response> {
    if is_stateless(headers) {
        return Err(reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: a stateless (2026-07-28) client has no session to DELETE",
        ));
    }
    let session = find_session(app, headers)?;
    check_version(headers)?;
    if let Some(session) = app.sessions.remove(&session.id) {
        tracing::debug!(session = %session.id, "session deleted by its client");
        session.end();
    }
    Ok(reply::empty(StatusCode::OK, None))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn param_headers_decode_plain_and_base64_values() {
        assert_eq!(decode_param("Hello").as_deref(), Some("Hello"));
        assert_eq!(
            decode_param("=?base64?SGVsbG8=?=").as_deref(),
            Some("Hello")
        );
        assert_eq!(decode_param("=?base64?SGVsbG8?="), None, "unpadded");
        assert_eq!(decode_param("=?base64?SGVs!!!bG8=?="), None);
        assert_eq!(
            decode_param("=?base64?SGVsbG8=").as_deref(),
            Some("=?base64?SGVsbG8="),
            "not the encoded form: plain"
        );
        assert_eq!(decode_param("caf\u{e9}"), None, "not visible ASCII");
    }

    #[test]
    fn param_headers_match_the_body_by_type() {
        assert!(param_matches("Hello", &json!("Hello")));
        assert!(!param_matches("hello", &json!("Hello")));
        assert!(param_matches("42.0", &json!(42)));
        assert!(!param_matches("43", &json!(42)));
        assert!(param_matches("true", &json!(true)));
        assert!(!param_matches("1", &json!(true)));
        assert!(!param_matches("[]", &json!([])));
    }

    #[test]
    fn stateless_errors_carry_their_http_status() {
        let answer = |code: i64| {
            format!(r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":{code},"message":"x"}}}}"#)
        };
        assert_eq!(
            stateless_status(answer(-32601).as_bytes()),
            StatusCode::NOT_FOUND
        );
        for code in [-32020, -32021, -32022, -32600] {
            assert_eq!(
                stateless_status(answer(code).as_bytes()),
                StatusCode::BAD_REQUEST
            );
        }
        assert_eq!(stateless_status(answer(-32603).as_bytes()), StatusCode::OK);
        assert_eq!(
            stateless_status(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            StatusCode::OK
        );
    }
}

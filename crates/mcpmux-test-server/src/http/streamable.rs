//! Streamable HTTP (MCP 2025-03-26 .. 2025-11-25) on `/mcp`: POST, GET and
//! DELETE.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::oneshot;

use super::App;
use super::headers::{
    self, LAST_EVENT_ID, MCP_SESSION_ID, check_content_type, check_origin, check_protocol_version,
};
use super::session::{Session, token};
use super::stream::{EventStream, StandaloneSink, StreamSink, parse_event_id};
use crate::handler::{Accepted, Reply, Sink, lock};

/// Finishes the stream when the reply is dropped, sent or not (a cancelled
/// request ends its stream without a response).
struct FinishOnDrop(Arc<StreamSink>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.stream().finish();
    }
}

/// Whether `msg` is an `initialize` request.
fn is_initialize(msg: &Value) -> bool {
    msg.get("method").and_then(Value::as_str) == Some("initialize") && msg.get("id").is_some()
}

/// The session a request belongs to, or the error response.
fn find_session(app: &App, headers: &HeaderMap) -> Result<Arc<Session>, Response> {
    match headers::text(headers, MCP_SESSION_ID) {
        None => Err(headers::error(
            StatusCode::BAD_REQUEST,
            "missing Mcp-Session-Id header",
        )),
        Some(id) => lock(&app.sessions.streamable)
            .get(id)
            .cloned()
            .ok_or_else(|| headers::error(StatusCode::NOT_FOUND, "session not found")),
    }
}

/// How a POST is answered.
enum Answer {
    /// At once.
    Now(Response),
    /// With one JSON body once the reply arrives (202 if it never does).
    Json(oneshot::Receiver<Value>, Option<String>),
}

/// `POST /mcp`: one JSON-RPC message (or batch).
pub(crate) async fn post(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if app.opts.legacy_only {
        app.stats.bump(&app.stats.posts);
        return headers::empty(StatusCode::METHOD_NOT_ALLOWED, None);
    }
    match handle_post(&app, &headers, &body) {
        Ok(Answer::Now(response)) | Err(response) => response,
        Ok(Answer::Json(rx, sid)) => match rx.await {
            Ok(reply) => headers::json_body(StatusCode::OK, &reply, sid.as_deref()),
            // Cancelled: nothing to answer.
            Err(_) => headers::empty(StatusCode::ACCEPTED, sid.as_deref()),
        },
    }
}

/// Checks and routes a POST.
fn handle_post(app: &Arc<App>, headers: &HeaderMap, body: &[u8]) -> Result<Answer, Response> {
    app.count_post()?;
    check_origin(headers)?;
    check_content_type(headers)?;
    let (accepts_json, accepts_sse) = headers::accepts(headers);
    if !accepts_json && !accepts_sse {
        return Err(headers::error(
            StatusCode::NOT_ACCEPTABLE,
            "Accept must allow application/json or text/event-stream",
        ));
    }
    check_protocol_version(headers)?;
    let msg: Value = serde_json::from_slice(body).map_err(|err| headers::parse_error(&err))?;

    let session = match &app.stateless {
        Some(shared) => Arc::clone(shared),
        None if headers.contains_key(MCP_SESSION_ID) || !is_initialize(&msg) => {
            find_session(app, headers)?
        }
        None => app.new_session(),
    };
    // The POST that reaches the limit is still served; the session is
    // forgotten at once, so concurrent and later requests get 404.
    let expired = matches!(
        (app.opts.expire_session_after, &session.id),
        (Some(limit), Some(id)) if session.count_post() >= limit
            && lock(&app.sessions.streamable).remove(id).is_some()
    );
    if expired {
        app.stats.bump(&app.stats.sessions_expired);
    }
    let answer = answer_post(app, &session, msg, accepts_json, accepts_sse);
    if expired {
        app.sessions.retire(session);
    }
    Ok(answer)
}

/// Runs the message in the session and builds the answer.
fn answer_post(
    app: &Arc<App>,
    session: &Session,
    msg: Value,
    accepts_json: bool,
    accepts_sse: bool,
) -> Answer {
    let sid = session.id.clone();
    let invalid = |error: Value| {
        Answer::Now(headers::json_body(
            StatusCode::BAD_REQUEST,
            &error,
            session.id.as_deref(),
        ))
    };
    let accepted = || Answer::Now(headers::empty(StatusCode::ACCEPTED, session.id.as_deref()));

    // JSON when configured (and accepted), or when SSE is not accepted.
    if accepts_json && (app.opts.json_response || !accepts_sse) {
        let (tx, rx) = oneshot::channel::<Value>();
        let reply: Reply = Box::new(move |msg| {
            let _ = tx.send(msg);
        });
        let sink: Sink = Arc::new(StandaloneSink(
            Arc::clone(&session.standalone),
            Arc::clone(&app.stats),
        ));
        return match session.work.accept(msg, &sink, reply) {
            Accepted::Nothing => accepted(),
            Accepted::Invalid(error) => invalid(error),
            Accepted::Pending => Answer::Json(rx, sid),
        };
    }

    let stream = EventStream::new(token(), app.opts.resumable());
    let sink = StreamSink::new(Arc::clone(&stream), Arc::clone(&app.stats));
    // Attach and prime before the request runs, so nothing it sends can
    // come before the priming event or miss the connection.
    let mut body = stream.attach(None, app.on_client_close(None));
    stream.prime(app.opts.priming_retry_ms);
    if app.opts.priming_retry_ms.is_some() {
        stream.close_connection(false);
    }
    let guard = FinishOnDrop(Arc::clone(&sink));
    let end_after = app.opts.end_stream_after_ms.map(Duration::from_millis);
    let reply: Reply = Box::new(move |msg| {
        guard.0.reply(&msg);
        match (end_after, tokio::runtime::Handle::try_current()) {
            (Some(wait), Ok(runtime)) => drop(runtime.spawn(async move {
                tokio::time::sleep(wait).await;
                drop(guard);
            })),
            _ => drop(guard),
        }
    });
    let as_sink: Sink = sink;
    match session.work.accept(msg, &as_sink, reply) {
        Accepted::Nothing => {
            body.disarm();
            accepted()
        }
        Accepted::Invalid(error) => {
            body.disarm();
            invalid(error)
        }
        Accepted::Pending => {
            if app.opts.resumable() {
                session.register(&stream);
            }
            if app.opts.priming_retry_ms.is_some() {
                app.stats.bump(&app.stats.sse_streams_closed_by_server);
            }
            Answer::Now(headers::sse(body, sid.as_deref()))
        }
    }
}

/// `GET /mcp`: opens the session's server stream, or resumes a stream with
/// `Last-Event-ID`.
pub(crate) async fn get(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if app.opts.legacy_only {
        return super::legacy::open(&app, &headers);
    }
    handle_get(&app, &headers).unwrap_or_else(|response| response)
}

fn handle_get(app: &Arc<App>, headers: &HeaderMap) -> Result<Response, Response> {
    if app.opts.stateless {
        return Err(headers::empty(StatusCode::METHOD_NOT_ALLOWED, None));
    }
    check_origin(headers)?;
    if !headers::accepts(headers).1 {
        return Err(headers::error(
            StatusCode::NOT_ACCEPTABLE,
            "Accept must allow text/event-stream",
        ));
    }
    check_protocol_version(headers)?;
    let session = find_session(app, headers)?;
    let sid = session.id.as_deref();

    if let Some(last) = headers::text(headers, LAST_EVENT_ID) {
        let Some((stream_id, n)) = parse_event_id(last) else {
            return Err(headers::error(
                StatusCode::BAD_REQUEST,
                "malformed Last-Event-ID",
            ));
        };
        let Some(stream) = session.find_stream(stream_id) else {
            return Err(headers::error(
                StatusCode::BAD_REQUEST,
                "Last-Event-ID names an unknown stream",
            ));
        };
        let body = stream.attach(Some(n), app.on_client_close(None));
        app.stats.bump(&app.stats.get_streams_opened);
        app.stats.record_resume(stream.take_closed_at());
        return Ok(headers::sse(body, sid));
    }

    let mut standalone = lock(&session.standalone);
    if standalone.as_ref().is_some_and(|s| s.is_live()) {
        return Err(headers::error(
            StatusCode::CONFLICT,
            "a GET stream is already open for this session",
        ));
    }
    let stream = EventStream::new(token(), app.opts.resumable());
    let body = stream.attach(None, app.on_client_close(None));
    stream.prime(app.opts.priming_retry_ms);
    if app.opts.resumable() {
        session.register(&stream);
    }
    *standalone = Some(stream);
    drop(standalone);
    app.stats.bump(&app.stats.get_streams_opened);
    Ok(headers::sse(body, sid))
}

/// `DELETE /mcp`: ends the session.
pub(crate) async fn delete(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    handle_delete(&app, &headers).unwrap_or_else(|response| response)
}

fn handle_delete(app: &App, headers: &HeaderMap) -> Result<Response, Response> {
    app.stats.bump(&app.stats.deletes);
    if app.opts.legacy_only || app.opts.stateless {
        return Err(headers::empty(StatusCode::METHOD_NOT_ALLOWED, None));
    }
    check_origin(headers)?;
    check_protocol_version(headers)?;
    let session = find_session(app, headers)?;
    let Some(id) = &session.id else {
        return Err(headers::empty(StatusCode::METHOD_NOT_ALLOWED, None));
    };
    if lock(&app.sessions.streamable).remove(id).is_none() {
        return Err(headers::error(StatusCode::NOT_FOUND, "session not found"));
    }
    app.stats.record_delete(id);
    session.end(true);
    Ok(headers::empty(StatusCode::OK, None))
}

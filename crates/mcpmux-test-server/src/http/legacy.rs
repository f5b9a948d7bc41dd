//! The legacy HTTP+SSE transport (MCP 2024-11-05): `GET /sse` opens the
//! stream that carries every server message, `POST /messages?sessionId=…`
//! sends client messages.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::App;
use super::headers::{self, check_origin};
use super::session::{LegacySession, Work, token};
use super::sse::{self, ENDPOINT};
use super::stream::{EventStream, StreamSink};
use crate::handler::{Accepted, Reply, Sink, lock};

/// The POST endpoint announced in the `endpoint` event (relative URL).
pub(crate) const MESSAGES_PATH: &str = "/messages";

/// `GET /sse` (and `GET /mcp` when legacy-only).
pub(crate) async fn get(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    open(&app, &headers)
}

/// Opens a legacy session: an SSE stream whose first event is `endpoint`.
pub(crate) fn open(app: &Arc<App>, headers: &HeaderMap) -> Response {
    if let Err(response) = check_origin(headers) {
        return response;
    }
    let id = token();
    let stream = EventStream::new(id.clone(), false);
    let body = stream.attach(None, app.on_client_close(Some(id.clone())));
    let endpoint = format!("{MESSAGES_PATH}?sessionId={id}");
    stream.send_unnumbered(sse::encode(None, Some(ENDPOINT), None, &endpoint));
    let session = Arc::new(LegacySession {
        work: Work::new(app.handler()),
        stream,
    });
    lock(&app.sessions.legacy).insert(id, session);
    app.stats.bump(&app.stats.legacy_streams_opened);
    headers::sse(body, None)
}

/// The `sessionId` query parameter.
fn session_param(uri: &Uri) -> Option<&str> {
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("sessionId="))
}

/// `POST /messages?sessionId=…`: 202, the answer goes out on the stream.
pub(crate) async fn post(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle_post(&app, &uri, &headers, &body).unwrap_or_else(|response| response)
}

fn handle_post(
    app: &App,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Response> {
    app.count_post()?;
    check_origin(headers)?;
    let Some(id) = session_param(uri) else {
        return Err(headers::error(StatusCode::BAD_REQUEST, "missing sessionId"));
    };
    let session = lock(&app.sessions.legacy).get(id).cloned();
    let Some(session) = session.filter(|s| s.stream.is_live()) else {
        // The stream was cut by the server (`drop_stream`): the session ends.
        if let Some(dead) = lock(&app.sessions.legacy).remove(id) {
            dead.work.abort();
        }
        return Err(headers::error(StatusCode::NOT_FOUND, "session not found"));
    };
    let msg: Value = serde_json::from_slice(body).map_err(|err| headers::parse_error(&err))?;
    let sink = StreamSink::new(Arc::clone(&session.stream), Arc::clone(&app.stats));
    let reply_to = Arc::clone(&sink);
    let reply: Reply = Box::new(move |msg| reply_to.reply(&msg));
    let as_sink: Sink = sink;
    if let Accepted::Invalid(error) = session.work.accept(msg, &as_sink, reply) {
        session.stream.push(&error.to_string());
    }
    Ok(headers::empty(StatusCode::ACCEPTED, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_param_parses() {
        let uri: Uri = "/messages?a=1&sessionId=abc".parse().unwrap();
        assert_eq!(session_param(&uri), Some("abc"));
        let uri: Uri = "/messages".parse().unwrap();
        assert_eq!(session_param(&uri), None);
    }
}

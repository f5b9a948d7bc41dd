//! The legacy HTTP+SSE transport (MCP 2024-11-05): `GET /sse` opens a session whose every
//! message goes on that stream (first an `endpoint` event naming where to POST), `POST
//! /messages?sessionId=…` brings the client's messages (202; the answers come on the stream).
//! The session ends when the client drops the stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use super::events::{EventStream, SseBody};
use super::reply;
use super::sessions::{Finish, lock, new_id};
use super::{App, read_body};
use crate::incoming::Client;
use crate::message::{self, Line, Message};
use crate::session::Outbox;

/// Where legacy clients POST.
pub(crate) const MESSAGES_PATH: &str = "/messages";

/// The legacy sessions of one server.
#[derive(Debug, Default)]
pub(crate) struct LegacySessions {
    table: Mutex<HashMap<String, Client>>,
}

impl LegacySessions {
    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        lock(&self.table).len()
    }

    /// Ends one (its requests cancelled).
    fn end(&self, id: &str) {
        if let Some(client) = lock(&self.table).remove(id) {
            client.end();
        }
    }

    /// Ends every session.
    pub(crate) fn end_all(&self) {
        let all: Vec<Client> = lock(&self.table).drain().map(|(_, c)| c).collect();
        for client in all {
            client.end();
        }
    }
}

/// `GET /sse`: a new session and its stream.
pub(crate) async fn get(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !reply::accepts(&headers).1 {
        return reply::error(
            StatusCode::NOT_ACCEPTABLE,
            "not acceptable: Accept must allow text/event-stream",
        );
    }
    if app.sessions.len() + app.legacy.len() >= app.opts.max_sessions {
        return reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "service unavailable: too many sessions",
        );
    }
    let id = new_id();
    let (outbox, mut rx) = Outbox::new();
    let client = Client::new(&app.gateway, outbox, Some(app.opts.session_concurrency));
    let stream = EventStream::new(0, false);
    let (events, _) = stream.attach(None);
    stream.push("endpoint", &format!("{MESSAGES_PATH}?sessionId={id}"));
    let feeding = stream.clone();
    client.inflight.spawn(None, async move {
        let finish = Finish(feeding);
        while let Some(m) = rx.recv().await {
            finish.0.push("message", &String::from_utf8_lossy(&m));
        }
    });
    lock(&app.legacy.table).insert(id.clone(), client);
    tracing::debug!(session = %id, "new legacy SSE session");
    let weak: Weak<App> = Arc::downgrade(&app);
    let on_gone = Box::new(move || {
        if let Some(app) = weak.upgrade() {
            tracing::debug!(session = %id, "legacy SSE stream closed: session ends");
            app.legacy.end(&id);
        }
    });
    reply::sse(SseBody::new(events, on_gone), None)
}

/// The `sessionId` of a query string.
fn session_id(uri: &Uri) -> Option<&str> {
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("sessionId="))
}

/// `POST /messages?sessionId=…`: one message or batch; 202, the answers on the stream.
pub(crate) async fn post(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !reply::is_json_body(&headers) {
        return reply::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported media type: the body must be application/json",
        );
    }
    let Some(id) = session_id(&uri) else {
        return reply::error(StatusCode::BAD_REQUEST, "bad request: no sessionId");
    };
    let Some(client) = lock(&app.legacy.table).get(id).cloned() else {
        return reply::error(StatusCode::NOT_FOUND, "session not found");
    };
    let bytes = match read_body(&app, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let line = message::parse(&bytes);
    if let Line::Single(Message::Invalid { id, error }) = line {
        return reply::json(
            StatusCode::BAD_REQUEST,
            message::response(id.as_ref(), Err(error)),
            None,
        );
    }
    client.accept(&app.gateway, line, &client.session.outbox);
    reply::empty(StatusCode::ACCEPTED, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_id_is_read_from_the_query() {
        let uri: Uri = "/messages?x=1&sessionId=abc".parse().unwrap_or_default();
        assert_eq!(session_id(&uri), Some("abc"));
        let uri: Uri = "/messages".parse().unwrap_or_default();
        assert_eq!(session_id(&uri), None);
    }
}

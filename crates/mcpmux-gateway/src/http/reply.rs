//! The HTTP answers the transports build: JSON-RPC bodies, errors, SSE streams, headers.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use mcpmux_protocol::ErrorObject;
use mcpmux_protocol::jsonrpc::INVALID_REQUEST;

use super::events::SseBody;
use crate::message;

/// The session header.
pub(crate) const SESSION_ID: &str = "mcp-session-id";
/// The protocol version header.
pub(crate) const PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// The resumption header.
pub(crate) const LAST_EVENT_ID: &str = "last-event-id";

/// A response with this status, body and content type (and the session id, if any).
fn build(
    status: StatusCode,
    body: Body,
    content_type: Option<&'static str>,
    session: Option<&str>,
) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(ct) = content_type {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if let Some(id) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        headers.insert(SESSION_ID, id);
    }
    response
}

/// An HTTP error whose body is a JSON-RPC error (`id` null, code -32600) saying why.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    rpc_error(status, ErrorObject::new(INVALID_REQUEST, message))
}

/// An HTTP error whose body is this JSON-RPC error (`id` null).
pub(crate) fn rpc_error(status: StatusCode, error: ErrorObject) -> Response {
    json(status, message::response(None, Err(error)), None)
}

/// A JSON body (one encoded message or batch).
pub(crate) fn json(status: StatusCode, body: Vec<u8>, session: Option<&str>) -> Response {
    build(status, Body::from(body), Some("application/json"), session)
}

/// No body.
pub(crate) fn empty(status: StatusCode, session: Option<&str>) -> Response {
    build(status, Body::empty(), None, session)
}

/// An event stream.
pub(crate) fn sse(body: SseBody, session: Option<&str>) -> Response {
    event_stream(Body::from_stream(body), session)
}

/// An event stream whose events are all known: one body.
pub(crate) fn sse_whole(events: Vec<u8>, session: Option<&str>) -> Response {
    event_stream(Body::from(events), session)
}

fn event_stream(body: Body, session: Option<&str>) -> Response {
    let mut response = build(StatusCode::OK, body, Some("text/event-stream"), session);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A header's value as text, if present and readable.
pub(crate) fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Which of JSON and SSE the `Accept` header allows: `(json, sse)`. No header allows both.
pub(crate) fn accepts(headers: &HeaderMap) -> (bool, bool) {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return (true, true);
    }
    let (mut json, mut sse) = (false, false);
    for range in values.iter().flat_map(|v| v.split(',')) {
        let media = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "*/*" => (json, sse) = (true, true),
            "application/*" | "application/json" => json = true,
            "text/*" | "text/event-stream" => sse = true,
            _ => {}
        }
    }
    (json, sse)
}

/// Whether the `Content-Type` (if any) is JSON.
pub(crate) fn is_json_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn accept_headers_are_read() {
        assert_eq!(accepts(&HeaderMap::new()), (true, true));
        assert_eq!(
            accepts(&with(header::ACCEPT, "application/json")),
            (true, false)
        );
        assert_eq!(
            accepts(&with(
                header::ACCEPT,
                "application/json, text/event-stream;q=0.9"
            )),
            (true, true)
        );
        assert_eq!(
            accepts(&with(header::ACCEPT, "text/event-stream")),
            (false, true)
        );
        assert_eq!(accepts(&with(header::ACCEPT, "*/*")), (true, true));
        assert_eq!(accepts(&with(header::ACCEPT, "text/html")), (false, false));
    }

    #[test]
    fn content_types_are_read() {
        assert!(is_json_body(&HeaderMap::new()));
        assert!(is_json_body(&with(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8"
        )));
        assert!(!is_json_body(&with(header::CONTENT_TYPE, "text/plain")));
    }
}

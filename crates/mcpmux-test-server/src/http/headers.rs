//! Header checks and the small response builders shared by the routes.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::sse::SseBody;
use crate::SUPPORTED_PROTOCOL_VERSIONS;
use crate::jsonrpc::{self, INVALID_REQUEST};

/// The session header.
pub(crate) const MCP_SESSION_ID: &str = "mcp-session-id";
/// The protocol version header.
pub(crate) const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// The SSE resumption header.
pub(crate) const LAST_EVENT_ID: &str = "last-event-id";

/// A header's value as text (None when absent or not visible ASCII).
pub(crate) fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An error status with a JSON-RPC error body (`id: null`).
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": INVALID_REQUEST, "message": message},
    });
    json_body(status, &body, None)
}

/// 400 with a JSON-RPC parse error body.
pub(crate) fn parse_error(err: &serde_json::Error) -> Response {
    let body = jsonrpc::error_response(
        Value::Null,
        jsonrpc::RpcError::new(jsonrpc::PARSE_ERROR, format!("parse error: {err}")),
    );
    json_body(StatusCode::BAD_REQUEST, &body, None)
}

/// A JSON body with the given status, plus `Mcp-Session-Id` when given.
pub(crate) fn json_body(status: StatusCode, body: &Value, session: Option<&str>) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    add_session(&mut response, session);
    response
}

/// An SSE response streaming `body`, plus `Mcp-Session-Id` when given.
pub(crate) fn sse(body: SseBody, session: Option<&str>) -> Response {
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    add_session(&mut response, session);
    response
}

/// An empty response with this status, plus `Mcp-Session-Id` when given.
pub(crate) fn empty(status: StatusCode, session: Option<&str>) -> Response {
    let mut response = status.into_response();
    add_session(&mut response, session);
    response
}

fn add_session(response: &mut Response, session: Option<&str>) {
    if let Some(value) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        response.headers_mut().insert(MCP_SESSION_ID, value);
    }
}

/// 403 unless the `Origin` header is absent or names a loopback host (the
/// DNS-rebinding check the spec asks of every server).
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), Response> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest));
    let host = host.map(|h| match h.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => h,
    });
    match host {
        Some("localhost" | "127.0.0.1" | "[::1]") => Ok(()),
        _ => Err(error(StatusCode::FORBIDDEN, "forbidden Origin")),
    }
}

/// Which of `application/json` and `text/event-stream` the `Accept`
/// header(s) allow (both when there is none).
pub(crate) fn accepts(headers: &HeaderMap) -> (bool, bool) {
    let mut values = headers.get_all(header::ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return (true, true);
    }
    let (mut json, mut sse) = (false, false);
    let ranges = values
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for range in ranges {
        let media = range.split(';').next().unwrap_or("").trim();
        let media = media.to_ascii_lowercase();
        match media.as_str() {
            "*/*" => (json, sse) = (true, true),
            "application/json" | "application/*" => json = true,
            "text/event-stream" | "text/*" => sse = true,
            _ => {}
        }
    }
    (json, sse)
}

/// 415 unless the `Content-Type` is `application/json`.
pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), Response> {
    let media = text(headers, header::CONTENT_TYPE.as_str())
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    if media.as_deref() == Some("application/json") {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ))
    }
}

/// 400 if `MCP-Protocol-Version` is present but not a supported version.
pub(crate) fn check_protocol_version(headers: &HeaderMap) -> Result<(), Response> {
    match headers.get(MCP_PROTOCOL_VERSION) {
        None => Ok(()),
        Some(v)
            if v.to_str()
                .is_ok_and(|v| SUPPORTED_PROTOCOL_VERSIONS.contains(&v)) =>
        {
            Ok(())
        }
        Some(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "unsupported MCP-Protocol-Version",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn accept_header() {
        assert_eq!(accepts(&HeaderMap::new()), (true, true));
        assert_eq!(
            accepts(&with("accept", "application/json, text/event-stream")),
            (true, true)
        );
        assert_eq!(accepts(&with("accept", "application/json")), (true, false));
        assert_eq!(
            accepts(&with("accept", "text/event-stream;q=0.5")),
            (false, true)
        );
        assert_eq!(accepts(&with("accept", "*/*")), (true, true));
        assert_eq!(accepts(&with("accept", "text/html")), (false, false));
    }

    #[test]
    fn origin_header() {
        assert!(check_origin(&HeaderMap::new()).is_ok());
        assert!(check_origin(&with("origin", "http://localhost:3000")).is_ok());
        assert!(check_origin(&with("origin", "http://127.0.0.1")).is_ok());
        assert!(check_origin(&with("origin", "http://[::1]:8080")).is_ok());
        assert!(check_origin(&with("origin", "https://evil.example")).is_err());
        assert!(check_origin(&with("origin", "null")).is_err());
    }

    #[test]
    fn protocol_version_header() {
        assert!(check_protocol_version(&HeaderMap::new()).is_ok());
        assert!(check_protocol_version(&with(MCP_PROTOCOL_VERSION, "2025-06-18")).is_ok());
        assert!(check_protocol_version(&with(MCP_PROTOCOL_VERSION, "1999-01-01")).is_err());
    }
}

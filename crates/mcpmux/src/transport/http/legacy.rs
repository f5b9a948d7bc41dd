//! The legacy HTTP+SSE transport (MCP 2024-11-05): one long GET stream carries every message
//! from the server; its first `endpoint` event says where to POST ours.

use std::sync::Arc;

use mcpmux_protocol::sse::SseParser;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::sse::read_events;
use super::streamable::{content_type, read_body};
use super::{Ctx, Report, explain};
use crate::error::CloseReason;
use crate::transport::{Event, OutKind, Outgoing};

fn closed(ctx: &Ctx, what: String) {
    ctx.report(Report::Event(Event::Closed(CloseReason::new(what))));
}

/// Whether a response is an HTML page (a web server's, not an event stream).
fn is_html(resp: &reqwest::Response) -> bool {
    content_type(resp).is_some_and(|t| t.to_ascii_lowercase().contains("html"))
}

/// Resolves the `endpoint` event's URL against the stream URL; a different origin is refused
/// (a server must not send our messages elsewhere).
fn resolve_endpoint(base: &reqwest::Url, data: &str) -> Result<reqwest::Url, String> {
    let url = base
        .join(data.trim())
        .map_err(|e| format!("the server's endpoint {data:?} is not a valid URL: {e}"))?;
    if url.origin() != base.origin() {
        return Err(format!(
            "the server's endpoint {url} is on another origin than {base}; refused"
        ));
    }
    Ok(url)
}

/// Opens and reads the stream until it ends; its end closes the connection (this transport
/// has no resumption).
pub(super) async fn stream(ctx: Arc<Ctx>) {
    let resp = ctx
        .send(&ctx.http.url, || {
            ctx.client
                .get(ctx.http.url.clone())
                .headers(ctx.headers(None))
                .header(ACCEPT, "text/event-stream")
        })
        .await;
    let resp = match resp {
        Ok(r) if r.status().is_success() && !is_html(&r) => r,
        Ok(r) => {
            let status = r.status();
            let what = if status.is_success() {
                "the server answered the legacy SSE stream's GET:"
            } else {
                "the legacy SSE stream was refused:"
            };
            let kind = content_type(&r);
            let body = read_body(r, 64 * 1024).await.unwrap_or_default();
            let err = explain::status_error(what, status, kind.as_deref(), &body);
            return closed(&ctx, err.to_string());
        }
        Err(e) => {
            let err = e.into_error("could not open the legacy SSE stream");
            return closed(&ctx, err.to_string());
        }
    };
    let mut parser = SseParser::new(ctx.config.max_message_size.saturating_add(1024));
    let mut retry = None;
    let mut endpoint_error = None;
    let base = ctx.http.url.clone();
    read_events(&ctx, resp, &mut parser, None, &mut retry, |ev| {
        if ev.event.as_deref() == Some("endpoint") {
            match resolve_endpoint(&base, ev.data.as_deref().unwrap_or("")) {
                Ok(url) => ctx.report(Report::LegacyEndpoint(url)),
                Err(e) => {
                    endpoint_error = Some(e);
                    return false;
                }
            }
        }
        true
    })
    .await;
    closed(
        &ctx,
        endpoint_error.unwrap_or_else(|| "the server closed the legacy SSE stream".to_owned()),
    );
}

/// POSTs one message to the endpoint; answers come on the stream.
pub(super) async fn post(ctx: Arc<Ctx>, endpoint: reqwest::Url, out: Outgoing) -> bool {
    let _permit = match (&ctx.limiter, out.kind) {
        (Some(l), OutKind::Request { .. }) => l.clone().acquire_owned().await.ok(),
        _ => None,
    };
    let resp = ctx
        .send(&endpoint, || {
            ctx.client
                .post(endpoint.clone())
                .headers(ctx.headers(None))
                .header(CONTENT_TYPE, "application/json")
                .body(out.body().to_vec())
        })
        .await;
    let failure = match resp {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => {
            let status = r.status();
            let kind = content_type(&r);
            let body = read_body(r, 64 * 1024).await.unwrap_or_default();
            Some(explain::status_error(
                "the server refused the message:",
                status,
                kind.as_deref(),
                &body,
            ))
        }
        Err(e) => Some(e.into_error("the POST to the server failed")),
    };
    if let Some(err) = failure {
        match out.kind {
            OutKind::Request { id, .. } => ctx.fail(id, err),
            _ => tracing::warn!(server = %ctx.config.name, "{err}"),
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_must_stay_on_the_same_origin() {
        let base = reqwest::Url::parse("http://127.0.0.1:8000/sse").unwrap();
        assert_eq!(
            resolve_endpoint(&base, "/messages?sessionId=1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8000/messages?sessionId=1"
        );
        assert!(resolve_endpoint(&base, "http://127.0.0.1:8000/m").is_ok());
        assert!(resolve_endpoint(&base, "http://evil.example/m").is_err());
        assert!(resolve_endpoint(&base, "https://127.0.0.1:8000/m").is_err());
        assert!(resolve_endpoint(&base, "http://127.0.0.1:9000/m").is_err());
    }
}

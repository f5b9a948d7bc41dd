//! Streamable HTTP: one POST per message, JSON or SSE answers, resumption, the GET stream, and
//! re-initializing an expired session.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use mcpmux_protocol::sse::SseParser;
use mcpmux_protocol::{Decoded, Incoming, RequestId, decode, encode_notification, encode_request};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::sse::{StreamEnd, answers, finish_stream, read_events};
use super::{ACCEPT_BOTH, Ctx, Report, SESSION_HEADER, explain};
use crate::error::Error;
use crate::transport::{Event, OutKind, Outgoing};

/// The params of an `initialize` frame, kept to re-initialize later.
pub(super) fn initialize_params(body: &[u8]) -> Option<Box<RawValue>> {
    match decode(body).ok()? {
        Decoded::Single(Incoming::Request {
            params: Some(p), ..
        }) => Some(p.to_owned()),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionOnly {
    protocol_version: String,
}

/// Records the negotiated version from an initialize response, for the header on later requests.
fn note_version(ctx: &Ctx, data: &[u8]) {
    if let Ok(Decoded::Single(Incoming::Response { result: Ok(r), .. })) = decode(data)
        && let Ok(v) = serde_json::from_str::<VersionOnly>(r.get())
    {
        ctx.set_protocol_version(v.protocol_version);
    }
}

fn http_error(what: &str, e: reqwest::Error) -> Error {
    explain::send_error(what, e)
}

/// The response's content type, if it is readable.
pub(super) fn content_type(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads a whole body, up to `limit` bytes.
pub(super) async fn read_body(resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| http_error("reading the response body failed", e))?;
        if body.len() + chunk.len() > limit {
            return Err(Error::protocol(format!(
                "the response body is over the {limit}-byte message limit"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn is_sse(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}

/// Sends one message and, for a request, delivers its answer. Returns false when the message
/// was handed back to the transport (session expired, fallback), true when this task is done.
pub(super) async fn post(ctx: Arc<Ctx>, mut out: Outgoing) -> bool {
    let permit = match (&ctx.limiter, out.kind) {
        (Some(l), OutKind::Request { .. }) => l.clone().acquire_owned().await.ok(),
        _ => None,
    };
    let session = ctx.session_headers();
    // The frame becomes the body without a copy; it is put back if the message is handed back.
    let mut frame = std::mem::take(&mut out.frame);
    let newline = frame.last() == Some(&b'\n');
    if newline {
        frame.pop();
    }
    let body = Bytes::from(frame);
    let resp = ctx
        .send(&ctx.http.url, || {
            let mut request = reqwest::Request::new(Method::POST, ctx.http.url.clone());
            *request.headers_mut() = session.post.clone();
            *request.body_mut() = Some(body.clone().into());
            let mut req = reqwest::RequestBuilder::from_parts(ctx.client.clone(), request);
            for (name, value) in &out.headers {
                req = req.header(name.as_str(), value.as_str());
            }
            req
        })
        .await;
    let hand_back = move |mut out: Outgoing| {
        out.frame = Vec::from(body);
        if newline {
            out.frame.push(b'\n');
        }
        out
    };
    let request_id = match out.kind {
        OutKind::Request { id, .. } => Some(id),
        _ => None,
    };
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            let err = e.into_error("the POST to the server failed");
            match request_id {
                Some(id) => ctx.fail(id, err),
                None => tracing::warn!(server = %ctx.config.name, "{err}"),
            }
            return true;
        }
    };
    let status = resp.status();
    let initialize = matches!(
        out.kind,
        OutKind::Request {
            initialize: true,
            ..
        }
    );
    if status.as_u16() == 404
        && let Some(used) = session.id.clone()
    {
        let out = hand_back(out);
        ctx.report(Report::SessionExpired { out, used });
        return false;
    }
    if initialize
        && matches!(status.as_u16(), 400 | 404 | 405)
        && *ctx
            .may_fall_back
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        let out = hand_back(out);
        ctx.report(Report::Fallback { out });
        return false;
    }
    if !status.is_success() {
        let kind = content_type(&resp);
        let body = read_body(resp, 64 * 1024).await.unwrap_or_default();
        // A JSON-RPC error for this request in the body (e.g. 400 with -32022 "unsupported
        // protocol version") is the real answer: deliver it as the response.
        if let Some(id) = request_id
            && answers(&body, id)
        {
            ctx.report(Report::Event(Event::Message(body.into())));
            return true;
        }
        let err = explain::status_error("the server answered", status, kind.as_deref(), &body);
        match request_id {
            Some(id) => ctx.fail(id, err),
            None => tracing::warn!(server = %ctx.config.name, "{err}"),
        }
        return true;
    }
    if initialize {
        *ctx.may_fall_back
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = false;
        let sid = resp
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        ctx.set_session(sid);
    }
    let Some(id) = request_id else {
        return true; // 202 (or any 2xx) for a notification or response: nothing to read
    };
    if is_sse(&resp) {
        if let Some((rest, mut parser)) = read_request_stream(&ctx, id, initialize, resp).await {
            drop(permit); // answered: the next request may go while this stream ends
            finish_stream(&ctx, rest, &mut parser).await;
        }
        return true;
    }
    let kind = content_type(&resp);
    match read_body(resp, ctx.config.max_message_size).await {
        Ok(body) if body.iter().all(u8::is_ascii_whitespace) => ctx.fail(
            id,
            Error::protocol(format!(
                "the server answered request {id} with {status} and no response"
            )),
        ),
        // An HTML page or text (a web server, not an MCP endpoint): say what it is, never
        // hand it on as a message.
        Ok(body) if explain::is_not_json(&body) => ctx.fail(
            id,
            Error::http(
                format!(
                    "the server answered request {id} with {status} and {}, not JSON-RPC; {}",
                    explain::describe_body(kind.as_deref(), &body),
                    explain::PATH_HINT
                ),
                Some(status.as_u16()),
                None,
            ),
        ),
        Ok(body) => {
            if initialize {
                note_version(&ctx, &body);
            }
            // In JSON mode the answer can only be this body: if it is not, say so now rather
            // than let the caller wait for its timeout.
            let answered = answers(&body, id);
            ctx.report(Report::Event(Event::Message(body.into())));
            if !answered {
                ctx.fail(
                    id,
                    Error::protocol(format!(
                        "the server answered request {id} with a JSON body that is not its response"
                    )),
                );
            }
        }
        Err(e) => ctx.fail(id, e),
    }
    true
}

/// Opens a GET stream, optionally resuming after `last_event_id`.
async fn get_stream(ctx: &Ctx, last_event_id: Option<&str>) -> Result<reqwest::Response, Error> {
    let session = ctx.session();
    ctx.send(&ctx.http.url, || {
        let mut req = ctx
            .client
            .get(ctx.http.url.clone())
            .headers(ctx.headers(session.as_deref()))
            .header(ACCEPT, "text/event-stream");
        if let Some(last) = last_event_id {
            req = req.header("last-event-id", last);
        }
        req
    })
    .await
    .map_err(|e| e.into_error("the GET for the server's SSE stream failed"))
}

/// The wait before reconnect `attempt` (0-based): the server's `retry` exactly the first time,
/// then doubling, capped at 30 s.
fn reconnect_delay(ctx: &Ctx, retry: Option<Duration>, attempt: u32) -> Duration {
    let base = retry.unwrap_or(ctx.http.default_retry);
    base.saturating_mul(1u32 << attempt.min(5))
        .min(Duration::from_secs(30).max(base))
}

/// Reads a request's SSE answer, resuming with GET + `Last-Event-ID` when the stream drops
/// before the response (including a server that primes and closes on purpose). Once answered:
/// the stream, if it has not ended yet, and its parser.
async fn read_request_stream(
    ctx: &Ctx,
    id: u64,
    initialize: bool,
    resp: reqwest::Response,
) -> Option<(reqwest::Response, SseParser)> {
    let mut parser = SseParser::new(ctx.config.max_message_size.saturating_add(1024));
    let mut retry = None;
    let mut attempt = 0u32;
    let mut resp = Some(resp);
    loop {
        if let Some(r) = resp.take() {
            let end: StreamEnd = read_events(ctx, r, &mut parser, Some(id), &mut retry, |ev| {
                if initialize
                    && let Some(data) = ev.data.as_deref()
                    && answers(data.as_bytes(), id)
                {
                    note_version(ctx, data.as_bytes());
                }
                true
            })
            .await;
            if end.got_response {
                return end.rest.map(|rest| (rest, parser));
            }
            if let Some(e) = end.fatal {
                ctx.fail(id, e);
                return None;
            }
            if end.events > 0 {
                attempt = 0;
            }
        }
        let Some(last) = parser.last_event_id().map(str::to_owned) else {
            ctx.fail(
                id,
                Error::http(
                    format!(
                        "the server's SSE stream for request {id} ended before the response, \
                         without event ids to resume from"
                    ),
                    None,
                    None,
                ),
            );
            return None;
        };
        if attempt >= ctx.http.max_reconnects {
            ctx.fail(
                id,
                Error::http(
                    format!(
                        "gave up on request {id} after {attempt} attempts to resume its SSE stream"
                    ),
                    None,
                    None,
                ),
            );
            return None;
        }
        tokio::time::sleep(reconnect_delay(ctx, retry, attempt)).await;
        attempt += 1;
        match get_stream(ctx, Some(&last)).await {
            Ok(r) if r.status().is_success() && is_sse(&r) => resp = Some(r),
            Ok(r) => {
                tracing::debug!(server = %ctx.config.name, status = %r.status(), "resuming request {id} failed")
            }
            Err(e) => {
                tracing::debug!(server = %ctx.config.name, "resuming request {id} failed: {e}")
            }
        }
    }
}

/// The optional GET stream for server-initiated messages. A server without one (405, or a
/// lenient 400/404) is fine. Drops are resumed (or re-opened) a bounded number of times.
pub(super) async fn server_stream(ctx: Arc<Ctx>) {
    let mut parser = SseParser::new(ctx.config.max_message_size.saturating_add(1024));
    let mut retry = None;
    let mut attempt = 0u32;
    let mut announced = false;
    loop {
        let last = parser.last_event_id().map(str::to_owned);
        let opened = get_stream(&ctx, last.as_deref()).await;
        if !announced {
            // Open or refused, the transport may now send the requests it held back.
            announced = true;
            ctx.report(Report::ServerStreamSettled);
        }
        match opened {
            Ok(r) if r.status().is_success() && is_sse(&r) => {
                let end = read_events(&ctx, r, &mut parser, None, &mut retry, |_| true).await;
                if end.events > 0 {
                    attempt = 0;
                }
            }
            Ok(r) => {
                tracing::debug!(server = %ctx.config.name, status = %r.status(), "no server SSE stream");
                return;
            }
            Err(e) => tracing::debug!(server = %ctx.config.name, "server SSE stream failed: {e}"),
        }
        if attempt >= ctx.http.max_reconnects {
            tracing::warn!(server = %ctx.config.name, "gave up re-opening the server's SSE stream");
            return;
        }
        tokio::time::sleep(reconnect_delay(&ctx, retry, attempt)).await;
        attempt += 1;
    }
}

/// Runs `initialize` + `notifications/initialized` again for a new session, inside the
/// transport (the connection never sees it).
pub(super) async fn reinitialize(ctx: &Ctx, params: Box<RawValue>, n: u64) -> Result<(), Error> {
    let id = RequestId::String(format!("mcpmux-reinitialize-{n}"));
    let mut body = Vec::new();
    encode_request(
        &mut body,
        &id,
        mcpmux_protocol::methods::INITIALIZE,
        Some(&params),
    )
    .map_err(|e| Error::protocol_from("could not encode initialize", e))?;
    let resp = ctx
        .send(&ctx.http.url, || {
            ctx.client
                .post(ctx.http.url.clone())
                .headers(ctx.headers(None))
                .header(ACCEPT, ACCEPT_BOTH)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
        .map_err(|e| e.into_error("re-initialize failed"))?;
    if !resp.status().is_success() {
        return Err(Error::http(
            format!("re-initialize was answered {}", resp.status()),
            Some(resp.status().as_u16()),
            None,
        ));
    }
    let sid = resp
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Read the answer to our id (JSON, or the first matching SSE event).
    let answered = if is_sse(&resp) {
        let mut parser = SseParser::new(ctx.config.max_message_size.saturating_add(1024));
        let mut stream = resp.bytes_stream();
        let mut found = false;
        'read: while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| http_error("re-initialize failed", e))?;
            parser.push(&chunk);
            while let Some(ev) = parser.next_event() {
                if let Ok(ev) = ev
                    && let Some(data) = ev.data
                    && is_our_success(data.as_bytes(), &id)
                {
                    found = true;
                    break 'read;
                }
            }
        }
        found
    } else {
        is_our_success(&read_body(resp, ctx.config.max_message_size).await?, &id)
    };
    if !answered {
        return Err(Error::protocol("re-initialize got no successful answer"));
    }
    ctx.set_session(sid.clone());
    let mut note = Vec::new();
    encode_notification(
        &mut note,
        mcpmux_protocol::methods::INITIALIZED,
        None::<&()>,
    )
    .map_err(|e| Error::protocol_from("could not encode initialized", e))?;
    let resp = ctx
        .send(&ctx.http.url, || {
            ctx.client
                .post(ctx.http.url.clone())
                .headers(ctx.headers(sid.as_deref()))
                .header(ACCEPT, ACCEPT_BOTH)
                .header(CONTENT_TYPE, "application/json")
                .body(note.clone())
        })
        .await
        .map_err(|e| e.into_error("re-initialize (initialized notification) failed"))?;
    if !resp.status().is_success() {
        tracing::debug!(server = %ctx.config.name, status = %resp.status(), "initialized notification after re-initialize was refused");
    }
    Ok(())
}

fn is_our_success(data: &[u8], id: &RequestId) -> bool {
    matches!(
        decode(data),
        Ok(Decoded::Single(Incoming::Response { id: rid, result: Ok(_) })) if &rid == id
    )
}

//! Reading an SSE response body: events out, limits enforced, the awaited response recognised.

use std::time::Duration;

use mcpmux_protocol::sse::{SseEvent, SseParser};
use mcpmux_protocol::{Decoded, Incoming, decode, scan_id};

use super::{Ctx, Report};
use crate::error::Error;
use crate::transport::Event;

/// How one read of an SSE stream ended.
#[derive(Debug, Default)]
pub(super) struct StreamEnd {
    /// The response to the awaited request was delivered.
    pub(super) got_response: bool,
    /// Events received in this read (a resume that made progress resets the backoff).
    pub(super) events: usize,
    /// A failure that makes resuming pointless (an event over the limit).
    pub(super) fatal: Option<Error>,
    /// After the awaited response: the rest of the stream, its end perhaps still to come (see
    /// [`finish_stream`]).
    pub(super) rest: Option<reqwest::Response>,
}

/// Whether `data` is (or, in a batch, contains) the response to request `id`.
///
/// A successful response in a usual member order is recognised by its shape, as the
/// connection routes it (`jsonrpc::fast_response`; its caller parses the result): decoding it
/// here too parsed every answer twice.
pub(super) fn answers(data: &[u8], id: u64) -> bool {
    if let Some((rid, _)) = mcpmux_protocol::jsonrpc::fast_response(data) {
        return rid == id;
    }
    let is = |m: &Incoming<'_>| matches!(m, Incoming::Response { id: rid, .. } if rid.as_u64() == Some(id));
    match decode(data) {
        Ok(Decoded::Single(m)) => is(&m),
        Ok(Decoded::Batch(ms)) => ms.iter().any(is),
        Err(_) => false,
    }
}

/// Reads events from `resp` until it ends, delivering messages to the connection.
///
/// `awaiting`: the request whose response ends the read. `on_event` sees every event first
/// (for the legacy `endpoint`); it returns false to stop reading.
pub(super) async fn read_events(
    ctx: &Ctx,
    resp: reqwest::Response,
    parser: &mut SseParser,
    awaiting: Option<u64>,
    retry: &mut Option<Duration>,
    mut on_event: impl FnMut(&SseEvent) -> bool,
) -> StreamEnd {
    let mut end = StreamEnd::default();
    let mut resp = resp;
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(chunk)) => chunk,
            Err(e) => {
                tracing::debug!(server = %ctx.config.name, "SSE stream broke: {e}");
                break;
            }
            Ok(None) => break,
        };
        parser.push(&chunk);
        while let Some(ev) = parser.next_event() {
            let ev = match ev {
                Ok(ev) => ev,
                Err(too_large) => {
                    // Fatal for the awaited request only if the event may be its response: its
                    // id, or no id and no method in the kept prefix (the id may lie beyond it).
                    let prefix = &too_large.data_prefix;
                    let may_be_ours = match scan_id(prefix) {
                        Some(id) => awaiting.is_some_and(|a| id.as_u64() == Some(a)),
                        None => !prefix.windows(8).any(|w| w == b"\"method\""),
                    };
                    if awaiting.is_some() && may_be_ours {
                        end.fatal =
                            Some(Error::protocol(format!("the server sent an {too_large}")));
                        return end;
                    }
                    // On a shared stream: let the connection find the request it answered.
                    ctx.report(Report::Event(Event::Oversized {
                        prefix: too_large.data_prefix,
                        len: too_large.limit + 1,
                    }));
                    continue;
                }
            };
            end.events += 1;
            if let Some(ms) = ev.retry {
                *retry = Some(Duration::from_millis(ms));
            }
            if !on_event(&ev) {
                return end;
            }
            if !ev.is_message() {
                continue; // priming events, keep-alives, other event types
            }
            let Some(data) = ev.data else { continue };
            let data = data.into_bytes();
            let done = awaiting.is_some_and(|id| answers(&data, id));
            ctx.report(Report::Event(Event::Message(data.into())));
            if done {
                end.got_response = true;
                end.rest = Some(resp);
                return end;
            }
        }
    }
    parser.finish();
    end
}

/// How long the rest of a request's HTTP/2 stream may take to end after its response.
const STREAM_END_WAIT: Duration = Duration::from_millis(500);

/// Lets go of a request's stream after its response. Over HTTP/2 the rest is read to the
/// stream's end (the server ends it right after the response), delivering any further
/// messages, for at most [`STREAM_END_WAIT`]: a stream dropped before its end is reset
/// (RST_STREAM), and the client's h2 closes the whole connection after 1,024 resets of streams it
/// no longer tracks (GOAWAY `too_many_internal_resets`). Over HTTP/1.1 the body is dropped at
/// once: hyper reads what has already arrived and keeps the connection when that was the end
/// (the usual case), closing it otherwise; waiting here cost ≈ 3,000 instructions per call
/// (a timer and a second wake-up) for nothing in the usual case.
pub(super) async fn finish_stream(ctx: &Ctx, rest: reqwest::Response, parser: &mut SseParser) {
    if rest.version() != reqwest::Version::HTTP_2 {
        return;
    }
    let mut retry = None;
    let read = read_events(ctx, rest, parser, None, &mut retry, |_| true);
    if tokio::time::timeout(STREAM_END_WAIT, read).await.is_err() {
        tracing::debug!(server = %ctx.config.name, "a request's SSE stream went on after its response; let go");
    }
}

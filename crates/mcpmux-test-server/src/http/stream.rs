//! Resumable SSE streams: one per POST response and per GET stream.
//!
//! An [`EventStream`] numbers its events (`<stream id>-<n>`), keeps them in a
//! bounded buffer when resumable, and forwards them to the HTTP connection
//! attached to it, if any. A connection can be cut by the server (priming,
//! `drop_stream`) or lost (client gone) without ending the stream; a GET
//! with `Last-Event-ID` then attaches a new connection, which replays what
//! came after that id and carries the stream on.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use super::sse::{self, Frame, MESSAGE, OnClientClose, SseBody};
use crate::faults;
use crate::handler::{Emit, lock};
use crate::stats::Stats;

/// Most events a stream keeps for replay; older ones are dropped.
const MAX_BUFFERED_EVENTS: usize = 1024;

/// One logical SSE stream.
pub(crate) struct EventStream {
    /// Stream id: the prefix of its event ids.
    id: String,
    /// Whether events carry ids and are kept for replay.
    resumable: bool,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Number of the next event.
    next: u64,
    /// Events kept for replay (resumable streams only), oldest first.
    buffer: VecDeque<(u64, Bytes)>,
    /// The attached connection.
    live: Option<mpsc::UnboundedSender<Frame>>,
    /// The response has been sent: nothing more will come.
    finished: bool,
    /// When the server last cut the connection on purpose.
    closed_at: Option<Instant>,
}

/// Splits an event id `<stream id>-<n>` into its parts.
pub(crate) fn parse_event_id(event_id: &str) -> Option<(&str, u64)> {
    let (stream, n) = event_id.trim().rsplit_once('-')?;
    Some((stream, n.parse().ok()?))
}

impl EventStream {
    /// A new stream with no connection.
    pub(crate) fn new(id: String, resumable: bool) -> Arc<Self> {
        Arc::new(Self {
            id,
            resumable,
            inner: Mutex::new(Inner {
                next: 0,
                buffer: VecDeque::new(),
                live: None,
                finished: false,
                closed_at: None,
            }),
        })
    }

    /// The stream id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Attaches a new connection and returns its body. With `after` (the
    /// number from a `Last-Event-ID`), first replays the kept events that
    /// came after it and forgets the older ones. A previous connection is
    /// ended cleanly. If the stream is finished, the body ends after the
    /// replay.
    pub(crate) fn attach(&self, after: Option<u64>, on_client_close: OnClientClose) -> SseBody {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = lock(&self.inner);
        if let Some(after) = after {
            inner.buffer.retain(|(n, _)| *n > after);
            for (_, bytes) in &inner.buffer {
                let _ = tx.send(Frame::Data(bytes.clone()));
            }
        }
        inner.live = if inner.finished { None } else { Some(tx) };
        SseBody::new(rx, on_client_close)
    }

    /// Whether a connection is attached and its client still there.
    pub(crate) fn is_live(&self) -> bool {
        lock(&self.inner)
            .live
            .as_ref()
            .is_some_and(|tx| !tx.is_closed())
    }

    /// Sends an event that is never replayed (and takes no number) to the
    /// attached connection.
    pub(crate) fn send_unnumbered(&self, bytes: Bytes) {
        if let Some(tx) = &lock(&self.inner).live {
            let _ = tx.send(Frame::Data(bytes));
        }
    }

    /// Sends a priming event to the attached connection: an event id and an
    /// empty `data:` (plus `retry:` when given), not kept for replay. Does
    /// nothing on a stream without ids.
    pub(crate) fn prime(&self, retry_ms: Option<u64>) {
        if !self.resumable {
            return;
        }
        let mut inner = lock(&self.inner);
        let n = inner.next;
        inner.next += 1;
        let bytes = sse::encode(Some(&format!("{}-{n}", self.id)), None, retry_ms, "");
        if let Some(tx) = &inner.live {
            let _ = tx.send(Frame::Data(bytes));
        }
    }

    /// Sends `data` as a `message` event (numbered and kept when resumable).
    /// Ignored once the stream is finished.
    pub(crate) fn push(&self, data: &str) {
        let mut inner = lock(&self.inner);
        if inner.finished {
            return;
        }
        let n = inner.next;
        inner.next += 1;
        let id = self.resumable.then(|| format!("{}-{n}", self.id));
        let bytes = sse::encode(id.as_deref(), Some(MESSAGE), None, data);
        if self.resumable {
            if inner.buffer.len() >= MAX_BUFFERED_EVENTS {
                inner.buffer.pop_front();
            }
            inner.buffer.push_back((n, bytes.clone()));
        }
        if let Some(tx) = &inner.live
            && tx.send(Frame::Data(bytes)).is_err()
        {
            inner.live = None;
        }
    }

    /// Marks the stream finished and ends the attached connection cleanly
    /// (after what was already sent to it).
    pub(crate) fn finish(&self) {
        let mut inner = lock(&self.inner);
        inner.finished = true;
        inner.live = None;
    }

    /// Cuts the attached connection without finishing the stream: cleanly
    /// (the body ends) or, with `abort`, abruptly (the body errors). Notes
    /// the time for [`EventStream::take_closed_at`].
    pub(crate) fn close_connection(&self, abort: bool) {
        let mut inner = lock(&self.inner);
        if let Some(tx) = inner.live.take()
            && abort
        {
            let _ = tx.send(Frame::Abort);
        }
        inner.closed_at = Some(Instant::now());
    }

    /// Time since the server last cut the connection on purpose (once).
    pub(crate) fn take_closed_at(&self) -> Option<Duration> {
        lock(&self.inner).closed_at.take().map(|at| at.elapsed())
    }
}

/// The [`crate::handler::Sink`] of a request whose messages go on an SSE
/// stream (a Streamable HTTP POST's stream, or the legacy GET stream).
pub(crate) struct StreamSink {
    stream: Arc<EventStream>,
    stats: Arc<Stats>,
    /// `drop_stream {before_response: false}` was called.
    abort_after_reply: AtomicBool,
}

impl StreamSink {
    /// A sink writing to `stream`.
    pub(crate) fn new(stream: Arc<EventStream>, stats: Arc<Stats>) -> Arc<Self> {
        Arc::new(Self {
            stream,
            stats,
            abort_after_reply: AtomicBool::new(false),
        })
    }

    /// Sends the response of the request, then cuts the connection if
    /// `drop_stream` asked for that.
    pub(crate) fn reply(&self, msg: &Value) {
        self.stream.push(&msg.to_string());
        if self.abort_after_reply.load(Ordering::SeqCst) {
            self.stream.close_connection(true);
        }
    }

    /// The stream.
    pub(crate) fn stream(&self) -> &Arc<EventStream> {
        &self.stream
    }
}

impl Emit for StreamSink {
    fn message(&self, msg: &Value) {
        self.stream.push(&msg.to_string());
    }

    fn garbage(&self, count: usize) {
        for i in 0..count {
            self.stream.push(faults::garbage_line(i));
        }
    }

    fn drop_stream(&self, before_response: bool) -> Result<(), String> {
        self.stats.bump(&self.stats.sse_streams_closed_by_server);
        if before_response {
            self.stream.close_connection(true);
        } else {
            self.abort_after_reply.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// The [`crate::handler::Sink`] of a JSON-mode request: its notifications go
/// to the session's GET stream when one is open, and are dropped otherwise.
/// Each message is counted as delivered or dropped ([`Stats::standalone_delivered`],
/// [`Stats::standalone_dropped`]), so a test can prove its fault reached the client.
pub(crate) struct StandaloneSink(
    pub(crate) Arc<Mutex<Option<Arc<EventStream>>>>,
    pub(crate) Arc<Stats>,
);

impl StandaloneSink {
    fn stream(&self) -> Option<Arc<EventStream>> {
        lock(&self.0).clone()
    }

    fn count(&self, delivered: bool, n: usize) {
        let counter = if delivered {
            &self.1.standalone_delivered
        } else {
            &self.1.standalone_dropped
        };
        for _ in 0..n {
            self.1.bump(counter);
        }
    }
}

impl Emit for StandaloneSink {
    fn message(&self, msg: &Value) {
        let stream = self.stream();
        if let Some(stream) = &stream {
            stream.push(&msg.to_string());
        }
        self.count(stream.is_some(), 1);
    }

    fn garbage(&self, count: usize) {
        let stream = self.stream();
        if let Some(stream) = &stream {
            for i in 0..count {
                stream.push(faults::garbage_line(i));
            }
        }
        self.count(stream.is_some(), count);
    }

    fn drop_stream(&self, _before_response: bool) -> Result<(), String> {
        Err("drop_stream needs an SSE response stream; this server answers with JSON".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_core::Stream;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    fn drain(body: &mut SseBody) -> (String, Option<bool>) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut text = String::new();
        loop {
            match Pin::new(&mut *body).poll_next(&mut cx) {
                Poll::Ready(Some(Ok(bytes))) => text.push_str(std::str::from_utf8(&bytes).unwrap()),
                Poll::Ready(Some(Err(_))) => return (text, Some(false)),
                Poll::Ready(None) => return (text, Some(true)),
                Poll::Pending => return (text, None),
            }
        }
    }

    #[test]
    fn event_ids_parse() {
        assert_eq!(parse_event_id("ab12-7"), Some(("ab12", 7)));
        assert_eq!(parse_event_id("x"), None);
        assert_eq!(parse_event_id("a-b"), None);
    }

    #[test]
    fn replay_after_server_close() {
        let s = EventStream::new("s".into(), true);
        let mut first = s.attach(None, Box::new(|| panic!("not a client close")));
        s.prime(Some(500));
        s.close_connection(false);
        s.push("one");
        s.push("two");
        s.finish();
        let (text, ended) = drain(&mut first);
        assert_eq!(text, "id: s-0\nretry: 500\ndata: \n\n");
        assert_eq!(ended, Some(true));
        let mut again = s.attach(Some(1), Box::new(|| panic!("not a client close")));
        let (text, ended) = drain(&mut again);
        assert_eq!(text, "id: s-2\nevent: message\ndata: two\n\n");
        assert_eq!(ended, Some(true));
        assert!(s.take_closed_at().is_some());
    }

    #[test]
    fn client_close_is_noticed() {
        let s = EventStream::new("s".into(), false);
        let closed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&closed);
        let body = s.attach(None, Box::new(move || flag.store(true, Ordering::SeqCst)));
        assert!(s.is_live());
        drop(body);
        assert!(closed.load(Ordering::SeqCst));
        assert!(!s.is_live());
        s.push("lost");
    }
}

//! Server-Sent Events: one logical stream of events (a POST's answer, a session's GET stream,
//! a legacy session's stream), numbered and kept in a bounded buffer so that a client that lost
//! the connection can resume it with `Last-Event-ID`, and the response body that carries it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant, Sleep};

use crate::inflight::TaskNo;

/// The most events a stream keeps for replay; older ones are forgotten.
const MAX_KEPT_EVENTS: usize = 1024;

/// The most bytes of events a stream keeps for replay.
const MAX_KEPT_BYTES: usize = 8 << 20;

/// Encodes one event: `id:` and `event:` and `retry:` when given, one `data:` line per line of
/// `data` (an empty `data` gives one empty `data:` line), then the blank line that ends it.
pub(crate) fn encode(
    id: Option<&str>,
    event: Option<&str>,
    retry: Option<u64>,
    data: &str,
) -> Bytes {
    let mut out = String::with_capacity(data.len() + 48);
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(id);
        out.push('\n');
    }
    if let Some(event) = event {
        out.push_str("event: ");
        out.push_str(event);
        out.push('\n');
    }
    if let Some(retry) = retry {
        out.push_str(&format!("retry: {retry}\n"));
    }
    if data.trim_end_matches('\n').is_empty() {
        out.push_str("data: \n");
    }
    for line in data.lines() {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// Splits an event id `<stream>-<n>` into its numbers.
pub(crate) fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (stream, n) = id.trim().split_once('-')?;
    Some((stream.parse().ok()?, n.parse().ok()?))
}

/// One logical stream.
#[derive(Debug)]
pub(crate) struct EventStream {
    /// Its number in the session: the first part of its event ids.
    no: u64,
    /// Whether events carry ids and are kept for replay.
    resumable: bool,
    /// The requests whose answers it carries (a POST's stream).
    tasks: OnceLock<Vec<TaskNo>>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The number of the next event.
    next: u64,
    /// Events kept for replay, oldest first, and their total size.
    kept: VecDeque<(u64, Bytes)>,
    kept_bytes: usize,
    /// The attached connection, and which attachment it is.
    live: Option<mpsc::UnboundedSender<Bytes>>,
    attachment: u64,
    /// The last event handed to a connection.
    delivered: Option<u64>,
    /// Nothing more will come.
    finished: bool,
}

impl EventStream {
    /// A stream with no connection yet.
    pub(crate) fn new(no: u64, resumable: bool) -> Arc<EventStream> {
        Arc::new(EventStream {
            no,
            resumable,
            tasks: OnceLock::new(),
            state: Mutex::new(State::default()),
        })
    }

    /// Its number in the session.
    pub(crate) fn no(&self) -> u64 {
        self.no
    }

    /// Notes the requests whose answers the stream carries.
    pub(crate) fn set_tasks(&self, tasks: Vec<TaskNo>) {
        let _ = self.tasks.set(tasks);
    }

    /// The requests whose answers the stream carries.
    pub(crate) fn tasks(&self) -> &[TaskNo] {
        self.tasks.get().map_or(&[], Vec::as_slice)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Attaches a connection (ending the previous one cleanly) and returns its body and its
    /// attachment number. With `after` (the event number of a `Last-Event-ID`), the kept
    /// events after it come first; without, those no connection got yet. A finished stream's
    /// body ends after them.
    pub(crate) fn attach(&self, after: Option<u64>) -> (mpsc::UnboundedReceiver<Bytes>, u64) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        let from = after.or(state.delivered);
        for (n, event) in &state.kept {
            if from.is_none_or(|from| *n > from) {
                let _ = tx.send(event.clone());
            }
        }
        if let Some((n, _)) = state.kept.back() {
            state.delivered = Some(*n);
        }
        state.attachment += 1;
        state.live = (!state.finished).then_some(tx);
        (rx, state.attachment)
    }

    /// Forgets the connection of `attachment` if it is still the attached one (its client
    /// went away). True if it was.
    pub(crate) fn detach(&self, attachment: u64) -> bool {
        let mut state = self.lock();
        if state.attachment == attachment && state.live.is_some() {
            state.live = None;
            return true;
        }
        false
    }

    /// Whether a connection is attached.
    pub(crate) fn is_attached(&self) -> bool {
        self.lock().live.as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// Whether nothing more will come.
    pub(crate) fn is_finished(&self) -> bool {
        self.lock().finished
    }

    /// Sends the priming event (an id, `retry:`, empty data) that lets the client resume
    /// before any message came.
    pub(crate) fn prime(&self, retry_ms: u64) {
        if self.resumable {
            self.event(None, Some(retry_ms), "");
        }
    }

    /// Sends one message as a `message` event (or, on a stream without ids, as `event`).
    pub(crate) fn push(&self, event: &str, data: &str) {
        self.event(Some(event), None, data);
    }

    fn event(&self, event: Option<&str>, retry: Option<u64>, data: &str) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        let n = state.next;
        state.next += 1;
        let id = self.resumable.then(|| format!("{}-{n}", self.no));
        let bytes = encode(id.as_deref(), event, retry, data);
        if self.resumable {
            state.kept_bytes += bytes.len();
            state.kept.push_back((n, bytes.clone()));
            while state.kept.len() > MAX_KEPT_EVENTS
                || (state.kept_bytes > MAX_KEPT_BYTES && state.kept.len() > 1)
            {
                if let Some((_, old)) = state.kept.pop_front() {
                    state.kept_bytes -= old.len();
                }
            }
        }
        if let Some(tx) = &state.live {
            if tx.send(bytes).is_ok() {
                state.delivered = Some(n);
            } else {
                state.live = None;
            }
        }
    }

    /// Ends the stream: the attached connection ends after what it was sent.
    pub(crate) fn finish(&self) {
        let mut state = self.lock();
        state.finished = true;
        state.live = None;
    }
}

/// Called when a body is dropped before its stream ended: the client went away.
pub(crate) type OnGone = Box<dyn FnOnce() + Send + 'static>;

/// How long a stream may stay silent before a comment line keeps it alive (idle proxies close
/// quiet connections; a write to a client that is gone ends the body).
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(20);

/// The comment a quiet stream sends (clients ignore it).
const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

/// A streaming response body: the events of one attachment.
pub(crate) struct SseBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
    on_gone: Option<OnGone>,
    /// When a keep-alive comment is due (made on the first poll, inside the runtime).
    quiet: Option<Pin<Box<Sleep>>>,
}

impl SseBody {
    /// A body reading `rx`; `on_gone` runs if it is dropped before `rx` ends.
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<Bytes>, on_gone: OnGone) -> SseBody {
        SseBody {
            rx,
            on_gone: Some(on_gone),
            quiet: None,
        }
    }
}

impl std::fmt::Debug for SseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseBody").finish_non_exhaustive()
    }
}

impl Stream for SseBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(bytes)) => {
                if let Some(quiet) = self.quiet.as_mut() {
                    quiet.as_mut().reset(Instant::now() + KEEP_ALIVE);
                }
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(None) => {
                self.on_gone = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let quiet = self
                    .quiet
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(KEEP_ALIVE)));
                match quiet.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        quiet.as_mut().reset(Instant::now() + KEEP_ALIVE);
                        Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE_COMMENT))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        if let Some(on_gone) = self.on_gone.take() {
            on_gone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(rx: &mut mpsc::UnboundedReceiver<Bytes>) -> (String, bool) {
        let mut text = String::new();
        loop {
            match rx.try_recv() {
                Ok(b) => text.push_str(&String::from_utf8_lossy(&b)),
                Err(mpsc::error::TryRecvError::Empty) => return (text, false),
                Err(mpsc::error::TryRecvError::Disconnected) => return (text, true),
            }
        }
    }

    #[test]
    fn events_encode() {
        assert_eq!(
            encode(Some("1-0"), None, Some(500), ""),
            "id: 1-0\nretry: 500\ndata: \n\n"
        );
        assert_eq!(
            encode(None, Some("endpoint"), None, "/messages?sessionId=x"),
            "event: endpoint\ndata: /messages?sessionId=x\n\n"
        );
        assert_eq!(
            encode(Some("2-3"), Some("message"), None, "{}\n"),
            "id: 2-3\nevent: message\ndata: {}\n\n"
        );
        assert_eq!(parse_event_id("3-14"), Some((3, 14)));
        assert_eq!(parse_event_id("x-1"), None);
        assert_eq!(parse_event_id("7"), None);
    }

    #[test]
    fn a_lost_connection_resumes_after_its_last_event() {
        let s = EventStream::new(1, true);
        let (mut first, attachment) = s.attach(None);
        s.prime(1000);
        s.push("message", "one");
        assert!(s.detach(attachment));
        assert!(!s.is_attached());
        s.push("message", "two");
        s.finish();
        let (text, ended) = drain(&mut first);
        assert_eq!(
            text,
            "id: 1-0\nretry: 1000\ndata: \n\nid: 1-1\nevent: message\ndata: one\n\n"
        );
        assert!(ended);
        let (mut again, _) = s.attach(Some(0));
        let (text, ended) = drain(&mut again);
        assert_eq!(
            text,
            "id: 1-1\nevent: message\ndata: one\n\nid: 1-2\nevent: message\ndata: two\n\n"
        );
        assert!(ended, "a finished stream ends after the replay");
        assert!(s.is_finished());
    }

    #[test]
    fn a_new_connection_gets_what_nobody_got() {
        let s = EventStream::new(0, true);
        s.push("message", "queued");
        let (mut rx, old) = s.attach(None);
        let (text, _) = drain(&mut rx);
        assert_eq!(text, "id: 0-0\nevent: message\ndata: queued\n\n");
        let (_rx2, new) = s.attach(None);
        assert!(
            !s.detach(old),
            "an older attachment cannot detach the newer one"
        );
        assert!(s.detach(new));
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_sends_keep_alive_comments() {
        use futures_util::StreamExt as _;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut body = SseBody::new(rx, Box::new(|| {}));
        let started = Instant::now();
        let first = body.next().await;
        assert_eq!(
            first.and_then(Result::ok).as_deref(),
            Some(KEEP_ALIVE_COMMENT)
        );
        assert!(started.elapsed() >= KEEP_ALIVE);
        let _ = tx.send(Bytes::from_static(b"data: x\n\n"));
        let next = body.next().await;
        assert_eq!(
            next.and_then(Result::ok).as_deref(),
            Some(&b"data: x\n\n"[..])
        );
        drop(tx);
        assert!(body.next().await.is_none());
    }

    #[tokio::test]
    async fn a_dropped_body_reports_it_and_an_ended_one_does_not() {
        let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = gone.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let body = SseBody::new(
            rx,
            Box::new(move || flag.store(true, std::sync::atomic::Ordering::SeqCst)),
        );
        drop(tx);
        let mut body = Box::pin(body);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(matches!(
            body.as_mut().poll_next(&mut cx),
            Poll::Ready(None)
        ));
        drop(body);
        assert!(!gone.load(std::sync::atomic::Ordering::SeqCst));
        let flag = gone.clone();
        let (_tx, rx) = mpsc::unbounded_channel();
        drop(SseBody::new(
            rx,
            Box::new(move || flag.store(true, std::sync::atomic::Ordering::SeqCst)),
        ));
        assert!(gone.load(std::sync::atomic::Ordering::SeqCst));
    }
}

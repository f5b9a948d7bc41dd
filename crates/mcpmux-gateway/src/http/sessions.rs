//! Streamable HTTP sessions: one per `initialize`, named by a random `Mcp-Session-Id`, each
//! with its client state, its requests in flight and its resumable event streams (number 0 is
//! the GET stream, which the session's unrelated messages go to).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::RngCore as _;

use super::events::EventStream;
use crate::Gateway;
use crate::incoming::Client;
use crate::session::Outbox;

/// How many finished POST streams a session keeps for resumption, and for how long (a client
/// that lost the connection just before the answer comes back within the `retry` it was told).
const KEPT_FINISHED_STREAMS: usize = 64;
const KEEP_FINISHED_FOR: Duration = Duration::from_secs(60);

/// A fresh session id: 128 random bits from the operating system's CSPRNG-seeded generator, in
/// hex (visible ASCII, as the spec asks).
pub(crate) fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One Streamable HTTP session.
#[derive(Debug)]
pub(crate) struct HttpSession {
    /// Its `Mcp-Session-Id`.
    pub(crate) id: String,
    /// A stateless (2026-07-28) request's session: in no table, no resumption.
    pub(crate) stateless: bool,
    /// The client as the shared message handling sees it.
    pub(crate) client: Client,
    streams: Mutex<Streams>,
    /// When its client last sent something (ms since `epoch`).
    last_seen: AtomicU64,
    epoch: Instant,
}

#[derive(Debug, Default)]
struct Streams {
    next: u64,
    by_no: HashMap<u64, Arc<EventStream>>,
    finished: VecDeque<(u64, Instant)>,
}

impl HttpSession {
    /// A new session, its GET stream fed by its outbox.
    pub(crate) fn new(
        gateway: &Gateway,
        concurrency: usize,
        epoch: Instant,
        stateless: bool,
    ) -> Arc<HttpSession> {
        let (outbox, mut rx) = Outbox::new();
        let client = Client::new(gateway, outbox, Some(concurrency));
        let standalone = EventStream::new(0, true);
        let session = Arc::new(HttpSession {
            id: new_id(),
            stateless,
            client,
            streams: Mutex::new(Streams {
                next: 1,
                by_no: HashMap::from([(0, standalone.clone())]),
                finished: VecDeque::new(),
            }),
            last_seen: AtomicU64::new(0),
            epoch,
        });
        session.touch();
        session.client.inflight.spawn(None, async move {
            let _finish = Finish(standalone.clone());
            while let Some(message) = rx.recv().await {
                standalone.push("message", &String::from_utf8_lossy(&message));
            }
        });
        session
    }

    /// Notes that the client sent something.
    pub(crate) fn touch(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_seen.store(now, Ordering::Relaxed);
    }

    /// Whether the session has been idle for `idle`: no request running (besides its GET
    /// stream's feeder), no stream attached, nothing from its client.
    pub(crate) fn is_idle(&self, idle: Duration) -> bool {
        let now = self.epoch.elapsed();
        let seen = Duration::from_millis(self.last_seen.load(Ordering::Relaxed));
        now.saturating_sub(seen) >= idle
            && self.client.inflight.len() <= 1
            && !lock(&self.streams).by_no.values().any(|s| s.is_attached())
    }

    /// A new stream for a POST's answer.
    pub(crate) fn new_stream(&self) -> Arc<EventStream> {
        let mut streams = lock(&self.streams);
        let no = streams.next;
        streams.next += 1;
        // A stateless request's stream has no ids: nothing could resume it.
        let stream = EventStream::new(no, !self.stateless);
        streams.by_no.insert(no, stream.clone());
        stream
    }

    /// A stream by number, while it is kept.
    pub(crate) fn stream(&self, no: u64) -> Option<Arc<EventStream>> {
        lock(&self.streams).by_no.get(&no).cloned()
    }

    /// Notes that a POST stream finished: it is kept for resumption among the last few only.
    pub(crate) fn finished(&self, no: u64) {
        let mut streams = lock(&self.streams);
        let now = Instant::now();
        streams.finished.push_back((no, now));
        while let Some(&(old, at)) = streams.finished.front() {
            if streams.finished.len() <= KEPT_FINISHED_STREAMS
                && now.duration_since(at) < KEEP_FINISHED_FOR
            {
                break;
            }
            streams.finished.pop_front();
            streams.by_no.remove(&old);
        }
    }

    /// Ends the session: every request cancelled (their upstream calls with them), every
    /// stream ended.
    pub(crate) fn end(&self) {
        self.client.end();
        let streams: Vec<Arc<EventStream>> = lock(&self.streams).by_no.values().cloned().collect();
        for stream in streams {
            stream.finish();
        }
    }
}

/// Finishes a stream when its feeder ends, however it ends.
pub(crate) struct Finish(pub(crate) Arc<EventStream>);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// The sessions of one server.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    table: Mutex<HashMap<String, Arc<HttpSession>>>,
}

impl Sessions {
    /// The session with this id.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<HttpSession>> {
        lock(&self.table).get(id).cloned()
    }

    /// Adds a session if there is room (`max` at most, `others` held elsewhere), forgetting
    /// sessions idle for `idle` to make it.
    pub(crate) fn insert(
        &self,
        session: Arc<HttpSession>,
        max: usize,
        others: usize,
        idle: Duration,
    ) -> bool {
        if self.len() + others >= max {
            self.sweep(idle);
        }
        let mut table = lock(&self.table);
        if table.len() + others >= max {
            return false;
        }
        table.insert(session.id.clone(), session);
        true
    }

    /// Forgets the sessions idle for `idle` (ending them).
    pub(crate) fn sweep(&self, idle: Duration) {
        let stale: Vec<Arc<HttpSession>> = {
            let mut table = lock(&self.table);
            let ids: Vec<String> = table
                .values()
                .filter(|s| s.is_idle(idle))
                .map(|s| s.id.clone())
                .collect();
            ids.iter().filter_map(|id| table.remove(id)).collect()
        };
        for s in stale {
            tracing::info!(session = %s.id, "forgetting an idle session");
            s.end();
        }
    }

    /// Removes and returns a session.
    pub(crate) fn remove(&self, id: &str) -> Option<Arc<HttpSession>> {
        lock(&self.table).remove(id)
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        lock(&self.table).len()
    }

    /// Ends every session.
    pub(crate) fn end_all(&self) {
        let all: Vec<Arc<HttpSession>> = lock(&self.table).drain().map(|(_, s)| s).collect();
        for s in all {
            s.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_hex() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    async fn gateway() -> Gateway {
        let toolset = mcpmux::Toolset::builder()
            .build()
            .await
            .expect("an empty toolset");
        Gateway::new(toolset, crate::Prefix::Always)
            .await
            .expect("a gateway")
    }

    #[tokio::test]
    async fn sessions_are_capped_and_idle_ones_make_room() {
        let gw = gateway().await;
        let epoch = Instant::now();
        let sessions = Sessions::default();
        let first = HttpSession::new(&gw, 4, epoch, false);
        assert!(sessions.insert(first.clone(), 1, 0, Duration::from_secs(60)));
        assert!(!sessions.insert(
            HttpSession::new(&gw, 4, epoch, false),
            1,
            0,
            Duration::from_secs(60)
        ));
        assert!(sessions.insert(HttpSession::new(&gw, 4, epoch, false), 1, 0, Duration::ZERO));
        assert!(
            sessions.get(&first.id).is_none(),
            "the idle one was forgotten"
        );
        assert_eq!(sessions.len(), 1);
        sessions.sweep(Duration::from_secs(60));
        assert_eq!(sessions.len(), 1, "not idle long enough");
        sessions.sweep(Duration::ZERO);
        assert_eq!(sessions.len(), 0, "swept");
        assert!(sessions.insert(HttpSession::new(&gw, 4, epoch, false), 1, 0, Duration::ZERO));
        sessions.end_all();
        assert_eq!(sessions.len(), 0);
    }

    #[tokio::test]
    async fn only_the_last_finished_streams_are_kept() {
        let gw = gateway().await;
        let session = HttpSession::new(&gw, 4, Instant::now(), false);
        let first = session.new_stream().no();
        session.finished(first);
        assert!(session.stream(first).is_some());
        for _ in 0..KEPT_FINISHED_STREAMS {
            let no = session.new_stream().no();
            session.finished(no);
        }
        assert!(session.stream(first).is_none(), "the oldest is forgotten");
        assert!(session.stream(0).is_some(), "the GET stream stays");
    }

    #[tokio::test]
    async fn the_outbox_feeds_the_get_stream() {
        let gw = gateway().await;
        let session = HttpSession::new(&gw, 4, Instant::now(), false);
        assert!(
            session
                .client
                .session
                .outbox
                .send(b"{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n".to_vec())
        );
        let stream = session.stream(0).expect("the GET stream");
        let (mut rx, _) = stream.attach(None);
        let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .ok()
            .flatten();
        assert_eq!(
            event.as_deref(),
            Some(&b"id: 0-0\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n\n"[..])
        );
        session.end();
        assert!(stream.is_finished());
    }
}

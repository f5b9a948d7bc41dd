//! Sessions of both HTTP transports, and the random-looking tokens that
//! name sessions and streams.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::task::JoinSet;

use super::stream::EventStream;
use crate::handler::{Accepted, Handler, Reply, Sink, lock};

/// Most resumable streams a session remembers; the oldest is forgotten.
const MAX_STREAMS_PER_SESSION: usize = 256;

/// A fresh 32-hex-digit token: unpredictable enough for a test server
/// (SipHash with the process's random keys over a counter and the clock),
/// without a random-number dependency. Contains no `-`.
pub(crate) fn token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(n);
        h.write_u128(nanos);
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

/// A handler plus the tasks of its requests.
pub(crate) struct Work {
    /// The protocol state.
    pub(crate) handler: Arc<Handler>,
    tasks: Mutex<JoinSet<()>>,
}

impl Work {
    /// Work for `handler`, nothing in flight.
    pub(crate) fn new(handler: Arc<Handler>) -> Self {
        Self {
            handler,
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Hands one message to the handler (see [`Handler::accept`]).
    pub(crate) fn accept(&self, msg: Value, sink: &Sink, reply: Reply) -> Accepted {
        let mut tasks = lock(&self.tasks);
        while tasks.try_join_next().is_some() {}
        self.handler.accept(msg, sink, reply, &mut tasks)
    }

    /// Whether no request is in flight.
    pub(crate) fn is_idle(&self) -> bool {
        let mut tasks = lock(&self.tasks);
        while tasks.try_join_next().is_some() {}
        tasks.is_empty()
    }

    /// Aborts every request in flight.
    pub(crate) fn abort(&self) {
        self.handler.abort_all();
        lock(&self.tasks).abort_all();
    }
}

/// The resumable streams of a session, bounded.
#[derive(Default)]
struct StreamTable {
    by_id: HashMap<String, Arc<EventStream>>,
    /// Ids, oldest first.
    order: VecDeque<String>,
}

/// A Streamable HTTP session (or, when stateless, the one shared pseudo
/// session).
pub(crate) struct Session {
    /// The `Mcp-Session-Id` (None when stateless).
    pub(crate) id: Option<String>,
    /// Requests and their tasks.
    pub(crate) work: Work,
    /// POSTs received, for `expire_session_after`.
    posts: AtomicU64,
    /// Resumable streams by id.
    streams: Mutex<StreamTable>,
    /// The GET stream, if one was opened.
    pub(crate) standalone: Arc<Mutex<Option<Arc<EventStream>>>>,
}

impl Session {
    /// A new session.
    pub(crate) fn new(id: Option<String>, handler: Arc<Handler>) -> Arc<Self> {
        Arc::new(Self {
            id,
            work: Work::new(handler),
            posts: AtomicU64::new(0),
            streams: Mutex::new(StreamTable::default()),
            standalone: Arc::new(Mutex::new(None)),
        })
    }

    /// Counts one POST; returns how many there were.
    pub(crate) fn count_post(&self) -> u64 {
        self.posts.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Remembers a resumable stream for `Last-Event-ID` lookups.
    pub(crate) fn register(&self, stream: &Arc<EventStream>) {
        let mut table = lock(&self.streams);
        if table.order.len() >= MAX_STREAMS_PER_SESSION
            && let Some(oldest) = table.order.pop_front()
        {
            table.by_id.remove(&oldest);
        }
        table.order.push_back(stream.id().to_owned());
        table
            .by_id
            .insert(stream.id().to_owned(), Arc::clone(stream));
    }

    /// The remembered stream with this id.
    pub(crate) fn find_stream(&self, id: &str) -> Option<Arc<EventStream>> {
        lock(&self.streams).by_id.get(id).cloned()
    }

    /// Ends the session's GET stream (its connection ends cleanly). With
    /// `abort`, also aborts its requests in flight and ends their streams;
    /// without, lets them finish (the session has expired: see
    /// [`Sessions::retire`]).
    pub(crate) fn end(&self, abort: bool) {
        if abort {
            self.work.abort();
        }
        if let Some(stream) = lock(&self.standalone).take() {
            stream.finish();
        }
        let table = std::mem::take(&mut *lock(&self.streams));
        if abort {
            for stream in table.by_id.values() {
                stream.finish();
            }
        }
    }
}

/// A legacy HTTP+SSE session: lives as long as its GET stream.
pub(crate) struct LegacySession {
    /// Requests and their tasks.
    pub(crate) work: Work,
    /// The GET stream that carries every server message.
    pub(crate) stream: Arc<EventStream>,
}

/// The session tables of one server.
#[derive(Default)]
pub(crate) struct Sessions {
    /// Streamable HTTP sessions by id.
    pub(crate) streamable: Mutex<HashMap<String, Arc<Session>>>,
    /// Legacy sessions by id.
    pub(crate) legacy: Mutex<HashMap<String, Arc<LegacySession>>>,
    /// Expired sessions whose requests are still running (they own the
    /// tasks, so they are kept until those finish or the server stops).
    retired: Mutex<Vec<Arc<Session>>>,
}

impl Sessions {
    /// Keeps an expired session until its requests are done.
    pub(crate) fn retire(&self, session: Arc<Session>) {
        session.end(false);
        let mut retired = lock(&self.retired);
        retired.retain(|s| !s.work.is_idle());
        retired.push(session);
    }

    /// Ends every session (server shutdown).
    pub(crate) fn end_all(&self) {
        let streamable = std::mem::take(&mut *lock(&self.streamable));
        let retired = std::mem::take(&mut *lock(&self.retired));
        for session in streamable.values().chain(&retired) {
            session.end(true);
        }
        let legacy = std::mem::take(&mut *lock(&self.legacy));
        for session in legacy.values() {
            session.work.abort();
            session.stream.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_random() {
        let a = token();
        let b = token();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}

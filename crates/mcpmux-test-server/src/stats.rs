//! Counters a test reads to check what a client did to the server.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use crate::handler::lock;

/// What the server has seen so far: atomic counters plus a few lists.
///
/// Read a counter with `stats.posts.load(Ordering::SeqCst)` (or [`Stats::get`]);
/// wait for a condition with [`Stats::wait_for`]. Only the HTTP transport
/// counts anything but [`Stats::initializes`], [`Stats::initialized`],
/// [`Stats::tool_calls`] and [`Stats::cancelled_ids`].
#[derive(Debug, Default)]
pub struct Stats {
    /// `initialize` requests received (any transport, any session).
    pub initializes: AtomicU64,
    /// `notifications/initialized` received (any transport, any session).
    pub initialized: AtomicU64,
    /// `tools/call` requests received (any transport, any session), counted
    /// when the request starts.
    pub tool_calls: AtomicU64,
    /// HTTP POSTs received (`/mcp` and `/messages`), including the ones
    /// answered with an error status.
    pub posts: AtomicU64,
    /// Streamable HTTP sessions created (one per `initialize` POST without a
    /// session id, unless stateless).
    pub sessions_created: AtomicU64,
    /// Sessions forgotten because of `expire_session_after`.
    pub sessions_expired: AtomicU64,
    /// `DELETE /mcp` requests received, whatever their answer (the sessions
    /// they ended: [`Stats::deleted_sessions`]).
    pub deletes: AtomicU64,
    /// SSE streams opened by `GET /mcp` (new standalone streams and resumptions).
    pub get_streams_opened: AtomicU64,
    /// `GET /mcp` requests with a `Last-Event-ID` that resumed a stream.
    pub resumes: AtomicU64,
    /// Streamable HTTP SSE streams (POST responses and GET streams) the
    /// client closed before the server ended them.
    pub sse_streams_closed_by_client: AtomicU64,
    /// SSE streams the server closed early on purpose: priming closes
    /// (`priming_retry_ms`) and `drop_stream`.
    pub sse_streams_closed_by_server: AtomicU64,
    /// Legacy (2024-11-05) SSE streams opened (`GET /sse`).
    pub legacy_streams_opened: AtomicU64,
    /// Legacy SSE streams the client closed (each one ended its session).
    pub legacy_streams_closed: AtomicU64,
    /// Responses with a 5xx status (e.g. `fail_first_posts`).
    pub http_5xx: AtomicU64,
    /// Redirects answered (`/moved`, `/moved-permanently`).
    pub redirects: AtomicU64,
    /// Messages (notifications, stray or duplicate responses) and garbage lines that requests
    /// answered with JSON (`json_response`) sent on the session's GET stream.
    pub standalone_delivered: AtomicU64,
    /// The same, dropped because the session had no GET stream open: a fault a test meant to
    /// inject that never reached the client.
    pub standalone_dropped: AtomicU64,
    /// Requests on the MCP routes (`/mcp`, `/sse`, `/messages`) over
    /// HTTP/1.x. Counted without waking [`Stats::wait_for`].
    pub http1_requests: AtomicU64,
    /// Requests on the MCP routes over HTTP/2 (ALPN `h2` or prior-knowledge
    /// h2c). Counted without waking [`Stats::wait_for`].
    pub http2_requests: AtomicU64,
    /// TCP connections accepted by the HTTP server (each HTTP/1.1 connection the client did not
    /// keep alive for its next request is one more). Counted without waking [`Stats::wait_for`].
    pub connections: AtomicU64,
    /// Ids of the sessions ended by DELETE, in order.
    deleted: Mutex<Vec<String>>,
    /// `requestId`s of every `notifications/cancelled`, in order.
    cancelled: Mutex<Vec<Value>>,
    /// Time from each server-side close of a resumable stream to the GET
    /// that resumed it.
    resume_delays: Mutex<Vec<Duration>>,
    /// Woken on every change.
    changed: Notify,
}

impl Stats {
    /// Reads one counter (SeqCst).
    pub fn get(&self, counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }

    /// Ids of the sessions ended by DELETE, in order.
    pub fn deleted_sessions(&self) -> Vec<String> {
        lock(&self.deleted).clone()
    }

    /// `requestId`s of every `notifications/cancelled` received, in order.
    pub fn cancelled_ids(&self) -> Vec<Value> {
        lock(&self.cancelled).clone()
    }

    /// For each resumed stream that the server had closed (priming close or
    /// `drop_stream`): the time from that close to the resuming GET.
    pub fn resume_delays(&self) -> Vec<Duration> {
        lock(&self.resume_delays).clone()
    }

    /// Waits until `cond` holds, for at most `limit`; returns whether it
    /// does. Re-checks on every change to the stats.
    pub async fn wait_for(&self, limit: Duration, cond: impl Fn(&Stats) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if cond(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return cond(self);
            }
        }
    }

    /// Adds one to `counter` and wakes waiters.
    pub(crate) fn bump(&self, counter: &AtomicU64) -> u64 {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        self.changed.notify_waiters();
        n
    }

    pub(crate) fn record_delete(&self, session: &str) {
        lock(&self.deleted).push(session.to_owned());
        self.changed.notify_waiters();
    }

    pub(crate) fn record_cancel(&self, id: Value) {
        lock(&self.cancelled).push(id);
        self.changed.notify_waiters();
    }

    pub(crate) fn record_resume(&self, delay: Option<Duration>) {
        if let Some(delay) = delay {
            lock(&self.resume_delays).push(delay);
        }
        self.bump(&self.resumes);
    }
}

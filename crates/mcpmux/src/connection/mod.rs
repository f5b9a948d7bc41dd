//! The connection: one actor task that owns a server's transport, and the handles that talk to
//! it.
//!
//! Callers talk to the task through [`ConnHandle`], over an unbounded channel of [`Command`]s.
//! The task ([`task`]) multiplexes any number of requests on the transport: it writes frames,
//! routes responses back by id, answers the server's requests and forwards notifications
//! ([`inbound`]), times requests out ([`deadlines`]), and runs the shutdown sequence. It exits
//! when the last user leaves ([`Command::Idle`] after the count reached zero), when every
//! handle is dropped (the channel closes), on [`Command::Close`], or when the transport dies.
//!
//! This layer knows nothing of MCP sessions: no handshake, no caches, no protocol dialect. What
//! the layer above must hear of (a notification, a renewed HTTP session, a lost connection) it
//! tells an [`Observer`].

mod deadlines;
mod inbound;
mod outbox;
pub(crate) mod raw_result;
mod slots;
mod task;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mcpmux_protocol::{ErrorObject, ProgressParams, RequestId};
use tokio::sync::{broadcast, mpsc, watch};

use crate::error::{CloseReason, Error, Result};
use crate::handler::Handlers;
use crate::notification::ServerNotification;
use crate::transport::Transport;
pub(crate) use outbox::LARGE_REQUEST;
use outbox::{Outbox, Pushed};
pub(crate) use raw_result::RawResult;
pub(crate) use slots::ReplyRx;
use slots::{ReplyTx, Slots};

/// Bit set in [`ConnShared::users`] once the connection accepts no new users.
const CLOSED: usize = 1 << (usize::BITS - 1);

/// What the connection needs to know beyond its transport.
#[derive(Debug, Clone)]
pub(crate) struct ConnSettings {
    /// The server's name, for logs.
    pub(crate) name: Arc<str>,
    /// Keep the connection this long after its last user left (`None`: close at once).
    pub(crate) idle_linger: Option<Duration>,
    /// The message size cap (for the oversized-message error).
    pub(crate) max_message_size: usize,
    /// Who answers the server's requests (sampling, elicitation, roots).
    pub(crate) handlers: Handlers,
}

/// What the layer above hears from the connection task. Called on the task itself: it must
/// not block.
pub(crate) trait Observer: Send + Sync + std::fmt::Debug + 'static {
    /// A notification arrived (before it is broadcast to subscribers).
    fn notified(&self, method: &str);
    /// The transport replaced an expired HTTP session: the requests that re-create the user's
    /// session state on the new one (sent at once, their answers dropped).
    fn session_renewed(&self) -> Vec<(&'static str, serde_json::Value)>;
    /// The server side went away (not a close the client asked for).
    fn lost(&self, error: &Error);
    /// The server has written `count` lines that are not JSON and no message yet (reported at
    /// the 1st, 2nd, 4th, ... line); `first` quotes the first.
    fn stray_lines(&self, count: u64, first: &Arc<str>);
}

/// What a request's caller receives.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The raw `result`.
    Ok(RawResult),
    /// The server's JSON-RPC error.
    Rpc(ErrorObject),
    /// The connection failed the request.
    Err(Error),
    /// The request ran past its timeout (the task has already cancelled it on the server).
    TimedOut,
}

impl Outcome {
    /// The caller's result for a request of `method` sent with `timeout`.
    pub(crate) fn into_result(self, method: &str, timeout: Duration) -> Result<RawResult> {
        match self {
            Outcome::Ok(raw) => Ok(raw),
            Outcome::Rpc(err) => Err(Error::rpc(method, err)),
            Outcome::Err(err) => Err(err),
            Outcome::TimedOut => Err(Error::timeout(method, timeout)),
        }
    }
}

/// Messages from handles to the connection task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send a request frame and route its response to `reply`.
    Request {
        id: u64,
        frame: Vec<u8>,
        reply: ReplyTx,
        /// `initialize` is never cancelled (the spec forbids it) and opens HTTP sessions.
        initialize: bool,
        /// Where to route `notifications/progress` carrying this token.
        progress: Option<(RequestId, mpsc::Sender<ProgressParams>)>,
        /// Extra HTTP headers (stateless MCP), handed down as plain values.
        headers: Vec<(String, String)>,
        /// The task fails the request with [`Outcome::TimedOut`] (and cancels it) this long
        /// after taking it; `None` when the caller keeps its own timer.
        timeout: Option<Duration>,
    },
    /// Send a notification frame.
    Notify { frame: Vec<u8>, initialized: bool },
    /// The caller of request `id` is gone (dropped, or timed out).
    Cancel { id: u64, reason: &'static str },
    /// The user count dropped to zero.
    Idle,
    /// Close now ([`crate::Server::close`]).
    Close,
    /// A handler task finished answering the server's request `id`.
    Respond { id: RequestId, frame: Vec<u8> },
    /// Requests wait in the outbox (sent by the first request queued there since the last
    /// drain).
    Flush,
}

/// State shared between the task and every handle of one connection.
#[derive(Debug)]
struct ConnShared {
    /// Number of users (guards), plus the [`CLOSED`] bit.
    users: AtomicUsize,
    next_id: AtomicU64,
    close_reason: OnceLock<Arc<CloseReason>>,
    terminated: watch::Sender<bool>,
    /// Set by the layer above once the server speaks MCP (its handshake succeeded): only
    /// then does a shutdown give it time to exit on its own.
    established: std::sync::atomic::AtomicBool,
}

impl ConnShared {
    fn try_acquire(&self) -> bool {
        let mut cur = self.users.load(Ordering::Acquire);
        loop {
            if cur & CLOSED != 0 {
                return false;
            }
            match self.users.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Closes the door if nobody is inside; true if it did.
    fn try_close_idle(&self) -> bool {
        self.users
            .compare_exchange(0, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn mark_closed(&self) {
        self.users.fetch_or(CLOSED, Ordering::AcqRel);
    }
}

/// A handle on one connection: the command sender, the shared state and the user count.
///
/// Every session (and so every guard) holds one. Dropping all of them closes the channel, which
/// also ends the task.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    tx: mpsc::UnboundedSender<Command>,
    shared: Arc<ConnShared>,
    /// Where requests' outcomes come back (one slab for the connection, no channel per call).
    slots: Arc<Slots>,
    /// Where plain requests are written by their callers (stdio only).
    outbox: Option<Arc<Outbox>>,
    pid: Option<u32>,
}

impl ConnHandle {
    /// Starts the connection task on an opened transport; the caller becomes its first user.
    pub(crate) fn start(
        settings: Arc<ConnSettings>,
        transport: Transport,
        notifications: broadcast::Sender<ServerNotification>,
        observer: Arc<dyn Observer>,
    ) -> ConnHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(ConnShared {
            users: AtomicUsize::new(1),
            next_id: AtomicU64::new(1),
            close_reason: OnceLock::new(),
            terminated: watch::Sender::new(false),
            established: std::sync::atomic::AtomicBool::new(false),
        });
        let pid = transport.pid();
        // Stdio writes one stream of lines: requests can be appended to it by their callers.
        // An HTTP request is a POST of its own.
        let outbox = matches!(transport, Transport::Stdio(_)).then(Arc::default);
        task::spawn(
            task::Parts {
                rx,
                self_tx: tx.downgrade(),
                shared: shared.clone(),
                settings,
                notifications,
                observer,
                outbox: outbox.clone(),
            },
            transport,
        );
        ConnHandle {
            tx,
            shared,
            slots: Arc::new(Slots::default()),
            outbox,
            pid,
        }
    }

    /// Joins this connection as one more user, unless it is closing or closed.
    pub(crate) fn try_acquire(&self) -> bool {
        self.shared.try_acquire()
    }

    /// Joins unconditionally (cloning an existing user).
    pub(crate) fn add_user(&self) {
        self.shared.users.fetch_add(1, Ordering::AcqRel);
    }

    /// Leaves; the last user to leave tells the task. Never blocks, works on any thread.
    pub(crate) fn release(&self) {
        let prev = self.shared.users.fetch_sub(1, Ordering::AcqRel);
        if prev & !CLOSED == 1 {
            let _ = self.tx.send(Command::Idle);
        }
    }

    /// The server process's id (stdio).
    pub(crate) fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shared.users.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Resolves once the task has finished (process reaped, every request answered).
    pub(crate) async fn terminated(&self) {
        let mut rx = self.shared.terminated.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }

    /// Marks the server as one that speaks MCP (its handshake succeeded): a later shutdown
    /// gives it its grace period to exit on stdin EOF. A server that never got there is
    /// stopped at once (SIGTERM right after closing stdin).
    pub(crate) fn set_established(&self) {
        self.shared.established.store(true, Ordering::Release);
    }

    /// Asks the task to close now.
    pub(crate) fn close(&self) {
        self.shared.mark_closed();
        let _ = self.tx.send(Command::Close);
    }

    /// The error for a connection that is gone, with its recorded reason.
    pub(crate) fn closed_error(&self) -> Error {
        let reason = self
            .shared
            .close_reason
            .get()
            .cloned()
            .unwrap_or_else(|| Arc::new(CloseReason::new("the connection task has ended")));
        Error::closed(reason)
    }

    /// A completion slot for one request: the sender goes into [`Command::Request`], the
    /// caller awaits the receiver.
    pub(crate) fn reply_channel(&self) -> (ReplyTx, ReplyRx<'_>) {
        self.slots.channel()
    }

    /// The next request id.
    pub(crate) fn next_id(&self) -> u64 {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether plain requests can go through [`push_request`](Self::push_request).
    pub(crate) fn has_outbox(&self) -> bool {
        self.outbox.is_some()
    }

    /// Queues plain request `id` (its encoded `line`, ending in `\n`) in the outbox, its
    /// outcome to `reply` and its timeout kept by the task; `false` if the connection is closed
    /// (or has no outbox).
    pub(crate) fn push_request(
        &self,
        id: u64,
        line: &[u8],
        reply: ReplyTx,
        timeout: Duration,
    ) -> bool {
        let Some(outbox) = &self.outbox else {
            return false;
        };
        match outbox.push(id, line, reply, timeout) {
            Pushed::Wake => {
                // If the task is gone, it closed the outbox first: this request was failed
                // there (or the task panicked, and dropping it closed the outbox).
                let _ = self.tx.send(Command::Flush);
                true
            }
            Pushed::Queued => true,
            Pushed::Closed(reply) => {
                // Dropped here, outside the outbox's lock (it completes the slot as closed).
                drop(reply);
                false
            }
        }
    }

    /// Queues a command; `false` if the task is gone.
    pub(crate) fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok()
    }
}

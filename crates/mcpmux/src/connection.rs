//! The connection task: the one owner of a server's transport.
//!
//! Callers talk to it through [`ConnHandle`], over an unbounded channel of [`Command`]s. The task
//! multiplexes any number of requests on the transport: it writes frames, routes responses back
//! by id, answers the server's requests, forwards notifications, and runs the shutdown sequence.
//! It exits when the last user leaves ([`Command::Idle`] after the count reached zero), when every
//! handle is dropped (the channel closes), on [`Command::Close`], or when the transport dies.
//!
//! Every path out of the task goes through [`Conn::finish`]: it records the close reason, fails
//! every pending request with it, and then shuts the process down.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mcpmux_protocol::jsonrpc::METHOD_NOT_FOUND;
use mcpmux_protocol::{
    CancelledParams, Decoded, ErrorObject, Incoming, InitializeResult, ProgressParams, RequestId,
    decode, encode_notification, encode_response, methods, scan_id,
};
use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::config::{Config, TransportConfig};
use crate::deadlines::Deadlines;
use crate::error::{CloseReason, Error, Result};
use crate::notification::ServerNotification;
use crate::raw_result::RawResult;
use crate::raw_result::span_of;
use crate::recovery::{SessionState, Tracker};
use crate::transport::{Event, OutKind, Outgoing, Transport};

/// Bit set in [`ConnShared::users`] once the connection accepts no new users.
const CLOSED: usize = 1 << (usize::BITS - 1);

/// Above this many buffered outgoing bytes the task stops taking commands until it has written.
const WRITE_HIGH_WATER: usize = 1 << 20;

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

/// Hashes request ids (sequential `u64`s) with one multiplication: SipHash, the default, costs
/// more than the rest of a pending-map lookup. The golden-ratio multiplier spreads sequential
/// ids over the high bits hashbrown uses for its control bytes. Ids come from this client, not
/// from the server, so there is no flooding concern.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used for u64 keys; a plain fold keeps it correct for anything else.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;

/// Messages from handles to the connection task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send a request frame and route its response to `reply`.
    Request {
        id: u64,
        frame: Vec<u8>,
        reply: oneshot::Sender<Outcome>,
        /// `initialize` is never cancelled (the spec forbids it) and opens HTTP sessions.
        initialize: bool,
        /// Where to route `notifications/progress` carrying this token.
        progress: Option<(RequestId, mpsc::Sender<ProgressParams>)>,
        /// Extra HTTP headers (stateless MCP).
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
}

/// The ready state a connection publishes once `initialize` finished.
pub(crate) type Ready = Option<Result<Arc<InitializeResult>>>;

/// State shared between the task and every handle of one connection.
#[derive(Debug)]
pub(crate) struct ConnShared {
    /// Number of users (guards), plus the [`CLOSED`] bit.
    users: AtomicUsize,
    next_id: AtomicU64,
    close_reason: OnceLock<Arc<CloseReason>>,
    pid: OnceLock<u32>,
    ready: watch::Sender<Ready>,
    terminated: watch::Sender<bool>,
    /// Cached lists, dropped by `list_changed`.
    pub(crate) caches: crate::cache::Caches,
    /// Set once `server/discover` negotiated stateless MCP.
    stateless: OnceLock<Arc<crate::stateless::Stateless>>,
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

/// A handle on one connection: the command sender and the shared state.
///
/// The [`crate::Server`] keeps one in its slot (to hand out to the next `enter`), and every guard
/// holds one. Dropping all of them closes the channel, which also ends the task.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    tx: mpsc::UnboundedSender<Command>,
    shared: Arc<ConnShared>,
    pub(crate) config: Arc<Config>,
    pub(crate) tracker: Arc<Tracker>,
    pub(crate) session: Arc<SessionState>,
    /// The managed `subscriptions/listen` of a stateless connection.
    pub(crate) listen: crate::listen::Managed,
}

impl ConnHandle {
    /// Spawns the server process and the connection task; the caller becomes its first user.
    ///
    /// # Errors
    /// A spawn failure, at once.
    pub(crate) fn start(
        config: Arc<Config>,
        notifications: broadcast::Sender<ServerNotification>,
        tracker: Arc<Tracker>,
        session: Arc<SessionState>,
    ) -> Result<Arc<ConnHandle>> {
        let transport = match &config.transport {
            TransportConfig::Stdio(stdio) => Transport::Stdio(
                crate::transport::stdio::StdioTransport::spawn(config.clone(), stdio)?,
            ),
            TransportConfig::Http(http) => Transport::Http(
                crate::transport::http::HttpTransport::new(config.clone(), http)?,
            ),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(ConnShared {
            users: AtomicUsize::new(1),
            next_id: AtomicU64::new(1),
            close_reason: OnceLock::new(),
            pid: OnceLock::new(),
            ready: watch::Sender::new(None),
            terminated: watch::Sender::new(false),
            caches: crate::cache::Caches::default(),
            stateless: OnceLock::new(),
        });
        if let Transport::Stdio(t) = &transport {
            let _ = shared.pid.set(t.pid());
        }
        let conn = Conn {
            tracker: tracker.clone(),
            session: session.clone(),
            self_tx: tx.downgrade(),
            server_requests: HashMap::new(),
            rx,
            shared: shared.clone(),
            config: config.clone(),
            pending: IdMap::default(),
            progress_routes: HashMap::new(),
            notifications,
            linger_deadline: None,
            deadlines: Deadlines::default(),
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            timer_at: None,
        };
        tokio::spawn(conn.run(transport));
        let handle = Arc::new(ConnHandle {
            tx,
            shared,
            config,
            tracker,
            session,
            listen: crate::listen::Managed::default(),
        });
        tokio::spawn(crate::lifecycle::initialize(handle.clone()));
        Ok(handle)
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

    pub(crate) fn pid(&self) -> Option<u32> {
        self.shared.pid.get().copied()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shared.users.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Resolves once the task has finished (process reaped, every request answered).
    pub(crate) async fn terminated(&self) {
        let mut rx = self.shared.terminated.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }

    /// Asks the task to close now.
    pub(crate) fn close(&self) {
        self.shared.mark_closed();
        let _ = self.tx.send(Command::Close);
    }

    /// Whether `initialize` completed successfully.
    pub(crate) fn is_ready(&self) -> bool {
        matches!(*self.shared.ready.borrow(), Some(Ok(_)))
    }

    pub(crate) fn publish_ready(&self, ready: Result<Arc<InitializeResult>>) {
        self.shared.ready.send_replace(Some(ready));
    }

    /// Waits until `initialize` has completed or failed.
    pub(crate) async fn wait_ready(&self) -> Result<Arc<InitializeResult>> {
        let mut rx = self.shared.ready.subscribe();
        let state = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| self.closed_error())?;
        match state.as_ref() {
            Some(r) => r.clone(),
            None => Err(self.closed_error()),
        }
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

    /// The stateless-MCP context, once negotiated.
    pub(crate) fn stateless(&self) -> Option<&Arc<crate::stateless::Stateless>> {
        self.shared.stateless.get()
    }

    pub(crate) fn set_stateless(&self, s: Arc<crate::stateless::Stateless>) {
        let _ = self.shared.stateless.set(s);
    }

    pub(crate) fn caches(&self) -> &crate::cache::Caches {
        &self.shared.caches
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues a command; `false` if the task is gone.
    pub(crate) fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok()
    }
}

/// A request waiting for its response.
#[derive(Debug)]
struct Pending {
    reply: oneshot::Sender<Outcome>,
    /// Whether a dropped caller sends `notifications/cancelled` (never for `initialize`).
    cancellable: bool,
    /// Its progress token, if progress is routed to the caller.
    progress_token: Option<RequestId>,
    /// When the task times it out (its key in [`Conn::deadlines`]).
    deadline: Option<tokio::time::Instant>,
}

/// How the main loop ended.
#[derive(Debug)]
enum Exit {
    /// The client side is done: last user left, every handle dropped, or `close()`.
    Client(&'static str),
    /// The server side went away: stdout closed, process exited, stream lost.
    Server(CloseReason),
}

/// The connection task's state.
struct Conn {
    tracker: Arc<Tracker>,
    session: Arc<SessionState>,
    rx: mpsc::UnboundedReceiver<Command>,
    /// For handler tasks to send their answers (weak: it must not keep the channel open).
    self_tx: mpsc::WeakUnboundedSender<Command>,
    /// Server requests being handled, by id, so a server-side cancel can stop them.
    server_requests: HashMap<RequestId, tokio::task::AbortHandle>,
    shared: Arc<ConnShared>,
    config: Arc<Config>,
    pending: IdMap<Pending>,
    /// Progress token → the caller's channel.
    progress_routes: HashMap<RequestId, mpsc::Sender<ProgressParams>>,
    notifications: broadcast::Sender<ServerNotification>,
    linger_deadline: Option<tokio::time::Instant>,
    /// Request deadlines: one timer for the whole connection instead of one per call (a
    /// per-call `Sleep` registers in tokio's shared timer wheel and enlarges every call's
    /// future; BENCHMARKS.md measured both).
    deadlines: Deadlines,
    /// The timer, armed for the first deadline.
    timer: Pin<Box<tokio::time::Sleep>>,
    /// What `timer` is armed for.
    timer_at: Option<tokio::time::Instant>,
}

impl Conn {
    async fn run(mut self, mut transport: Transport) {
        let exit = self.main_loop(&mut transport).await;
        self.finish(exit, transport).await;
    }

    async fn main_loop(&mut self, transport: &mut Transport) -> Exit {
        loop {
            let can_take_commands = transport.backlog() < WRITE_HIGH_WATER;
            let first = self.deadlines.first();
            if first != self.timer_at {
                if let Some(d) = first {
                    self.timer.as_mut().reset(d);
                }
                self.timer_at = first;
            }
            tokio::select! {
                event = transport.next_event() => match event {
                    Event::Message(bytes) => self.on_message_bytes(bytes, transport),
                    Event::Oversized { prefix, len } => self.on_oversized(&prefix, len),
                    Event::RequestFailed { id, error } => {
                        if let Some(p) = self.take_pending(id) {
                            let _ = p.reply.send(Outcome::Err(error));
                        }
                    }
                    Event::Closed(reason) => return Exit::Server(reason),
                    Event::SessionRestarted => self.restore_session(transport),
                },
                cmd = self.rx.recv(), if can_take_commands => {
                    let Some(cmd) = cmd else {
                        return Exit::Client("every handle was dropped");
                    };
                    if let Some(exit) = self.on_command(cmd, transport) {
                        return exit;
                    }
                    // Coalesce whatever else is queued into the same write.
                    while transport.backlog() < WRITE_HIGH_WATER {
                        match self.rx.try_recv() {
                            Ok(cmd) => if let Some(exit) = self.on_command(cmd, transport) {
                                return exit;
                            },
                            Err(_) => break,
                        }
                    }
                },
                () = self.timer.as_mut(), if self.timer_at.is_some() => self.expire(transport),
                () = sleep_until(self.linger_deadline), if self.linger_deadline.is_some() => {
                    self.linger_deadline = None;
                    if self.shared.try_close_idle() {
                        return Exit::Client("idle linger expired");
                    }
                },
            }
        }
    }

    /// Handles one command; `Some` when the loop must end.
    fn on_command(&mut self, cmd: Command, transport: &mut Transport) -> Option<Exit> {
        match cmd {
            Command::Request {
                id,
                frame,
                reply,
                initialize,
                progress,
                headers,
                timeout,
            } => {
                if reply.is_closed() {
                    return None; // its caller already left; don't send it at all
                }
                let progress_token = progress.map(|(token, tx)| {
                    self.progress_routes.insert(token.clone(), tx);
                    token
                });
                // A timeout too long to represent is no timeout.
                let deadline = timeout.and_then(|t| tokio::time::Instant::now().checked_add(t));
                if let Some(d) = deadline {
                    self.deadlines.insert(d, id);
                }
                self.pending.insert(
                    id,
                    Pending {
                        reply,
                        cancellable: !initialize,
                        progress_token,
                        deadline,
                    },
                );
                transport.send(Outgoing {
                    frame,
                    kind: OutKind::Request { id, initialize },
                    headers,
                });
            }
            Command::Notify { frame, initialized } => {
                transport.send(Outgoing::new(frame, OutKind::Notification { initialized }))
            }
            Command::Cancel { id, reason } => {
                if let Some(p) = self.take_pending(id) {
                    cancel(id, &p, reason, transport);
                }
            }
            Command::Idle => match self.config.idle_linger {
                Some(linger) if !linger.is_zero() => {
                    self.linger_deadline = Some(tokio::time::Instant::now() + linger);
                }
                _ => {
                    if self.shared.try_close_idle() {
                        return Some(Exit::Client("the last user left"));
                    }
                }
            },
            Command::Close => return Some(Exit::Client("closed by the client")),
            Command::Respond { id, frame } => {
                if self.server_requests.remove(&id).is_some() {
                    transport.send(Outgoing::new(frame, OutKind::Response));
                }
            }
        }
        None
    }

    /// Removes a pending request (answered, failed or cancelled) with its progress route and
    /// its deadline.
    fn take_pending(&mut self, id: u64) -> Option<Pending> {
        let p = self.pending.remove(&id)?;
        if let Some(token) = &p.progress_token {
            self.progress_routes.remove(token);
        }
        if let Some(d) = p.deadline {
            let pending = &self.pending;
            self.deadlines
                .remove(d, id, pending.len(), |i| pending.contains_key(&i));
        }
        Some(p)
    }

    /// Fails every request whose deadline has passed with [`Outcome::TimedOut`] and cancels it
    /// on the server.
    fn expire(&mut self, transport: &mut Transport) {
        let now = tokio::time::Instant::now();
        // Bounded: each iteration removes one deadline.
        while let Some(id) = self.deadlines.pop_expired(now) {
            if let Some(p) = self.take_pending(id) {
                cancel(id, &p, "timeout", transport);
                let _ = p.reply.send(Outcome::TimedOut);
            }
        }
        // Re-arm from scratch: the timer has fired, and the first deadline may be unchanged
        // (tokio rounds to milliseconds), which must not leave an elapsed timer in the loop.
        self.timer_at = None;
    }

    fn on_message_bytes(&mut self, bytes: Vec<u8>, transport: &mut Transport) {
        // The common message, a successful response, is routed by its shape alone when it has
        // the usual member order; its owner parses (and so validates) the result, once.
        if let Some((id, range)) = mcpmux_protocol::jsonrpc::fast_response(&bytes) {
            self.on_result(Some(id), bytes, range, false);
            return;
        }
        let decoded = decode(&bytes);
        // A successful response in another layout: its frame still goes to the caller as is.
        let result = match &decoded {
            Ok(Decoded::Single(Incoming::Response {
                id,
                result: Ok(raw),
            })) => span_of(&bytes, raw.get().as_bytes()).map(|range| (id.as_u64(), range)),
            _ => None,
        };
        if let Some((id, range)) = result {
            drop(decoded);
            self.on_result(id, bytes, range, true);
            return;
        }
        match decoded {
            Ok(Decoded::Single(msg)) => self.on_message(msg, transport),
            Ok(Decoded::Batch(msgs)) => {
                for msg in msgs {
                    self.on_message(msg, transport);
                }
            }
            Err(e) => {
                let preview = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
                tracing::warn!(server = %self.config.name, "ignoring a message that is not JSON-RPC ({e}): {preview}");
            }
        }
    }

    /// Hands `frame[range]`, the result of request `id`, to its caller (no copy).
    fn on_result(
        &mut self,
        id: Option<u64>,
        frame: Vec<u8>,
        range: std::ops::Range<usize>,
        checked: bool,
    ) {
        let Some(p) = id.and_then(|id| self.take_pending(id)) else {
            tracing::debug!(server = %self.config.name, ?id, "response for an unknown request id");
            return;
        };
        let _ = p.reply.send(Outcome::Ok(RawResult::Frame {
            frame,
            range,
            checked,
        }));
    }

    fn on_oversized(&mut self, prefix: &[u8], len: usize) {
        let max = self.config.max_message_size;
        let target = scan_id(prefix)
            .and_then(|id| id.as_u64())
            .and_then(|id| self.take_pending(id).map(|p| (id, p)));
        match target {
            Some((id, p)) => {
                let _ = p.reply.send(Outcome::Err(Error::protocol(format!(
                    "the response to request {id} is over the {max}-byte message limit ({len} bytes or more)"
                ))));
            }
            None => tracing::warn!(
                server = %self.config.name,
                "dropped a {len}-byte message over the {max}-byte limit"
            ),
        }
    }

    fn on_message(&mut self, msg: Incoming<'_>, transport: &mut Transport) {
        match msg {
            Incoming::Response { id, result } => {
                let Some(p) = id.as_u64().and_then(|id| self.take_pending(id)) else {
                    tracing::debug!(server = %self.config.name, %id, "response for an unknown request id");
                    return;
                };
                let outcome = match result {
                    Ok(raw) => Outcome::Ok(RawResult::Owned(raw.to_owned())),
                    Err(err) => Outcome::Rpc(err),
                };
                let _ = p.reply.send(outcome);
            }
            Incoming::Request { id, method, params } => {
                self.on_server_request(id, &method, params, transport);
            }
            Incoming::Notification { method, params } => {
                if method == methods::CANCELLED
                    && let Some(p) = params
                    && let Ok(c) = serde_json::from_str::<CancelledParams>(p.get())
                    && let Some(task) = self.server_requests.remove(&c.request_id)
                {
                    // The server withdrew its request: stop the handler, send no answer.
                    task.abort();
                }
                if method == methods::PROGRESS
                    && !self.progress_routes.is_empty()
                    && let Some(p) = params
                    && let Ok(progress) = serde_json::from_str::<ProgressParams>(p.get())
                    && let Some(route) = self.progress_routes.get(&progress.progress_token)
                {
                    let _ = route.try_send(progress);
                }
                match method.as_ref() {
                    methods::TOOLS_LIST_CHANGED => self.shared.caches.tools.invalidate(),
                    methods::RESOURCES_LIST_CHANGED => self.shared.caches.resources.invalidate(),
                    methods::PROMPTS_LIST_CHANGED => self.shared.caches.prompts.invalidate(),
                    _ => {}
                }
                if self.notifications.receiver_count() > 0 {
                    let n = ServerNotification::parse(&method, params);
                    let _ = self.notifications.send(n);
                }
            }
            Incoming::OrphanError(err) => {
                tracing::warn!(server = %self.config.name, "server reported an error without an id: {err}");
            }
        }
    }

    /// A new HTTP session replaced an expired one: re-send the user's session state. The
    /// answers are not awaited (they arrive for ids nobody waits on and are dropped).
    fn restore_session(&mut self, transport: &mut Transport) {
        for (method, params) in self.session.restore_requests() {
            let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
            let mut frame = Vec::with_capacity(96);
            if mcpmux_protocol::encode_request(
                &mut frame,
                &RequestId::Number(id as i64),
                method,
                Some(&params),
            )
            .is_ok()
            {
                transport.send(Outgoing::new(
                    frame,
                    OutKind::Request {
                        id,
                        initialize: false,
                    },
                ));
            }
        }
    }

    /// Answers a request from the server: `ping` inline, unknown methods "method not found"
    /// inline, everything else (sampling, elicitation, roots) in a task of its own so a slow
    /// handler never stalls the read loop.
    fn on_server_request(
        &mut self,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        transport: &mut Transport,
    ) {
        let handlers = &self.config.handlers;
        let handled = match method {
            methods::SAMPLING_CREATE_MESSAGE => handlers.sampling.is_some(),
            methods::ELICITATION_CREATE => handlers.elicitation.is_some(),
            methods::ROOTS_LIST => handlers.roots.is_some(),
            _ => false,
        };
        if method == methods::PING || !handled {
            let result = if method == methods::PING {
                Ok(serde_json::json!({}))
            } else {
                Err(ErrorObject::new(
                    METHOD_NOT_FOUND,
                    format!("method not found: {method}"),
                ))
            };
            let mut frame = Vec::with_capacity(64);
            let res = match &result {
                Ok(v) => encode_response(&mut frame, &id, Ok(v)),
                Err(e) => encode_response::<()>(&mut frame, &id, Err(e)),
            };
            match res {
                Ok(()) => transport.send(Outgoing::new(frame, OutKind::Response)),
                Err(e) => tracing::warn!("could not encode a response: {e}"),
            }
            return;
        }
        let params: Option<serde_json::Value> =
            params.and_then(|p| serde_json::from_str(p.get()).ok());
        let handlers = handlers.clone();
        let method = method.to_owned();
        self.spawn_handler(id, async move {
            crate::handler::answer_input_request(&handlers, &method, params).await
        });
    }

    /// Runs a handler in its own task; its answer comes back as [`Command::Respond`].
    fn spawn_handler<F>(&mut self, id: RequestId, work: F)
    where
        F: std::future::Future<Output = std::result::Result<serde_json::Value, ErrorObject>>
            + Send
            + 'static,
    {
        let tx = self.self_tx.clone();
        let rid = id.clone();
        let task = tokio::spawn(async move {
            let result = work.await;
            let mut frame = Vec::with_capacity(256);
            let encoded = match &result {
                Ok(v) => encode_response(&mut frame, &rid, Ok(v)),
                Err(e) => encode_response::<()>(&mut frame, &rid, Err(e)),
            };
            if let Err(e) = encoded {
                tracing::warn!("could not encode a handler's answer: {e}");
                return;
            }
            if let Some(tx) = tx.upgrade() {
                let _ = tx.send(Command::Respond { id: rid, frame });
            }
        });
        self.server_requests.insert(id, task.abort_handle());
    }

    /// The one exit path: record why, fail every pending request, shut the transport down.
    async fn finish(mut self, exit: Exit, transport: Transport) {
        self.shared.mark_closed();
        let (reason, graceful) = match exit {
            Exit::Client(why) => (CloseReason::new(format!("connection closed: {why}")), true),
            Exit::Server(reason) => (reason, false),
        };
        let reason = Arc::new(reason);
        if !graceful {
            self.tracker.connection_lost(Error::closed(reason.clone()));
        }
        let _ = self.shared.close_reason.set(reason.clone());
        self.rx.close();
        let err = Error::closed(reason);
        for (_, p) in self.pending.drain() {
            let _ = p.reply.send(Outcome::Err(err.clone()));
        }
        // Fail requests still queued in the channel too.
        while let Ok(cmd) = self.rx.try_recv() {
            if let Command::Request { reply, .. } = cmd {
                let _ = reply.send(Outcome::Err(err.clone()));
            }
        }
        for (_, task) in self.server_requests.drain() {
            task.abort();
        }
        transport.shutdown(graceful).await;
        tracing::debug!(server = %self.config.name, "connection closed");
        self.shared.terminated.send_replace(true);
    }
}

/// Stops a request the client no longer waits for: the transport forgets it and, unless it is
/// `initialize`, the server is sent `notifications/cancelled`.
fn cancel(id: u64, p: &Pending, reason: &'static str, transport: &mut Transport) {
    transport.forget(id);
    if !p.cancellable {
        return;
    }
    let params = CancelledParams {
        request_id: RequestId::Number(id as i64),
        reason: Some(reason.to_owned()),
    };
    let mut frame = Vec::with_capacity(96);
    match encode_notification(&mut frame, methods::CANCELLED, Some(&params)) {
        Ok(()) => transport.send(Outgoing::new(
            frame,
            OutKind::Notification { initialized: false },
        )),
        Err(e) => tracing::warn!("could not encode a cancellation: {e}"),
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

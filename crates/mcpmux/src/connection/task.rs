//! The connection task: the one owner of a server's transport.
//!
//! Every path out of the task goes through [`Conn::finish`]: it records the close reason, fails
//! every pending request with it, and then shuts the transport down.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use mcpmux_protocol::{CancelledParams, ProgressParams, RequestId, encode_notification, methods};
use tokio::sync::{broadcast, mpsc};

use super::deadlines::Deadlines;
use super::outbox::{Outbox, Queued};
use super::slots::ReplyTx;
use super::{Command, ConnSettings, ConnShared, Observer, Outcome};
use crate::error::{CloseReason, Error};
use crate::notification::ServerNotification;
use crate::transport::{Event, OutKind, Outgoing, StrayLog, Transport};

/// At most this many already-read messages are handled in one turn of the task's loop, so that
/// commands and timers are not kept waiting behind a long backlog.
const MAX_EVENTS_PER_TURN: usize = 256;

/// Above this many buffered outgoing bytes the task stops taking commands until it has written.
const WRITE_HIGH_WATER: usize = 1 << 20;

/// The outbox's record list is kept between drains up to this capacity.
const MAX_KEPT_RECORDS: usize = 1024;

/// Hashes request ids (sequential `u64`s) with one multiplication: SipHash, the default, costs
/// more than the rest of a pending-map lookup. The golden-ratio multiplier spreads sequential
/// ids over the high bits hashbrown uses for its control bytes. Ids come from this client, not
/// from the server, so there is no flooding concern.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct IdHasher(u64);

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

pub(super) type IdMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;

/// What the task is made of, from [`super::ConnHandle::start`].
pub(super) struct Parts {
    pub(super) rx: mpsc::UnboundedReceiver<Command>,
    pub(super) self_tx: mpsc::WeakUnboundedSender<Command>,
    pub(super) shared: Arc<ConnShared>,
    pub(super) settings: Arc<ConnSettings>,
    pub(super) notifications: broadcast::Sender<ServerNotification>,
    pub(super) observer: Arc<dyn Observer>,
    pub(super) outbox: Option<Arc<Outbox>>,
}

/// Closes the outbox when the task ends, however it ends (a panic included): requests still
/// queued there are dropped, and their callers see a closed connection.
struct OutboxCloser(Arc<Outbox>);

impl Drop for OutboxCloser {
    fn drop(&mut self) {
        drop(self.0.close());
    }
}

/// Spawns the task.
pub(super) fn spawn(parts: Parts, transport: Transport) {
    let Parts {
        rx,
        self_tx,
        shared,
        settings,
        notifications,
        observer,
        outbox,
    } = parts;
    let conn = Conn {
        outbox: outbox.map(OutboxCloser),
        drained: Vec::new(),
        drained_chunks: Vec::new(),
        observer,
        self_tx,
        server_requests: HashMap::new(),
        rx,
        shared,
        settings,
        pending: IdMap::default(),
        progress_routes: HashMap::new(),
        notifications,
        linger_deadline: None,
        deadlines: Deadlines::default(),
        timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        timer_at: None,
        stray_log: StrayLog::default(),
    };
    tokio::spawn(conn.run(transport));
}

/// A request waiting for its response.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) reply: ReplyTx,
    /// Whether a dropped caller sends `notifications/cancelled` (never for `initialize`).
    cancellable: bool,
    /// Its progress token, if progress is routed to the caller.
    progress_token: Option<RequestId>,
    /// When the task times it out (its key in [`Conn::deadlines`]).
    deadline: Option<tokio::time::Instant>,
    /// Its timeout, to start it over after a login that waited for the user.
    timeout: Option<Duration>,
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
pub(super) struct Conn {
    /// The layer above, told of notifications, renewed sessions and a lost connection.
    pub(super) observer: Arc<dyn Observer>,
    rx: mpsc::UnboundedReceiver<Command>,
    /// For handler tasks to send their answers (weak: it must not keep the channel open).
    pub(super) self_tx: mpsc::WeakUnboundedSender<Command>,
    /// Server requests being handled, by id, so a server-side cancel can stop them.
    pub(super) server_requests: HashMap<RequestId, tokio::task::AbortHandle>,
    pub(super) shared: Arc<ConnShared>,
    pub(super) settings: Arc<ConnSettings>,
    pub(super) pending: IdMap<Pending>,
    /// Progress token → the caller's channel.
    pub(super) progress_routes: HashMap<RequestId, mpsc::Sender<ProgressParams>>,
    pub(super) notifications: broadcast::Sender<ServerNotification>,
    linger_deadline: Option<tokio::time::Instant>,
    /// Request deadlines: one timer for the whole connection instead of one per call (a
    /// per-call `Sleep` registers in tokio's shared timer wheel and enlarges every call's
    /// future; BENCHMARKS.md measured both).
    deadlines: Deadlines,
    /// The timer, armed for the first deadline.
    timer: Pin<Box<tokio::time::Sleep>>,
    /// What `timer` is armed for.
    timer_at: Option<tokio::time::Instant>,
    /// Rate-limited warnings about messages that are not JSON-RPC.
    pub(super) stray_log: StrayLog,
    /// Where callers append plain requests (stdio).
    outbox: Option<OutboxCloser>,
    /// The outbox's records and chunks, swapped in and out at each drain (no allocation per
    /// drain).
    drained: Vec<Queued>,
    drained_chunks: Vec<Vec<u8>>,
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
                event = transport.next_event() => {
                    // Then whatever that read already brought (a read holds hundreds of
                    // responses under load): one turn of this loop for all of them.
                    let mut event = Some(event);
                    let mut handled = 0;
                    // Bounded by MAX_EVENTS_PER_TURN.
                    while let Some(this) = event.take() {
                        if let Some(exit) = self.on_event(this, transport) {
                            return exit;
                        }
                        handled += 1;
                        if handled < MAX_EVENTS_PER_TURN {
                            event = transport.buffered_event();
                        }
                    }
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

    /// Handles one transport event; `Some` when the loop must end.
    fn on_event(&mut self, event: Event, transport: &mut Transport) -> Option<Exit> {
        match event {
            Event::Message(bytes) => self.on_message_bytes(bytes, transport),
            Event::Oversized { prefix, len } => self.on_oversized(&prefix, len),
            Event::RequestFailed { id, error } => {
                if let Some(p) = self.take_pending(id) {
                    let _ = p.reply.send(Outcome::Err(error));
                }
            }
            Event::Closed(reason) => return Some(Exit::Server(reason)),
            Event::SessionRestarted => self.restore_session(transport),
            Event::StrayLines { count, first } => self.observer.stray_lines(count, &first),
        }
        None
    }

    /// Handles one command; `Some` when the loop must end.
    fn on_command(&mut self, cmd: Command, transport: &mut Transport) -> Option<Exit> {
        // Requests queued in the outbox before this command was sent come first.
        self.drain_outbox(transport);
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
                let now = tokio::time::Instant::now();
                self.register(id, reply, initialize, progress_token, timeout, now);
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
            Command::Idle => match self.settings.idle_linger {
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
            // Drained above.
            Command::Flush => {}
        }
        None
    }

    /// Records a request as pending, its deadline `timeout` after `now`.
    fn register(
        &mut self,
        id: u64,
        reply: ReplyTx,
        initialize: bool,
        progress_token: Option<RequestId>,
        timeout: Option<Duration>,
        now: tokio::time::Instant,
    ) {
        // A timeout too long to represent is no timeout.
        let deadline = timeout.and_then(|t| now.checked_add(t));
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
                timeout,
            },
        );
    }

    /// Registers the requests waiting in the outbox and queues their chunks on the transport
    /// as they are. A request whose caller has already gone is sent too: its cancellation
    /// follows in the command channel, as it would for a request just written.
    fn drain_outbox(&mut self, transport: &mut Transport) {
        // Only stdio connections have an outbox (`ConnHandle::start`).
        let (Some(OutboxCloser(outbox)), Transport::Stdio(stdio)) = (&self.outbox, transport)
        else {
            return;
        };
        if self.drained_chunks.is_empty() {
            // Room for the next requests, handed over in the swap.
            self.drained_chunks.push(stdio.spare_chunk());
        }
        let mut records = std::mem::take(&mut self.drained);
        if outbox.take(&mut self.drained_chunks, &mut records) {
            let now = tokio::time::Instant::now();
            for Queued { id, reply, timeout } in records.drain(..) {
                self.register(id, reply, false, None, Some(timeout), now);
            }
            for chunk in self.drained_chunks.drain(..) {
                stdio.send_chunk(chunk);
            }
        }
        // A burst's record list is not kept (10,000 requests: 480 KB).
        if records.capacity() <= MAX_KEPT_RECORDS {
            self.drained = records;
        }
    }

    /// Removes a pending request (answered, failed or cancelled) with its progress route and
    /// its deadline.
    pub(super) fn take_pending(&mut self, id: u64) -> Option<Pending> {
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
        // Time a user spends logging in is no request's time: while a login waits, a request
        // that runs out gets its whole timeout again.
        let login = transport.waiting_for_login();
        let mut restarted = Vec::new();
        // Bounded: each iteration removes one deadline.
        while let Some(id) = self.deadlines.pop_expired(now) {
            if login
                && let Some(p) = self.pending.get_mut(&id)
                && let Some(d) = p.timeout.and_then(|t| now.checked_add(t))
            {
                p.deadline = Some(d);
                restarted.push((d, id));
                continue;
            }
            if let Some(p) = self.take_pending(id) {
                cancel(id, &p, "timeout", transport);
                let _ = p.reply.send(Outcome::TimedOut);
            }
        }
        for (d, id) in restarted {
            self.deadlines.insert(d, id);
        }
        // Re-arm from scratch: the timer has fired, and the first deadline may be unchanged
        // (tokio rounds to milliseconds), which must not leave an elapsed timer in the loop.
        self.timer_at = None;
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
            self.observer.lost(&Error::closed(reason.clone()));
        }
        let _ = self.shared.close_reason.set(reason.clone());
        let err = Error::closed(reason);
        // The outbox before the channel: a request pushed before it closed is failed here, one
        // pushed after fails at once.
        if let Some(OutboxCloser(outbox)) = &self.outbox {
            for q in outbox.close() {
                let _ = q.reply.send(Outcome::Err(err.clone()));
            }
        }
        self.rx.close();
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
        let established = self
            .shared
            .established
            .load(std::sync::atomic::Ordering::Acquire);
        transport.shutdown(graceful, established).await;
        tracing::debug!(server = %self.settings.name, "connection closed");
        self.shared.terminated.send_replace(true);
    }
}

/// Stops a request the client no longer waits for: the transport forgets it and, unless it is
/// `initialize`, the server is sent `notifications/cancelled`.
pub(super) fn cancel(id: u64, p: &Pending, reason: &'static str, transport: &mut Transport) {
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

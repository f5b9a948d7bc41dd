//! Request plumbing, the caller's side of one request: number and encode it, queue it on the
//! connection, wait for its outcome (the connection keeps the timeout, or the caller does when
//! progress may restart it), and cancel it when the caller goes away.
//!
//! Nothing here knows which protocol dialect is spoken: the session layer frames stateless
//! requests and hands their headers down as plain values.

mod options;

use std::time::Duration;

use mcpmux_protocol::{ProgressParams, RequestId, encode_request};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::connection::{Command, ConnHandle, LARGE_REQUEST, RawResult, ReplyRx};
use crate::error::{Error, Result};
pub use options::RequestOptions;
pub(crate) use options::option_setters;

/// Sends `notifications/cancelled` for a request whose caller went away before its response.
struct CancelOnDrop<'a> {
    conn: &'a ConnHandle,
    id: u64,
    reason: Option<&'static str>,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(reason) = self.reason {
            self.conn.send(Command::Cancel {
                id: self.id,
                reason,
            });
        }
    }
}

/// The cancellation reason of a request whose caller went away.
const DROPPED: &str = "the caller dropped the request";

/// Queues request `id`; from then on, the returned guard cancels it if the caller goes away.
fn queue(conn: &ConnHandle, id: u64, request: Command) -> Result<CancelOnDrop<'_>> {
    if !conn.send(request) {
        return Err(conn.closed_error());
    }
    Ok(CancelOnDrop::armed(conn, id))
}

impl<'a> CancelOnDrop<'a> {
    /// A guard that cancels request `id` if dropped before its outcome.
    fn armed(conn: &'a ConnHandle, id: u64) -> Self {
        CancelOnDrop {
            conn,
            id,
            reason: Some(DROPPED),
        }
    }
}

thread_local! {
    /// Where a caller encodes a request bound for an outbox: reused, so a request costs no
    /// allocation of its own.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A scratch buffer grown past this is not kept.
const SCRATCH_KEEP: usize = 64 * 1024;

/// Sends one request and waits for its raw result.
///
/// # Cancel safety
/// Dropping the future before it completes removes the request from the connection and, unless
/// it is `initialize`, sends `notifications/cancelled` to the server (which may still finish the
/// work).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send<P: Serialize + ?Sized>(
    conn: &ConnHandle,
    method: &str,
    params: Option<&P>,
    headers: Vec<(String, String)>,
    timeout: Duration,
    options: Option<&RequestOptions>,
    initialize: bool,
) -> Result<Box<RawValue>> {
    let prepared = prepare(conn, method, params)?;
    send_prepared(
        conn, method, prepared, headers, timeout, options, initialize,
    )
    .await?
    .into_raw_value()
}

/// A request encoded and numbered, not yet queued. Encoding before the wait lets callers drop
/// their parameters (tool arguments can be large) before the response arrives.
#[derive(Debug)]
pub(crate) struct Prepared {
    id: u64,
    frame: Vec<u8>,
}

/// Numbers and encodes a request.
///
/// # Errors
/// Invalid input when `params` do not serialize.
pub(crate) fn prepare<P: Serialize + ?Sized>(
    conn: &ConnHandle,
    method: &str,
    params: Option<&P>,
) -> Result<Prepared> {
    let prepared = prepare_with(conn, |id, frame| {
        frame.reserve(128);
        encode_request(frame, &RequestId::Number(id), method, params)
    });
    prepared.map_err(|e| Error::invalid_input(format!("could not encode {method} parameters"), e))
}

/// Numbers a request and lets `encode` write its line into an empty buffer (a hand-written
/// encoder's entry point; it sizes the buffer, so the line is allocated once).
pub(crate) fn prepare_with<E>(
    conn: &ConnHandle,
    encode: impl FnOnce(i64, &mut Vec<u8>) -> std::result::Result<(), E>,
) -> std::result::Result<Prepared, E> {
    let id = conn.next_id();
    let mut frame = Vec::new();
    encode(id as i64, &mut frame)?;
    Ok(Prepared { id, frame })
}

/// Queues a prepared request and waits for its raw result.
///
/// Requests without progress routing (nearly all) leave their timeout to the connection task,
/// so the caller's future holds only its completion slot and the cancel-on-drop guard: no
/// timer per call, and a small future to spawn.
pub(crate) async fn send_prepared(
    conn: &ConnHandle,
    method: &str,
    prepared: Prepared,
    headers: Vec<(String, String)>,
    timeout: Duration,
    options: Option<&RequestOptions>,
    initialize: bool,
) -> Result<RawResult> {
    let wants_progress = options.is_some_and(RequestOptions::routes_progress);
    match options {
        Some(options) if wants_progress => {
            Box::pin(send_with_progress(
                conn, method, prepared, headers, timeout, options, initialize,
            ))
            .await
        }
        _ => send_plain(conn, method, prepared, headers, timeout, initialize).await,
    }
}

/// The common path: the connection task enforces the timeout.
async fn send_plain(
    conn: &ConnHandle,
    method: &str,
    prepared: Prepared,
    headers: Vec<(String, String)>,
    timeout: Duration,
    initialize: bool,
) -> Result<RawResult> {
    let mut waiting = queue_plain(conn, prepared, headers, timeout, initialize)?;
    std::future::poll_fn(|cx| waiting.poll_result(cx, method)).await
}

/// Queues a prepared request whose timeout the connection task keeps (no progress routed to
/// the caller); the returned [`Waiting`] is polled for its result.
///
/// # Errors
/// Closed when the connection is gone.
pub(crate) fn queue_plain(
    conn: &ConnHandle,
    Prepared { id, frame }: Prepared,
    headers: Vec<(String, String)>,
    timeout: Duration,
    initialize: bool,
) -> Result<Waiting<'_>> {
    let (reply, rx) = conn.reply_channel();
    let request = Command::Request {
        id,
        frame,
        reply,
        initialize,
        progress: None,
        headers,
        timeout: Some(timeout),
    };
    let guard = queue(conn, id, request)?;
    Ok(Waiting { rx, guard, timeout })
}

/// Numbers a request, lets `encode` write its line, and queues it as [`queue_plain`] does (the
/// connection task keeps its timeout). On a connection with an outbox (stdio) the line is
/// written into the thread's scratch buffer and copied into the outbox: no allocation and no
/// channel message per request. Lines of [`LARGE_REQUEST`] bytes or more go as frames of
/// their own.
///
/// # Errors
/// Closed when the connection is gone.
pub(crate) fn queue_plain_with(
    conn: &ConnHandle,
    timeout: Duration,
    encode: impl FnOnce(i64, &mut Vec<u8>),
) -> Result<Waiting<'_>> {
    let id = conn.next_id();
    let outbox = conn.has_outbox();
    let mut line = if outbox { SCRATCH.take() } else { Vec::new() };
    line.clear();
    encode(id as i64, &mut line);
    if !outbox || line.len() >= LARGE_REQUEST {
        let prepared = Prepared { id, frame: line };
        return queue_plain(conn, prepared, Vec::new(), timeout, false);
    }
    let (reply, rx) = conn.reply_channel();
    let queued = conn.push_request(id, &line, reply, timeout);
    if line.capacity() <= SCRATCH_KEEP {
        SCRATCH.set(line);
    }
    if !queued {
        return Err(conn.closed_error());
    }
    let guard = CancelOnDrop::armed(conn, id);
    Ok(Waiting { rx, guard, timeout })
}

/// A queued request waiting for its outcome: all a caller holds per call (dropping it before
/// the outcome cancels the request).
pub(crate) struct Waiting<'a> {
    rx: ReplyRx<'a>,
    guard: CancelOnDrop<'a>,
    timeout: Duration,
}

impl Waiting<'_> {
    /// Polls for the raw result of a request of `method`.
    pub(crate) fn poll_result(
        &mut self,
        cx: &mut std::task::Context<'_>,
        method: &str,
    ) -> std::task::Poll<Result<RawResult>> {
        let outcome = std::task::ready!(std::pin::Pin::new(&mut self.rx).poll(cx));
        // Answered, timed out (the task already cancelled it) or the connection is gone.
        self.guard.reason = None;
        std::task::Poll::Ready(match outcome {
            Some(outcome) => outcome.into_result(method, self.timeout),
            None => Err(self.guard.conn.closed_error()),
        })
    }
}

/// With progress routed to this caller: the caller keeps the timer (progress may restart it).
async fn send_with_progress(
    conn: &ConnHandle,
    method: &str,
    Prepared { id, frame }: Prepared,
    headers: Vec<(String, String)>,
    timeout: Duration,
    options: &RequestOptions,
    initialize: bool,
) -> Result<RawResult> {
    let (reply, mut rx) = conn.reply_channel();
    // Progress routed to this caller (bounded: a slow callback loses old updates).
    let (progress, mut progress_rx) = match options.token().cloned() {
        Some(token) => {
            let (tx, rx) = mpsc::channel(64);
            (Some((token, tx)), Some(rx))
        }
        None => (None, None),
    };
    let request = Command::Request {
        id,
        frame,
        reply,
        initialize,
        progress,
        headers,
        timeout: None,
    };
    let mut guard = queue(conn, id, request)?;
    let start = tokio::time::Instant::now();
    let far = || start + Duration::from_secs(86_400 * 365);
    let mut deadline = start.checked_add(timeout).unwrap_or_else(far);
    let reset_limit = options
        .reset_up_to()
        .map(|m| start.checked_add(m).unwrap_or_else(far));
    let outcome = loop {
        tokio::select! {
            r = &mut rx => match r {
                Some(outcome) => {
                    guard.reason = None;
                    // Progress sent before the response may still be queued: deliver it first.
                    if let (Some(prx), Some(cb)) = (progress_rx.as_mut(), options.on_progress_callback()) {
                        while let Ok(p) = prx.try_recv() {
                            cb(p);
                        }
                    }
                    break outcome;
                }
                None => {
                    guard.reason = None;
                    return Err(conn.closed_error());
                }
            },
            Some(p) = recv_progress(&mut progress_rx) => {
                if let Some(cb) = options.on_progress_callback() {
                    cb(p);
                }
                if let Some(limit) = reset_limit {
                    deadline = tokio::time::Instant::now()
                        .checked_add(timeout)
                        .map_or(limit, |d| d.min(limit));
                }
            },
            () = tokio::time::sleep_until(deadline) => {
                guard.reason = Some("timeout");
                return Err(Error::timeout(method, deadline - start));
            }
        }
    };
    outcome.into_result(method, timeout)
}

async fn recv_progress(rx: &mut Option<mpsc::Receiver<ProgressParams>>) -> Option<ProgressParams> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends a notification (fire and forget; fails only if the connection is gone).
pub(crate) fn notify<P: Serialize + ?Sized>(
    conn: &ConnHandle,
    method: &str,
    params: Option<&P>,
) -> Result<()> {
    let mut frame = Vec::with_capacity(64);
    mcpmux_protocol::encode_notification(&mut frame, method, params)
        .map_err(|e| Error::invalid_input(format!("could not encode {method} parameters"), e))?;
    let initialized = method == mcpmux_protocol::methods::INITIALIZED;
    if conn.send(Command::Notify { frame, initialized }) {
        Ok(())
    } else {
        Err(conn.closed_error())
    }
}

/// Parses a raw result into `R`, as a protocol error on mismatch.
pub(crate) fn parse_result<R: serde::de::DeserializeOwned>(
    method: &str,
    raw: &RawValue,
) -> Result<R> {
    serde_json::from_str(raw.get())
        .map_err(|e| Error::protocol_from(format!("malformed {method} result"), e))
}

/// Parses a `tools/call` result as received (the common shape without serde), as a protocol
/// error when malformed.
pub(crate) fn parse_tool_result(raw: &RawResult) -> Result<mcpmux_protocol::CallToolResult> {
    raw.parse_tool_result().map_err(|e| {
        Error::protocol_from(
            format!("malformed {} result", mcpmux_protocol::methods::TOOLS_CALL),
            e,
        )
    })
}

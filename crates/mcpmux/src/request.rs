//! The caller's side of a request: encode, queue, await with a timeout, cancel on drop.

use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mcpmux_protocol::{ProgressParams, ProgressToken, RequestId, encode_request};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use crate::connection::{Command, ConnHandle, Outcome};
use crate::error::{Error, Result};
use crate::raw_result::RawResult;

/// Per-request settings that override the server's defaults.
///
/// ```
/// use std::time::Duration;
/// let opts = mcpmux::RequestOptions::new().timeout(Duration::from_secs(5)).progress_token("job-1");
/// # let _ = opts;
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct RequestOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) progress_token: Option<ProgressToken>,
    pub(crate) on_progress: Option<ProgressCallback>,
    /// With progress: each notification restarts the timeout, up to this total.
    pub(crate) reset_up_to: Option<Duration>,
    /// Extra HTTP headers (stateless MCP's `Mcp-Param-*`).
    pub(crate) headers: Vec<(String, String)>,
}

/// A per-call progress callback.
pub(crate) type ProgressCallback = Arc<dyn Fn(ProgressParams) + Send + Sync>;

impl std::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestOptions")
            .field("timeout", &self.timeout)
            .field("progress_token", &self.progress_token)
            .field("on_progress", &self.on_progress.is_some())
            .field("reset_up_to", &self.reset_up_to)
            .finish()
    }
}

/// Progress tokens chosen by mcpmux when a callback is set without an explicit token.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

impl RequestOptions {
    /// Defaults: the server's request timeout, no progress token.
    pub fn new() -> Self {
        Self::default()
    }

    /// This request's timeout, instead of the server's default. On expiry the request is
    /// cancelled on the server too (`notifications/cancelled`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Ask the server for progress notifications tagged with this token (`_meta.progressToken`);
    /// they arrive on [`Server::notifications`](crate::Server::notifications).
    pub fn progress_token(mut self, token: impl Into<ProgressToken>) -> Self {
        self.progress_token = Some(token.into());
        self
    }

    /// Calls `callback` with each progress notification for this request (in this task, as
    /// the notifications arrive). A progress token is chosen if none was set. The channel to the
    /// callback is bounded: if the callback is slower than the server, old updates are dropped.
    ///
    /// ```
    /// let opts = mcpmux::RequestOptions::new()
    ///     .on_progress(|p| eprintln!("{}/{:?} {}", p.progress, p.total, p.message.unwrap_or_default()));
    /// # let _ = opts;
    /// ```
    pub fn on_progress(
        mut self,
        callback: impl Fn(ProgressParams) + Send + Sync + 'static,
    ) -> Self {
        self.on_progress = Some(Arc::new(callback));
        if self.progress_token.is_none() {
            let n = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
            self.progress_token = Some(RequestId::String(format!("mcpmux-progress-{n}")));
        }
        self
    }

    /// Whether progress is routed to this caller (a callback, or timeouts reset by progress):
    /// then the caller keeps the timer.
    pub(crate) fn routes_progress(&self) -> bool {
        self.on_progress.is_some() || self.reset_up_to.is_some()
    }

    /// Each progress notification restarts the timeout, but the request never runs longer than
    /// `max_total` in all. Needs a progress token (set by [`on_progress`](Self::on_progress) or
    /// [`progress_token`](Self::progress_token)).
    pub fn reset_timeout_on_progress(mut self, max_total: Duration) -> Self {
        self.reset_up_to = Some(max_total);
        self
    }
}

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

/// Queues request `id`; from then on, the returned guard cancels it if the caller goes away.
fn queue(conn: &ConnHandle, id: u64, request: Command) -> Result<CancelOnDrop<'_>> {
    if !conn.send(request) {
        return Err(conn.closed_error());
    }
    Ok(CancelOnDrop {
        conn,
        id,
        reason: Some("the caller dropped the request"),
    })
}

/// Sends one request and waits for its raw result.
///
/// # Cancel safety
/// Dropping the future before it completes removes the request from the connection and, unless
/// it is `initialize`, sends `notifications/cancelled` to the server (which may still finish the
/// work).
pub(crate) async fn send<P: Serialize + ?Sized>(
    conn: &ConnHandle,
    method: &str,
    params: Option<&P>,
    timeout: Duration,
    options: Option<&RequestOptions>,
    initialize: bool,
) -> Result<Box<RawValue>> {
    if let Some(stateless) = conn.stateless().cloned() {
        let value = params.map(serde_json::to_value).transpose().map_err(|e| {
            Error::invalid_input(format!("could not encode {method} parameters"), e)
        })?;
        let (framed, mut headers) = stateless.frame(method, value, conn.session.log_level());
        if let Some(o) = options {
            headers.extend(o.headers.iter().cloned());
        }
        return send_framed(conn, method, &framed, headers, timeout, options).await;
    }
    send_once(
        conn,
        method,
        params,
        Vec::new(),
        timeout,
        options,
        initialize,
    )
    .await
}

/// Sends already-framed stateless params; retries once when the server answers -32022
/// (unsupported protocol version) but lists ours as supported.
pub(crate) async fn send_framed(
    conn: &ConnHandle,
    method: &str,
    params: &serde_json::Value,
    headers: Vec<(String, String)>,
    timeout: Duration,
    options: Option<&RequestOptions>,
) -> Result<Box<RawValue>> {
    let first = send_once(
        conn,
        method,
        Some(params),
        headers.clone(),
        timeout,
        options,
        false,
    )
    .await;
    match &first {
        Err(e)
            if e.rpc_error().is_some_and(|r| {
                r.code == mcpmux_protocol::stateless::UNSUPPORTED_PROTOCOL_VERSION
                    && r.data
                        .as_ref()
                        .and_then(|d| d.get("supported"))
                        .and_then(|s| s.as_array())
                        .is_some_and(|v| {
                            v.iter().any(|s| {
                                s.as_str()
                                    == Some(mcpmux_protocol::ProtocolVersion::STATELESS.as_str())
                            })
                        })
            }) =>
        {
            send_once(conn, method, Some(params), headers, timeout, options, false).await
        }
        _ => first,
    }
}

#[allow(clippy::too_many_arguments)]
async fn send_once<P: Serialize + ?Sized>(
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
/// so the caller's future holds only the `oneshot` receiver and the cancel-on-drop guard: no
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
    let (reply, rx) = oneshot::channel();
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

/// A queued request waiting for its outcome: all a caller holds per call (dropping it before
/// the outcome cancels the request).
pub(crate) struct Waiting<'a> {
    rx: oneshot::Receiver<Outcome>,
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
            Ok(outcome) => outcome.into_result(method, self.timeout),
            Err(_) => Err(self.guard.conn.closed_error()),
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
    let (reply, mut rx) = oneshot::channel();
    // Progress routed to this caller (bounded: a slow callback loses old updates).
    let (progress, mut progress_rx) = match options.progress_token.clone() {
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
        .reset_up_to
        .map(|m| start.checked_add(m).unwrap_or_else(far));
    let outcome = loop {
        tokio::select! {
            r = &mut rx => match r {
                Ok(outcome) => {
                    guard.reason = None;
                    // Progress sent before the response may still be queued: deliver it first.
                    if let (Some(prx), Some(cb)) = (progress_rx.as_mut(), options.on_progress.as_ref()) {
                        while let Ok(p) = prx.try_recv() {
                            cb(p);
                        }
                    }
                    break outcome;
                }
                Err(_) => {
                    guard.reason = None;
                    return Err(conn.closed_error());
                }
            },
            Some(p) = recv_progress(&mut progress_rx) => {
                if let Some(cb) = options.on_progress.as_ref() {
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

/// Parses a result as received (no copy of a frame) into `R`, as a protocol error on mismatch.
pub(crate) fn parse_raw_result<R: serde::de::DeserializeOwned>(
    method: &str,
    raw: &RawResult,
) -> Result<R> {
    raw.parse()
        .map_err(|e| Error::protocol_from(format!("malformed {method} result"), e))
}

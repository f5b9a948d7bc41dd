//! The caller's side of a request: encode, queue, await with a timeout, cancel on drop.

use std::time::Duration;

use mcpmux_protocol::{ProgressToken, RequestId, encode_request};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use crate::connection::{Command, ConnHandle, Outcome};
use crate::error::{Error, Result};

/// Per-request settings that override the server's defaults.
///
/// ```
/// use std::time::Duration;
/// let opts = mcpmux::RequestOptions::new().timeout(Duration::from_secs(5)).progress_token("job-1");
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RequestOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) progress_token: Option<ProgressToken>,
}

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
    initialize: bool,
) -> Result<Box<RawValue>> {
    let id = conn.next_id();
    let mut frame = Vec::with_capacity(96);
    encode_request(&mut frame, &RequestId::Number(id as i64), method, params)
        .map_err(|e| Error::invalid_input(format!("could not encode {method} parameters"), e))?;
    let (reply, rx) = oneshot::channel();
    if !conn.send(Command::Request {
        id,
        frame,
        reply,
        initialize,
    }) {
        return Err(conn.closed_error());
    }
    let mut guard = CancelOnDrop {
        conn,
        id,
        reason: Some("the caller dropped the request"),
    };
    let outcome = match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(outcome)) => {
            guard.reason = None;
            outcome
        }
        Ok(Err(_)) => {
            guard.reason = None;
            return Err(conn.closed_error());
        }
        Err(_) => {
            guard.reason = Some("timeout");
            return Err(Error::timeout(method, timeout));
        }
    };
    match outcome {
        Outcome::Ok(raw) => Ok(raw),
        Outcome::Rpc(err) => Err(Error::rpc(method, err)),
        Outcome::Err(err) => Err(err),
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

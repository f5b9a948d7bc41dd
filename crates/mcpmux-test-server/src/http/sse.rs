//! Server-Sent Events: encoding one event, and the response body that
//! streams them and notices when the client goes away.

use std::fmt::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::mpsc;
use tokio::time::Sleep;

/// How long an aborting body waits before failing, so that hyper flushes
/// the events before it (it flushes while the body is pending).
const ABORT_FLUSH_DELAY: Duration = Duration::from_millis(20);

/// The event type of JSON-RPC messages (both HTTP transports).
pub(crate) const MESSAGE: &str = "message";

/// The event type of the legacy transport's first event.
pub(crate) const ENDPOINT: &str = "endpoint";

/// Encodes one SSE event: `id:`, `event:`, `retry:` when given, then one
/// `data:` line per line of `data` (an empty `data` gives one empty `data:`
/// line), then the blank line that ends the event.
pub(crate) fn encode(
    id: Option<&str>,
    event: Option<&str>,
    retry: Option<u64>,
    data: &str,
) -> Bytes {
    let mut out = String::with_capacity(data.len() + 64);
    if let Some(id) = id {
        let _ = writeln!(out, "id: {id}");
    }
    if let Some(event) = event {
        let _ = writeln!(out, "event: {event}");
    }
    if let Some(retry) = retry {
        let _ = writeln!(out, "retry: {retry}");
    }
    if data.is_empty() {
        out.push_str("data: \n");
    }
    for line in data.lines() {
        let _ = writeln!(out, "data: {line}");
    }
    out.push('\n');
    Bytes::from(out)
}

/// One item for a live SSE connection.
#[derive(Debug)]
pub(crate) enum Frame {
    /// Encoded event bytes to write.
    Data(Bytes),
    /// End the body with an error: the connection is cut without the
    /// chunked terminator, so the client sees a broken stream.
    Abort,
}

/// Called when the body is dropped before it ended: the client went away.
pub(crate) type OnClientClose = Box<dyn FnOnce() + Send + 'static>;

/// A streaming SSE response body fed by a channel.
///
/// It ends cleanly when every sender is gone, abruptly on [`Frame::Abort`];
/// if it is dropped before either (hyper drops it when the client closes
/// the connection), it calls its [`OnClientClose`].
pub(crate) struct SseBody {
    rx: mpsc::UnboundedReceiver<Frame>,
    on_client_close: Option<OnClientClose>,
    /// Set on [`Frame::Abort`]: fail when it fires.
    aborting: Option<Pin<Box<Sleep>>>,
}

impl SseBody {
    /// A body reading from `rx`.
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<Frame>, on_client_close: OnClientClose) -> Self {
        Self {
            rx,
            on_client_close: Some(on_client_close),
            aborting: None,
        }
    }
}

impl SseBody {
    /// Forgets the [`OnClientClose`]: dropping the body is then not counted
    /// as the client closing it (a body that is never sent).
    pub(crate) fn disarm(&mut self) {
        self.on_client_close = None;
    }
}

impl Stream for SseBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(sleep) = &mut self.aborting {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.aborting = None;
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "stream dropped by the server on purpose",
            ))));
        }
        if self.on_client_close.is_none() {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Frame::Data(bytes))) => Poll::Ready(Some(Ok(bytes))),
            Poll::Ready(Some(Frame::Abort)) => {
                let mut sleep = Box::pin(tokio::time::sleep(ABORT_FLUSH_DELAY));
                // Registers the timer; a fresh 20 ms sleep is not ready yet.
                let _ = sleep.as_mut().poll(cx);
                self.aborting = Some(sleep);
                self.on_client_close = None;
                Poll::Pending
            }
            Poll::Ready(None) => {
                self.on_client_close = None;
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        if let Some(on_client_close) = self.on_client_close.take() {
            on_client_close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_events() {
        assert_eq!(
            encode(Some("s1-0"), None, Some(500), ""),
            "id: s1-0\nretry: 500\ndata: \n\n"
        );
        assert_eq!(
            encode(None, Some(ENDPOINT), None, "/messages?sessionId=x"),
            "event: endpoint\ndata: /messages?sessionId=x\n\n"
        );
        assert_eq!(
            encode(Some("a-2"), Some(MESSAGE), None, "{}\n[]"),
            "id: a-2\nevent: message\ndata: {}\ndata: []\n\n"
        );
    }
}

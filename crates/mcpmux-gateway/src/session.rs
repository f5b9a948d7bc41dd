//! One downstream client as the request handlers see it, whatever carries its messages: what it
//! negotiated in `initialize`, and where messages to it go.
//!
//! A transport (stdio, Streamable HTTP) makes one [`Downstream`] per client session and hands
//! each request an [`Outbox`] for the messages related to it (progress, log messages, the
//! response): on stdio that is the one output stream; on Streamable HTTP the request's own SSE
//! stream. Messages related to no request (`list_changed`, ...) go to the session's outbox.

use std::sync::{Arc, Mutex, PoisonError};

use mcpmux_protocol::{ClientCapabilities, encode_notification};
use serde::Serialize;
use tokio::sync::mpsc;

/// Where encoded messages (one JSON-RPC message each, newline-terminated) to a client go.
#[derive(Debug, Clone)]
pub(crate) struct Outbox(mpsc::UnboundedSender<Vec<u8>>);

#[allow(dead_code)] // notify/is_closed: for the forwarding that follows
impl Outbox {
    /// An outbox and the receiving end its transport drains.
    pub(crate) fn new() -> (Outbox, mpsc::UnboundedReceiver<Vec<u8>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Outbox(tx), rx)
    }

    /// Queues one encoded message. False when nobody reads this outbox any more.
    pub(crate) fn send(&self, message: Vec<u8>) -> bool {
        !message.is_empty() && self.0.send(message).is_ok()
    }

    /// Queues a notification. False when nobody reads this outbox any more (or it cannot be
    /// encoded).
    pub(crate) fn notify<P: Serialize + ?Sized>(&self, method: &str, params: Option<&P>) -> bool {
        let mut line = Vec::new();
        match encode_notification(&mut line, method, params) {
            Ok(()) => self.send(line),
            Err(e) => {
                tracing::warn!(method, error = %e, "cannot encode a notification");
                false
            }
        }
    }

    /// Whether the reading end is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// What a client said about itself in `initialize`.
#[allow(dead_code)] // read by the forwarding that follows
#[derive(Debug, Default, Clone)]
pub(crate) struct Negotiated {
    /// The protocol version agreed on; `None` before `initialize`.
    pub(crate) version: Option<&'static str>,
    /// The client's capabilities (sampling, elicitation, roots).
    pub(crate) capabilities: ClientCapabilities,
}

/// One downstream client session.
#[derive(Debug)]
pub(crate) struct Downstream {
    /// Messages related to no request of the client's.
    pub(crate) outbox: Outbox,
    negotiated: Mutex<Negotiated>,
}

#[allow(dead_code)] // negotiated(): for the forwarding that follows
impl Downstream {
    /// A session whose unrelated messages go to `outbox`.
    pub(crate) fn new(outbox: Outbox) -> Arc<Downstream> {
        Arc::new(Downstream {
            outbox,
            negotiated: Mutex::new(Negotiated::default()),
        })
    }

    /// What the client negotiated so far.
    pub(crate) fn negotiated(&self) -> Negotiated {
        self.negotiated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records what `initialize` agreed on.
    pub(crate) fn set_negotiated(&self, negotiated: Negotiated) {
        *self
            .negotiated
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = negotiated;
    }
}

/// What one request's handler gets besides its params: the session it belongs to, and where
/// messages related to it go.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The client's session.
    pub(crate) session: Arc<Downstream>,
    /// Messages related to this request (progress, log messages while it runs).
    pub(crate) related: Outbox,
}

//! One downstream client as the request handlers see it, whatever carries its messages: what it
//! negotiated in `initialize`, and where messages to it go.
//!
//! A transport (stdio, Streamable HTTP) makes one [`Downstream`] per client session and hands
//! each request an [`Outbox`] for the messages related to it (progress, log messages, the
//! response): on stdio that is the one output stream; on Streamable HTTP the request's own SSE
//! stream. Messages related to no request (`list_changed`, ...) go to the session's outbox.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mcpmux_protocol::jsonrpc::INTERNAL_ERROR;
use mcpmux_protocol::{
    ClientCapabilities, ErrorObject, LoggingLevel, RequestId, encode_notification, encode_request,
};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::modern::Listener;

/// Where encoded messages (one JSON-RPC message each, newline-terminated) to a client go.
#[derive(Debug, Clone)]
pub(crate) struct Outbox(mpsc::UnboundedSender<Vec<u8>>);

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
}

/// The answer a client owes to a request of the gateway's.
type Pending = oneshot::Sender<Result<Value, ErrorObject>>;

/// What a client said about itself in `initialize`.
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
    /// The level `logging/setLevel` asked for (`None`: every message).
    log_level: Mutex<Option<LoggingLevel>>,
    /// Requests of the gateway's (relayed from upstreams) waiting for the client's answer;
    /// `None` once the session ended.
    pending: Mutex<Option<HashMap<RequestId, Pending>>>,
    next_id: AtomicI64,
    /// Becomes true when the session ends (long-lived requests finish then).
    closing: watch::Sender<bool>,
    /// Its `subscriptions/listen` streams (modern clients).
    listeners: Mutex<Vec<Arc<Listener>>>,
}

impl Downstream {
    /// A session whose unrelated messages go to `outbox`.
    pub(crate) fn new(outbox: Outbox) -> Arc<Downstream> {
        Arc::new(Downstream {
            outbox,
            negotiated: Mutex::new(Negotiated::default()),
            log_level: Mutex::new(None),
            pending: Mutex::new(Some(HashMap::new())),
            next_id: AtomicI64::new(1),
            closing: watch::Sender::new(false),
            listeners: Mutex::new(Vec::new()),
        })
    }

    /// A listen stream opened.
    pub(crate) fn add_listener(&self, listener: &Arc<Listener>) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener.clone());
    }

    /// A listen stream ended.
    pub(crate) fn remove_listener(&self, listener: &Arc<Listener>) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|l| !Arc::ptr_eq(l, listener));
    }

    /// The listen streams open now.
    pub(crate) fn listeners(&self) -> Vec<Arc<Listener>> {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether `initialize` opened this session (it then gets unsolicited notifications).
    pub(crate) fn is_legacy(&self) -> bool {
        self.negotiated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .version
            .is_some()
    }

    /// Resolves when the session ends.
    pub(crate) async fn closed(&self) {
        let mut rx = self.closing.subscribe();
        let _ = rx.wait_for(|closing| *closing).await;
    }

    /// Sets the lowest level of log messages the client wants.
    pub(crate) fn set_log_level(&self, level: LoggingLevel) {
        *self
            .log_level
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(level);
    }

    /// The level `logging/setLevel` asked for.
    pub(crate) fn log_level(&self) -> Option<LoggingLevel> {
        *self
            .log_level
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the client wants a log message at `level`.
    pub(crate) fn wants_log(&self, level: LoggingLevel) -> bool {
        self.log_level
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none_or(|min| level >= min)
    }

    /// Sends the client a request over `via` and waits for its answer.
    ///
    /// # Errors
    /// The client's error; an internal error when the session ended or the request could not
    /// be sent.
    ///
    /// # Cancel safety
    /// Dropping the future forgets the request (a late answer is ignored).
    pub(crate) async fn request(
        &self,
        via: &Outbox,
        method: &str,
        params: &Value,
    ) -> Result<Value, ErrorObject> {
        let id = RequestId::Number(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(pending) = pending.as_mut() else {
                return Err(gone());
            };
            pending.insert(id.clone(), tx);
        }
        let forget = Forget {
            session: self,
            id: &id,
        };
        let mut line = Vec::new();
        if let Err(e) = encode_request(&mut line, &id, method, Some(params)) {
            return Err(ErrorObject::new(
                INTERNAL_ERROR,
                format!("cannot encode {method}: {e}"),
            ));
        }
        if !via.send(line) {
            return Err(gone());
        }
        let answer = rx.await.unwrap_or_else(|_| Err(gone()));
        drop(forget);
        answer
    }

    /// The client's answer to request `id` of the gateway's. False if no request waits for it.
    pub(crate) fn answer(&self, id: &RequestId, result: Result<Value, ErrorObject>) -> bool {
        let waiting = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .and_then(|p| p.remove(id));
        match waiting {
            Some(tx) => tx.send(result).is_ok(),
            None => false,
        }
    }

    /// The session ended: requests waiting for the client fail, later ones fail at once.
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
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

fn gone() -> ErrorObject {
    ErrorObject::new(INTERNAL_ERROR, "the client's session ended")
}

/// Removes a request from the pending table when its waiter is done or dropped.
struct Forget<'a> {
    session: &'a Downstream,
    id: &'a RequestId,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(p) = self
            .session
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            p.remove(self.id);
        }
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
    /// The request's JSON-RPC id (`None` inside a batch's shared context).
    pub(crate) id: Option<RequestId>,
    /// A modern (2026-07-28) request's per-request metadata; `None` for a request of a
    /// session (`initialize` era).
    pub(crate) modern: Option<Arc<crate::modern::Modern>>,
}

impl Ctx {
    /// The context of request `id` of `session`, whose related messages go to `related`.
    pub(crate) fn new(session: Arc<Downstream>, related: Outbox, id: Option<RequestId>) -> Ctx {
        Ctx {
            session,
            related,
            id,
            modern: None,
        }
    }
}

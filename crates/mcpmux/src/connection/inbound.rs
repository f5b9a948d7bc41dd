//! What arrives from the server: responses routed to their callers by id, the server's
//! requests answered (ping inline, the rest by the client's handlers in tasks of their own),
//! notifications routed to progress callbacks, the observer and subscribers.

use mcpmux_protocol::jsonrpc::METHOD_NOT_FOUND;
use mcpmux_protocol::{
    CancelledParams, Decoded, ErrorObject, Incoming, ProgressParams, RequestId, decode,
    encode_response, methods, scan_id,
};
use serde_json::value::RawValue;

use super::raw_result::{RawResult, span_of};
use super::task::Conn;
use super::{Command, Outcome};
use crate::error::Error;
use crate::notification::ServerNotification;
use crate::transport::{OutKind, Outgoing, StrayLog, Transport};

impl Conn {
    pub(super) fn on_message_bytes(&mut self, bytes: bytes::Bytes, transport: &mut Transport) {
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
                self.stray_log.line(&self.settings.name, || {
                    format!(
                        "ignoring a message that is not JSON-RPC ({e}): {}",
                        StrayLog::preview(&bytes)
                    )
                });
            }
        }
    }

    /// Hands `frame[range]`, the result of request `id`, to its caller (no copy).
    fn on_result(
        &mut self,
        id: Option<u64>,
        frame: bytes::Bytes,
        range: std::ops::Range<usize>,
        checked: bool,
    ) {
        let Some(p) = id.and_then(|id| self.take_pending(id)) else {
            tracing::debug!(server = %self.settings.name, ?id, "response for an unknown request id");
            return;
        };
        let _ = p.reply.send(Outcome::Ok(RawResult::Frame {
            frame,
            range,
            checked,
        }));
    }

    pub(super) fn on_oversized(&mut self, prefix: &[u8], len: usize) {
        let max = self.settings.max_message_size;
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
                server = %self.settings.name,
                "dropped a {len}-byte message over the {max}-byte limit"
            ),
        }
    }

    fn on_message(&mut self, msg: Incoming<'_>, transport: &mut Transport) {
        match msg {
            Incoming::Response { id, result } => {
                let Some(p) = id.as_u64().and_then(|id| self.take_pending(id)) else {
                    tracing::debug!(server = %self.settings.name, %id, "response for an unknown request id");
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
                self.observer.notified(&method);
                if self.notifications.receiver_count() > 0 {
                    let n = ServerNotification::parse(&method, params);
                    let _ = self.notifications.send(n);
                }
            }
            Incoming::OrphanError(err) => {
                tracing::warn!(server = %self.settings.name, "server reported an error without an id: {err}");
            }
        }
    }

    /// A new HTTP session replaced an expired one: re-send the user's session state. The
    /// answers are not awaited (they arrive for ids nobody waits on and are dropped).
    pub(super) fn restore_session(&mut self, transport: &mut Transport) {
        for (method, params) in self.observer.session_renewed() {
            let id = self
                .shared
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
        let handlers = &self.settings.handlers;
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
}

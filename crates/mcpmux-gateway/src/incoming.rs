//! What the gateway does with one message (or batch) from a client, whatever transport brought
//! it: each request runs in its own task of the session's [`InFlight`] (a `notifications/cancelled`
//! aborts it), its answer goes to the outbox the transport gave for the message; a batch's
//! answers go there together as one array.

use std::sync::Arc;

use mcpmux_protocol::RequestId;
use serde_json::Value;

use crate::Gateway;
use crate::inflight::{InFlight, TaskNo};
use crate::message::{self, Line, Message};
use crate::session::{Ctx, Downstream, Outbox};

/// What became of a message.
#[derive(Debug, Default)]
pub(crate) struct Handled {
    /// Something was or will be sent to the outbox (false: notifications and responses only).
    pub(crate) answers: bool,
    /// The tasks started (their answers are still to come).
    pub(crate) tasks: Vec<TaskNo>,
}

/// One session's requests as the transports see them: the client, its running requests.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// The session as the request handlers see it.
    pub(crate) session: Arc<Downstream>,
    /// Its running requests.
    pub(crate) inflight: Arc<InFlight>,
}

impl Client {
    /// A client of `gateway` whose unrelated messages go to `outbox`, running at most `limit`
    /// requests at once (unlimited: `None`).
    pub(crate) fn new(gateway: &Gateway, outbox: Outbox, limit: Option<usize>) -> Client {
        Client {
            session: gateway.open_session(outbox),
            inflight: InFlight::new(limit),
        }
    }

    /// Ends the client: its requests are cancelled, the gateway's requests waiting for its
    /// answers fail.
    pub(crate) fn end(&self) {
        self.session.close();
        self.inflight.cancel_all();
    }

    /// Handles one message (or batch) from the client; the answers go to `related`.
    pub(crate) fn accept(&self, gateway: &Gateway, line: Line, related: &Outbox) -> Handled {
        match line {
            Line::Single(Message::Request { id, method, params }) => Handled {
                answers: true,
                tasks: vec![self.request(gateway, id, method, params, related.clone())],
            },
            Line::Single(Message::Notification { method, params }) => {
                self.notification(&method, &params);
                Handled::default()
            }
            Line::Single(Message::Response { id, result }) => {
                self.session.answer(&id, result);
                Handled::default()
            }
            Line::Single(Message::Invalid { id, error }) => Handled {
                answers: related.send(message::response(id.as_ref(), Err(error))),
                tasks: Vec::new(),
            },
            Line::Batch(messages) => self.batch(gateway, messages, related),
        }
    }

    /// Starts one request: its answer goes to `related`.
    fn request(
        &self,
        gateway: &Gateway,
        id: RequestId,
        method: String,
        params: Value,
        related: Outbox,
    ) -> TaskNo {
        let gateway = gateway.clone();
        let ctx = Ctx::new(self.session.clone(), related, Some(id.clone()));
        let inflight = self.inflight.clone();
        let (no, _) = self.inflight.spawn(Some(id.clone()), async move {
            let _permit = inflight.permit().await;
            let result = crate::dispatch::request(&gateway, &ctx, &method, params).await;
            ctx.related.send(message::answer(&id, &result));
        });
        no
    }

    /// A batch: notifications now; each request in its own task (so that it can be cancelled
    /// alone); their answers, and the errors of invalid members, as one array once all are
    /// done (a cancelled request has none). Nothing is sent for notifications only.
    fn batch(&self, gateway: &Gateway, messages: Vec<Message>, related: &Outbox) -> Handled {
        let mut errors = Vec::new();
        let mut answers = Vec::new();
        let mut tasks = Vec::new();
        for m in messages {
            match m {
                Message::Request { id, method, params } => {
                    // Each member's answer comes back to the collector through its own outbox.
                    let (outbox, mut rx) = Outbox::new();
                    let relay = related.clone();
                    tasks.push(self.request(gateway, id, method, params, outbox));
                    answers.push(async move {
                        // Messages related to the request (progress, ...) go on at once; the
                        // response waits for the others'.
                        let mut response = None;
                        while let Some(m) = rx.recv().await {
                            if is_response(&m) {
                                response = Some(m);
                            } else {
                                relay.send(m);
                            }
                        }
                        response
                    });
                }
                Message::Notification { method, params } => self.notification(&method, &params),
                Message::Response { id, result } => {
                    self.session.answer(&id, result);
                }
                Message::Invalid { id, error } => {
                    errors.push(message::response(id.as_ref(), Err(error)));
                }
            }
        }
        if answers.is_empty() && errors.is_empty() {
            return Handled::default();
        }
        let related = related.clone();
        let (collector, _) = self.inflight.spawn(None, async move {
            let answers = futures_util::future::join_all(answers).await;
            let all: Vec<Vec<u8>> = errors
                .into_iter()
                .chain(answers.into_iter().flatten())
                .collect();
            // Every request cancelled and no error: nothing to say.
            if !all.is_empty() {
                related.send(join_array(all.into_iter()));
            }
        });
        tasks.push(collector);
        Handled {
            answers: true,
            tasks,
        }
    }

    /// A notification from the client: `notifications/cancelled` cancels its request; the
    /// others (`notifications/initialized`, ...) need nothing.
    fn notification(&self, method: &str, params: &Value) {
        if method == "notifications/cancelled" {
            let id = params
                .get("requestId")
                .and_then(|v| serde_json::from_value::<RequestId>(v.clone()).ok());
            if let Some(id) = id {
                self.inflight.cancel(&id);
            }
        }
    }
}

/// Whether an encoded message is a response (or a batch of them) rather than a request or a
/// notification.
pub(crate) fn is_response(encoded: &[u8]) -> bool {
    // The single-pass envelope decoder: no tree is built (this runs for every message sent).
    match mcpmux_protocol::decode(encoded) {
        Ok(mcpmux_protocol::Decoded::Batch(_)) => true,
        Ok(mcpmux_protocol::Decoded::Single(m)) => !matches!(
            m,
            mcpmux_protocol::Incoming::Request { .. }
                | mcpmux_protocol::Incoming::Notification { .. }
        ),
        Err(_) => match serde_json::from_slice::<Value>(encoded) {
            Ok(Value::Array(_)) => true,
            Ok(Value::Object(m)) => !m.contains_key("method"),
            _ => false,
        },
    }
}

/// Response lines joined into one JSON array line.
fn join_array(lines: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = vec![b'['];
    for (i, mut line) in lines.filter(|l| !l.is_empty()).enumerate() {
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&line);
    }
    out.extend_from_slice(b"]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_told_from_requests() {
        assert!(is_response(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#));
        assert!(is_response(br#"[{"jsonrpc":"2.0","id":1,"result":{}}]"#));
        assert!(!is_response(
            br#"{"jsonrpc":"2.0","method":"notifications/progress"}"#
        ));
        assert!(!is_response(b"not json"));
    }

    #[test]
    fn arrays_join_lines() {
        let lines = vec![b"{\"a\":1}\n".to_vec(), Vec::new(), b"{\"b\":2}\n".to_vec()];
        assert_eq!(join_array(lines.into_iter()), b"[{\"a\":1},{\"b\":2}]\n");
    }
}

//! Which downstream client is running what on each upstream, and the relay of an upstream's
//! requests to the client (sampling, elicitation) to the downstream client whose call is
//! running there.
//!
//! MCP's wire does not say which request a server's `sampling/createMessage` belongs to (on
//! stdio nothing links them), so the relay goes by what runs: the request goes to the client
//! that has calls in flight on that upstream, over the stream of its latest such call. When
//! calls of several clients run there at once the request is refused rather than shown to a
//! client it may not belong to; when none runs, it is refused too.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use mcpmux::{ElicitationHandler, HandlerFuture, SamplingHandler, ServerBuilder};
use mcpmux_protocol::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND};
use mcpmux_protocol::{
    CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult, ErrorObject,
};
use serde_json::Value;

use crate::modern::Modern;
use crate::session::{Ctx, Downstream, Outbox};

/// Relays upstream servers' requests to the client (sampling, elicitation) to the downstream
/// client whose call is running on that upstream. Cheap to clone; give the same relay to
/// every upstream's builder ([`Relay::install`]) and to the gateway
/// ([`Gateway::with_relay`](crate::Gateway::with_relay)).
///
/// # Examples
///
/// ```no_run
/// use mcpmux::{Server, Toolset};
/// use mcpmux_gateway::{Gateway, Prefix, Relay};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let relay = Relay::new();
/// let server = relay.install("llm-tools", Server::stdio("llm-tools-server")).build()?;
/// let toolset = Toolset::builder().server("llm-tools", server).build().await?;
/// let gateway = Gateway::with_relay(toolset, Prefix::Always, relay).await?;
/// gateway.serve_stdio().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Relay {
    pub(crate) running: Arc<Running>,
}

impl Relay {
    /// A relay with nothing running.
    pub fn new() -> Relay {
        Relay::default()
    }

    /// `builder` with this relay's sampling and elicitation handlers for upstream `server`
    /// (the name the toolset knows it by).
    pub fn install(&self, server: &str, builder: ServerBuilder) -> ServerBuilder {
        builder
            .sampling(Handler {
                relay: self.clone(),
                server: server.to_owned(),
            })
            .elicitation(Handler {
                relay: self.clone(),
                server: server.to_owned(),
            })
    }

    /// Sends `method` from upstream `server` to the one downstream client running calls there.
    async fn forward(
        &self,
        server: &str,
        method: &str,
        params: Value,
    ) -> Result<Value, ErrorObject> {
        // Inside the call's own task (a modern upstream's input requests, answered by the
        // library's round-trip loop) the call is known exactly; else it is the one client with
        // calls running there.
        let call = match CURRENT.try_with(|c| (c.server == server).then(|| c.call.clone())) {
            Ok(Some(call)) => call,
            _ => self.running.client_of(server)?,
        };
        let caps = match &call.modern {
            Some(m) => m.capabilities.clone(),
            None => call.session.negotiated().capabilities,
        };
        let supported = match method {
            "sampling/createMessage" => caps.sampling.is_some(),
            "elicitation/create" => {
                let url = params.get("mode").and_then(Value::as_str) == Some("url");
                match &caps.elicitation {
                    // An empty `elicitation` object means form mode (2025-06-18 clients).
                    Some(e) if url => e.get("url").is_some(),
                    Some(_) => true,
                    None => false,
                }
            }
            _ => false,
        };
        if !supported {
            return Err(ErrorObject::new(
                METHOD_NOT_FOUND,
                format!("the client behind the gateway does not support {method}"),
            ));
        }
        match &call.modern {
            None => call.session.request(&call.related, method, &params).await,
            Some(m) => match m.inputs() {
                Some(inputs) => crate::mrtr::ask(&inputs, method, params).await,
                None => Err(ErrorObject::new(
                    INTERNAL_ERROR,
                    format!(
                        "the client's request cannot carry {method} (not a tools/call, prompts/get or resources/read)"
                    ),
                )),
            },
        }
    }
}

/// The sampling and elicitation handler of one upstream.
struct Handler {
    relay: Relay,
    server: String,
}

fn encode<T: serde::Serialize>(params: &T) -> Result<Value, ErrorObject> {
    serde_json::to_value(params)
        .map_err(|e| ErrorObject::new(INTERNAL_ERROR, format!("cannot encode the request: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(method: &str, v: Value) -> Result<T, ErrorObject> {
    serde_json::from_value(v).map_err(|e| {
        ErrorObject::new(
            INVALID_PARAMS,
            format!("the client's answer to {method} is invalid: {e}"),
        )
    })
}

impl SamplingHandler for Handler {
    fn create_message(&self, params: CreateMessageParams) -> HandlerFuture<CreateMessageResult> {
        let relay = self.relay.clone();
        let server = self.server.clone();
        Box::pin(async move {
            const METHOD: &str = "sampling/createMessage";
            let answer = relay.forward(&server, METHOD, encode(&params)?).await?;
            decode(METHOD, answer)
        })
    }
}

impl ElicitationHandler for Handler {
    fn elicit(&self, params: ElicitParams) -> HandlerFuture<ElicitResult> {
        let relay = self.relay.clone();
        let server = self.server.clone();
        Box::pin(async move {
            const METHOD: &str = "elicitation/create";
            let answer = relay.forward(&server, METHOD, encode(&params)?).await?;
            decode(METHOD, answer)
        })
    }

    fn supports_url_mode(&self) -> bool {
        // Whether the client behind supports it is checked per request.
        true
    }
}

/// One downstream call running on an upstream.
#[derive(Debug)]
struct Call {
    session: Weak<Downstream>,
    related: Outbox,
    modern: Option<Arc<Modern>>,
}

tokio::task_local! {
    /// The downstream call whose upstream request this task is running.
    static CURRENT: Current;
}

/// The call a task runs, and on which upstream.
#[derive(Debug, Clone)]
struct Current {
    server: String,
    call: CallView,
}

/// Runs `fut` (an upstream request of the call `ctx` on `server`) knowing its call: requests
/// for input the upstream makes from inside it go to that call's client.
pub(crate) async fn scoped<F: std::future::Future>(server: &str, ctx: &Ctx, fut: F) -> F::Output {
    let current = Current {
        server: server.to_owned(),
        call: CallView {
            session: ctx.session.clone(),
            related: ctx.related.clone(),
            modern: ctx.modern.clone(),
        },
    };
    CURRENT.scope(current, fut).await
}

/// A call running on an upstream, as the relay and log routing see it.
#[derive(Debug, Clone)]
pub(crate) struct CallView {
    pub(crate) session: Arc<Downstream>,
    /// Where messages related to the call go.
    pub(crate) related: Outbox,
    /// A modern request's metadata.
    pub(crate) modern: Option<Arc<Modern>>,
}

/// The calls running on each upstream, by server name.
#[derive(Debug, Default)]
pub(crate) struct Running {
    /// Per server, by sequence number (a map, not a list: with a thousand calls running, ending
    /// one must not scan the others).
    calls: Mutex<HashMap<String, BTreeMap<u64, Call>>>,
    seq: AtomicU64,
}

impl Running {
    /// Records a call of `session` running on `server` until the returned entry is dropped.
    pub(crate) fn enter(self: &Arc<Self>, server: &str, ctx: &Ctx) -> Entry {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let call = Call {
            session: Arc::downgrade(&ctx.session),
            related: ctx.related.clone(),
            modern: ctx.modern.clone(),
        };
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        match calls.get_mut(server) {
            Some(running) => {
                running.insert(seq, call);
            }
            None => {
                calls.insert(server.to_owned(), BTreeMap::from([(seq, call)]));
            }
        }
        drop(calls);
        Entry {
            running: self.clone(),
            server: server.to_owned(),
            seq,
        }
    }

    /// The calls running on `server`, newest first.
    pub(crate) fn calls_on(&self, server: &str) -> Vec<CallView> {
        let calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls
            .get(server)
            .into_iter()
            .flat_map(BTreeMap::values)
            .rev()
            .filter_map(|c| {
                Some(CallView {
                    session: c.session.upgrade()?,
                    related: c.related.clone(),
                    modern: c.modern.clone(),
                })
            })
            .collect()
    }

    /// The sessions with calls running on `server`, each with its latest call.
    pub(crate) fn clients_of(&self, server: &str) -> Vec<CallView> {
        let mut found: Vec<CallView> = Vec::new();
        for call in self.calls_on(server) {
            if !found.iter().any(|f| Arc::ptr_eq(&f.session, &call.session)) {
                found.push(call);
            }
        }
        found
    }

    /// The latest call of the one session with calls running on `server`.
    fn client_of(&self, server: &str) -> Result<CallView, ErrorObject> {
        let mut clients = self.clients_of(server);
        match clients.len() {
            1 => Ok(clients.remove(0)),
            0 => Err(ErrorObject::new(
                INTERNAL_ERROR,
                format!("no client call is running on server `{server}` to relay this request to"),
            )),
            n => Err(ErrorObject::new(
                INTERNAL_ERROR,
                format!(
                    "{n} clients have calls running on server `{server}`: the gateway cannot \
                     tell which one this request is for"
                ),
            )),
        }
    }
}

/// A running call's record; dropping it forgets the call.
#[derive(Debug)]
pub(crate) struct Entry {
    running: Arc<Running>,
    server: String,
    seq: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        let mut calls = self
            .running
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = calls.get_mut(&self.server) {
            list.remove(&self.seq);
            if list.is_empty() {
                calls.remove(&self.server);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_call_of_each_client_is_found_and_forgotten_when_done() {
        let running = Arc::new(Running::default());
        let (a_out, _a_rx) = Outbox::new();
        let (b_out, _b_rx) = Outbox::new();
        let a = Downstream::new(a_out.clone());
        let b = Downstream::new(b_out.clone());
        assert!(running.client_of("s").is_err());
        let ctx_a = Ctx::new(a.clone(), a_out.clone(), None);
        let ctx_b = Ctx::new(b.clone(), b_out.clone(), None);
        let first = running.enter("s", &ctx_a);
        assert!(running.client_of("s").is_ok());
        let second = running.enter("s", &ctx_a);
        assert_eq!(running.clients_of("s").len(), 1);
        let other = running.enter("s", &ctx_b);
        let err = running
            .client_of("s")
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(err.contains("2 clients"), "{err}");
        drop(other);
        drop(first);
        drop(second);
        assert!(running.clients_of("s").is_empty());
        assert!(running.calls.lock().map(|c| c.is_empty()).unwrap_or(false));
    }
}

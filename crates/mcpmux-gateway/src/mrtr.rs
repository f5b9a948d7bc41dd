//! Multi-round-trip requests (2026-07-28) for modern clients: `tools/call`, `prompts/get` and
//! `resources/read`, whose answer may be `resultType: "input_required"`.
//!
//! - A **modern upstream** answers `input_required` itself: the gateway passes it on with the
//!   upstream's input requests (keys and all) and its own sealed `requestState` wrapping the
//!   upstream's; the retry goes back to that upstream with the upstream's state.
//! - An **upstream on sessions** asks with server requests while the call runs (sampling,
//!   elicitation): the call is parked in the gateway, its requests go to the client as input
//!   requests, and the retry's `inputResponses` answer them; the call then goes on. Parked
//!   calls expire with their state.

use std::collections::HashMap;
use std::future::IntoFuture as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use mcpmux_protocol::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS};
use mcpmux_protocol::stateless::META_CLIENT_CAPABILITIES;
use mcpmux_protocol::{ErrorObject, ProgressParams, ProtocolVersion, RequestId};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::Gateway;
use crate::catalog::{self, Want};
use crate::dispatch::chain;
use crate::modern::META_LOG_LEVEL;
use crate::session::Ctx;
use crate::state::{STATE_TTL_SECS, Sealed, now_secs};

/// A session upstream's request for input, waiting for the modern client's answer.
#[derive(Debug)]
pub(crate) struct InputNeeded {
    method: String,
    params: Value,
    reply: oneshot::Sender<Result<Value, ErrorObject>>,
}

/// Asks the modern client whose call is running for `method` (as an input request of the
/// call's result) and waits for its answer in the retry.
///
/// # Errors
/// The call ended (the client never retried, or the state expired).
pub(crate) async fn ask(
    inputs: &mpsc::UnboundedSender<InputNeeded>,
    method: &str,
    params: Value,
) -> Result<Value, ErrorObject> {
    let (reply, answer) = oneshot::channel();
    let need = InputNeeded {
        method: method.to_owned(),
        params,
        reply,
    };
    if inputs.send(need).is_err() {
        return Err(ErrorObject::new(
            INTERNAL_ERROR,
            "the client's request has ended",
        ));
    }
    answer.await.unwrap_or_else(|_| {
        Err(ErrorObject::new(
            INTERNAL_ERROR,
            "the client did not answer the input request",
        ))
    })
}

/// A call parked while its client gathers input.
#[derive(Debug)]
struct Parked {
    task: Abort<Result<Value, ErrorObject>>,
    inputs: mpsc::UnboundedReceiver<InputNeeded>,
    /// Input requests sent to the client, by key, not yet answered.
    waiting: Vec<(String, InputNeeded)>,
    expires: u64,
}

/// A task aborted when dropped.
#[derive(Debug)]
struct Abort<T>(JoinHandle<T>);

impl<T> Drop for Abort<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The calls parked in this gateway, by id.
#[derive(Debug, Default)]
pub(crate) struct ParkedCalls {
    calls: Mutex<HashMap<String, Parked>>,
    next: AtomicU64,
}

impl ParkedCalls {
    fn put(&self, parked: Parked) -> String {
        let id = format!(
            "{}-{:032x}",
            self.next.fetch_add(1, Ordering::Relaxed),
            rand::random::<u128>()
        );
        let now = now_secs();
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        // Expired calls go (their tasks are aborted, cancelling the upstream calls).
        calls.retain(|_, p| p.expires >= now);
        calls.insert(id.clone(), parked);
        id
    }

    fn take(&self, id: &str) -> Option<Parked> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }
}

fn invalid(message: impl Into<String>) -> ErrorObject {
    ErrorObject::new(INVALID_PARAMS, message)
}

/// The request's target: the tool or prompt name, or the resource URI.
fn target_of(method: &str, params: &Value) -> Result<String, ErrorObject> {
    let key = if method == "resources/read" {
        "uri"
    } else {
        "name"
    };
    params
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| invalid(format!("{method} needs a string `{key}`")))
}

/// The upstream that owns the target, and the params to send it (its own name or URI).
async fn route(
    gateway: &Gateway,
    method: &str,
    target: &str,
    mut params: Value,
) -> Result<(String, Value), ErrorObject> {
    let (server, upstream) = match method {
        "tools/call" => {
            let found = match gateway.current_map().get(target) {
                Some(e) => Some(e.clone()),
                None => gateway.refreshed_map().await.get(target).cloned(),
            };
            let e = found.ok_or_else(|| {
                invalid(format!(
                    "unknown tool: `{target}` (tools/list shows the tools offered)"
                ))
            })?;
            (e.server.clone(), e.upstream.clone())
        }
        "prompts/get" => {
            let found = match gateway.last_catalog().route_prompt(target) {
                Some(f) => Some(f),
                None => gateway.catalog(&[Want::Prompts]).await.route_prompt(target),
            };
            found.ok_or_else(|| {
                invalid(format!(
                    "unknown prompt: `{target}` (prompts/list shows the prompts offered)"
                ))
            })?
        }
        _ => crate::forward::owner(gateway, target)
            .await
            .ok_or_else(|| {
                let mut e = invalid(format!("resource not found: `{target}`"));
                e.data = Some(json!({ "uri": target }));
                e
            })?,
    };
    let key = if method == "resources/read" {
        "uri"
    } else {
        "name"
    };
    params[key] = Value::String(upstream);
    Ok((server, params))
}

/// Forwards a modern client's `tools/call`, `prompts/get` or `resources/read`.
pub(crate) async fn forward(
    gateway: &Gateway,
    ctx: &Ctx,
    method: &str,
    params: Value,
) -> Result<Value, ErrorObject> {
    let target = target_of(method, &params)?;
    let sealed = match params.get("requestState") {
        None => None,
        Some(Value::String(s)) => {
            let sealed = gateway.sealer().open(s).map_err(invalid)?;
            if sealed.method != method || sealed.target != target {
                return Err(invalid("requestState belongs to another request"));
            }
            Some(sealed)
        }
        Some(_) => return Err(invalid("requestState must be a string")),
    };
    if let Some(Sealed {
        parked: Some(id), ..
    }) = &sealed
    {
        let parked = gateway
            .inner
            .parked
            .take(id)
            .ok_or_else(|| invalid("requestState names a call that has ended or expired"))?;
        let responses = params.get("inputResponses").cloned();
        let server = sealed
            .as_ref()
            .map(|s| s.server.clone())
            .unwrap_or_default();
        return resume(gateway, &server, method, &target, parked, responses).await;
    }
    let (server, mut upstream_params) = route(gateway, method, &target, params).await?;
    if let Some(s) = &sealed
        && s.server != server
    {
        return Err(invalid("requestState belongs to another server"));
    }
    // The upstream's own state goes back to it; ours stays here.
    if let Value::Object(m) = &mut upstream_params {
        m.remove("requestState");
        if let Some(inner) = sealed.and_then(|s| s.inner) {
            m.insert("requestState".into(), inner);
        }
    }
    let progress = strip_meta(&mut upstream_params);
    let guard = catalog::upstream(gateway, &server)
        .await
        .map_err(|why| ErrorObject::new(INTERNAL_ERROR, why))?;
    if guard.protocol_version() == ProtocolVersion::STATELESS {
        let _running = gateway.inner.relay.running.enter(&server, ctx);
        let mut request = guard
            .request_raw(method, Some(&upstream_params))
            .input_required_to_caller();
        if let Some(m) = &ctx.modern {
            let caps = serde_json::to_value(&m.capabilities).unwrap_or_else(|_| json!({}));
            request = request.meta(META_CLIENT_CAPABILITIES, caps);
            if let Some(level) = m.log_level {
                request = request.meta(
                    META_LOG_LEVEL,
                    serde_json::to_value(level).unwrap_or(Value::Null),
                );
            }
        }
        if let Some(token) = progress {
            let related = ctx.related.clone();
            request = request.on_progress(move |p: ProgressParams| {
                related.notify(
                    "notifications/progress",
                    Some(&ProgressParams {
                        progress_token: token.clone(),
                        ..p
                    }),
                );
            });
        }
        let answer = request.await;
        let mut result = match answer {
            Ok(raw) => serde_json::from_str::<Value>(raw.get()).map_err(|e| {
                ErrorObject::new(
                    INTERNAL_ERROR,
                    format!("server `{server}` answered {method} with invalid JSON: {e}"),
                )
            })?,
            Err(e) => return upstream_failure(&server, method, &target, &e),
        };
        crate::tasks::note_result(gateway, &server, &result);
        if result.get("resultType").and_then(Value::as_str) == Some("input_required") {
            let inner = result.get("requestState").cloned();
            let state = gateway.sealer().seal(&Sealed {
                server: server.clone(),
                method: method.to_owned(),
                target: target.clone(),
                inner,
                parked: None,
                expires: now_secs() + STATE_TTL_SECS,
            });
            result["requestState"] = Value::String(state);
        }
        return Ok(result);
    }
    // An upstream on sessions: the call runs in a task of its own, so it can wait for input.
    let (tx, inputs) = mpsc::unbounded_channel();
    let modern = ctx.modern.clone();
    if let Some(m) = &modern {
        *m.inputs.lock().unwrap_or_else(PoisonError::into_inner) = Some(tx);
    }
    let task = {
        let ctx = ctx.clone();
        let server = server.clone();
        let method = method.to_owned();
        let target = target.clone();
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let _running = gateway.inner.relay.running.enter(&server, &ctx);
            let mut request = guard.request_raw(&method, Some(&upstream_params));
            if let Some(token) = progress {
                let related = ctx.related.clone();
                request = request.on_progress(move |p: ProgressParams| {
                    related.notify(
                        "notifications/progress",
                        Some(&ProgressParams {
                            progress_token: token.clone(),
                            ..p
                        }),
                    );
                });
            }
            match crate::relay::scoped(&server, &ctx, request.into_future()).await {
                Ok(raw) => serde_json::from_str::<Value>(raw.get()).map_err(|e| {
                    ErrorObject::new(
                        INTERNAL_ERROR,
                        format!("server `{server}` answered {method} with invalid JSON: {e}"),
                    )
                }),
                Err(e) => upstream_failure(&server, &method, &target, &e),
            }
        })
    };
    let parked = Parked {
        task: Abort(task),
        inputs,
        waiting: Vec::new(),
        expires: now_secs() + STATE_TTL_SECS,
    };
    drive(gateway, &server, method, &target, parked).await
}

/// Removes the modern `_meta` keys the gateway sets per upstream request itself, and the
/// client's progress token (the upstream gets one of the gateway's); returns that token.
fn strip_meta(params: &mut Value) -> Option<RequestId> {
    let Some(Value::Object(meta)) = params.get_mut("_meta") else {
        return None;
    };
    meta.retain(|k, _| !k.starts_with("io.modelcontextprotocol/"));
    let token = meta
        .remove("progressToken")
        .and_then(|t| serde_json::from_value(t).ok());
    if meta.is_empty()
        && let Value::Object(p) = params
    {
        p.remove("_meta");
    }
    token
}

/// An upstream failure: a tool error naming the server for `tools/call`; the upstream's own
/// error otherwise.
fn upstream_failure(
    server: &str,
    method: &str,
    target: &str,
    e: &mcpmux::Error,
) -> Result<Value, ErrorObject> {
    if let Some(rpc) = e.rpc_error() {
        return Err(rpc.clone());
    }
    if method == "tools/call" {
        return Ok(json!({
            "content": [{"type": "text", "text": format!("server `{server}` could not run tool `{target}`: {}", chain(e))}],
            "isError": true,
        }));
    }
    Err(ErrorObject::new(
        INTERNAL_ERROR,
        format!("server `{server}`: {}", chain(e)),
    ))
}

/// How long to gather input requests that arrive together before answering.
const GATHER: Duration = Duration::from_millis(20);

/// Runs a parked call until it completes or needs input; then parks it and answers
/// `input_required`.
async fn drive(
    gateway: &Gateway,
    server: &str,
    method: &str,
    target: &str,
    mut parked: Parked,
) -> Result<Value, ErrorObject> {
    if parked.waiting.is_empty() {
        tokio::select! {
            biased;
            done = &mut parked.task.0 => {
                return done.unwrap_or_else(|e| Err(ErrorObject::new(
                    INTERNAL_ERROR,
                    format!("the call to server `{server}` failed: {e}"),
                )));
            }
            need = parked.inputs.recv() => {
                let Some(need) = need else {
                    // Nothing can ask any more: the call is ending; its answer is the result.
                    return (&mut parked.task.0).await.unwrap_or_else(|e| Err(ErrorObject::new(
                        INTERNAL_ERROR,
                        format!("the call to server `{server}` failed: {e}"),
                    )));
                };
                parked.waiting.push((key_for(&parked, &need), need));
                // Requests the upstream sends together go to the client together.
                tokio::time::sleep(GATHER).await;
                while let Ok(more) = parked.inputs.try_recv() {
                    let key = key_for(&parked, &more);
                    parked.waiting.push((key, more));
                }
            }
        }
    }
    let mut requests = Map::new();
    for (key, need) in &parked.waiting {
        requests.insert(
            key.clone(),
            json!({"method": need.method, "params": need.params}),
        );
    }
    parked.expires = now_secs() + STATE_TTL_SECS;
    let expires = parked.expires;
    let id = gateway.inner.parked.put(parked);
    let state = gateway.sealer().seal(&Sealed {
        server: server.to_owned(),
        method: method.to_owned(),
        target: target.to_owned(),
        inner: None,
        parked: Some(id),
        expires,
    });
    Ok(json!({
        "resultType": "input_required",
        "inputRequests": requests,
        "requestState": state,
    }))
}

/// A key for an input request, unique within the call.
fn key_for(parked: &Parked, need: &InputNeeded) -> String {
    let kind = match need.method.as_str() {
        "sampling/createMessage" => "sampling",
        "elicitation/create" => "elicitation",
        "roots/list" => "roots",
        _ => "input",
    };
    let n = parked.waiting.len() + 1;
    format!("{kind}-{n}")
}

/// A retry of a parked call: its answers go to the requests waiting for them; what is still
/// unanswered is asked again.
async fn resume(
    gateway: &Gateway,
    server: &str,
    method: &str,
    target: &str,
    mut parked: Parked,
    responses: Option<Value>,
) -> Result<Value, ErrorObject> {
    let mut responses = match responses {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let waiting = std::mem::take(&mut parked.waiting);
    for (key, need) in waiting {
        match responses.remove(&key) {
            Some(answer) => {
                let _ = need.reply.send(Ok(answer));
            }
            None => parked.waiting.push((key, need)),
        }
    }
    drive(gateway, server, method, target, parked).await
}

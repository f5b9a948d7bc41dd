//! The tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`, 2026-07-28) through the
//! gateway: a `tools/call` answered with a task (`resultType: "task"`) records which upstream
//! owns the task id; `tasks/get`, `tasks/update` and `tasks/cancel` go to that upstream, with
//! the client's capabilities (an upstream checks that the client declared the extension).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use mcpmux_protocol::ErrorObject;
use mcpmux_protocol::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS};
use mcpmux_protocol::stateless::META_CLIENT_CAPABILITIES;
use serde_json::{Value, json};

use crate::Gateway;
use crate::catalog;
use crate::dispatch::chain;
use crate::session::Ctx;

/// The extension's identifier in `capabilities.extensions`.
pub(crate) const EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// How long a task id is remembered after it was last seen.
const KEEP: Duration = Duration::from_secs(24 * 60 * 60);

/// Which upstream owns each task id the gateway has handed out.
#[derive(Debug, Default)]
pub(crate) struct Owners {
    by_id: Mutex<HashMap<String, (String, Instant)>>,
}

impl Owners {
    /// Task `id` belongs to upstream `server`.
    pub(crate) fn record(&self, id: &str, server: &str) {
        let now = Instant::now();
        let mut map = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, (_, seen)| now.duration_since(*seen) < KEEP);
        map.insert(id.to_owned(), (server.to_owned(), now));
    }

    fn owner(&self, id: &str) -> Option<String> {
        let mut map = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = map.get_mut(id)?;
        entry.1 = Instant::now();
        Some(entry.0.clone())
    }
}

/// Records the task a result hands out, if it is one.
pub(crate) fn note_result(gateway: &Gateway, server: &str, result: &Value) {
    if result.get("resultType").and_then(Value::as_str) == Some("task")
        && let Some(id) = result.get("taskId").and_then(Value::as_str)
    {
        gateway.inner.tasks.record(id, server);
    }
}

/// Forwards `tasks/get`, `tasks/update` or `tasks/cancel` to the task's upstream (an unknown id
/// goes to the one upstream offering tasks, which answers for it; with several it is unknown).
pub(crate) async fn forward(
    gateway: &Gateway,
    ctx: &Ctx,
    method: &str,
    params: Value,
) -> Result<Value, ErrorObject> {
    let Some(id) = params
        .get("taskId")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Err(ErrorObject::new(
            INVALID_PARAMS,
            format!("{method} needs a string `taskId`"),
        ));
    };
    let server = match gateway.inner.tasks.owner(&id) {
        Some(server) => server,
        None => match offering(gateway, EXTENSION).await.as_slice() {
            [one] => one.clone(),
            _ => {
                let mut e = ErrorObject::new(INVALID_PARAMS, format!("unknown task: `{id}`"));
                e.data = Some(json!({ "taskId": id }));
                return Err(e);
            }
        },
    };
    send_to(gateway, ctx, &server, method, params).await
}

/// Sends a modern client's request to upstream `server` as it came (minus the per-request
/// `_meta` the connection sets itself, plus the client's capabilities): the raw result, or the
/// upstream's own error.
pub(crate) async fn send_to(
    gateway: &Gateway,
    ctx: &Ctx,
    server: &str,
    method: &str,
    mut params: Value,
) -> Result<Value, ErrorObject> {
    let guard = catalog::upstream(gateway, server)
        .await
        .map_err(|why| ErrorObject::new(INTERNAL_ERROR, why))?;
    if let Some(Value::Object(meta)) = params.get_mut("_meta") {
        meta.retain(|k, _| !k.starts_with("io.modelcontextprotocol/"));
    }
    let mut request = guard
        .request_raw(method, Some(&params))
        .input_required_to_caller();
    if let Some(m) = &ctx.modern {
        let caps = serde_json::to_value(&m.capabilities).unwrap_or_else(|_| json!({}));
        request = request.meta(META_CLIENT_CAPABILITIES, caps);
    }
    match request.await {
        Ok(raw) => serde_json::from_str(raw.get()).map_err(|e| {
            ErrorObject::new(
                INTERNAL_ERROR,
                format!("server `{server}` answered {method} with invalid JSON: {e}"),
            )
        }),
        Err(e) => Err(match e.rpc_error() {
            Some(rpc) => rpc.clone(),
            None => ErrorObject::new(INTERNAL_ERROR, format!("server `{server}`: {}", chain(&e))),
        }),
    }
}

/// The live upstreams that offer extension `id`.
pub(crate) async fn offering(gateway: &Gateway, id: &str) -> Vec<String> {
    catalog::live_upstreams(gateway)
        .await
        .into_iter()
        .filter(|(_, g)| {
            g.initialize_result()
                .capabilities
                .extra
                .get("extensions")
                .and_then(|e| e.get(id))
                .is_some()
        })
        .map(|(name, _)| name)
        .collect()
}

/// The extensions the upstreams offer (each identifier once), for the gateway's capabilities.
pub(crate) fn upstream_extensions(gateway: &Gateway) -> serde_json::Map<String, Value> {
    let mut all = serde_json::Map::new();
    for name in gateway.toolset().server_names() {
        let Some(guard) = gateway.toolset().guard(name) else {
            continue;
        };
        if let Some(Value::Object(ext)) = guard
            .initialize_result()
            .capabilities
            .extra
            .get("extensions")
        {
            for (k, v) in ext {
                all.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    all
}

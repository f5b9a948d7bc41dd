//! Modern (2026-07-28) clients: no `initialize`; every request carries its protocol version,
//! the client's identity and capabilities in `_meta`. The gateway is dual-era: a request with
//! that `_meta` is served statelessly, `initialize` opens a session as before, on the same
//! endpoint. Here: version checks, `server/discover`, result decoration (`resultType`, caching
//! hints) and `subscriptions/listen`; multi-round-trip forwarding is in [`crate::mrtr`].

use std::sync::{Arc, Mutex, PoisonError};

use mcpmux_protocol::jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND};
use mcpmux_protocol::stateless::{
    DISCOVER, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, META_SERVER_INFO,
    UNSUPPORTED_PROTOCOL_VERSION,
};
use mcpmux_protocol::{ClientCapabilities, ErrorObject, LoggingLevel, RequestId};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::Gateway;
use crate::mrtr::InputNeeded;
use crate::session::{Ctx, Outbox};

/// The modern protocol version.
pub(crate) const MODERN: &str = "2026-07-28";

/// Every version the gateway speaks, newest first (`server/discover`, version errors).
pub(crate) const SUPPORTED: [&str; 5] = [
    MODERN,
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
];

/// `_meta` key of a request's log level.
pub(crate) const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key naming the subscription a notification belongs to.
const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// What a modern request says about its client.
#[derive(Debug, Default)]
pub(crate) struct Modern {
    /// The client's capabilities, for this request.
    pub(crate) capabilities: ClientCapabilities,
    /// The log level asked for (`None`: no log messages for this request).
    pub(crate) log_level: Option<LoggingLevel>,
    /// Where a session upstream's input requests for this call go (see [`crate::mrtr`]).
    pub(crate) inputs: Mutex<Option<mpsc::UnboundedSender<InputNeeded>>>,
}

impl Modern {
    /// The channel for input requests of this call.
    pub(crate) fn inputs(&self) -> Option<mpsc::UnboundedSender<InputNeeded>> {
        self.inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The modern metadata of a request: `None` when it has none (a session's request);
/// `Some(Err)` for a version the gateway does not serve statelessly.
pub(crate) fn classify(params: &Value) -> Option<Result<Modern, ErrorObject>> {
    let meta = params.get("_meta")?;
    let version = meta.get(META_PROTOCOL_VERSION)?;
    if version.as_str() != Some(MODERN) {
        return Some(Err(unsupported(version)));
    }
    let capabilities = meta
        .get(META_CLIENT_CAPABILITIES)
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let log_level = meta
        .get(META_LOG_LEVEL)
        .and_then(|l| serde_json::from_value(l.clone()).ok());
    Some(Ok(Modern {
        capabilities,
        log_level,
        inputs: Mutex::new(None),
    }))
}

/// `UnsupportedProtocolVersionError`, listing what the gateway supports.
fn unsupported(requested: &Value) -> ErrorObject {
    let mut e = ErrorObject::new(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version");
    e.data = Some(json!({ "supported": SUPPORTED, "requested": requested }));
    e
}

/// Answers a modern request.
pub(crate) async fn request(
    gateway: &Gateway,
    ctx: &Ctx,
    method: &str,
    params: Value,
) -> Result<Value, ErrorObject> {
    let result = match method {
        DISCOVER => discover(gateway),
        "tools/list" => cacheable(crate::tools::list(gateway).await?, "public"),
        "resources/list" => cacheable(crate::forward::resources_list(gateway).await?, "public"),
        "resources/templates/list" => {
            cacheable(crate::forward::templates_list(gateway).await?, "public")
        }
        "prompts/list" => cacheable(crate::forward::prompts_list(gateway).await?, "public"),
        "tools/call" | "prompts/get" | "resources/read" => {
            let retried =
                params.get("requestState").is_some() || params.get("inputResponses").is_some();
            let result = crate::mrtr::forward(gateway, ctx, method, params).await?;
            if method == "resources/read" && !retried && !is_input_required(&result) {
                cacheable(result, "private")
            } else {
                result
            }
        }
        "completion/complete" => crate::forward::complete(gateway, ctx, params).await?,
        "tasks/get" | "tasks/update" | "tasks/cancel" => {
            crate::tasks::forward(gateway, ctx, method, params).await?
        }
        "skills/list" | "skills/get" | "resources/directory/read" => {
            crate::skills::forward(gateway, ctx, method, params).await?
        }
        "subscriptions/listen" => return listen(gateway, ctx, params).await,
        "ping" => json!({}),
        other => {
            return Err(ErrorObject::new(
                METHOD_NOT_FOUND,
                format!("method not found: `{other}` (protocol version {MODERN})"),
            ));
        }
    };
    Ok(complete(result))
}

fn is_input_required(result: &Value) -> bool {
    result.get("resultType").and_then(Value::as_str) == Some("input_required")
}

/// `resultType: "complete"` on a result that has none.
fn complete(mut result: Value) -> Value {
    if let Value::Object(m) = &mut result {
        m.entry("resultType")
            .or_insert_with(|| Value::String("complete".into()));
    }
    result
}

/// Caching hints: the gateway's lists change whenever an upstream's do, so they are stale at
/// once (`ttlMs: 0`); clients that want to know when to re-read listen for list changes.
fn cacheable(mut result: Value, scope: &str) -> Value {
    if let Value::Object(m) = &mut result {
        m.entry("ttlMs").or_insert_with(|| json!(0));
        m.insert("cacheScope".into(), Value::String(scope.into()));
    }
    result
}

/// The capabilities the gateway offers to modern clients (as to sessions; subscriptions go
/// through `subscriptions/listen`), with the extensions its upstreams offer (tasks, skills).
pub(crate) fn capabilities(gateway: &Gateway) -> Value {
    let mut caps = json!({
        "tools": {"listChanged": true},
        "resources": {"subscribe": true, "listChanged": true},
        "prompts": {"listChanged": true},
        "logging": {},
        "completions": {},
    });
    let extensions = crate::tasks::upstream_extensions(gateway);
    if !extensions.is_empty() {
        caps["extensions"] = Value::Object(extensions);
    }
    caps
}

fn discover(gateway: &Gateway) -> Value {
    let mut meta = Map::new();
    meta.insert(
        META_SERVER_INFO.into(),
        json!({"name": "mcpmux", "version": env!("CARGO_PKG_VERSION")}),
    );
    cacheable(
        json!({
            "supportedVersions": SUPPORTED,
            "capabilities": capabilities(gateway),
            "_meta": meta,
        }),
        "public",
    )
}

/// One `subscriptions/listen` stream: which notifications, to where, under which id.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) id: RequestId,
    pub(crate) tools: bool,
    pub(crate) prompts: bool,
    pub(crate) resources: bool,
    pub(crate) outbox: Outbox,
}

impl Listener {
    /// Sends `method` (with `params`, if any) tagged with this subscription's id.
    pub(crate) fn notify(&self, method: &str, params: Option<Value>) {
        let mut params = match params {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let id = serde_json::to_value(&self.id).unwrap_or(Value::Null);
        params.insert("_meta".into(), json!({ META_SUBSCRIPTION_ID: id }));
        self.outbox.notify(method, Some(&Value::Object(params)));
    }

    /// Whether this stream asked for `method` (a list change).
    pub(crate) fn wants(&self, method: &str) -> bool {
        match method {
            "notifications/tools/list_changed" => self.tools,
            "notifications/prompts/list_changed" => self.prompts,
            "notifications/resources/list_changed" => self.resources,
            _ => false,
        }
    }
}

/// `subscriptions/listen`: acknowledges the filter, then delivers what it asked for until the
/// client cancels the request (or the session ends: then the request completes).
async fn listen(gateway: &Gateway, ctx: &Ctx, params: Value) -> Result<Value, ErrorObject> {
    let Some(id) = ctx.id.clone() else {
        return Err(ErrorObject::new(
            INVALID_PARAMS,
            "subscriptions/listen cannot run inside a batch",
        ));
    };
    let filter = params.get("notifications").cloned().unwrap_or(Value::Null);
    let flag = |k: &str| filter.get(k).and_then(Value::as_bool).unwrap_or(false);
    let uris: Vec<String> = filter
        .get("resourceSubscriptions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let listener = Arc::new(Listener {
        id: id.clone(),
        tools: flag("toolsListChanged"),
        prompts: flag("promptsListChanged"),
        resources: flag("resourcesListChanged"),
        outbox: ctx.related.clone(),
    });
    // The resources it can follow: those an upstream owns.
    let mut agreed_uris = Vec::new();
    let mut keys = Vec::new();
    for uri in &uris {
        let owner = crate::forward::owner(gateway, uri).await;
        if let Some((server, upstream_uri)) = owner {
            let key = (server, upstream_uri);
            if gateway.inner.subscriptions.add_listener(&key, &listener)
                && let Err(e) = crate::forward::subscribe_upstream(gateway, &key, true).await
            {
                tracing::warn!(server = %key.0, uri = %key.1, error = %e.message, "cannot subscribe upstream");
            }
            keys.push(key);
            agreed_uris.push(uri.clone());
        }
    }
    let mut agreed = Map::new();
    for (name, on) in [
        ("toolsListChanged", listener.tools),
        ("promptsListChanged", listener.prompts),
        ("resourcesListChanged", listener.resources),
    ] {
        if on {
            agreed.insert(name.into(), Value::Bool(true));
        }
    }
    if !agreed_uris.is_empty() {
        agreed.insert("resourceSubscriptions".into(), json!(agreed_uris));
    }
    listener.notify(
        "notifications/subscriptions/acknowledged",
        Some(json!({ "notifications": agreed })),
    );
    ctx.session.add_listener(&listener);
    // Until cancelled (this future is dropped) or the session ends.
    let _forget = ForgetListener {
        gateway: gateway.clone(),
        ctx: ctx.clone(),
        listener: listener.clone(),
        keys,
    };
    ctx.session.closed().await;
    let idv = serde_json::to_value(&id).unwrap_or(Value::Null);
    Ok(json!({"resultType": "complete", "_meta": { META_SUBSCRIPTION_ID: idv }}))
}

/// Removes a listener when its request ends; unsubscribes upstream resources nobody follows.
struct ForgetListener {
    gateway: Gateway,
    ctx: Ctx,
    listener: Arc<Listener>,
    keys: Vec<(String, String)>,
}

impl Drop for ForgetListener {
    fn drop(&mut self) {
        self.ctx.session.remove_listener(&self.listener);
        let mut last = Vec::new();
        for key in &self.keys {
            if self
                .gateway
                .inner
                .subscriptions
                .remove_listener(key, &self.listener)
            {
                last.push(key.clone());
            }
        }
        if !last.is_empty() {
            let gateway = self.gateway.clone();
            tokio::spawn(async move {
                for key in last {
                    let _ = crate::forward::subscribe_upstream(&gateway, &key, false).await;
                }
            });
        }
    }
}

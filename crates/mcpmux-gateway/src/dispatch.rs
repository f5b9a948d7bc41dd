//! What the gateway answers to each request: the method table.

use mcpmux_protocol::jsonrpc::{INTERNAL_ERROR, METHOD_NOT_FOUND};
use mcpmux_protocol::{
    CallToolResult, ErrorObject, Implementation, InitializeResult, ServerCapabilities,
    ToolsCapability,
};
use serde_json::{Map, Value, json};

use crate::Gateway;
use crate::session::{Ctx, Negotiated};

/// A request's result: a JSON value, or a forwarded tool's result, which is written straight
/// into the response (never turned into a [`Value`] first: the gateway's busiest path).
#[derive(Debug)]
pub(crate) enum Answer {
    /// Any result.
    Value(Value),
    /// A `tools/call` result.
    Tool(CallToolResult),
}

impl serde::Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Answer::Value(v) => v.serialize(serializer),
            Answer::Tool(r) => r.serialize(serializer),
        }
    }
}

/// The answer to one request.
pub(crate) async fn request(
    gateway: &Gateway,
    ctx: &Ctx,
    method: &str,
    params: Value,
) -> Result<Answer, ErrorObject> {
    // A request with modern `_meta` is served statelessly (2026-07-28).
    if method != "initialize"
        && let Some(modern) = crate::modern::classify(&params)
    {
        let ctx = Ctx {
            modern: Some(std::sync::Arc::new(modern?)),
            ..ctx.clone()
        };
        return crate::modern::request(gateway, &ctx, method, params)
            .await
            .map(Answer::Value);
    }
    if method == "tools/call" {
        return crate::tools::call(gateway, ctx, params)
            .await
            .map(Answer::Tool);
    }
    value_request(gateway, ctx, method, params)
        .await
        .map(Answer::Value)
}

/// The answer to a request other than a (classic) `tools/call`.
async fn value_request(
    gateway: &Gateway,
    ctx: &Ctx,
    method: &str,
    params: Value,
) -> Result<Value, ErrorObject> {
    match method {
        "initialize" => Ok(initialize(ctx, &params)),
        "ping" => Ok(json!({})),
        "tools/list" => crate::tools::list(gateway).await,
        "resources/list" => crate::forward::resources_list(gateway).await,
        "resources/templates/list" => crate::forward::templates_list(gateway).await,
        "resources/read" => crate::forward::resources_read(gateway, ctx, params).await,
        "resources/subscribe" => crate::forward::subscribe(gateway, ctx, params, true).await,
        "resources/unsubscribe" => crate::forward::subscribe(gateway, ctx, params, false).await,
        "prompts/list" => crate::forward::prompts_list(gateway).await,
        "prompts/get" => crate::forward::prompts_get(gateway, ctx, params).await,
        "completion/complete" => crate::forward::complete(gateway, ctx, params).await,
        "logging/setLevel" => crate::forward::set_level(gateway, ctx, params).await,
        other => Err(ErrorObject::new(
            METHOD_NOT_FOUND,
            format!("method not found: `{other}`"),
        )),
    }
}

/// What the gateway offers: every feature it forwards (an upstream that has one may connect
/// later; until then its list is empty).
fn initialize(ctx: &Ctx, params: &Value) -> Value {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let version = crate::negotiate(requested);
    ctx.session.set_negotiated(Negotiated {
        version: Some(version),
        capabilities: params
            .get("capabilities")
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_default(),
    });
    let result = InitializeResult {
        protocol_version: version.to_owned(),
        capabilities: ServerCapabilities {
            tools: Some(ToolsCapability {
                list_changed: Some(true),
                ..ToolsCapability::default()
            }),
            resources: Some(json!({"subscribe": true, "listChanged": true})),
            prompts: Some(json!({"listChanged": true})),
            logging: Some(json!({})),
            completions: Some(json!({})),
            ..ServerCapabilities::default()
        },
        server_info: Implementation::new("mcpmux", env!("CARGO_PKG_VERSION")),
        instructions: None,
        extra: Map::new(),
    };
    serde_json::to_value(result).unwrap_or_else(|_| json!({}))
}

/// A value as a JSON result.
pub(crate) fn encode<T: serde::Serialize + ?Sized>(
    what: &str,
    v: &T,
) -> Result<Value, ErrorObject> {
    serde_json::to_value(v)
        .map_err(|e| ErrorObject::new(INTERNAL_ERROR, format!("cannot encode the {what}: {e}")))
}

/// An error and its causes, `: `-separated, each said once.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}

//! What the gateway answers to each request: `initialize`, `ping`, `tools/list`, `tools/call`.

use mcpmux::ErrorKind;
use mcpmux_protocol::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND};
use mcpmux_protocol::{
    CallToolResult, Content, ErrorObject, Implementation, InitializeResult, ServerCapabilities,
    ToolsCapability,
};
use serde_json::{Map, Value, json};

use crate::Gateway;
use crate::session::{Ctx, Negotiated};

/// The answer to one request.
pub(crate) async fn request(
    gateway: &Gateway,
    ctx: &Ctx,
    method: &str,
    params: Value,
) -> Result<Value, ErrorObject> {
    match method {
        "initialize" => Ok(initialize(ctx, &params)),
        "ping" => Ok(json!({})),
        "tools/list" => tools_list(gateway).await,
        "tools/call" => tools_call(gateway, params).await,
        other => Err(ErrorObject::new(
            METHOD_NOT_FOUND,
            format!("method not found: `{other}`"),
        )),
    }
}

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
                list_changed: Some(false),
                ..ToolsCapability::default()
            }),
            ..ServerCapabilities::default()
        },
        server_info: Implementation::new("mcpmux", env!("CARGO_PKG_VERSION")),
        instructions: None,
        extra: Map::new(),
    };
    serde_json::to_value(result).unwrap_or_else(|_| json!({}))
}

async fn tools_list(gateway: &Gateway) -> Result<Value, ErrorObject> {
    let map = gateway.refreshed_map().await;
    let tools: Vec<&mcpmux::Tool> = map.tools.iter().map(|e| &e.tool).collect();
    serde_json::to_value(json!({ "tools": tools }))
        .map_err(|e| ErrorObject::new(INTERNAL_ERROR, format!("cannot encode the tools: {e}")))
}

async fn tools_call(gateway: &Gateway, params: Value) -> Result<Value, ErrorObject> {
    let Value::Object(mut params) = params else {
        return Err(ErrorObject::new(
            INVALID_PARAMS,
            "tools/call needs params with a `name`",
        ));
    };
    let Some(Value::String(name)) = params.remove("name") else {
        return Err(ErrorObject::new(
            INVALID_PARAMS,
            "tools/call needs a string `name`",
        ));
    };
    let arguments = match params.remove("arguments") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(args @ Value::Object(_)) => args,
        Some(_) => {
            return Err(ErrorObject::new(
                INVALID_PARAMS,
                format!("the arguments of `{name}` must be a JSON object"),
            ));
        }
    };
    let exposed = match gateway.current_map().get(&name) {
        Some(e) => e.clone(),
        // Perhaps an upstream's list changed since it was last read.
        None => match gateway.refreshed_map().await.get(&name) {
            Some(e) => e.clone(),
            None => {
                return Err(ErrorObject::new(
                    INVALID_PARAMS,
                    format!("unknown tool: `{name}` (tools/list shows the tools offered)"),
                ));
            }
        },
    };
    let server = &exposed.server;
    let call = gateway.toolset().call(&exposed.toolset_name, arguments);
    let result = match gateway
        .metrics()
        .forwarded(server, &exposed.upstream, call)
        .await
    {
        Ok(result) => result,
        Err(e) if e.kind() == ErrorKind::UnknownTool => {
            return Err(ErrorObject::new(
                INVALID_PARAMS,
                format!("unknown tool: `{name}` (server `{server}`: {})", chain(&e)),
            ));
        }
        Err(e) => {
            tracing::info!(server = %server, tool = %name, error = %e, "upstream call failed");
            failed(server, &exposed.upstream, &e)
        }
    };
    serde_json::to_value(result)
        .map_err(|e| ErrorObject::new(INTERNAL_ERROR, format!("cannot encode the result: {e}")))
}

/// An upstream failure as a tool result the model can read: `isError`, naming the server.
fn failed(server: &str, tool: &str, error: &mcpmux::Error) -> CallToolResult {
    CallToolResult {
        content: vec![Content::text(format!(
            "server `{server}` could not run tool `{tool}`: {}",
            chain(error)
        ))],
        structured_content: None,
        is_error: Some(true),
        meta: None,
        extra: Map::new(),
    }
}

/// An error and its causes, `: `-separated, each said once.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
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

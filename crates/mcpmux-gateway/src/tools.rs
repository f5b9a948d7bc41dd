//! `tools/list` and `tools/call`: the union of the upstreams' tools, and calls forwarded with
//! their progress (the client's token mapped to the upstream's and back) and `_meta`.

use mcpmux::ErrorKind;
use mcpmux_protocol::jsonrpc::INVALID_PARAMS;
use mcpmux_protocol::{CallToolResult, Content, ErrorObject, ProgressParams, RequestId};
use serde_json::{Map, Value, json};

use crate::Gateway;
use crate::dispatch::{chain, encode};
use crate::session::Ctx;

pub(crate) async fn list(gateway: &Gateway) -> Result<Value, ErrorObject> {
    let map = gateway.refreshed_map().await;
    let tools: Vec<&mcpmux::Tool> = map.tools.iter().map(|e| &e.tool).collect();
    encode("tools", &json!({ "tools": tools }))
}

pub(crate) async fn call(
    gateway: &Gateway,
    ctx: &Ctx,
    params: Value,
) -> Result<CallToolResult, ErrorObject> {
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
    let mut call = gateway.toolset().call(&exposed.toolset_name, arguments);
    if let Some(Value::Object(meta)) = params.remove("_meta") {
        for (key, value) in meta {
            if key == "progressToken" {
                // The upstream gets a token of the connection's own; its progress goes back to
                // this client under the client's token, on this request's stream.
                let Ok(token) = serde_json::from_value::<RequestId>(value) else {
                    continue;
                };
                let related = ctx.related.clone();
                call = call.on_progress(move |p: ProgressParams| {
                    let p = ProgressParams {
                        progress_token: token.clone(),
                        ..p
                    };
                    related.notify("notifications/progress", Some(&p));
                });
            } else {
                call = call.meta(key, value);
            }
        }
    }
    let _running = gateway.inner.relay.running.enter(server, ctx);
    // Counted in /metrics, in a `tools/call` span.
    let series = exposed
        .series
        .get_or_init(|| gateway.metrics().series(server, &exposed.upstream));
    let forwarded = crate::metrics::Metrics::forwarded(series, call);
    match crate::relay::scoped(server, ctx, forwarded).await {
        Ok(result) => Ok(result),
        Err(e) if e.kind() == ErrorKind::UnknownTool => Err(ErrorObject::new(
            INVALID_PARAMS,
            format!("unknown tool: `{name}` (server `{server}`: {})", chain(&e)),
        )),
        Err(e) => {
            tracing::info!(server = %server, tool = %name, error = %e, "upstream call failed");
            Ok(failed(server, &exposed.upstream, &e))
        }
    }
}

/// An upstream failure as a tool result the model can read: `isError`, naming the server.
fn failed(server: &str, tool: &str, error: &mcpmux::Error) -> CallToolResult {
    let mut text = format!(
        "server `{server}` could not run tool `{tool}`: {}",
        chain(error)
    );
    if error.is_auth() && !text.contains("mcpmux auth login") {
        text.push_str(&format!(" (run `mcpmux auth login {server}`)"));
    }
    CallToolResult {
        content: vec![Content::text(text)],
        structured_content: None,
        is_error: Some(true),
        meta: None,
        extra: Map::new(),
    }
}

//! Resources, resource templates, prompts, completion, logging and subscriptions, forwarded to
//! the upstream that owns each.

use std::future::IntoFuture as _;

use mcpmux_protocol::jsonrpc::INVALID_PARAMS;
use mcpmux_protocol::{ErrorObject, LoggingLevel};
use serde_json::{Value, json};

use crate::Gateway;
use crate::catalog::{self, Catalog, Want};
use crate::dispatch::{chain, encode};
use crate::session::Ctx;

/// -32002: what MCP servers answer for an unknown resource (2025-11-25); 2026-07-28 servers
/// answer -32602. The gateway answers -32602 when no upstream owns a URI, the upstream's own
/// error otherwise.
const NOT_FOUND: i64 = INVALID_PARAMS;

pub(crate) async fn resources_list(gateway: &Gateway) -> Result<Value, ErrorObject> {
    let c = gateway.catalog(&[Want::Resources, Want::Templates]).await;
    encode("resources", &json!({ "resources": c.resources }))
}

pub(crate) async fn templates_list(gateway: &Gateway) -> Result<Value, ErrorObject> {
    let c = gateway.catalog(&[Want::Resources, Want::Templates]).await;
    encode(
        "resource templates",
        &json!({ "resourceTemplates": c.templates }),
    )
}

pub(crate) async fn prompts_list(gateway: &Gateway) -> Result<Value, ErrorObject> {
    let c = gateway.catalog(&[Want::Prompts]).await;
    encode("prompts", &json!({ "prompts": c.prompts }))
}

fn not_found(uri: &str) -> ErrorObject {
    let mut e = ErrorObject::new(NOT_FOUND, format!("resource not found: `{uri}`"));
    e.data = Some(json!({ "uri": uri }));
    e
}

fn string_param(params: &Value, key: &str, method: &str) -> Result<String, ErrorObject> {
    params
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ErrorObject::new(INVALID_PARAMS, format!("{method} needs a string `{key}`")))
}

/// Sends `method` with `params` to upstream `server` as this request's, raw.
async fn send(
    gateway: &Gateway,
    ctx: &Ctx,
    server: &str,
    method: &str,
    params: &Value,
) -> Result<Value, ErrorObject> {
    let guard = catalog::upstream(gateway, server)
        .await
        .map_err(|why| ErrorObject::new(mcpmux_protocol::jsonrpc::INTERNAL_ERROR, why))?;
    let _running = gateway.inner.relay.running.enter(server, ctx);
    let request = guard.request_raw(method, Some(params)).into_future();
    match crate::relay::scoped(server, ctx, request).await {
        Ok(raw) => serde_json::from_str(raw.get()).map_err(|e| {
            ErrorObject::new(
                mcpmux_protocol::jsonrpc::INTERNAL_ERROR,
                format!("server `{server}` answered {method} with invalid JSON: {e}"),
            )
        }),
        // The upstream's own JSON-RPC error passes through as it is.
        Err(e) => Err(match e.rpc_error() {
            Some(rpc) => rpc.clone(),
            None => ErrorObject::new(
                mcpmux_protocol::jsonrpc::INTERNAL_ERROR,
                format!("server `{server}`: {}", chain(&e)),
            ),
        }),
    }
}

/// The owner of offered `uri` by the last catalog, else by a fresh one.
pub(crate) async fn owner(gateway: &Gateway, uri: &str) -> Option<(String, String)> {
    owner_of_uri(gateway, uri).await
}

/// Subscribes upstream resource `key` (or unsubscribes it), for the first (last) follower.
pub(crate) async fn subscribe_upstream(
    gateway: &Gateway,
    key: &(String, String),
    on: bool,
) -> Result<(), ErrorObject> {
    let (server, upstream_uri) = key;
    let guard = catalog::upstream(gateway, server)
        .await
        .map_err(|why| ErrorObject::new(mcpmux_protocol::jsonrpc::INTERNAL_ERROR, why))?;
    let done = if on {
        guard.subscribe_resource(upstream_uri).await
    } else {
        guard.unsubscribe_resource(upstream_uri).await
    };
    done.map_err(|e| match e.rpc_error() {
        Some(rpc) => rpc.clone(),
        None => ErrorObject::new(
            mcpmux_protocol::jsonrpc::INTERNAL_ERROR,
            format!("server `{server}`: {}", chain(&e)),
        ),
    })
}

async fn owner_of_uri(gateway: &Gateway, uri: &str) -> Option<(String, String)> {
    if let Some(found) = gateway.last_catalog().route_uri(uri) {
        return Some(found);
    }
    gateway
        .catalog(&[Want::Resources, Want::Templates])
        .await
        .route_uri(uri)
}

pub(crate) async fn resources_read(
    gateway: &Gateway,
    ctx: &Ctx,
    params: Value,
) -> Result<Value, ErrorObject> {
    let uri = string_param(&params, "uri", "resources/read")?;
    let (server, upstream_uri) = match owner_of_uri(gateway, &uri).await {
        Some(found) => found,
        None => return read_anywhere(gateway, ctx, &uri, params).await,
    };
    let mut forwarded = params.clone();
    forwarded["uri"] = Value::String(upstream_uri.clone());
    let mut result = send(gateway, ctx, &server, "resources/read", &forwarded).await?;
    if upstream_uri != uri
        && let Some(contents) = result.get_mut("contents").and_then(Value::as_array_mut)
    {
        // The contents name the URI the client asked for.
        for c in contents {
            if c.get("uri").and_then(Value::as_str) == Some(&upstream_uri) {
                c["uri"] = Value::String(uri.clone());
            }
        }
    }
    Ok(result)
}

/// A URI no list or template names: asks each upstream with resources in turn; the first that
/// knows it answers.
async fn read_anywhere(
    gateway: &Gateway,
    ctx: &Ctx,
    uri: &str,
    params: Value,
) -> Result<Value, ErrorObject> {
    let mut last = None;
    for (server, guard) in catalog::live_upstreams(gateway).await {
        if guard.initialize_result().capabilities.resources.is_none() {
            continue;
        }
        match send(gateway, ctx, &server, "resources/read", &params).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| not_found(uri)))
}

pub(crate) async fn subscribe(
    gateway: &Gateway,
    ctx: &Ctx,
    params: Value,
    on: bool,
) -> Result<Value, ErrorObject> {
    let method = if on {
        "resources/subscribe"
    } else {
        "resources/unsubscribe"
    };
    let uri = string_param(&params, "uri", method)?;
    let Some((server, upstream_uri)) = owner_of_uri(gateway, &uri).await else {
        return Err(not_found(&uri));
    };
    let key = (server, upstream_uri);
    // The upstream is subscribed once, for the first client; unsubscribed after the last.
    let first_or_last = if on {
        gateway.inner.subscriptions.add_session(&key, &ctx.session)
    } else {
        gateway
            .inner
            .subscriptions
            .remove_session(&key, &ctx.session)
    };
    if first_or_last && let Err(e) = subscribe_upstream(gateway, &key, on).await {
        if on {
            gateway
                .inner
                .subscriptions
                .remove_session(&key, &ctx.session);
        }
        return Err(e);
    }
    Ok(json!({}))
}

pub(crate) async fn prompts_get(
    gateway: &Gateway,
    ctx: &Ctx,
    params: Value,
) -> Result<Value, ErrorObject> {
    let name = string_param(&params, "name", "prompts/get")?;
    let found = match gateway.last_catalog().route_prompt(&name) {
        Some(found) => Some(found),
        None => gateway.catalog(&[Want::Prompts]).await.route_prompt(&name),
    };
    let Some((server, upstream_name)) = found else {
        return Err(ErrorObject::new(
            INVALID_PARAMS,
            format!("unknown prompt: `{name}` (prompts/list shows the prompts offered)"),
        ));
    };
    let mut forwarded = params;
    forwarded["name"] = Value::String(upstream_name);
    send(gateway, ctx, &server, "prompts/get", &forwarded).await
}

pub(crate) async fn complete(
    gateway: &Gateway,
    ctx: &Ctx,
    params: Value,
) -> Result<Value, ErrorObject> {
    let reference = params.get("ref").cloned().unwrap_or(Value::Null);
    let kind = reference.get("type").and_then(Value::as_str).unwrap_or("");
    let mut forwarded = params.clone();
    let server = match kind {
        "ref/prompt" => {
            let name = string_param(&reference, "name", "completion/complete")?;
            let found = match gateway.last_catalog().route_prompt(&name) {
                Some(found) => Some(found),
                None => gateway.catalog(&[Want::Prompts]).await.route_prompt(&name),
            };
            let Some((server, upstream_name)) = found else {
                return Err(ErrorObject::new(
                    INVALID_PARAMS,
                    format!("unknown prompt: `{name}`"),
                ));
            };
            forwarded["ref"]["name"] = Value::String(upstream_name);
            server
        }
        "ref/resource" => {
            let uri = string_param(&reference, "uri", "completion/complete")?;
            let c = gateway.catalog(&[Want::Resources, Want::Templates]).await;
            let Some(server) = template_owner(&c, &uri) else {
                return Err(ErrorObject::new(
                    INVALID_PARAMS,
                    format!("unknown resource template: `{uri}`"),
                ));
            };
            server
        }
        other => {
            return Err(ErrorObject::new(
                INVALID_PARAMS,
                format!("completion/complete: unknown ref type `{other}`"),
            ));
        }
    };
    send(gateway, ctx, &server, "completion/complete", &forwarded).await
}

/// The upstream whose template (or resource) is `uri`.
fn template_owner(c: &Catalog, uri: &str) -> Option<String> {
    c.template_server(uri)
        .or_else(|| c.route_uri(uri).map(|(s, _)| s))
}

pub(crate) async fn set_level(
    gateway: &Gateway,
    ctx: &Ctx,
    params: Value,
) -> Result<Value, ErrorObject> {
    let level: LoggingLevel = params
        .get("level")
        .cloned()
        .and_then(|l| serde_json::from_value(l).ok())
        .ok_or_else(|| {
            ErrorObject::new(
                INVALID_PARAMS,
                "logging/setLevel needs a `level` (debug, info, notice, warning, error, \
                 critical, alert, emergency)",
            )
        })?;
    ctx.session.set_log_level(level);
    // Upstreams send what the most talkative client wants; each client gets its own level.
    let lowest = gateway.lowest_log_level().unwrap_or(level);
    let upstreams = catalog::live_upstreams(gateway).await;
    let sets = upstreams
        .iter()
        .filter(|(_, g)| g.initialize_result().capabilities.logging.is_some());
    let results = futures_util::future::join_all(
        sets.map(|(name, guard)| async move { (name, guard.set_logging_level(lowest).await) }),
    )
    .await;
    for (name, r) in results {
        if let Err(e) = r {
            tracing::warn!(server = %name, error = %e, "logging/setLevel failed upstream");
        }
    }
    Ok(json!({}))
}

//! The skills extension (SEP-2640, `io.modelcontextprotocol/skills`, 2026-07-28) through the
//! gateway: `skills/list` is the union of the upstreams offering it, `skills/get` and
//! `resources/directory/read` go to the upstream that knows the skill or owns the URI.

use mcpmux_protocol::ErrorObject;
use mcpmux_protocol::jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND};
use serde_json::{Value, json};

use crate::Gateway;
use crate::session::Ctx;
use crate::tasks::{offering, send_to};

/// The extension's identifier in `capabilities.extensions`.
const EXTENSION: &str = "io.modelcontextprotocol/skills";

/// Answers `skills/list`, `skills/get` or `resources/directory/read`.
pub(crate) async fn forward(
    gateway: &Gateway,
    ctx: &Ctx,
    method: &str,
    params: Value,
) -> Result<Value, ErrorObject> {
    let servers = offering(gateway, EXTENSION).await;
    if method == "resources/directory/read"
        && let Some(uri) = params.get("uri").and_then(Value::as_str)
        && let Some((server, upstream_uri)) = crate::forward::owner(gateway, uri).await
        && upstream_uri == uri
    {
        return send_to(gateway, ctx, &server, method, params).await;
    }
    match servers.as_slice() {
        [] => Err(ErrorObject::new(
            METHOD_NOT_FOUND,
            format!("method not found: `{method}` (no upstream offers skills)"),
        )),
        // One upstream: everything passes through, pagination included.
        [one] => send_to(gateway, ctx, one, method, params).await,
        several if method == "skills/list" => {
            if params.get("cursor").is_some() {
                return Err(ErrorObject::new(
                    INVALID_PARAMS,
                    "skills/list through the gateway returns every upstream's skills in one page",
                ));
            }
            let mut skills = Vec::new();
            for server in several {
                let page = send_to(gateway, ctx, server, method, params.clone()).await?;
                if let Some(Value::Array(list)) = page.get("skills") {
                    skills.extend(list.iter().cloned());
                }
            }
            Ok(json!({ "skills": skills }))
        }
        // The first upstream that knows the skill (or the directory) answers.
        several => {
            let mut last = None;
            for server in several {
                match send_to(gateway, ctx, server, method, params.clone()).await {
                    Ok(v) => return Ok(v),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| ErrorObject::new(INVALID_PARAMS, "unknown skill")))
        }
    }
}

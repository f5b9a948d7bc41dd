//! Stateless MCP (2026-07-28) on the client side: negotiation through `server/discover`, the
//! `_meta` and headers every request carries, and multi-round-trip requests. The
//! [`Dialect`](super::dialect::Dialect) decides when these apply.

use std::sync::Arc;
use std::time::Duration;

use mcpmux_protocol::stateless::{
    DISCOVER, DiscoverResult, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROTOCOL_VERSION,
    RoundTrip, UNSUPPORTED_PROTOCOL_VERSION, encode_param_value, param_headers,
};
use mcpmux_protocol::{
    ErrorObject, Implementation, InitializeResult, JsonObject, ProtocolVersion, methods,
};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{Session, SessionSettings};
use crate::connection::ConnHandle;
use crate::error::{Error, Result};
use crate::handler::Handlers;
use crate::request::{self, RequestOptions};

/// `_meta` key with the log level a stateless request asks for.
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// Rounds of `input_required` a request may go through before it is given up.
const MAX_ROUNDS: usize = 8;

/// How a stateless connection frames every request.
#[derive(Debug)]
pub(crate) struct Stateless {
    pub(crate) version: &'static str,
    /// The `_meta` keys every request carries.
    meta: JsonObject,
}

impl Stateless {
    pub(crate) fn new(config: &SessionSettings) -> Self {
        let version = ProtocolVersion::STATELESS.as_str();
        let mut meta = JsonObject::new();
        meta.insert(META_PROTOCOL_VERSION.into(), Value::String(version.into()));
        meta.insert(
            META_CLIENT_CAPABILITIES.into(),
            serde_json::to_value(config.handlers.capabilities())
                .unwrap_or_else(|_| Value::Object(Map::new())),
        );
        meta.insert(
            META_CLIENT_INFO.into(),
            serde_json::to_value(&config.client_info).unwrap_or(Value::Null),
        );
        Stateless { version, meta }
    }

    /// Adds the `_meta` keys to `params` (an object, or none) and returns the routing headers.
    pub(crate) fn frame(
        &self,
        method: &str,
        params: Option<Value>,
        log_level: Option<mcpmux_protocol::LoggingLevel>,
    ) -> (Value, Vec<(String, String)>) {
        let mut obj = match params {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let meta = obj
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = meta {
            // The protocol version is the connection's; the client's capabilities and identity
            // and the log level may be set per request by the caller (a gateway passes on its
            // own client's): the caller's entries win.
            for (k, v) in &self.meta {
                if k == META_PROTOCOL_VERSION {
                    m.insert(k.clone(), v.clone());
                } else {
                    m.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            // Stateless MCP sets the log level per request (logging/setLevel is gone).
            if let Some(level) = log_level.and_then(|l| serde_json::to_value(l).ok()) {
                m.entry(META_LOG_LEVEL).or_insert(level);
            }
        }
        let mut headers = vec![
            ("mcp-protocol-version".to_owned(), self.version.to_owned()),
            ("mcp-method".to_owned(), method.to_owned()),
        ];
        let name_field = match method {
            methods::TOOLS_CALL | methods::PROMPTS_GET => Some("name"),
            methods::RESOURCES_READ => Some("uri"),
            _ => None,
        };
        if let Some(name) = name_field.and_then(|f| obj.get(f)).and_then(Value::as_str) {
            headers.push(("mcp-name".to_owned(), name.to_owned()));
        }
        (Value::Object(obj), headers)
    }

    /// Frames and sends one request; retries once when the server answers -32022
    /// (unsupported protocol version) but lists ours as supported.
    pub(crate) async fn send(
        &self,
        conn: &ConnHandle,
        method: &str,
        params: Option<Value>,
        log_level: Option<mcpmux_protocol::LoggingLevel>,
        timeout: Duration,
        options: Option<&RequestOptions>,
    ) -> Result<Box<RawValue>> {
        let (framed, mut headers) = self.frame(method, params, log_level);
        if let Some(o) = options {
            headers.extend(o.headers().iter().cloned());
        }
        let first = request::send(
            conn,
            method,
            Some(&framed),
            headers.clone(),
            timeout,
            options,
            false,
        )
        .await;
        match &first {
            Err(e) if e.rpc_error().is_some_and(supports_stateless_retry) => {
                request::send(
                    conn,
                    method,
                    Some(&framed),
                    headers,
                    timeout,
                    options,
                    false,
                )
                .await
            }
            _ => first,
        }
    }
}

/// A -32022 (unsupported protocol version) whose `data.supported` lists ours.
pub(super) fn supports_stateless_retry(err: &ErrorObject) -> bool {
    err.code == UNSUPPORTED_PROTOCOL_VERSION && supports_stateless(err)
}

/// The `Mcp-Param-*` headers for a call of a tool with this input schema.
pub(crate) fn tool_param_headers(
    input_schema: &Value,
    arguments: Option<&JsonObject>,
) -> Vec<(String, String)> {
    let (Ok(annotated), Some(args)) = (param_headers(input_schema), arguments) else {
        return Vec::new();
    };
    annotated
        .into_iter()
        .filter_map(|(prop, header)| {
            let value = encode_param_value(args.get(&prop)?)?;
            Some((format!("mcp-param-{}", header.to_ascii_lowercase()), value))
        })
        .collect()
}

/// Probes `server/discover`. `Ok(None)` means "not a stateless server": fall back to
/// `initialize`. The result is validated before it is trusted (some servers answer any unknown
/// method with an empty result).
pub(super) async fn discover(
    session: &Session,
    strict: bool,
) -> Result<Option<(Arc<InitializeResult>, Stateless)>> {
    let settings = &session.settings;
    let probe = Stateless::new(settings);
    let timeout = if strict {
        settings.initialize_timeout
    } else {
        settings.initialize_timeout.min(Duration::from_secs(5))
    };
    let r = probe
        .send(&session.conn, DISCOVER, None, None, timeout, None)
        .await;
    let raw = match r {
        Ok(raw) => raw,
        Err(e) if strict => return Err(e),
        Err(e) => {
            tracing::debug!(server = %settings.name, "server/discover failed ({e}); using initialize");
            return Ok(None);
        }
    };
    let parsed: Option<DiscoverResult> = serde_json::from_str(raw.get()).ok();
    let ok = parsed
        .as_ref()
        .is_some_and(|d| d.supported_versions.iter().any(|v| v == probe.version));
    let Some(d) = parsed.filter(|_| ok) else {
        if strict {
            return Err(Error::protocol(format!(
                "server/discover did not offer {}: {}",
                probe.version,
                raw.get()
            )));
        }
        tracing::debug!(server = %settings.name, "server/discover result is not usable; using initialize");
        return Ok(None);
    };
    let server_info = d
        .server_info()
        .unwrap_or_else(|| Implementation::new("unknown", ""));
    let result = Arc::new(InitializeResult {
        protocol_version: ProtocolVersion::STATELESS.as_str().to_owned(),
        capabilities: d.capabilities,
        server_info,
        instructions: d.instructions,
        extra: d.extra,
    });
    Ok(Some((result, probe)))
}

fn supports_stateless(err: &ErrorObject) -> bool {
    err.data
        .as_ref()
        .and_then(|d| d.get("supported"))
        .and_then(Value::as_array)
        .is_some_and(|v| {
            v.iter()
                .any(|s| s.as_str() == Some(ProtocolVersion::STATELESS.as_str()))
        })
}

/// Drives a multi-round-trip request: while the server answers `input_required`, fulfil its
/// input requests with the client's handlers and retry (a new id, `inputResponses`, the
/// `requestState` echoed exactly).
pub(crate) async fn round_trips<F, Fut>(
    handlers: &Handlers,
    params: Value,
    mut send: F,
) -> Result<Box<serde_json::value::RawValue>>
where
    F: FnMut(Value) -> Fut,
    Fut: std::future::Future<Output = Result<Box<serde_json::value::RawValue>>>,
{
    let mut raw = send(params.clone()).await?;
    for _ in 0..MAX_ROUNDS {
        let rt: RoundTrip = serde_json::from_str(raw.get()).unwrap_or_default();
        if !rt.needs_input() {
            return Ok(raw);
        }
        let mut responses = Map::new();
        for (key, req) in rt.input_requests.unwrap_or_default() {
            let method = req.get("method").and_then(Value::as_str).unwrap_or("");
            let p = req.get("params").cloned();
            let answer = crate::handler::answer_input_request(handlers, method, p)
                .await
                .map_err(|e| Error::rpc(method, e))?;
            responses.insert(key, answer);
        }
        let mut retry = match params.clone() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        retry.insert("inputResponses".into(), Value::Object(responses));
        if let Some(state) = rt.request_state {
            retry.insert("requestState".into(), state);
        }
        raw = send(Value::Object(retry)).await?;
    }
    Err(Error::protocol(format!(
        "the server asked for input more than {MAX_ROUNDS} times in a row"
    )))
}

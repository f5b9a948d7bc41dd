//! Stateless MCP (2026-07-28): `server/discover`, per-request `_meta`, the HTTP routing headers
//! (`Mcp-Method`, `Mcp-Name`, `Mcp-Param-*` from `x-mcp-header` annotations) and multi-round-trip
//! results (`resultType: "input_required"`).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::types::{Implementation, JsonObject, ServerCapabilities};

/// `_meta` key carrying the protocol version of a stateless request.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key carrying the client's capabilities.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key carrying the client's name and version.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key a server may use for its name and version in `server/discover`.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// `server/discover`.
pub const DISCOVER: &str = "server/discover";
/// JSON-RPC error: the server does not support the requested protocol version.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// JSON-RPC error: the HTTP headers do not match the body.
pub const HEADER_MISMATCH: i64 = -32020;

/// Result of `server/discover`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// The versions the server speaks.
    pub supported_versions: Vec<String>,
    /// What the server supports.
    #[serde(default)]
    pub capabilities: ServerCapabilities,
    /// Who the server is (some servers put it in `_meta` instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_info: Option<Implementation>,
    /// Usage hints for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl DiscoverResult {
    /// The server's info, from the result or its `_meta`.
    pub fn server_info(&self) -> Option<Implementation> {
        self.server_info.clone().or_else(|| {
            self.meta
                .as_ref()
                .and_then(|m| m.get(META_SERVER_INFO))
                .and_then(|v| serde_json::from_value(v.clone()).ok())
        })
    }
}

/// One request a server needs answered before it can complete a multi-round-trip request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRequest {
    /// The method, e.g. `elicitation/create`, `sampling/createMessage`, `roots/list`.
    pub method: String,
    /// Its parameters.
    #[serde(default)]
    pub params: Option<Value>,
}

/// The multi-round-trip part of a result: `resultType`, `inputRequests`, `requestState`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoundTrip {
    /// `complete` (also when absent) or `input_required`.
    #[serde(default)]
    pub result_type: Option<String>,
    /// What the server needs, by key.
    #[serde(default)]
    pub input_requests: Option<Map<String, Value>>,
    /// Opaque state to echo back exactly.
    #[serde(default)]
    pub request_state: Option<Value>,
}

impl RoundTrip {
    /// Whether the server needs input before it can answer.
    pub fn needs_input(&self) -> bool {
        self.result_type.as_deref() == Some("input_required")
    }
}

/// Whether `c` may appear in an HTTP header name (RFC 9110 `tchar`).
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The `x-mcp-header` annotations of a tool's input schema: `(property, header name)`.
///
/// # Errors
/// A description of the first invalid annotation: empty, not a token, on a type other than
/// string / integer / boolean, or a duplicate (case-insensitive). Such a tool must not be used.
pub fn param_headers(input_schema: &Value) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(props) = input_schema.get("properties").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (prop, schema) in props {
        let Some(h) = schema.get("x-mcp-header") else {
            continue;
        };
        let Some(name) = h.as_str() else {
            return Err(format!("x-mcp-header of {prop:?} is not a string"));
        };
        if name.is_empty() || !name.chars().all(is_tchar) {
            return Err(format!(
                "x-mcp-header {name:?} of {prop:?} is not a valid header name"
            ));
        }
        let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
        if !matches!(ty, "string" | "integer" | "boolean") {
            return Err(format!(
                "x-mcp-header on {prop:?} of type {ty:?}: only string, integer and boolean allowed"
            ));
        }
        if out.iter().any(|(_, n)| n.eq_ignore_ascii_case(name)) {
            return Err(format!("x-mcp-header {name:?} is used twice"));
        }
        out.push((prop.clone(), name.to_owned()));
    }
    Ok(out)
}

/// Encodes a parameter value for an `Mcp-Param-*` header: plain when it is visible ASCII
/// without surrounding whitespace, else `=?base64?…?=`. `None` for null (the header is omitted).
pub fn encode_param_value(value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let plain = text.chars().all(|c| (' '..='~').contains(&c)) && text.trim() == text;
    Some(if plain {
        text
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_annotations_are_validated() {
        let ok = json!({"properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "Priority"},
            "q": {"type": "string"}
        }});
        let mut h = param_headers(&ok).unwrap();
        h.sort();
        assert_eq!(
            h,
            vec![
                ("n".into(), "Priority".into()),
                ("region".into(), "Region".into())
            ]
        );
        for bad in [
            json!({"properties": {"v": {"type": "string", "x-mcp-header": ""}}}),
            json!({"properties": {"v": {"type": "number", "x-mcp-header": "V"}}}),
            json!({"properties": {"v": {"type": "object", "x-mcp-header": "V"}}}),
            json!({"properties": {"v": {"type": "string", "x-mcp-header": "My Region"}}}),
            json!({"properties": {"v": {"type": "string", "x-mcp-header": "A:B"}}}),
            json!({"properties": {"v": {"type": "string", "x-mcp-header": "Région"}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": "X"}, "b": {"type": "string", "x-mcp-header": "x"}}}),
        ] {
            assert!(param_headers(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_plain_or_base64() {
        assert_eq!(
            encode_param_value(&json!("us-west1")).as_deref(),
            Some("us-west1")
        );
        assert_eq!(
            encode_param_value(&json!("us west 1")).as_deref(),
            Some("us west 1")
        );
        assert_eq!(encode_param_value(&json!(42)).as_deref(), Some("42"));
        assert_eq!(encode_param_value(&json!(false)).as_deref(), Some("false"));
        assert_eq!(encode_param_value(&json!(null)), None);
        assert_eq!(
            encode_param_value(&json!(" padded ")).as_deref(),
            Some("=?base64?IHBhZGRlZCA=?=")
        );
        assert!(
            encode_param_value(&json!("Hello, 世界"))
                .unwrap()
                .starts_with("=?base64?")
        );
        assert!(
            encode_param_value(&json!("\tindented"))
                .unwrap()
                .starts_with("=?base64?")
        );
        assert_eq!(encode_param_value(&json!("")).as_deref(), Some(""));
    }
}

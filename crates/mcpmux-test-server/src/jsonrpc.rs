//! Minimal JSON-RPC 2.0 helpers over [`serde_json::Value`].

use serde_json::{Map, Value, json};

/// Invalid JSON was received.
pub(crate) const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub(crate) const INVALID_REQUEST: i64 = -32600;
/// The method does not exist.
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub(crate) const INVALID_PARAMS: i64 = -32602;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    /// Error code.
    pub code: i64,
    /// Human-readable message.
    pub message: String,
}

impl RpcError {
    /// An error with the given code and message.
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `-32602 invalid params`.
    pub(crate) fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }

    /// `-32600 invalid request`.
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(INVALID_REQUEST, message)
    }
}

/// A success response.
pub(crate) fn response(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error response.
pub(crate) fn error_response(id: Value, err: RpcError) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": err.code, "message": err.message},
    })
}

/// A notification (no id).
pub(crate) fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

/// What an incoming JSON value turned out to be.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A request: must be answered.
    Request {
        /// The request id (string, number or null).
        id: Value,
        /// The method name.
        method: String,
        /// The params (Null when absent).
        params: Value,
    },
    /// A notification: never answered.
    Notification {
        /// The method name.
        method: String,
        /// The params (Null when absent).
        params: Value,
    },
    /// A response from the client (we send no requests, so it is ignored).
    Response,
    /// Not a valid JSON-RPC message: answer with this error response.
    Invalid(Value),
}

/// Classifies one JSON value (a single message or one batch element).
pub(crate) fn classify(msg: Value) -> Incoming {
    let Value::Object(mut obj) = msg else {
        return invalid(Value::Null, "message must be a JSON object");
    };
    let id = obj.remove("id");
    if let Some(id) = &id
        && !matches!(id, Value::String(_) | Value::Number(_) | Value::Null)
    {
        return invalid(Value::Null, "id must be a string, a number or null");
    }
    let reply_id = id.clone().unwrap_or(Value::Null);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(reply_id, "jsonrpc must be \"2.0\"");
    }
    let params = obj.remove("params").unwrap_or(Value::Null);
    if !matches!(params, Value::Object(_) | Value::Array(_) | Value::Null) {
        return invalid(reply_id, "params must be an object or an array");
    }
    match obj.remove("method") {
        Some(Value::String(method)) => match id {
            Some(id) => Incoming::Request { id, method, params },
            None => Incoming::Notification { method, params },
        },
        Some(_) => invalid(reply_id, "method must be a string"),
        None if id.is_some() && (obj.contains_key("result") || obj.contains_key("error")) => {
            Incoming::Response
        }
        None => invalid(reply_id, "missing method"),
    }
}

fn invalid(id: Value, message: &str) -> Incoming {
    Incoming::Invalid(error_response(
        id,
        RpcError::invalid_request(format!("invalid request: {message}")),
    ))
}

/// The params as an object map; Null counts as empty, anything else is an
/// invalid-params error.
pub(crate) fn params_object(params: &Value) -> Result<Map<String, Value>, RpcError> {
    match params {
        Value::Object(map) => Ok(map.clone()),
        Value::Null => Ok(Map::new()),
        _ => Err(RpcError::invalid_params("params must be an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_messages() {
        assert!(matches!(
            classify(json!({"jsonrpc":"2.0","id":1,"method":"ping"})),
            Incoming::Request { .. }
        ));
        assert!(matches!(
            classify(json!({"jsonrpc":"2.0","method":"notifications/initialized"})),
            Incoming::Notification { .. }
        ));
        assert!(matches!(
            classify(json!({"jsonrpc":"2.0","id":1,"result":{}})),
            Incoming::Response
        ));
        assert!(matches!(classify(json!(5)), Incoming::Invalid(_)));
        assert!(matches!(
            classify(json!({"jsonrpc":"1.0","id":1,"method":"ping"})),
            Incoming::Invalid(_)
        ));
        assert!(matches!(
            classify(json!({"jsonrpc":"2.0","id":{},"method":"ping"})),
            Incoming::Invalid(_)
        ));
        assert!(matches!(
            classify(json!({"jsonrpc":"2.0","id":1,"method":"ping","params":3})),
            Incoming::Invalid(_)
        ));
    }
}

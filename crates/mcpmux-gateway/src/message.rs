//! Incoming lines as JSON-RPC messages, and the response lines the gateway writes.

use mcpmux_protocol::jsonrpc::{INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR};
use mcpmux_protocol::{ErrorObject, RequestId, encode_response};
use serde_json::{Map, Value};

/// One message from the client.
#[derive(Debug)]
pub(crate) enum Message {
    /// A request: answer it.
    Request {
        id: RequestId,
        method: String,
        params: Value,
    },
    /// A notification: no answer.
    Notification { method: String, params: Value },
    /// A response to a request of the gateway's (relayed sampling, elicitation, ...).
    Response {
        id: RequestId,
        result: Result<Value, ErrorObject>,
    },
    /// Not a valid message: answer this error (with the id, if one could be read).
    Invalid {
        id: Option<RequestId>,
        error: ErrorObject,
    },
}

/// What one line held.
#[derive(Debug)]
pub(crate) enum Line {
    Single(Message),
    Batch(Vec<Message>),
}

/// Reads one line: not JSON is a parse error (-32700); JSON that is not a JSON-RPC message is an
/// invalid request (-32600).
pub(crate) fn parse(line: &[u8]) -> Line {
    let value: Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => {
            return Line::Single(Message::Invalid {
                id: None,
                error: ErrorObject::new(PARSE_ERROR, format!("parse error: {e}")),
            });
        }
    };
    match value {
        Value::Array(items) if items.is_empty() => {
            Line::Single(invalid(None, "invalid request: an empty batch"))
        }
        Value::Array(items) => Line::Batch(items.into_iter().map(message).collect()),
        other => Line::Single(message(other)),
    }
}

fn invalid(id: Option<RequestId>, why: &str) -> Message {
    Message::Invalid {
        id,
        error: ErrorObject::new(INVALID_REQUEST, why),
    }
}

fn message(value: Value) -> Message {
    let Value::Object(mut m) = value else {
        return invalid(None, "invalid request: a message must be a JSON object");
    };
    let id = match m.remove("id") {
        None => None,
        Some(v @ (Value::Number(_) | Value::String(_))) => match serde_json::from_value(v) {
            Ok(id) => Some(id),
            Err(_) => {
                return invalid(
                    None,
                    "invalid request: the id must be an integer or a string",
                );
            }
        },
        Some(_) => {
            return invalid(
                None,
                "invalid request: the id must be an integer or a string",
            );
        }
    };
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(id, "invalid request: \"jsonrpc\" must be \"2.0\"");
    }
    let params = m.remove("params").unwrap_or(Value::Null);
    if !matches!(params, Value::Object(_) | Value::Array(_) | Value::Null) {
        return invalid(id, "invalid request: params must be an object");
    }
    let method = match m.remove("method") {
        Some(Value::String(method)) => method,
        Some(_) => return invalid(id, "invalid request: the method must be a string"),
        None if id.is_some() && (m.contains_key("result") || m.contains_key("error")) => {
            let result = match (m.remove("result"), m.remove("error")) {
                (Some(result), None) => Ok(result),
                (None, Some(error)) => Err(serde_json::from_value::<ErrorObject>(error)
                    .unwrap_or_else(|_| {
                        ErrorObject::new(
                            INTERNAL_ERROR,
                            "the client answered with an invalid error",
                        )
                    })),
                _ => return invalid(id, "invalid response: both result and error"),
            };
            return match id {
                Some(id) => Message::Response { id, result },
                None => invalid(None, "invalid response: no id"),
            };
        }
        None => return invalid(id, "invalid request: no method"),
    };
    match id {
        Some(id) => Message::Request { id, method, params },
        None => Message::Notification { method, params },
    }
}

/// A response line for a request with an id: the result (any serializable value, written
/// straight into the line), or the error.
pub(crate) fn answer<R: serde::Serialize>(
    id: &RequestId,
    result: &Result<R, ErrorObject>,
) -> Vec<u8> {
    let mut out = Vec::new();
    if encode_response(&mut out, id, result.as_ref()).is_err() {
        // Only a map with non-string keys fails to serialize; results have none.
        out.clear();
    }
    out
}

/// A response line: the result, or the error. An id that could not be read is `null`.
pub(crate) fn response(id: Option<&RequestId>, result: Result<Value, ErrorObject>) -> Vec<u8> {
    let mut out = Vec::new();
    let encoded = match id {
        Some(id) => encode_response(&mut out, id, result.as_ref()),
        None => {
            // JSON-RPC: an error about a message whose id could not be read carries `"id": null`.
            let mut msg = Map::new();
            msg.insert("jsonrpc".into(), Value::from("2.0"));
            msg.insert("id".into(), Value::Null);
            match &result {
                Ok(v) => msg.insert("result".into(), v.clone()),
                Err(e) => msg.insert("error".into(), error_value(e)),
            };
            serde_json::to_writer(&mut out, &msg).map(|()| out.push(b'\n'))
        }
    };
    if encoded.is_err() {
        // Only a map with non-string keys fails to serialize; `Value` has none.
        out.clear();
    }
    out
}

fn error_value(e: &ErrorObject) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(line: &str) -> Message {
        match parse(line.as_bytes()) {
            Line::Single(m) => m,
            Line::Batch(b) => panic!("a batch: {b:?}"),
        }
    }

    fn code(m: &Message) -> Option<i64> {
        match m {
            Message::Invalid { error, .. } => Some(error.code),
            _ => None,
        }
    }

    #[test]
    fn garbage_is_a_parse_error_and_odd_json_an_invalid_request() {
        assert_eq!(code(&single("{not json")), Some(PARSE_ERROR));
        assert_eq!(code(&single("42")), Some(INVALID_REQUEST));
        assert_eq!(code(&single("[]")), Some(INVALID_REQUEST));
        assert_eq!(
            code(&single(r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#)),
            Some(INVALID_REQUEST)
        );
        assert_eq!(
            code(&single(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#)),
            Some(INVALID_REQUEST)
        );
        assert_eq!(
            code(&single(r#"{"jsonrpc":"2.0","id":1}"#)),
            Some(INVALID_REQUEST)
        );
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            Message::Response { .. }
        ));
    }

    #[test]
    fn requests_notifications_and_batches() {
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#),
            Message::Request { id: RequestId::String(s), .. } if s == "a"
        ));
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Message::Notification { .. }
        ));
        let Line::Batch(b) = parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},3]"#) else {
            panic!("not a batch");
        };
        assert!(matches!(b[0], Message::Request { .. }));
        assert_eq!(code(&b[1]), Some(INVALID_REQUEST));
    }

    #[test]
    fn an_unreadable_id_is_null() {
        let line = response(None, Err(ErrorObject::new(PARSE_ERROR, "x")));
        let v: Value = serde_json::from_slice(&line).unwrap_or_default();
        assert_eq!(v["id"], Value::Null);
        assert_eq!(v["error"]["code"], PARSE_ERROR);
        assert!(line.ends_with(b"\n"));
    }
}

//! Fault tools that break the JSON-RPC conversation itself, offered only with
//! `--fault-tools` ([`crate::Options::fault_tools`]): a response sent twice,
//! responses for ids nobody asked about, an answer under the wrong id, a
//! response written in pieces, and stdout closed while the server runs on.

use std::time::Duration;

use serde_json::{Value, json};

use crate::handler::{Handler, Sink};
use crate::jsonrpc::{RpcError, error_response, response};
use crate::tools::{error_result, schema, text_result, tool};

/// The fault tools, in `tools/list` order (after every other tool).
pub const FAULT_TOOL_NAMES: &[&str] = &["duplicate", "stray", "wrong_id", "split", "close_stdout"];

/// The id `wrong_id` answers under.
const WRONG_ID: &str = "mcpmux-test-server-wrong-id";

/// Most pieces `split` writes a response in.
const MAX_SPLIT_PARTS: u64 = 10_000;

/// The `tools/list` entries of the fault tools.
pub(crate) fn definitions() -> Vec<Value> {
    let int = |d: &str| json!({"type": "integer", "minimum": 0, "description": d});
    vec![
        tool(
            "duplicate",
            "Sends its response twice: first with text \"first\", then with text \"second\".",
            schema(json!({}), &[]),
        ),
        tool(
            "stray",
            "Sends responses for ids nobody asked about (a large number, a string, a negative \
             number, and an error with a null id), then answers \"ok\".",
            schema(json!({}), &[]),
        ),
        tool(
            "wrong_id",
            "Answers under a different id (\"mcpmux-test-server-wrong-id\"); the request itself \
             is never answered.",
            schema(json!({}), &[]),
        ),
        tool(
            "split",
            "stdio only: writes its response (text `text`) in `parts` pieces `ms` apart, \
             flushing each, with nothing else written in between.",
            schema(
                json!({
                    "text": {"type": "string", "description": "Text to answer."},
                    "parts": int("Number of pieces (at least 1)."),
                    "ms": int("Milliseconds between pieces."),
                }),
                &["text", "parts", "ms"],
            ),
        ),
        tool(
            "close_stdout",
            "stdio only: writes `partial` (no newline) to stdout, then closes stdout for good \
             (it becomes /dev/null) while the server keeps running and reading stdin. Its own \
             answer is lost.",
            schema(
                json!({"partial": {"type": "string", "description": "Bytes written first (default none)."}}),
                &[],
            ),
        ),
    ]
}

/// Runs a fault tool: `None` if `params` names no fault tool, else what to
/// answer (`Some(None)`: answered through the sink already, or never).
pub(crate) async fn call(
    _handler: &Handler,
    sink: &Sink,
    id: &Value,
    params: &Value,
) -> Option<Option<Value>> {
    let name = params.get("name").and_then(Value::as_str)?;
    if !FAULT_TOOL_NAMES.contains(&name) {
        return None;
    }
    let args = params
        .get("arguments")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let answer = match name {
        "duplicate" => {
            sink.message(&response(id.clone(), text_result("first")));
            response(id.clone(), text_result("second"))
        }
        "stray" => {
            for stray in [
                json!(9_007_199_254_740_991_u64),
                json!("mcpmux-test-server-stray"),
                json!(-1),
            ] {
                sink.message(&response(stray, text_result("stray")));
            }
            sink.message(&error_response(
                Value::Null,
                RpcError::new(-32000, "an error for nobody (stray)"),
            ));
            response(id.clone(), text_result("ok"))
        }
        "wrong_id" => response(json!(WRONG_ID), text_result("wrong")),
        "split" => match split_args(&args) {
            Ok((text, parts, ms)) => {
                let mut bytes = response(id.clone(), text_result(text))
                    .to_string()
                    .into_bytes();
                bytes.push(b'\n');
                match sink.split(bytes, parts, ms) {
                    Ok(()) => return Some(None),
                    Err(why) => response(id.clone(), error_result(why)),
                }
            }
            Err(err) => error_response(id.clone(), err),
        },
        "close_stdout" => {
            let partial = args
                .get("partial")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match sink.close_output(partial.as_bytes().to_vec()) {
                Ok(()) => response(id.clone(), text_result("closed")),
                Err(why) => response(id.clone(), error_result(why)),
            }
        }
        _ => return None,
    };
    Some(Some(answer))
}

fn split_args(args: &Value) -> Result<(&str, usize, u64), RpcError> {
    let bad =
        |what: &str| RpcError::invalid_params(format!("invalid arguments for tool split: {what}"));
    let text = args
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`text` must be a string"))?;
    let parts = args
        .get("parts")
        .and_then(Value::as_u64)
        .filter(|p| (1..=MAX_SPLIT_PARTS).contains(p))
        .ok_or_else(|| bad("`parts` must be an integer from 1 to 10000"))?;
    let ms = args
        .get("ms")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("`ms` must be a non-negative integer"))?;
    Ok((text, parts as usize, ms))
}

/// The pieces `split` writes: `parts` nearly equal slices (at least one byte each).
pub(crate) fn pieces(bytes: &[u8], parts: usize) -> Vec<&[u8]> {
    let parts = parts.clamp(1, bytes.len().max(1));
    let size = bytes.len().div_ceil(parts).max(1);
    bytes.chunks(size).collect()
}

/// The pause between `split` pieces.
pub(crate) fn pause(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_bytes() {
        let b = b"0123456789";
        for parts in [1, 2, 3, 7, 10, 50] {
            let p = pieces(b, parts);
            assert!(p.len() <= parts.max(1));
            assert_eq!(p.concat(), b);
        }
    }
}

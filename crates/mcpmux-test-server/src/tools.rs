//! The tools: their `tools/list` definitions and their implementations.

use std::sync::LazyLock;
use std::time::Duration;

use serde_json::{Map, Number, Value, json};

use crate::handler::{Handler, Sink, Transport};
use crate::jsonrpc::{RpcError, notification, params_object};
use crate::{MAX_PAYLOAD_BYTES, SERVER_NAME, faults};

/// The names of the tools offered on every transport, in `tools/list` order.
pub const TOOL_NAMES: &[&str] = &[
    "echo",
    "add",
    "sleep",
    "fail",
    "progress",
    "log",
    "crash",
    "hang",
    "garbage",
    "big",
    "pid",
    "spawn_grandchild",
    "cancellations",
    "stderr",
];

/// The names of the tools offered on HTTP only, listed after [`TOOL_NAMES`].
pub const HTTP_ONLY_TOOL_NAMES: &[&str] = &["drop_stream"];

/// Most garbage lines one `garbage` call may write.
const MAX_GARBAGE_LINES: u64 = 1_000_000;

static DEFINITIONS: LazyLock<Vec<Value>> = LazyLock::new(build_definitions);

static HTTP_DEFINITIONS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut all = build_definitions();
    all.push(tool(
        "drop_stream",
        "HTTP only: abruptly closes the SSE stream carrying this request's response, before \
         (`before_response: true`) or right after the response event. With event ids the \
         response can be fetched again with GET + Last-Event-ID.",
        schema(
            json!({"before_response": {
                "type": "boolean",
                "description": "Close before sending the response (default false).",
            }}),
            &[],
        ),
    ));
    all
});

/// The `tools/list` entries of the tools offered on stdio (name,
/// description, inputSchema and, where the tool has one, outputSchema), in
/// [`TOOL_NAMES`] order.
pub fn tool_definitions() -> Vec<Value> {
    DEFINITIONS.clone()
}

static FAULT_DEFINITIONS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut all = build_definitions();
    all.extend(crate::fault_tools::definitions());
    all
});

static HTTP_FAULT_DEFINITIONS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut all = HTTP_DEFINITIONS.clone();
    all.extend(crate::fault_tools::definitions());
    all
});

/// Borrowed view of the definitions, for `tools/list`: the HTTP list adds
/// [`HTTP_ONLY_TOOL_NAMES`], `--fault-tools` adds
/// [`FAULT_TOOL_NAMES`](crate::FAULT_TOOL_NAMES) at the end.
pub(crate) fn definitions(http: bool, fault_tools: bool) -> &'static [Value] {
    match (http, fault_tools) {
        (true, false) => &HTTP_DEFINITIONS,
        (false, false) => &DEFINITIONS,
        (true, true) => &HTTP_FAULT_DEFINITIONS,
        (false, true) => &FAULT_DEFINITIONS,
    }
}

pub(crate) fn schema(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required})
}

pub(crate) fn tool(name: &str, description: &str, input: Value) -> Value {
    json!({"name": name, "description": description, "inputSchema": input})
}

fn build_definitions() -> Vec<Value> {
    let int = |d: &str| json!({"type": "integer", "minimum": 0, "description": d});
    let string = |d: &str| json!({"type": "string", "description": d});
    let pid_output = schema(json!({"pid": {"type": "integer"}}), &["pid"]);

    let mut add = tool(
        "add",
        "Adds two numbers; the sum is the text and structuredContent.sum.",
        schema(
            json!({"a": {"type": "number"}, "b": {"type": "number"}}),
            &["a", "b"],
        ),
    );
    add["outputSchema"] = schema(json!({"sum": {"type": "number"}}), &["sum"]);

    let mut pid = tool(
        "pid",
        "Answers the server's own process id.",
        schema(json!({}), &[]),
    );
    pid["outputSchema"] = pid_output.clone();

    let mut grandchild = tool(
        "spawn_grandchild",
        "Spawns `sleep 3600` as a child of the server (same process group) and answers its pid.",
        schema(json!({}), &[]),
    );
    grandchild["outputSchema"] = pid_output;

    let mut cancellations = tool(
        "cancellations",
        "Lists the request ids named by notifications/cancelled so far, in arrival order.",
        schema(json!({}), &[]),
    );
    cancellations["outputSchema"] = schema(json!({"cancelled": {"type": "array"}}), &["cancelled"]);

    vec![
        tool(
            "echo",
            "Answers the given text unchanged.",
            schema(json!({"text": string("Text to echo back.")}), &["text"]),
        ),
        add,
        tool(
            "sleep",
            "Sleeps for `ms` milliseconds, then answers \"slept {ms} ms\".",
            schema(json!({"ms": int("Milliseconds to sleep.")}), &["ms"]),
        ),
        tool(
            "fail",
            "Answers a tool error (isError: true) with the given message.",
            schema(json!({"message": string("The error text.")}), &["message"]),
        ),
        tool(
            "progress",
            "Sends `steps` progress notifications `ms` apart (when the request has \
             _meta.progressToken), then answers \"done\".",
            schema(
                json!({"steps": int("Number of steps."), "ms": int("Milliseconds per step.")}),
                &["steps", "ms"],
            ),
        ),
        tool(
            "log",
            "Sends a notifications/message log message, then answers \"ok\".",
            schema(
                json!({
                    "level": string("Log level (debug, info, notice, warning, error, ...)."),
                    "message": string("The message (sent as `data`)."),
                }),
                &["level", "message"],
            ),
        ),
        tool(
            "crash",
            "Exits the server process at once with the given exit code, never answering.",
            schema(json!({"code": {"type": "integer"}}), &["code"]),
        ),
        tool(
            "hang",
            "Never answers (until cancelled).",
            schema(json!({}), &[]),
        ),
        tool(
            "garbage",
            "Writes `lines` non-JSON-RPC lines to stdout, then answers \"ok\".",
            schema(
                json!({"lines": int("Number of garbage lines.")}),
                &["lines"],
            ),
        ),
        tool(
            "big",
            "Answers a text of exactly `bytes` 'x' characters (at most 256 MiB).",
            schema(json!({"bytes": int("Length of the text.")}), &["bytes"]),
        ),
        pid,
        grandchild,
        cancellations,
        tool(
            "stderr",
            "Writes `lines` lines of `bytes` characters each to stderr, then answers \"ok\".",
            schema(
                json!({"lines": int("Number of lines."), "bytes": int("Characters per line.")}),
                &["lines", "bytes"],
            ),
        ),
    ]
}

/// A CallToolResult with one text content item.
pub(crate) fn text_result(text: impl Into<String>) -> Value {
    json!({"content": [{"type": "text", "text": text.into()}]})
}

/// A CallToolResult with text and structuredContent.
fn structured_result(text: impl Into<String>, structured: Value) -> Value {
    let mut result = text_result(text);
    result["structuredContent"] = structured;
    result
}

/// A CallToolResult with isError: true.
pub(crate) fn error_result(text: impl Into<String>) -> Value {
    let mut result = text_result(text);
    result["isError"] = Value::Bool(true);
    result
}

/// Typed access to a tool's arguments; every failure is `-32602`.
struct Args<'a> {
    tool: &'a str,
    map: Map<String, Value>,
}

impl Args<'_> {
    fn get(&self, key: &str) -> Result<&Value, RpcError> {
        self.map
            .get(key)
            .ok_or_else(|| self.bad(key, "is required"))
    }

    fn bad(&self, key: &str, what: &str) -> RpcError {
        RpcError::invalid_params(format!(
            "invalid arguments for tool {}: `{key}` {what}",
            self.tool
        ))
    }

    fn string(&self, key: &str) -> Result<&str, RpcError> {
        self.get(key)?
            .as_str()
            .ok_or_else(|| self.bad(key, "must be a string"))
    }

    fn number(&self, key: &str) -> Result<&Number, RpcError> {
        match self.get(key)? {
            Value::Number(n) => Ok(n),
            _ => Err(self.bad(key, "must be a number")),
        }
    }

    fn u64(&self, key: &str) -> Result<u64, RpcError> {
        self.get(key)?
            .as_u64()
            .ok_or_else(|| self.bad(key, "must be a non-negative integer"))
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool, RpcError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(key, "must be a boolean")),
        }
    }

    fn i64(&self, key: &str) -> Result<i64, RpcError> {
        self.get(key)?
            .as_i64()
            .ok_or_else(|| self.bad(key, "must be an integer"))
    }

    /// A non-negative integer no larger than `max`, as usize.
    fn bounded(&self, key: &str, max: u64) -> Result<usize, RpcError> {
        let n = self.u64(key)?;
        if n > max {
            return Err(self.bad(key, &format!("must be at most {max}")));
        }
        usize::try_from(n).map_err(|_| self.bad(key, "is too large"))
    }
}

/// Runs `tools/call`; `Err` becomes a JSON-RPC error response.
pub(crate) async fn call(
    handler: &Handler,
    sink: &Sink,
    params: &Value,
) -> Result<Value, RpcError> {
    let params = params_object(params)?;
    let name = match params.get("name") {
        Some(Value::String(name)) => name.as_str(),
        _ => {
            return Err(RpcError::invalid_params(
                "tools/call: `name` must be a string",
            ));
        }
    };
    let map = match params.get("arguments") {
        Some(Value::Object(map)) => map.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            return Err(RpcError::invalid_params(
                "tools/call: `arguments` must be an object",
            ));
        }
    };
    let progress_token = params
        .get("_meta")
        .and_then(|meta| meta.get("progressToken"))
        .filter(|token| !token.is_null())
        .cloned();
    let args = Args { tool: name, map };

    match name {
        "echo" => Ok(text_result(args.string("text")?)),
        "add" => add(&args),
        "sleep" => {
            let ms = args.u64("ms")?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(text_result(format!("slept {ms} ms")))
        }
        "fail" => Ok(error_result(args.string("message")?)),
        "progress" => {
            let steps = args.u64("steps")?;
            let ms = args.u64("ms")?;
            for i in 1..=steps {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                if let Some(token) = &progress_token {
                    sink.message(&notification(
                        "notifications/progress",
                        json!({
                            "progressToken": token,
                            "progress": i,
                            "total": steps,
                            "message": format!("step {i}/{steps}"),
                        }),
                    ));
                }
            }
            Ok(text_result("done"))
        }
        "log" => {
            let level = args.string("level")?;
            let message = args.string("message")?;
            sink.message(&notification(
                "notifications/message",
                json!({"level": level, "logger": SERVER_NAME, "data": message}),
            ));
            Ok(text_result("ok"))
        }
        "crash" => {
            let code = i32::try_from(args.i64("code")?)
                .map_err(|_| args.bad("code", "must fit in a 32-bit integer"))?;
            match &handler.transport {
                Transport::Stdio => faults::crash(code),
                Transport::Http { crash } => {
                    crash(code);
                    std::future::pending().await
                }
            }
        }
        "hang" => std::future::pending().await,
        "garbage" => {
            let lines = args.bounded("lines", MAX_GARBAGE_LINES)?;
            sink.garbage(lines);
            Ok(text_result("ok"))
        }
        "big" => {
            let bytes = args.bounded("bytes", MAX_PAYLOAD_BYTES)?;
            Ok(text_result("x".repeat(bytes)))
        }
        "pid" => {
            let pid = std::process::id();
            Ok(structured_result(pid.to_string(), json!({"pid": pid})))
        }
        "spawn_grandchild" => Ok(match faults::spawn_grandchild() {
            Ok(pid) => structured_result(pid.to_string(), json!({"pid": pid})),
            Err(err) => error_result(format!("could not spawn `sleep 3600`: {err}")),
        }),
        "cancellations" => {
            let structured = json!({"cancelled": handler.cancelled_ids()});
            Ok(structured_result(structured.to_string(), structured))
        }
        "stderr" => {
            let lines = args.u64("lines")?;
            let bytes = args.u64("bytes")?;
            let total = lines.saturating_mul(bytes.saturating_add(1));
            if total > MAX_PAYLOAD_BYTES {
                return Err(args.bad("lines", "times `bytes` must be at most 256 MiB"));
            }
            let (lines, bytes) = (lines as usize, bytes as usize);
            Ok(match faults::flood_stderr(lines, bytes).await {
                Ok(()) => text_result("ok"),
                Err(err) => error_result(format!("writing to stderr failed: {err}")),
            })
        }
        "drop_stream" if handler.is_http() => {
            let before = args.bool_or("before_response", false)?;
            Ok(match sink.drop_stream(before) {
                Ok(()) => text_result("dropped"),
                Err(why) => error_result(why),
            })
        }
        _ => Err(RpcError::invalid_params(format!("unknown tool: {name}"))),
    }
}

fn add(args: &Args<'_>) -> Result<Value, RpcError> {
    let a = args.number("a")?;
    let b = args.number("b")?;
    let int_sum = match (a.as_i64(), b.as_i64()) {
        (Some(a), Some(b)) => a.checked_add(b).map(Number::from),
        _ => None,
    };
    let sum = match int_sum {
        Some(sum) => sum,
        None => {
            let (a, b) = (a.as_f64(), b.as_f64());
            let sum = match (a, b) {
                (Some(a), Some(b)) => Number::from_f64(a + b),
                _ => None,
            };
            sum.ok_or_else(|| args.bad("a", "plus `b` is not a finite number"))?
        }
    };
    Ok(structured_result(sum.to_string(), json!({"sum": sum})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_match_names() {
        let names: Vec<&str> = definitions(false, false)
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, TOOL_NAMES);
        assert_eq!(definitions(true, false).len(), TOOL_NAMES.len() + 1);
        let faults = crate::FAULT_TOOL_NAMES.len();
        assert_eq!(definitions(false, true).len(), TOOL_NAMES.len() + faults);
        assert_eq!(definitions(true, true).len(), TOOL_NAMES.len() + 1 + faults);
        for def in definitions(true, true) {
            assert_eq!(def["inputSchema"]["type"], "object");
            assert!(def["inputSchema"]["properties"].is_object());
            assert!(def["inputSchema"]["required"].is_array());
            assert!(def["description"].is_string());
        }
    }

    fn args(map: Value) -> Args<'static> {
        Args {
            tool: "add",
            map: map.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn add_numbers() {
        let r = add(&args(json!({"a": 1, "b": 2}))).unwrap();
        assert_eq!(r["content"][0]["text"], "3");
        assert_eq!(r["structuredContent"]["sum"], 3);
        let r = add(&args(json!({"a": 1, "b": 1.5}))).unwrap();
        assert_eq!(r["content"][0]["text"], "2.5");
        let r = add(&args(json!({"a": i64::MAX, "b": 1}))).unwrap();
        assert!(r["structuredContent"]["sum"].is_f64());
        assert!(add(&args(json!({"a": 1e308, "b": 1e308}))).is_err());
        assert!(add(&args(json!({"a": "1", "b": 2}))).is_err());
        assert!(add(&args(json!({"a": 1}))).is_err());
    }
}

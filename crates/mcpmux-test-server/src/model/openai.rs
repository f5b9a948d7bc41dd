//! OpenAI chat completions (`POST /v1/chat/completions`): checking a request's tool results, and
//! the reply as one JSON body or as `chat.completion.chunk` events.

use serde_json::{Value, json};

/// The id of tool call `index` of turn `turn`.
pub(super) fn call_id(turn: usize, index: usize) -> String {
    format!("call_{turn}_{index}")
}

/// How many assistant messages the request's history holds.
pub(super) fn assistant_messages(body: &Value) -> usize {
    messages(body)
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
        .count()
}

fn messages(body: &Value) -> &[Value] {
    body.get("messages")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Why the request is malformed: the last assistant message's tool calls must each be answered
/// by exactly one `tool` message after it, and no `tool` message may answer another id.
pub(super) fn check(body: &Value) -> Result<(), String> {
    let messages = messages(body);
    if messages.is_empty() {
        return Err("`messages` must be a non-empty array".to_owned());
    }
    let Some(last) = messages
        .iter()
        .rposition(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
    else {
        return Ok(());
    };
    let asked: Vec<&str> = messages
        .get(last)
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .filter_map(|c| c.get("id").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let answered: Vec<&str> = messages
        .iter()
        .skip(last + 1)
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("tool"))
        .map(|m| m.get("tool_call_id").and_then(Value::as_str).unwrap_or(""))
        .collect();
    super::check_answers(&asked, &answered, "tool_call_id")
}

/// The whole reply, for `stream: false`.
pub(super) fn reply(model: &str, turn: usize, text: &str, calls: &[(String, Value)]) -> Value {
    let tool_calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, arguments))| {
            json!({
                "id": call_id(turn, i),
                "type": "function",
                "function": {"name": name, "arguments": arguments.to_string()}
            })
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": text});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    json!({
        "id": format!("chatcmpl-{turn}"),
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish(calls)}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    })
}

fn finish(calls: &[(String, Value)]) -> &'static str {
    if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

/// The reply as SSE `data:` payloads (then `[DONE]`): the text in two pieces, each tool call
/// opened with its id and name and its arguments split mid-JSON across three chunks.
pub(super) fn chunks(
    model: &str,
    turn: usize,
    text: &str,
    calls: &[(String, Value)],
) -> Vec<String> {
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({
            "id": format!("chatcmpl-{turn}"),
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        })
        .to_string()
    };
    let mut out = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    for piece in super::split(text, 2) {
        out.push(chunk(json!({"content": piece}), None));
    }
    for (i, (name, arguments)) in calls.iter().enumerate() {
        out.push(chunk(
            json!({"tool_calls": [{"index": i, "id": call_id(turn, i), "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            None,
        ));
        for piece in super::split(&arguments.to_string(), 3) {
            out.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                None,
            ));
        }
    }
    out.push(chunk(json!({}), Some(finish(calls))));
    out.push(
        json!({
            "id": format!("chatcmpl-{turn}"),
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        })
        .to_string(),
    );
    out.push("[DONE]".to_owned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(tool_messages: &[&str]) -> Value {
        let mut messages = vec![
            json!({"role": "user", "content": "go"}),
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_0_0", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                {"id": "call_0_1", "type": "function", "function": {"name": "b", "arguments": "{}"}}
            ]}),
        ];
        for id in tool_messages {
            messages.push(json!({"role": "tool", "tool_call_id": id, "content": "ok"}));
        }
        json!({"model": "m", "messages": messages})
    }

    #[test]
    fn every_call_answered_once_passes() {
        assert_eq!(check(&history(&["call_0_1", "call_0_0"])), Ok(()));
        assert_eq!(assistant_messages(&history(&[])), 1);
    }

    #[test]
    fn unanswered_duplicated_or_unknown_answers_fail() {
        assert!(
            check(&history(&["call_0_0"]))
                .unwrap_err()
                .contains("call_0_1")
        );
        assert!(check(&history(&["call_0_0", "call_0_1", "call_0_1"])).is_err());
        assert!(check(&history(&["call_0_0", "call_0_1", "call_9"])).is_err());
        assert!(check(&json!({"messages": []})).is_err());
    }

    #[test]
    fn streamed_arguments_join_back_into_the_call() {
        let calls = vec![("a_echo".to_owned(), json!({"text": "hello world"}))];
        let chunks = chunks("m", 0, "hi", &calls);
        let mut args = String::new();
        for c in &chunks[..chunks.len() - 1] {
            let v: Value = serde_json::from_str(c).unwrap();
            if let Some(a) =
                v["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            {
                args.push_str(a);
            }
        }
        assert_eq!(
            serde_json::from_str::<Value>(&args).unwrap(),
            json!({"text": "hello world"})
        );
        assert_eq!(chunks.last().unwrap(), "[DONE]");
    }
}

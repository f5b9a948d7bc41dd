//! Anthropic Messages (`POST /v1/messages`): checking a request's tool results, and the reply as
//! one JSON body or as its named SSE events.

use serde_json::{Value, json};

/// The id of tool call `index` of turn `turn`.
pub(super) fn call_id(turn: usize, index: usize) -> String {
    format!("toolu_{turn}_{index}")
}

fn messages(body: &Value) -> &[Value] {
    body.get("messages")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// How many assistant messages the request's history holds.
pub(super) fn assistant_messages(body: &Value) -> usize {
    messages(body)
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
        .count()
}

/// The blocks of `kind` in a message's content, and `field` of each.
fn blocks<'a>(message: Option<&'a Value>, kind: &str, field: &str) -> Vec<&'a str> {
    message
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some(kind))
                .map(|b| b.get(field).and_then(Value::as_str).unwrap_or(""))
                .collect()
        })
        .unwrap_or_default()
}

/// Why the request is malformed: each `tool_use` of the last assistant message must be answered
/// by exactly one `tool_result` in the user message after it, and nothing else answered there.
pub(super) fn check(body: &Value) -> Result<(), String> {
    let messages = messages(body);
    if messages.is_empty() {
        return Err("`messages` must be a non-empty array".to_owned());
    }
    if body.get("max_tokens").and_then(Value::as_u64).is_none() {
        return Err("`max_tokens` is required".to_owned());
    }
    let Some(last) = messages
        .iter()
        .rposition(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
    else {
        return Ok(());
    };
    let asked = blocks(messages.get(last), "tool_use", "id");
    let answered = blocks(messages.get(last + 1), "tool_result", "tool_use_id");
    super::check_answers(&asked, &answered, "tool_use_id")
}

fn content(turn: usize, text: &str, calls: &[(String, Value)]) -> Vec<Value> {
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    for (i, (name, input)) in calls.iter().enumerate() {
        content.push(
            json!({"type": "tool_use", "id": call_id(turn, i), "name": name, "input": input}),
        );
    }
    content
}

fn stop(calls: &[(String, Value)]) -> &'static str {
    if calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

/// The whole reply, for a request without `stream: true`.
pub(super) fn reply(model: &str, turn: usize, text: &str, calls: &[(String, Value)]) -> Value {
    json!({
        "id": format!("msg_{turn}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content(turn, text, calls),
        "stop_reason": stop(calls),
        "stop_sequence": null,
        "usage": {"input_tokens": 1, "output_tokens": 1}
    })
}

/// The reply as SSE events (name, data): text in two deltas, each tool call's input JSON split
/// across three `input_json_delta`s.
pub(super) fn events(
    model: &str,
    turn: usize,
    text: &str,
    calls: &[(String, Value)],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut event = |name: &str, data: Value| out.push((name.to_owned(), data.to_string()));
    event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": format!("msg_{turn}"), "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 0}
        }}),
    );
    let mut index = 0;
    if !text.is_empty() {
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        );
        for piece in super::split(text, 2) {
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
            );
        }
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
        index += 1;
    }
    for (i, (name, input)) in calls.iter().enumerate() {
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block":
                {"type": "tool_use", "id": call_id(turn, i), "name": name, "input": {}}}),
        );
        for piece in super::split(&input.to_string(), 3) {
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta":
                    {"type": "input_json_delta", "partial_json": piece}}),
            );
        }
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
        index += 1;
    }
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop(calls), "stop_sequence": null},
            "usage": {"output_tokens": 1}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(answers: &[&str]) -> Value {
        let results: Vec<Value> = answers
            .iter()
            .map(|id| json!({"type": "tool_result", "tool_use_id": id, "content": "ok"}))
            .collect();
        json!({"model": "m", "max_tokens": 100, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_0_0", "name": "a", "input": {}},
                {"type": "tool_use", "id": "toolu_0_1", "name": "b", "input": {}}
            ]},
            {"role": "user", "content": results}
        ]})
    }

    #[test]
    fn answers_are_checked() {
        assert_eq!(check(&history(&["toolu_0_0", "toolu_0_1"])), Ok(()));
        assert!(check(&history(&["toolu_0_0"])).is_err());
        assert!(check(&history(&["toolu_0_0", "toolu_0_1", "toolu_0_0"])).is_err());
        assert_eq!(assistant_messages(&history(&[])), 1);
    }
}

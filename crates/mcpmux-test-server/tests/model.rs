//! The scripted model server over HTTP, driven with reqwest: replies by history, 400 for tool
//! calls left unanswered or answered twice, streamed replies that arrive in several chunks, and
//! the requests recorded.

use mcpmux_test_server::model::{Script, start_model};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn script() -> Script {
    Script::from_json(&json!({"turns": [
        {"text": "Checking.", "tool_calls": [
            {"name": "a_echo", "arguments": {"text": "one"}},
            {"name": "b_echo", "arguments": {"text": "two"}}
        ]},
        {"text": "Done."}
    ]}))
    .expect("a valid script")
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// The history after the first turn, answering the calls with `answers` (tool_call_ids).
fn second_request(answers: &[&str]) -> Value {
    let mut messages = vec![
        json!({"role": "user", "content": "Go."}),
        json!({"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_0_0", "type": "function", "function": {"name": "a_echo", "arguments": "{}"}},
            {"id": "call_0_1", "type": "function", "function": {"name": "b_echo", "arguments": "{}"}}
        ]}),
    ];
    for id in answers {
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": "ok"}));
    }
    json!({"model": "m", "messages": messages})
}

#[tokio::test]
async fn openai_replies_follow_the_history_and_unanswered_or_repeated_calls_get_400() {
    let server = start_model(script()).await.expect("the model server");
    let url = format!("{}/chat/completions", server.url);
    let client = client();
    let first = client
        .post(&url)
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "Go."}]}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.expect("JSON");
    let message = &first["choices"][0]["message"];
    assert_eq!(message["content"], "Checking.");
    assert_eq!(message["tool_calls"][1]["id"], "call_0_1");
    assert_eq!(
        message["tool_calls"][1]["function"]["arguments"],
        r#"{"text":"two"}"#
    );
    assert_eq!(first["choices"][0]["finish_reason"], "tool_calls");
    for (answers, status) in [
        (&["call_0_0", "call_0_1"][..], StatusCode::OK),
        (&["call_0_1", "call_0_0"][..], StatusCode::OK),
        (&["call_0_0"][..], StatusCode::BAD_REQUEST),
        (
            &["call_0_0", "call_0_1", "call_0_0"][..],
            StatusCode::BAD_REQUEST,
        ),
        (
            &["call_0_0", "call_0_1", "call_9_9"][..],
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = client
            .post(&url)
            .json(&second_request(answers))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), status, "{answers:?}");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 200, 200, 400, 400, 400]
    );
    assert_eq!(requests[1].body, second_request(&["call_0_0", "call_0_1"]));
}

#[tokio::test]
async fn a_streamed_reply_comes_in_many_chunks_with_arguments_split_mid_json() {
    let server = start_model(script()).await.expect("the model server");
    let mut response = client()
        .post(format!("{}/chat/completions", server.url))
        .json(&json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "Go."}]}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let mut chunks = 0;
    let mut body = String::new();
    while let Some(chunk) = response.chunk().await.expect("a chunk") {
        chunks += 1;
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events: Vec<Value> = body
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("a JSON chunk"))
        .collect();
    assert!(
        chunks >= events.len() / 2,
        "{chunks} chunks for {} events",
        events.len()
    );
    assert!(body.trim_end().ends_with("data: [DONE]"));
    let mut arguments = [String::new(), String::new()];
    let mut pieces = 0;
    for event in &events {
        for call in event["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let (Some(i), Some(piece)) = (
                call["index"].as_u64(),
                call["function"]["arguments"].as_str(),
            ) && !piece.is_empty()
            {
                pieces += 1;
                if let Some(slot) = arguments.get_mut(i as usize) {
                    slot.push_str(piece);
                }
            }
        }
    }
    assert!(pieces >= 4, "arguments in {pieces} pieces");
    assert_eq!(arguments, [r#"{"text":"one"}"#, r#"{"text":"two"}"#]);
}

#[tokio::test]
async fn anthropic_replies_and_checks_tool_use_ids() {
    let server = start_model(script()).await.expect("the model server");
    let url = format!("{}/messages", server.url);
    let client = client();
    let first: Value = client
        .post(&url)
        .json(&json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "Go."}]}))
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON");
    assert_eq!(first["stop_reason"], "tool_use");
    assert_eq!(first["content"][2]["id"], "toolu_0_1");
    let history = |answers: &[&str]| {
        let results: Vec<Value> = answers
            .iter()
            .map(|id| json!({"type": "tool_result", "tool_use_id": id, "content": "ok"}))
            .collect();
        json!({"model": "m", "max_tokens": 100, "messages": [
            {"role": "user", "content": "Go."},
            {"role": "assistant", "content": first["content"]},
            {"role": "user", "content": results}
        ]})
    };
    let ok = client
        .post(&url)
        .json(&history(&["toolu_0_0", "toolu_0_1"]))
        .send()
        .await;
    assert_eq!(ok.expect("an answer").status(), StatusCode::OK);
    let missing = client
        .post(&url)
        .json(&history(&["toolu_0_1"]))
        .send()
        .await;
    assert_eq!(
        missing.expect("an answer").status(),
        StatusCode::BAD_REQUEST
    );
}

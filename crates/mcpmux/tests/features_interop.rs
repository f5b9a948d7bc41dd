//! The client features against `@modelcontextprotocol/server-everything` (pinned): sampling,
//! elicitation (with schema defaults), roots, resources, prompts, completion, structured output.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use mcpmux::protocol::{
    CompletionRef, CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams,
    ElicitResult, Role, Root,
};
use mcpmux::{Received, RequestOptions, Server, ServerNotification};
use serde_json::json;

fn everything() -> mcpmux::ServerBuilder {
    let entry = require_peer(
        repo_root()
            .join(".peers/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
    );
    Server::stdio("node")
        .arg(entry)
        .arg("stdio")
        .name("server-everything")
        .shutdown_timeouts(Duration::from_secs(2), Duration::from_secs(1))
}

#[tokio::test]
async fn sampling_requests_are_answered_by_the_handler() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let server = everything()
        .sampling(move |p: CreateMessageParams| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                assert_eq!(p.max_tokens, 10);
                Ok(CreateMessageResult {
                    role: Role::Assistant,
                    content: json!({"type": "text", "text": "sampled-answer"}),
                    model: "test-model".into(),
                    stop_reason: Some("endTurn".into()),
                    extra: Default::default(),
                })
            }
        })
        .build()
        .unwrap();
    let guard = server.enter().await.unwrap();
    assert!(guard.initialize_result().capabilities.tools.is_some());
    let r = guard
        .call_tool(
            "trigger-sampling-request",
            json!({"prompt": "hi", "maxTokens": 10}),
        )
        .await
        .unwrap();
    assert!(r.text().contains("sampled-answer"), "{}", r.text());
    assert!(r.text().contains("test-model"));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn elicitation_gets_the_handlers_answer_plus_schema_defaults() {
    let server = everything()
        .elicitation(|p: ElicitParams| async move {
            assert!(!p.is_url_mode());
            Ok(ElicitResult {
                action: ElicitAction::Accept,
                content: Some(
                    serde_json::from_value(json!({"name": "Ada", "check": true})).unwrap(),
                ),
            })
        })
        .build()
        .unwrap();
    let guard = server.enter().await.unwrap();
    let r = guard
        .call_tool("trigger-elicitation-request", json!({}))
        .await
        .unwrap();
    let text = r.text();
    assert!(text.contains("Ada"), "{text}");
    // Defaults the handler left out were filled in from the requested schema.
    assert!(text.contains("It was a dark and stormy night."), "{text}");
    assert!(text.contains("42"), "{text}");
}

#[tokio::test]
async fn roots_are_listed_and_updates_announced() {
    let server = everything()
        .roots(vec![Root {
            uri: "file:///tmp/project-a".into(),
            name: Some("a".into()),
        }])
        .build()
        .unwrap();
    let guard = server.enter().await.unwrap();
    let r = guard.call_tool("get-roots-list", json!({})).await.unwrap();
    assert!(r.text().contains("file:///tmp/project-a"), "{}", r.text());
    server
        .set_roots(vec![Root {
            uri: "file:///tmp/project-b".into(),
            name: None,
        }])
        .unwrap();
    // The server re-lists roots after list_changed; poll its view (for up to about 10 s).
    let mut seen_b = false;
    for _ in 0..200 {
        let r = guard.call_tool("get-roots-list", json!({})).await.unwrap();
        if r.text().contains("project-b") {
            seen_b = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen_b, "the server never saw the new roots");
    let plain = everything().build().unwrap();
    assert!(plain.set_roots(vec![]).is_err());
}

#[tokio::test]
async fn resources_templates_read_and_subscribe() {
    let server = everything().build().unwrap();
    let mut sub = server.notifications();
    let guard = server.enter().await.unwrap();
    let resources = guard.list_resources().await.unwrap();
    assert!(!resources.is_empty());
    let cached = guard.resources().await.unwrap();
    assert_eq!(cached.len(), resources.len());
    let templates = guard.list_resource_templates().await.unwrap();
    assert!(
        templates
            .iter()
            .any(|t| t.uri_template.contains("{resourceId}")),
        "{templates:?}"
    );
    let first = &resources[0];
    let read = guard.read_resource(&first.uri).await.unwrap();
    assert_eq!(read.contents[0].uri, first.uri);
    assert!(read.contents[0].text.is_some() || read.contents[0].blob.is_some());
    guard.subscribe_resource(&first.uri).await.unwrap();
    guard
        .call_tool("toggle-subscriber-updates", json!({}))
        .await
        .unwrap();
    let got_update = bounded("resource update", Duration::from_secs(15), async {
        loop {
            if let Some(Received::Notification(ServerNotification::Other { method, .. })) =
                sub.recv().await
                && method == "notifications/resources/updated"
            {
                return true;
            }
        }
    })
    .await;
    assert!(got_update);
    guard.unsubscribe_resource(&first.uri).await.unwrap();
}

#[tokio::test]
async fn prompts_and_completion() {
    let server = everything().build().unwrap();
    let guard = server.enter().await.unwrap();
    let prompts = guard.list_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert!(
        names.contains(&"simple-prompt") && names.contains(&"args-prompt"),
        "{names:?}"
    );
    let simple = guard
        .get_prompt("simple-prompt", BTreeMap::new())
        .await
        .unwrap();
    assert!(!simple.messages.is_empty());
    let c = guard
        .complete(
            CompletionRef::Prompt {
                name: "completable-prompt".into(),
            },
            "department",
            "En",
            None,
        )
        .await
        .unwrap();
    assert_eq!(c.completion.values, vec!["Engineering"]);
    let c = guard
        .complete(
            CompletionRef::Prompt {
                name: "completable-prompt".into(),
            },
            "name",
            "",
            Some(BTreeMap::from([(
                "department".to_owned(),
                "Sales".to_owned(),
            )])),
        )
        .await
        .unwrap();
    assert_eq!(c.completion.values, vec!["David", "Eve", "Frank"]);
}

#[tokio::test]
async fn structured_output_is_validated_and_progress_reaches_the_callback() {
    let server = everything().build().unwrap();
    let guard = server.enter().await.unwrap();
    let r = guard
        .call_tool("get-structured-content", json!({"location": "New York"}))
        .await
        .unwrap();
    assert!(r.structured_content.is_some(), "{r:?}");
    let tools = guard.tools().await.unwrap();
    assert!(
        tools
            .get("get-structured-content")
            .unwrap()
            .output_schema
            .is_some()
    );
    let updates = Arc::new(AtomicUsize::new(0));
    let counter = updates.clone();
    let r = guard
        .call_tool(
            "trigger-long-running-operation", // A step every 500 ms for 4 s: only the resets keep the 2 s timeout from firing.
            json!({"duration": 4, "steps": 8}),
        )
        .options(
            RequestOptions::new()
                .on_progress(move |_| {
                    counter.fetch_add(1, Ordering::SeqCst);
                })
                .timeout(Duration::from_secs(2))
                .reset_timeout_on_progress(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    assert!(!r.is_error());
    assert_eq!(updates.load(Ordering::SeqCst), 8);
}

/// Subscriptions and the log level come back on a new connection without the caller redoing them.
#[tokio::test]
async fn session_state_is_restored_on_a_new_connection() {
    let server = everything().build().unwrap();
    let guard = server.enter().await.unwrap();
    let uri = guard.list_resources().await.unwrap()[0].uri.clone();
    guard.subscribe_resource(&uri).await.unwrap();
    guard
        .set_logging_level(mcpmux::protocol::LoggingLevel::Debug)
        .await
        .unwrap();
    drop(guard);
    server.close().await;
    let mut sub = server.notifications();
    let guard = server.enter().await.unwrap(); // a new process: state restored on connect
    guard
        .call_tool("toggle-subscriber-updates", json!({}))
        .await
        .unwrap();
    let updated = bounded("restored subscription", Duration::from_secs(15), async {
        loop {
            if let Some(Received::Notification(ServerNotification::Other { method, params })) =
                sub.recv().await
                && method == "notifications/resources/updated"
            {
                return params.and_then(|p| p["uri"].as_str().map(str::to_owned));
            }
        }
    })
    .await;
    assert_eq!(updated.as_deref(), Some(uri.as_str()));
}

/// A tool that requires a task runs as one: created, polled at the server's interval, result
/// fetched; dropping a task handle cancels the task with `tasks/cancel`.
#[tokio::test]
async fn tasks_run_to_completion_and_dropped_handles_cancel() {
    let server = everything().build().unwrap();
    let guard = server.enter().await.unwrap();
    let r = bounded(
        "research task",
        Duration::from_secs(30),
        guard.call_tool("simulate-research-query", json!({"topic": "rust"})),
    )
    .await
    .unwrap();
    assert!(!r.is_error(), "{r:?}");
    assert!(r.text().to_lowercase().contains("rust"), "{}", r.text());

    let task = guard
        .call_tool_as_task(
            "simulate-research-query",
            json!({"topic": "cancel me"}),
            None,
        )
        .await
        .unwrap();
    let id = task.id().to_owned();
    assert_eq!(task.task().status, mcpmux::protocol::TaskStatus::Working);
    drop(task);
    let cancelled = bounded("cancellation", Duration::from_secs(10), async {
        loop {
            let t = guard.get_task(&id).await.unwrap();
            if t.status.is_terminal() {
                return t.status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(cancelled, mcpmux::protocol::TaskStatus::Cancelled);
    assert!(
        guard
            .list_tasks()
            .await
            .unwrap()
            .iter()
            .any(|t| t.task_id == id)
    );
}

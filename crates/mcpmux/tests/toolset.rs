//! `Toolset` against the test server: prefixed names, filters, conflicts, approval, `call_many`,
//! partial startup and strict mode, list refresh, tool definitions.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use mcpmux::{
    Approval, ApprovalRequest, ErrorKind, Provider, Server, ToolCall, ToolFilter, ToolOutput,
    Toolset,
};
use serde_json::json;

fn server(name: &str) -> Server {
    test_server().name(name).build().expect("builds")
}

#[tokio::test]
async fn prefixed_names_filters_and_calls() {
    let toolset = Toolset::builder()
        .server("a", server("a"))
        .server_filtered("b", server("b"), ToolFilter::all().include(["echo", "add"]))
        .build()
        .await
        .expect("both start");
    let names: Vec<String> = toolset
        .tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"a_echo".to_owned()) && names.contains(&"a_crash".to_owned()));
    assert_eq!(
        names.iter().filter(|n| n.starts_with("b_")).count(),
        2,
        "{names:?}"
    );

    let r = toolset.call("a_echo", json!({"text": "hi"})).await.unwrap();
    assert_eq!(r.text(), "hi");
    // SERVER.TOOL works too; the prefix is stripped before the call.
    let r = toolset
        .call("b.add", json!({"a": 1, "b": 2}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"sum": 3})));
    let e = toolset.call("b_crash", json!({})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownTool);
    let e = toolset.call("b.crash", json!({})).await.unwrap_err();
    assert!(e.to_string().contains("excluded"), "{e}");
    let e = toolset.call("nope", json!({})).await.unwrap_err();
    assert_eq!(e.kind().as_str(), "unknown_tool");
    let e = toolset.call("a_echo", json!([1])).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // A tool error is a result, not an error.
    let r = toolset
        .call("a_fail", json!({"message": "m"}))
        .await
        .unwrap();
    assert!(r.is_error());
    let out = ToolOutput::from_result(&r).unwrap();
    assert!(out.is_error);
}

/// A server offering tools with these names (each echoes its name).
fn named(name: &str, tools: &[&str]) -> Server {
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/named_tools_server.py");
    Server::stdio("python3")
        .arg(script)
        .args(tools)
        .name(name)
        .shutdown_timeouts(Duration::from_millis(500), Duration::from_millis(500))
        .build()
        .expect("builds")
}

#[tokio::test]
async fn a_name_conflict_names_both_servers() {
    // "a" + "_" + "b_c" and "a_b" + "_" + "c" are both "a_b_c".
    let e = Toolset::builder()
        .server("a", named("a", &["b_c", "x"]))
        .server("a_b", named("a_b", &["c"]))
        .build()
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("`a_b_c`"), "{msg}");
    assert!(msg.contains("server `a`'s tool `b_c`"), "{msg}");
    assert!(msg.contains("server `a_b`'s tool `c`"), "{msg}");
    // Another separator, or a filter, resolves it.
    let ok = Toolset::builder()
        .separator("__")
        .server("a", named("a", &["b_c"]))
        .server("a_b", named("a_b", &["c"]))
        .build()
        .await
        .unwrap();
    assert_eq!(ok.call("a__b_c", json!({})).await.unwrap().text(), "b_c");
    let ok = Toolset::builder()
        .server_filtered(
            "a",
            named("a", &["b_c", "x"]),
            ToolFilter::all().exclude(["b_c"]),
        )
        .server("a_b", named("a_b", &["c"]))
        .build()
        .await
        .unwrap();
    assert_eq!(ok.call("a_b_c", json!({})).await.unwrap().text(), "c");

    let e = Toolset::builder()
        .server("s", server("s1"))
        .server("s", server("s2"))
        .build()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("two servers are named `s`"), "{e}");
    let e = Toolset::builder()
        .server("a.b", server("x"))
        .build()
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("may not be empty or contain `.`"),
        "{e}"
    );
}

#[tokio::test]
async fn the_tool_list_refreshes_after_list_changed() {
    let toolset = Toolset::builder()
        .server("g", named("g", &["grow"]))
        .build()
        .await
        .unwrap();
    let names =
        |tools: Vec<mcpmux::ToolInfo>| tools.into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(names(toolset.tools().await.unwrap()), ["g_grow"]);
    assert!(toolset.call("g_grown", json!({})).await.is_err());
    toolset.call("g_grow", json!({})).await.unwrap();
    // The notification comes before the response; the cache is dropped and refetched.
    let mut seen = Vec::new();
    for _ in 0..50 {
        seen = names(toolset.tools().await.unwrap());
        if seen.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, ["g_grow", "g_grown"]);
    assert_eq!(
        toolset.call("g_grown", json!({})).await.unwrap().text(),
        "grown"
    );
}

#[tokio::test]
async fn approval_hook_allows_and_denies() {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let toolset = Toolset::builder()
        .server("t", server("t"))
        .approval(move |req: ApprovalRequest| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if req.tool.name == "crash" {
                    Approval::Deny("crashing is not allowed".into())
                } else {
                    assert_eq!(req.server, "t");
                    Approval::Allow
                }
            }
        })
        .build()
        .await
        .unwrap();
    let e = toolset
        .call("t_crash", json!({"code": 1}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert!(e.to_string().contains("crashing is not allowed"), "{e}");
    // The denied call was never sent: the server is still up.
    assert_eq!(
        toolset
            .call("t_echo", json!({"text": "up"}))
            .await
            .unwrap()
            .text(),
        "up"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn call_many_keeps_request_order_and_isolates_failures() {
    let toolset = Toolset::builder()
        .server("a", server("a"))
        .server("b", server("b"))
        .build()
        .await
        .unwrap();
    let calls = vec![
        ToolCall::new("a_sleep", json!({"ms": 200})),
        ToolCall::new("b_echo", json!({"text": "fast"})),
        ToolCall::new("nope", json!({})),
        ToolCall::new("b.add", json!({"a": 2, "b": 2})),
        ToolCall::new("a_fail", json!({"message": "x"})),
    ];
    let started = std::time::Instant::now();
    let results = toolset.call_many(calls, None).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(results.len(), 5);
    assert_eq!(results[0].as_ref().unwrap().text(), "slept 200 ms");
    assert_eq!(results[1].as_ref().unwrap().text(), "fast");
    assert_eq!(
        results[2].as_ref().unwrap_err().kind(),
        ErrorKind::UnknownTool
    );
    assert_eq!(results[3].as_ref().unwrap().text(), "4");
    assert!(results[4].as_ref().unwrap().is_error());

    // With a limit of 1 the calls run one at a time: 5 sleeps of 50 ms take at least 250 ms.
    let sleeps = (0..5).map(|_| ToolCall::new("a_sleep", json!({"ms": 50})));
    let started = std::time::Instant::now();
    let results = toolset.call_many(sleeps, Some(1)).await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(results.iter().all(Result::is_ok));
}

#[tokio::test]
async fn a_failing_server_is_reported_unless_strict() {
    let broken = || {
        Server::stdio("/nonexistent/mcp")
            .name("broken")
            .build()
            .unwrap()
    };
    let toolset = Toolset::builder()
        .server("good", server("good"))
        .server("broken", broken())
        .build()
        .await
        .expect("partial startup");
    let failures: Vec<&str> = toolset.failures().map(|(n, _)| n).collect();
    assert_eq!(failures, ["broken"]);
    assert!(toolset.guard("broken").is_none());
    assert_eq!(
        toolset
            .call("good_echo", json!({"text": "ok"}))
            .await
            .unwrap()
            .text(),
        "ok"
    );
    let e = toolset
        .call("broken.anything", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Spawn);
    assert!(
        e.to_string().contains("could not start `/nonexistent/mcp`"),
        "{e}"
    );

    let e = Toolset::builder()
        .strict(true)
        .server("good", server("good"))
        .server("broken", broken())
        .build()
        .await
        .unwrap_err();
    assert_eq!(e.failures().len(), 1);
    assert!(e.to_string().contains("`broken`"), "{e}");
}

#[tokio::test]
async fn exported_names_lead_back_to_the_tool() {
    let toolset = Toolset::builder()
        .separator(".")
        .server("srv", server("srv"))
        .build()
        .await
        .unwrap();
    for provider in [
        Provider::OpenAiChat,
        Provider::OpenAiResponses,
        Provider::Anthropic,
        Provider::Gemini,
    ] {
        let exported = toolset.export(provider).await.unwrap();
        // "srv.echo" is not a valid function name anywhere: it became "srv_echo".
        let target = exported.resolve("srv_echo").expect("cleaned name").clone();
        assert_eq!(
            (target.server.as_str(), target.tool.as_str()),
            ("srv", "echo")
        );
        let r = toolset
            .call_target(&target, json!({"text": "back"}))
            .await
            .unwrap();
        assert_eq!(r.text(), "back");
    }
}

/// A server that dies is reconnected on the next call (its reconnect policy); the health view
/// shows the restart.
#[tokio::test]
async fn a_crashed_server_is_reconnected_on_the_next_call() {
    let toolset = Toolset::builder()
        .server("a", server("a"))
        .build()
        .await
        .expect("starts");
    let first_pid = toolset.guard("a").unwrap().process_id().unwrap();
    let crash = toolset.call("a_crash", json!({"code": 5})).await;
    assert!(crash.is_err(), "crash has no answer");
    let r = toolset
        .call("a_echo", json!({"text": "back"}))
        .await
        .expect("reconnected");
    assert_eq!(r.text(), "back");
    let pid = toolset.guard("a").unwrap().process_id().unwrap();
    assert_ne!(pid, first_pid);
    let (name, health) = &toolset.health()[0];
    assert_eq!(name, "a");
    assert_eq!(health.state, mcpmux::HealthState::Connected);
    assert_eq!(health.restarts, 1, "{health:?}");
    assert!(wait_reaped(first_pid, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn a_server_still_starting_after_the_startup_wait_joins_once_up() {
    let slow = test_server()
        .name("slow")
        .arg("--delay-initialize-ms")
        .arg("1500")
        .build()
        .expect("builds");
    let started = std::time::Instant::now();
    let toolset = Toolset::builder()
        .server("a", server("a"))
        .server("b", slow)
        .startup_wait(Duration::from_millis(300))
        .build()
        .await
        .expect("builds without the slow one");
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "build waited for the slow server: {:?}",
        started.elapsed()
    );
    let names = |tools: Vec<mcpmux::ToolInfo>| -> Vec<String> {
        tools.into_iter().map(|t| t.name).collect()
    };
    let now = names(toolset.tools().await.expect("tools"));
    assert!(now.contains(&"a_echo".to_owned()), "{now:?}");
    assert!(!now.iter().any(|n| n.starts_with("b_")), "{now:?}");
    assert_eq!(toolset.failures().count(), 0);
    let e = toolset
        .call("b.echo", json!({"text": "early"}))
        .await
        .expect_err("not up yet");
    assert!(e.to_string().contains("still starting"), "{e}");
    // Once up, its tools join and its calls work.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = names(toolset.tools().await.expect("tools"));
        if now.contains(&"b_echo".to_owned()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slow server never joined: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = toolset
        .call("b_echo", json!({"text": "late"}))
        .await
        .expect("b_echo");
    assert_eq!(r.text(), "late");
}

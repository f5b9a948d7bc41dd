//! Protocol and tool behaviour, driven over the real binary's stdio.

mod common;

use std::time::{Duration, Instant};

use common::{Server, TIMEOUT, alive, signal, text};
use serde_json::{Value, json};

const ALL_TOOLS: &[&str] = &[
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

fn is_json_rpc(line: &str) -> bool {
    serde_json::from_str::<Value>(line)
        .map(|v| v.get("jsonrpc").is_some())
        .unwrap_or(false)
}

#[tokio::test]
async fn initialize_negotiates_version_and_basic_methods() {
    let mut s = Server::start(&[]).await;
    for (asked, answered) in [
        ("2024-11-05", "2024-11-05"),
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let r = s
            .result(
                "initialize",
                json!({"protocolVersion": asked, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
            )
            .await;
        assert_eq!(r["protocolVersion"], answered);
        assert_eq!(
            r["capabilities"],
            json!({"tools": {"listChanged": true}, "logging": {}})
        );
        assert_eq!(r["serverInfo"]["name"], "mcpmux-test-server");
        assert_eq!(r["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(r["instructions"].is_string());
    }
    s.notify("notifications/initialized", json!({})).await;
    assert_eq!(s.result("ping", json!({})).await, json!({}));
    assert_eq!(s.result("ping", Value::Null).await, json!({}));
    assert_eq!(
        s.result("logging/setLevel", json!({"level": "debug"}))
            .await,
        json!({})
    );
    // String ids are echoed back as strings.
    s.send_line(r#"{"jsonrpc":"2.0","id":"abc","method":"ping"}"#)
        .await;
    assert_eq!(s.response(&json!("abc")).await["result"], json!({}));
    s.finish().await;
}

#[tokio::test]
async fn tools_list_in_one_page() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    let r = s.result("tools/list", json!({})).await;
    assert!(r.get("nextCursor").is_none());
    let tools = r["tools"].as_array().expect("tools array");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ALL_TOOLS);
    for t in tools {
        assert!(t["description"].is_string(), "{t}");
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert!(t["inputSchema"]["properties"].is_object(), "{t}");
        assert!(t["inputSchema"]["required"].is_array(), "{t}");
    }
    let add = tools.iter().find(|t| t["name"] == "add").expect("add");
    assert_eq!(add["inputSchema"]["required"], json!(["a", "b"]));
    assert_eq!(
        add["outputSchema"],
        json!({"type":"object","properties":{"sum":{"type":"number"}},"required":["sum"]})
    );
    s.finish().await;
}

#[tokio::test]
async fn tools_list_paginated() {
    let mut s = Server::start(&["--page-size", "5"]).await;
    s.initialize().await;
    let mut names = Vec::new();
    let mut params = json!({});
    let mut pages = 0;
    loop {
        let r = s.result("tools/list", params.clone()).await;
        pages += 1;
        let tools = r["tools"].as_array().expect("tools array");
        assert!(tools.len() <= 5 && !tools.is_empty());
        names.extend(
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned)),
        );
        match r.get("nextCursor") {
            Some(Value::String(c)) => params = json!({ "cursor": c }),
            Some(other) => panic!("nextCursor not a string: {other}"),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ALL_TOOLS);
    for bad in [json!("not-a-cursor"), json!(3), json!("")] {
        let resp = s.request("tools/list", json!({ "cursor": bad })).await;
        assert_eq!(resp["error"]["code"], -32602, "{resp}");
    }
    s.finish().await;
}

#[tokio::test]
async fn simple_tools() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;

    let r = s.call("echo", json!({"text": "héllo\n\"world\""})).await;
    assert_eq!(text(&r), "héllo\n\"world\"");
    assert!(r.get("isError").is_none());

    let r = s.call("add", json!({"a": 1, "b": 2})).await;
    assert_eq!(text(&r), "3");
    assert_eq!(r["structuredContent"], json!({"sum": 3}));
    let r = s.call("add", json!({"a": 1, "b": 1.5})).await;
    assert_eq!(text(&r), "2.5");
    assert_eq!(r["structuredContent"], json!({"sum": 2.5}));

    let started = Instant::now();
    let r = s.call("sleep", json!({"ms": 150})).await;
    assert_eq!(text(&r), "slept 150 ms");
    assert!(started.elapsed() >= Duration::from_millis(150));

    let r = s.call("fail", json!({"message": "boom"})).await;
    assert_eq!(r["isError"], true);
    assert_eq!(text(&r), "boom");

    let r = s.call("big", json!({"bytes": 1_000_000})).await;
    let big = text(&r);
    assert_eq!(big.len(), 1_000_000);
    assert!(big.bytes().all(|b| b == b'x'));
    assert_eq!(text(&s.call("big", json!({"bytes": 0})).await), "");

    let r = s.call("pid", json!({})).await;
    assert_eq!(text(&r), s.pid().to_string());
    assert_eq!(r["structuredContent"], json!({"pid": s.pid()}));

    let r = s.call("cancellations", json!({})).await;
    assert_eq!(r["structuredContent"], json!({"cancelled": []}));
    assert_eq!(
        serde_json::from_str::<Value>(text(&r)).expect("json text"),
        json!({"cancelled": []})
    );
    s.finish().await;
}

#[tokio::test]
async fn bad_arguments_and_unknown_tool() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    for (name, args) in [
        ("nope", json!({})),
        ("echo", json!({})),
        ("echo", json!({"text": 5})),
        ("add", json!({"a": "1", "b": 2})),
        ("sleep", json!({"ms": -1})),
        ("big", json!({"bytes": 1u64 << 40})),
        ("crash", json!({"code": "x"})),
    ] {
        let resp = s
            .request("tools/call", json!({"name": name, "arguments": args}))
            .await;
        assert_eq!(resp["error"]["code"], -32602, "{name} {args}: {resp}");
    }
    let resp = s
        .request("tools/call", json!({"name": "nope", "arguments": {}}))
        .await;
    assert!(
        resp["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown tool"))
    );
    let resp = s.request("tools/call", json!({"arguments": {}})).await;
    assert_eq!(resp["error"]["code"], -32602);
    let resp = s
        .request("tools/call", json!({"name": "echo", "arguments": [1]}))
        .await;
    assert_eq!(resp["error"]["code"], -32602);
    // Still alive.
    assert_eq!(s.result("ping", json!({})).await, json!({}));
    s.finish().await;
}

#[tokio::test]
async fn progress_and_log_notifications() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    s.send(&json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "progress", "arguments": {"steps": 3, "ms": 10},
                   "_meta": {"progressToken": "tok"}}
    }))
    .await;
    for i in 1..=3 {
        let n = s.next_message().await;
        assert_eq!(n["method"], "notifications/progress", "{n}");
        assert!(n.get("id").is_none());
        assert_eq!(
            n["params"],
            json!({"progressToken": "tok", "progress": i, "total": 3, "message": format!("step {i}/3")})
        );
    }
    let r = s.next_message().await;
    assert_eq!(r["id"], 1);
    assert_eq!(text(&r["result"]), "done");

    // Without a progress token: no notifications, just "done".
    let r = s.call("progress", json!({"steps": 2, "ms": 1})).await;
    assert_eq!(text(&r), "done");
    assert!(s.backlog.is_empty(), "{:?}", s.backlog);

    s.send(&json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "log", "arguments": {"level": "warning", "message": "careful"}}
    }))
    .await;
    let n = s.next_message().await;
    assert_eq!(
        n,
        json!({"jsonrpc": "2.0", "method": "notifications/message",
               "params": {"level": "warning", "logger": "mcpmux-test-server", "data": "careful"}})
    );
    let r = s.next_message().await;
    assert_eq!(r["id"], 2);
    assert_eq!(text(&r["result"]), "ok");
    s.finish().await;
}

#[tokio::test]
async fn garbage_tool_writes_non_json_rpc_lines_then_answers() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    s.send_line(r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"garbage","arguments":{"lines":6}}}"#)
        .await;
    let mut garbage = Vec::new();
    let response = loop {
        let line = s.next_line().await.expect("line");
        if is_json_rpc(&line) {
            break serde_json::from_str::<Value>(&line).expect("json");
        }
        garbage.push(line);
    };
    assert_eq!(garbage.len(), 6, "{garbage:?}");
    assert!(
        garbage
            .iter()
            .any(|l| serde_json::from_str::<Value>(l).is_err())
    );
    assert!(
        garbage
            .iter()
            .any(|l| l.starts_with(r#"{"jsonrpc":"2.0","id":"#))
    );
    assert!(garbage.iter().any(|l| l == r#"{"foo":1}"#));
    assert_eq!(response["id"], 9);
    assert_eq!(text(&response["result"]), "ok");
    assert_eq!(s.result("ping", json!({})).await, json!({}));
    s.finish().await;
}

#[tokio::test]
async fn stderr_tool() {
    let mut s = Server::start_with_stderr(&[]).await;
    s.initialize().await;
    let r = s.call("stderr", json!({"lines": 3, "bytes": 20})).await;
    assert_eq!(text(&r), "ok");
    let err = s.stderr.as_mut().expect("stderr");
    for _ in 0..3 {
        let line = tokio::time::timeout(TIMEOUT, err.next_line())
            .await
            .expect("stderr timed out")
            .expect("stderr read")
            .expect("stderr line");
        assert_eq!(line.len(), 20);
    }
    s.finish().await;
}

#[tokio::test]
async fn spawn_grandchild_tool() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    let r = s.call("spawn_grandchild", json!({})).await;
    let pid = r["structuredContent"]["pid"].as_u64().expect("pid") as u32;
    assert_eq!(text(&r), pid.to_string());
    assert_ne!(pid, s.pid());
    assert!(alive(pid));
    // Same process group as the server.
    let pgid =
        |p: u32| nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(p as i32))).expect("getpgid");
    assert_eq!(pgid(pid), pgid(s.pid()));
    // Kill it while the server is alive, so the server reaps it.
    signal(pid, nix::sys::signal::Signal::SIGKILL);
    let deadline = Instant::now() + TIMEOUT;
    while alive(pid) {
        assert!(Instant::now() < deadline, "grandchild not reaped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.finish().await;
}

#[tokio::test]
async fn parse_error_and_invalid_messages() {
    let mut s = Server::start(&[]).await;
    s.send_line("this is not json").await;
    let r = s.next_message().await;
    assert_eq!(r["error"]["code"], -32700);
    assert_eq!(r["id"], Value::Null);
    s.send_line(r#"{"jsonrpc":"2.0","id":1,"#).await;
    assert_eq!(s.next_message().await["error"]["code"], -32700);
    // Blank lines are ignored.
    s.send_line("").await;
    s.send_line("42").await;
    let r = s.next_message().await;
    assert_eq!(r["error"]["code"], -32600);
    assert_eq!(r["id"], Value::Null);
    s.send_line(r#"{"jsonrpc":"2.0","id":3}"#).await;
    let r = s.next_message().await;
    assert_eq!(r["error"]["code"], -32600);
    assert_eq!(r["id"], 3);
    // Keeps going.
    s.initialize().await;
    let resp = s.request("no/such/method", json!({})).await;
    assert_eq!(resp["error"]["code"], -32601);
    assert_eq!(s.result("ping", json!({})).await, json!({}));
    // Unknown notifications and stray responses get no answer.
    s.notify("notifications/whatever", json!({})).await;
    s.send_line(r#"{"jsonrpc":"2.0","id":77,"result":{}}"#)
        .await;
    let id = s.send_request("ping", json!({})).await;
    assert_eq!(s.next_message().await["id"], id);
    s.finish().await;
}

#[tokio::test]
async fn batch() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    s.send(&json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "sleep", "arguments": {"ms": 50}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "echo", "arguments": {"text": "b"}}},
        {"jsonrpc": "2.0", "id": 4, "method": "nope"},
        7
    ]))
    .await;
    let r = s.next_message().await;
    let items = r.as_array().unwrap_or_else(|| panic!("not an array: {r}"));
    assert_eq!(items.len(), 5, "{r}");
    assert_eq!(items[0], json!({"jsonrpc": "2.0", "id": 1, "result": {}}));
    assert_eq!(text(&items[1]["result"]), "slept 50 ms");
    assert_eq!(text(&items[2]["result"]), "b");
    assert_eq!(items[3]["error"]["code"], -32601);
    assert_eq!(items[4]["error"]["code"], -32600);

    // A cancelled batch member is left out of the batch response.
    s.send(&json!([
        {"jsonrpc": "2.0", "id": 10, "method": "tools/call",
         "params": {"name": "hang", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 11, "method": "tools/call",
         "params": {"name": "sleep", "arguments": {"ms": 100}}},
    ]))
    .await;
    s.notify("notifications/cancelled", json!({"requestId": 10}))
        .await;
    let r = s.next_message().await;
    assert_eq!(r.as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r[0]["id"], 11);

    // Only notifications: no response at all.
    s.send_line(r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#)
        .await;
    // Empty batch: one invalid-request error.
    s.send_line("[]").await;
    let r = s.next_message().await;
    assert_eq!(r["error"]["code"], -32600, "{r}");
    s.finish().await;
}

#[tokio::test]
async fn cancellation_of_hang() {
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cancel-log-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let log_arg = log.to_str().expect("utf-8 path").to_owned();
    let mut s = Server::start(&["--cancel-log", &log_arg]).await;
    s.initialize().await;
    s.send_line(r#"{"jsonrpc":"2.0","id":"h1","method":"tools/call","params":{"name":"hang","arguments":{}}}"#).await;
    s.send_line(
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":60000}}}"#,
    )
    .await;
    s.notify(
        "notifications/cancelled",
        json!({"requestId": "h1", "reason": "test"}),
    )
    .await;
    s.notify("notifications/cancelled", json!({"requestId": 7}))
        .await;
    // An id that was never sent is recorded too.
    s.notify("notifications/cancelled", json!({"requestId": 12345}))
        .await;
    let r = s.call("cancellations", json!({})).await;
    assert_eq!(
        r["structuredContent"],
        json!({"cancelled": ["h1", 7, 12345]})
    );
    assert_eq!(
        std::fs::read_to_string(&log).expect("cancel log"),
        "\"h1\"\n7\n12345\n"
    );
    let _ = std::fs::remove_file(&log);

    // No response is ever sent for the cancelled requests: close stdin and
    // read everything up to EOF.
    assert_eq!(s.result("ping", json!({})).await, json!({}));
    s.close_stdin();
    let mut rest: Vec<Value> = s.backlog.drain(..).collect();
    while let Some(line) = s.next_line().await {
        rest.push(serde_json::from_str(&line).expect("json"));
    }
    for m in &rest {
        assert!(
            m.get("id") != Some(&json!("h1")) && m.get("id") != Some(&json!(7)),
            "{m}"
        );
    }
    let status = s.wait_exit_within(TIMEOUT).await.expect("exit");
    assert_eq!(status.code(), Some(0));
    s.finish().await;
}

#[tokio::test]
async fn requests_run_concurrently() {
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    let slow = s
        .send_request(
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 3000}}),
        )
        .await;
    let fast = s
        .send_request(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "fast"}}),
        )
        .await;
    assert_eq!(s.next_message().await["id"], fast);
    assert_eq!(s.next_message().await["id"], slow);
    s.finish().await;
}

#[tokio::test]
async fn many_pipelined_calls() {
    const N: usize = 5000;
    let mut s = Server::start(&[]).await;
    s.initialize().await;
    let mut input = String::new();
    for i in 0..N {
        input.push_str(
            &json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": format!("m{i}")}}})
            .to_string(),
        );
        input.push('\n');
    }
    let started = Instant::now();
    // The server keeps reading stdin while its stdout is not drained (output
    // is queued), so writing everything first cannot deadlock.
    s.send_line(input.trim_end()).await;
    let mut seen = vec![false; N];
    while seen.iter().any(|s| !s) {
        let m = s.next_message().await;
        let id = m["id"].as_u64().expect("id") as usize;
        assert!(!seen[id], "duplicate response {id}");
        assert_eq!(text(&m["result"]), format!("m{id}"));
        seen[id] = true;
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{N} echo calls in {elapsed:?} ({:.0} calls/s)",
        N as f64 / elapsed.as_secs_f64()
    );
    s.finish().await;
}

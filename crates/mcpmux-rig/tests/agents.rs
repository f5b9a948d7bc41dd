//! rig agents (rig-agent's `AgentBuilder`) with a toolset's tools, on our scripted model server
//! (OpenAI chat completions, in this process) and the MCP test server over Streamable HTTP (in
//! this process): parallel tool calls overlap and their results reach the model in order; tool
//! errors reach the model; two agents share one server handle, and its one connection closes
//! when both are done. Every wait is bounded.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mcpmux::{Server, Toolset};
use mcpmux_rig::McpTools;
use mcpmux_test_server::model::{ModelServer, Recorded, Script, start_model};
use mcpmux_test_server::{HttpServer, start_http};
use rig_agent::{Agent, AgentBuilder};
use rig_core::providers::openai::{OpenAIConfig, wire::Auth};
use serde_json::{Value, json};

/// The longest one agent run may take.
const LIMIT: Duration = Duration::from_secs(30);

async fn model_server(script: Value) -> ModelServer {
    let script = Script::from_json(&script).expect("a valid script");
    start_model(script).await.expect("the model server")
}

/// A rig agent on `model`'s chat-completions endpoint with `tools`.
fn agent(model: &ModelServer, tools: &McpTools) -> Agent {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().build().expect("an HTTP client");
    let chat = OpenAIConfig::new("")
        .with_base_url(&model.url)
        .with_auth(Auth::OptionalBearer)
        .connect(rig_reqwest::ReqwestClient::from(http))
        .chat("test-model");
    AgentBuilder::new(chat)
        .dynamic_tools(tools.dynamic_tools())
        .build()
}

/// One toolset over the HTTP test server `web` (through `server`, a handle that may be shared).
async fn tools(server: Server) -> McpTools {
    let toolset = Toolset::builder()
        .strict(true)
        .server("web", server)
        .build()
        .await
        .expect("the toolset");
    McpTools::new(toolset).await.expect("the tools")
}

fn http_server(http: &HttpServer) -> Server {
    Server::http(&http.url_mcp)
        .build()
        .expect("a server handle")
}

/// Runs one prompt to its answer, at most [`LIMIT`].
async fn ask(agent: &Agent, prompt: &str) -> String {
    let run = agent.prompt(prompt).max_turns(4).tool_concurrency(64);
    match tokio::time::timeout(LIMIT, run).await {
        Ok(Ok(response)) => response.output(),
        Ok(Err(e)) => panic!("the agent failed: {e}"),
        Err(_) => panic!("the agent did not answer within {LIMIT:?}"),
    }
}

/// The tool results of a chat-completions request, in order: (tool_call_id, content).
fn tool_results(request: &Recorded) -> Vec<(String, String)> {
    request.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            let content = match &m["content"] {
                Value::String(s) => s.clone(),
                Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect(),
                other => other.to_string(),
            };
            (m["tool_call_id"].as_str().unwrap_or("").to_owned(), content)
        })
        .collect()
}

/// A turn of `n` sleeps of `ms` + i milliseconds, then `answer`.
fn sleeps(n: usize, ms: usize, answer: &str) -> Value {
    let calls: Vec<Value> = (0..n)
        .map(|i| json!({"name": "web_sleep", "arguments": {"ms": ms + i}}))
        .collect();
    json!({"turns": [{"text": "", "tool_calls": calls}, {"text": answer}]})
}

/// Waits (at most 5 s) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rig_agent_runs_a_turns_tool_calls_at_once_and_the_model_gets_every_result_in_order() {
    let http = start_http(Default::default())
        .await
        .expect("the MCP server");
    let model = model_server(sleeps(10, 1000, "Ten naps taken.")).await;
    let tools = tools(http_server(&http)).await;
    assert_eq!(tools.len(), mcpmux_test_server::TOOL_NAMES.len() + 1);
    let agent = agent(&model, &tools);
    assert_eq!(ask(&agent, "Take ten naps.").await, "Ten naps taken.");
    let requests = model.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert!(requests.iter().all(|r| r.status == 200));
    // The tools offered carry the servers' schemas.
    let offered = requests[0].body["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sleep = offered
        .iter()
        .find(|t| t["function"]["name"] == "web_sleep")
        .expect("web_sleep is offered");
    assert_eq!(
        sleep["function"]["parameters"]["properties"]["ms"]["type"],
        "integer"
    );
    // Ten calls of a second or more, in well under ten seconds: they overlapped.
    let took = requests[1].received - requests[0].received;
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(
        took < Duration::from_secs(3),
        "10 calls of 1 s took {took:?}"
    );
    let expected: Vec<(String, String)> = (0..10)
        .map(|i| (format!("call_0_{i}"), format!("slept {} ms", 1000 + i)))
        .collect();
    assert_eq!(tool_results(&requests[1]), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_errors_reach_the_model_and_the_run_goes_on() {
    let http = start_http(Default::default())
        .await
        .expect("the MCP server");
    let script = json!({"turns": [
        {"tool_calls": [
            {"name": "web_fail", "arguments": {"message": "the disk is on fire"}},
            {"name": "web_echo", "arguments": {"text": "fine"}},
            {"name": "web_echo", "arguments": {"wrong": "argument"}}
        ]},
        {"text": "Noted."}
    ]});
    let model = model_server(script).await;
    let tools = tools(http_server(&http)).await;
    let agent = agent(&model, &tools);
    assert_eq!(ask(&agent, "Try.").await, "Noted.");
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let results = tool_results(&requests[1]);
    assert_eq!(results.len(), 3, "{results:?}");
    assert!(results[0].1.contains("the disk is on fire"), "{results:?}");
    assert_eq!(results[1].1, "fine");
    assert!(results[2].1.contains("text"), "{results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_timeouts_and_a_crashed_server_are_tool_errors() {
    let mut http = start_http(Default::default())
        .await
        .expect("the MCP server");
    let server = Server::http(&http.url_mcp)
        .request_timeout(Duration::from_millis(500))
        .build()
        .expect("a server handle");
    let tools = tools(server).await;
    let unknown = tools
        .call("web_teleport", json!({}))
        .await
        .expect_err("no such tool");
    assert!(
        unknown.message().contains("web_teleport"),
        "{}",
        unknown.message()
    );
    let started = Instant::now();
    let slow = tools
        .call("web_sleep", json!({"ms": 5000}))
        .await
        .expect_err("too slow");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(slow.message().contains("time"), "{}", slow.message());
    let failed = tools
        .call("web_fail", json!({"message": "nope"}))
        .await
        .expect_err("isError");
    assert!(failed.message().contains("nope"), "{}", failed.message());
    let started = Instant::now();
    let crashed = tools
        .call("web_crash", json!({"code": 3}))
        .await
        .expect_err("crashed");
    assert!(!crashed.message().is_empty());
    assert!(started.elapsed() < LIMIT, "{:?}", started.elapsed());
    assert_eq!(
        tokio::time::timeout(LIMIT, http.wait())
            .await
            .ok()
            .flatten(),
        Some(3)
    );
}

/// The scenario mcpmux was made for, with rig: two agents at once, each with parallel tool
/// calls, sharing one server handle — one connection, one MCP session — which closes cleanly
/// once both are done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_share_one_server_handle_and_its_connection_closes_when_both_are_done() {
    let http = start_http(Default::default())
        .await
        .expect("the MCP server");
    let model = model_server(sleeps(5, 500, "Five naps taken.")).await;
    let server = http_server(&http);
    let first = tools(server.clone()).await;
    let second = tools(server.clone()).await;
    let (a, b) = (agent(&model, &first), agent(&model, &second));
    let started = Instant::now();
    let (answer_a, answer_b) = tokio::join!(ask(&a, "Nap, A."), ask(&b, "Nap, B."));
    let took = started.elapsed();
    assert_eq!(answer_a, "Five naps taken.");
    assert_eq!(answer_b, "Five naps taken.");
    // Both agents' five calls of half a second at once: one and a half seconds would mean
    // one after the other.
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    let stats = &http.stats;
    assert_eq!(stats.tool_calls.load(Ordering::SeqCst), 10);
    assert_eq!(
        stats.initializes.load(Ordering::SeqCst),
        1,
        "one connection for both agents"
    );
    assert_eq!(stats.sessions_created.load(Ordering::SeqCst), 1);
    let requests = model.requests();
    assert_eq!(requests.len(), 4);
    for request in requests
        .iter()
        .filter(|r| r.body["messages"].as_array().is_some_and(|m| m.len() > 1))
    {
        assert_eq!(tool_results(request).len(), 5);
    }
    // Both done: let everything go; the one session is closed (DELETE), nothing is left open.
    drop((a, b, first, second, server));
    eventually("the session's DELETE", || {
        stats.deletes.load(Ordering::SeqCst) == 1
    })
    .await;
}

/// README's rig example is the crate's doctest (which compiles it), word for word.
#[test]
fn the_readme_example_is_the_crates_doctest() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../../README.md")).expect("README.md");
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("lib.rs");
    let section = readme
        .find("### rig: `mcpmux-rig`")
        .expect("README has the rig section");
    let open = section
        + readme[section..]
            .find("```rust,no_run\n")
            .expect("a rust block")
        + 15;
    let close = open + readme[open..].find("```").expect("a closed block");
    let from_readme: Vec<&str> = readme[open..close].lines().map(str::trim_end).collect();
    let doc: Vec<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_owned())
        .collect();
    let start = doc
        .iter()
        .position(|l| l == "# Two agents, one server")
        .expect("the crate docs have the example");
    let open = start
        + doc[start..]
            .iter()
            .position(|l| l == "```no_run")
            .expect("its block")
        + 1;
    let close = open + doc[open..].iter().position(|l| l == "```").expect("closed");
    assert_eq!(
        doc[open..close]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        from_readme
    );
}

/// The `mcpmux-test-server` binary next to this test's (built first if a plain `cargo test -p
/// mcpmux-rig` did not build it).
fn test_server_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the target profile dir");
    let bin = dir.join("mcpmux-test-server");
    if !bin.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "mcpmux-test-server",
                "--bin",
                "mcpmux-test-server",
            ])
            .status()
            .expect("cargo build runs");
        assert!(status.success(), "cargo build -p mcpmux-test-server failed");
    }
    bin
}

/// Whether process `pid` still exists (running, or a zombie not yet reaped).
fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The README's scenario as written: a stdio server, one handle, two agents at once; when both
/// are done and everything is dropped, the server process is shut down and reaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_share_one_stdio_server_whose_process_is_reaped_when_both_are_done() {
    let model = model_server(sleeps(5, 500, "Five naps taken.")).await;
    let server = Server::stdio(test_server_bin())
        .build()
        .expect("a server handle");
    let first = tools(server.clone()).await;
    let second = tools(server.clone()).await;
    let pid: u32 = first
        .call("web_pid", json!({}))
        .await
        .expect("the pid tool")
        .render()
        .trim()
        .parse()
        .expect("a pid");
    let again = second
        .call("web_pid", json!({}))
        .await
        .expect("the pid tool");
    assert_eq!(
        again.render().trim(),
        pid.to_string(),
        "one process for both"
    );
    let (a, b) = (agent(&model, &first), agent(&model, &second));
    let started = Instant::now();
    let (answer_a, answer_b) = tokio::join!(ask(&a, "Nap, A."), ask(&b, "Nap, B."));
    assert_eq!(
        (answer_a.as_str(), answer_b.as_str()),
        ("Five naps taken.", "Five naps taken.")
    );
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert!(exists(pid));
    drop((a, b, first, second, server));
    eventually("the server's exit", || !exists(pid)).await;
}

//! `mcpmux serve` for modern (2026-07-28) clients, over stdio: mcpmux's own client library (a
//! dual-era client: it probes `server/discover` and stays modern) in front of the gateway, with
//! the Python SDK server (`mcp` 2.3.0) and `mcpmux test-server` upstream. Multi-round-trip
//! requests are checked both ways: passed through from a modern upstream, and made from a
//! session upstream's server requests (the gateway parks the call). Every wait is bounded; no
//! process is left.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcpmux::protocol::{
    CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams, ElicitResult, Role,
};
use mcpmux::{ProtocolVersion, Server};
use serde_json::{Value, json};

const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");
/// Bound on each test body.
const LIMIT: Duration = Duration::from_secs(60);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let p = repo_root().join(".peers/venv/bin/python");
    assert!(
        p.exists(),
        "interop peer missing: {} — install the pinned peers with `scripts/install-peers.sh`",
        p.display()
    );
    p
}

/// A config with the Python SDK server (`py`, with resources, prompts, sampling and
/// elicitation tools) and `mcpmux test-server` (`ts`), each marked for the leak check.
fn config(marker: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("mcp.json");
    let py = repo_root().join("tests/peers/py_server.py");
    let servers = json!({
        "py": {"command": python(), "args": [py, "--features"], "env": {"MCPMUX_SERVE_TEST": marker}},
        "ts": {"command": MCPMUX, "args": ["test-server"], "env": {"MCPMUX_SERVE_TEST": marker}},
    });
    std::fs::write(&path, json!({ "mcpServers": servers }).to_string()).expect("write config");
    (dir, path)
}

/// Live processes whose environment holds `MCPMUX_SERVE_TEST=marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    common::processes_with("MCPMUX_SERVE_TEST", marker)
}

async fn assert_none_left(marker: &str) {
    for _ in 0..100 {
        if processes_with(marker).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("processes left: {:?}", processes_with(marker));
}

/// What the client's handlers were asked.
#[derive(Default, Clone)]
struct Asked(Arc<Mutex<Vec<String>>>);

impl Asked {
    fn push(&self, s: String) {
        if let Ok(mut v) = self.0.lock() {
            v.push(s);
        }
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// The gateway as a stdio server, with sampling and elicitation handlers that record what they
/// are asked.
fn gateway(config: &Path, global: &[&str], asked: &Asked) -> Server {
    let (s, e) = (asked.clone(), asked.clone());
    Server::stdio(MCPMUX)
        .arg("--config")
        .arg(config)
        .args(global.iter().copied())
        .arg("serve")
        .arg("--startup-wait")
        .arg("60")
        .env_remove("RUST_LOG")
        // Modern, whatever the probe's window: the gateway may take a while to start its
        // upstreams on a busy machine.
        .protocol_version(ProtocolVersion::STATELESS)
        .sampling(move |p: CreateMessageParams| {
            let s = s.clone();
            async move {
                let text = p
                    .messages
                    .first()
                    .and_then(|m| m.content.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                s.push(format!("sampling: {text}"));
                Ok(CreateMessageResult {
                    role: Role::Assistant,
                    content: json!({"type": "text", "text": "brief"}),
                    model: "modern-test-model".into(),
                    stop_reason: Some("endTurn".into()),
                    extra: Default::default(),
                })
            }
        })
        .elicitation(move |p: ElicitParams| {
            let e = e.clone();
            async move {
                e.push(format!("elicitation: {}", p.message));
                let content = json!({"email": "ada@example.com"});
                Ok(ElicitResult {
                    action: ElicitAction::Accept,
                    content: content.as_object().cloned(),
                })
            }
        })
        .build()
        .expect("a server handle")
}

fn text(result: &mcpmux::CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .filter_map(|c| c.get("text").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Sampling and elicitation through the gateway for a modern client, twice: `global` picks how
/// the gateway talks to its upstreams.
async fn round_trips(marker: &str, global: &[&str]) -> (Vec<String>, Vec<String>) {
    let (_dir, path) = config(marker);
    let asked = Asked::default();
    let server = gateway(&path, global, &asked);
    let guard = server.enter().await.expect("the gateway starts");
    assert_eq!(guard.protocol_version(), ProtocolVersion::STATELESS);
    assert_eq!(guard.initialize_result().server_info.name, "mcpmux");
    let tools: Vec<String> = guard
        .list_tools()
        .await
        .expect("tools/list")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(tools.contains(&"py_summarize".to_owned()), "{tools:?}");
    assert!(tools.contains(&"ts_echo".to_owned()), "{tools:?}");
    let echo = guard
        .call_tool("ts_echo", json!({"text": "modern"}))
        .await
        .expect("ts_echo");
    assert_eq!(text(&echo), "modern");
    let summary = guard
        .call_tool("py_summarize", json!({"text": "a long text"}))
        .await
        .expect("py_summarize");
    let signup = guard
        .call_tool("py_signup", json!({}))
        .await
        .expect("py_signup");
    let outcome = signup.structured_content.clone().unwrap_or_default();
    let results = vec![
        text(&summary),
        outcome["action"].as_str().unwrap_or_default().to_owned(),
        outcome["content"]["email"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ];
    // A resource read and a prompt, routed to their owner.
    let config_text = guard
        .read_resource("config://app")
        .await
        .expect("resources/read");
    assert!(
        serde_json::to_string(&config_text)
            .unwrap_or_default()
            .contains("theme"),
        "{config_text:?}"
    );
    drop(guard);
    server.close().await;
    drop(server);
    assert_none_left(marker).await;
    (results, asked.all())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modern_upstreams_input_requests_pass_through_to_a_modern_client() {
    let marker = format!("modern-pass-{}", std::process::id());
    let (results, asked) = tokio::time::timeout(LIMIT, round_trips(&marker, &[]))
        .await
        .expect("within the limit");
    assert_eq!(
        results,
        ["modern-test-model: brief", "accept", "ada@example.com"]
    );
    assert_eq!(
        asked,
        [
            "sampling: Summarize: a long text",
            "elicitation: Sign up for the newsletter"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_upstreams_server_requests_reach_a_modern_client_as_input_requests() {
    let marker = format!("modern-park-{}", std::process::id());
    // The gateway talks to its upstreams on sessions: they ask with server requests, which the
    // gateway turns into input requests of the modern client's call.
    let global = ["--protocol-version", "2025-11-25"];
    let (results, asked) = tokio::time::timeout(LIMIT, round_trips(&marker, &global))
        .await
        .expect("within the limit");
    assert_eq!(
        results,
        ["modern-test-model: brief", "accept", "ada@example.com"]
    );
    assert_eq!(
        asked,
        [
            "sampling: Summarize: a long text",
            "elicitation: Sign up for the newsletter"
        ]
    );
}

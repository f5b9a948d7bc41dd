//! End-to-end tests of `mcpmux agent`: the real binary, real MCP servers (`mcpmux test-server`
//! on stdio as a child process, and over Streamable HTTP in this process), and our scripted
//! model server (`mcpmux_test_server::model`) in this process, speaking OpenAI chat completions
//! or Anthropic Messages, streamed or not. Every wait is bounded; each test checks that no
//! server process it started is left.

mod common;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mcpmux_test_server::model::{ModelServer, Recorded, Script, start_model};
use mcpmux_test_server::{HttpServer, start_http};
use serde_json::{Value, json};

const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");
/// The longest any one run of `mcpmux agent` may take.
const LIMIT: Duration = Duration::from_secs(60);

/// The servers and the model of one test, and the runtime they run on.
struct Setup {
    runtime: tokio::runtime::Runtime,
    model: Option<ModelServer>,
    /// The model server's API root (kept when the server is stopped).
    model_url: String,
    http: Option<HttpServer>,
    _dir: tempfile::TempDir,
    config: PathBuf,
    /// The environment variable marking this test's stdio servers.
    marker: (String, String),
}

impl Setup {
    /// A config with `stdio` stdio test servers (named by the slice) and, with `http`, an HTTP
    /// test server `web`; and the model server replaying `script`.
    fn new(test: &str, stdio: &[&str], http: bool, script: Value) -> Setup {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let script = Script::from_json(&script).expect("a valid script");
        let model = runtime
            .block_on(start_model(script))
            .expect("the model server");
        let http = http.then(|| {
            runtime
                .block_on(start_http(Default::default()))
                .expect("the HTTP test server")
        });
        let marker = (
            "MCPMUX_AGENT_TEST".to_owned(),
            format!("{test}-{}", std::process::id()),
        );
        let mut servers = serde_json::Map::new();
        for name in stdio {
            servers.insert(
                (*name).to_owned(),
                json!({"command": MCPMUX, "args": ["test-server"], "env": {&marker.0: &marker.1}}),
            );
        }
        if let Some(http) = &http {
            servers.insert(
                "web".to_owned(),
                json!({"type": "http", "url": http.url_mcp}),
            );
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = dir.path().join("mcp.json");
        std::fs::write(&config, json!({ "mcpServers": servers }).to_string()).expect("config");
        Setup {
            runtime,
            model_url: model.url.clone(),
            model: Some(model),
            http,
            _dir: dir,
            config,
            marker,
        }
    }

    fn model_url(&self) -> String {
        self.model_url.clone()
    }

    fn requests(&self) -> Vec<Recorded> {
        self.model
            .as_ref()
            .map(ModelServer::requests)
            .unwrap_or_default()
    }

    /// `mcpmux --config CONFIG agent --base-url URL --model test-model ARGS...`.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(MCPMUX);
        command
            .arg("--config")
            .arg(&self.config)
            .args([
                "agent",
                "--base-url",
                &self.model_url(),
                "--model",
                "test-model",
            ])
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `mcpmux agent ARGS...` to its end (at most [`LIMIT`]), `stdin` on its stdin.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = self.command(args);
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().expect("mcpmux starts");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(LIMIT) {
            Ok(output) => output.expect("mcpmux ran"),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!("mcpmux agent did not finish within {LIMIT:?}");
            }
        }
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _enter = self.runtime.enter();
        self.model.take();
        self.http.take();
        if !std::thread::panicking() {
            assert_none_left(&self.marker);
        }
    }
}

/// Asserts that no process with `marker` in its environment is left (killing any, first).
fn assert_none_left(marker: &(String, String)) {
    let needle = format!("{}={}", marker.0, marker.1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_with_env(&needle).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = processes_with_env(&needle);
    for pid in &left {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(left.is_empty(), "a server outlived mcpmux agent: {left:?}");
}

/// Live (not zombie) processes whose environment contains `needle`.
fn processes_with_env(needle: &str) -> Vec<u32> {
    common::processes_whose("environ", needle)
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The tool results a request carries, in order: (id, text), for either API.
fn tool_results(request: &Recorded) -> Vec<(String, String)> {
    let messages = request.body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for message in &messages {
        if message["role"] == "tool" {
            out.push((
                message["tool_call_id"].as_str().unwrap_or("").to_owned(),
                content_text(&message["content"]),
            ));
        }
    }
    // Anthropic: the tool results are blocks of the last user message.
    if request.path == "/v1/messages"
        && let Some(last) = messages.last()
    {
        for block in last["content"].as_array().into_iter().flatten() {
            if block["type"] == "tool_result" {
                out.push((
                    block["tool_use_id"].as_str().unwrap_or("").to_owned(),
                    content_text(&block["content"]),
                ));
            }
        }
    }
    out
}

/// The text of a message content: a string, or text blocks.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        other => other.to_string(),
    }
}

/// `n` sleep calls of about a second each, alternating between the stdio server `files` and the
/// HTTP server `web`; then the answer.
fn sleeps(n: usize) -> Value {
    let calls: Vec<Value> = (0..n)
        .map(|i| {
            let server = if i % 2 == 0 { "files" } else { "web" };
            json!({"name": format!("{server}_sleep"), "arguments": {"ms": 1000 + i}})
        })
        .collect();
    json!({"turns": [
        {"text": "Let me sleep on it.", "tool_calls": calls},
        {"text": "All done: everyone slept."}
    ]})
}

/// `n` parallel tool calls in one turn across a stdio and an HTTP server: they overlap, each
/// result reaches the next model request in order, and the answer is printed.
fn parallel_turn(test: &str, n: usize, args: &[&str]) {
    let anthropic = args.contains(&"anthropic");
    let setup = Setup::new(test, &["files"], true, sleeps(n));
    let output = setup.run(
        args.iter()
            .copied()
            .chain(["Sleep, all of you."])
            .collect::<Vec<_>>()
            .as_slice(),
        None,
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("All done: everyone slept."), "{stdout}");
    let requests = setup.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert!(requests.iter().all(|r| r.status == 200), "{requests:#?}");
    // One turn of n calls of 1 s or more each: sequential would take n seconds.
    let tools = requests[1].received - requests[0].received;
    assert!(
        tools >= Duration::from_secs(1),
        "the calls ran too fast: {tools:?}"
    );
    assert!(
        tools < Duration::from_secs(3),
        "{n} calls of 1 s took {tools:?}: they did not overlap"
    );
    let results = tool_results(&requests[1]);
    let prefix = if anthropic { "toolu" } else { "call" };
    let expected: Vec<(String, String)> = (0..n)
        .map(|i| (format!("{prefix}_0_{i}"), format!("slept {} ms", 1000 + i)))
        .collect();
    assert_eq!(results, expected);
    for r in &requests {
        assert_eq!(
            r.body["stream"] == json!(true),
            !args.contains(&"--no-stream"),
            "{}",
            r.body
        );
        assert_eq!(
            r.header("authorization"),
            None,
            "no key, no Authorization header"
        );
        assert_eq!(r.header("x-api-key"), None, "no key, no x-api-key header");
    }
}

#[test]
fn one_tool_call_streamed() {
    parallel_turn("one_streamed", 1, &[]);
}

#[test]
fn five_parallel_tool_calls_not_streamed() {
    parallel_turn("five_whole", 5, &["--no-stream"]);
}

#[test]
fn fifty_parallel_tool_calls_overlap_streamed() {
    parallel_turn("fifty_streamed", 50, &[]);
}

#[test]
fn fifty_parallel_tool_calls_overlap_not_streamed() {
    parallel_turn("fifty_whole", 50, &["--no-stream"]);
}

#[test]
fn fifty_parallel_tool_calls_over_anthropic_streamed() {
    parallel_turn("fifty_anthropic", 50, &["--provider", "anthropic"]);
}

#[test]
fn five_parallel_tool_calls_over_anthropic_not_streamed() {
    parallel_turn(
        "five_anthropic",
        5,
        &["--provider", "anthropic", "--no-stream"],
    );
}

/// A failing tool, a crashing server, a timeout and a tool the model made up all go back to the
/// model as tool errors, and the run goes on to the answer; `--json` shows each call.
#[test]
fn tool_failures_go_back_to_the_model_and_the_run_goes_on() {
    let script = json!({"turns": [
        {"tool_calls": [
            {"name": "files_echo", "arguments": {"text": "still here"}},
            {"name": "files_fail", "arguments": {"message": "the disk is on fire"}},
            {"name": "doomed_crash", "arguments": {"code": 3}},
            {"name": "web_sleep", "arguments": {"ms": 10000}},
            {"name": "files_teleport", "arguments": {}}
        ]},
        {"text": "Some of that went wrong."}
    ]});
    let setup = Setup::new("failures", &["files", "doomed"], true, script);
    let output = setup.run(&["--json", "--timeout", "1", "Try everything."], None);
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "model", "tool", "tool", "tool", "tool", "tool", "model", "final"
        ]
    );
    assert_eq!(lines[0]["tool_calls"].as_array().map(Vec::len), Some(5));
    let tools = &lines[1..6];
    for (line, id) in tools.iter().zip(0..) {
        assert_eq!(line["id"], format!("call_0_{id}"), "{line}");
        assert!(line["ms"].is_u64(), "{line}");
    }
    assert_eq!(tools[0]["ok"], true);
    assert_eq!(tools[0]["server"], "files");
    assert_eq!(tools[0]["tool"], "echo");
    assert_eq!(tools[0]["error"], Value::Null);
    for line in &tools[1..] {
        assert_eq!(line["ok"], false, "{line}");
        assert!(line["error"].is_string(), "{line}");
    }
    assert!(
        tools[1]["error"]
            .as_str()
            .unwrap_or("")
            .contains("the disk is on fire")
    );
    assert_eq!(tools[2]["server"], "doomed");
    assert_eq!(tools[3]["server"], "web");
    assert!(
        tools[3]["ms"].as_u64().unwrap_or(u64::MAX) < 5000,
        "{}",
        tools[3]
    );
    assert_eq!(tools[4]["server"], Value::Null);
    assert!(
        tools[4]["error"]
            .as_str()
            .unwrap_or("")
            .contains("files_teleport")
    );
    assert_eq!(lines[7]["text"], "Some of that went wrong.");
    // What the model was told, in order.
    let requests = setup.requests();
    assert_eq!(requests.len(), 2);
    let results = tool_results(&requests[1]);
    assert_eq!(results.len(), 5);
    assert_eq!(results[0].1, "still here");
    assert!(results[1].1.contains("the disk is on fire"), "{results:?}");
    assert!(!results[2].1.is_empty(), "{results:?}");
    assert!(results[3].1.contains("time"), "{results:?}");
    assert!(
        results[4].1.contains("no tool named `files_teleport`"),
        "{results:?}"
    );
}

#[test]
fn the_prompt_is_read_from_stdin_and_an_api_key_is_sent_as_a_bearer_token() {
    let script = json!({"turns": [{"text": "Hello from the model."}]});
    let setup = Setup::new("stdin", &["files"], false, script);
    let mut command = setup.command(&["--api-key-env", "MY_MODEL_KEY"]);
    command.env("MY_MODEL_KEY", "sekrit").stdin(Stdio::piped());
    let mut child = command.spawn().expect("mcpmux starts");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(b"Say hello.\n").expect("write the prompt");
    }
    let output = child.wait_with_output().expect("mcpmux ran");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "Hello from the model.\n");
    let requests = setup.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), Some("Bearer sekrit"));
    let messages = requests[0].body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        messages
            .iter()
            .any(|m| content_text(&m["content"]).contains("Say hello.")),
        "{messages:?}"
    );
    assert!(
        requests[0].body["tools"]
            .as_array()
            .is_some_and(|t| t.len() == 14)
    );
}

#[test]
fn a_model_endpoint_that_is_down_exits_6() {
    let mut setup = Setup::new("down", &["files"], false, json!({"turns": [{"text": "x"}]}));
    let url = setup.model_url();
    let _enter = setup.runtime.enter();
    setup.model.take(); // the port is closed now
    drop(_enter);
    let output = setup.run(&["Anyone there?"], None);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
}

#[test]
fn a_garbage_reply_exits_6_streamed_or_not() {
    let setup = Setup::new(
        "garbage",
        &["files"],
        false,
        json!({"turns": [{"garbage": true}]}),
    );
    for args in [&["Hi"][..], &["--no-stream", "Hi"][..]] {
        let output = setup.run(args, None);
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(6), "{args:?}: {stderr}");
        assert!(stderr.contains("the model at"), "{stderr}");
    }
}

#[test]
fn more_turns_than_max_turns_exits_6() {
    let script = json!({"turns": [{"tool_calls": [{"name": "files_echo", "arguments": {"text": "again"}}]}]});
    let setup = Setup::new("max_turns", &["files"], false, script);
    let output = setup.run(&["--max-turns", "3", "Loop."], None);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("--max-turns"), "{stderr}");
    assert_eq!(setup.requests().len(), 3);
}

#[test]
fn approve_without_a_terminal_is_a_usage_error() {
    let setup = Setup::new(
        "approve",
        &["files"],
        false,
        json!({"turns": [{"text": "x"}]}),
    );
    let output = setup.run(&["--approve", "Hi"], None);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("terminal"), "{stderr}");
    assert!(setup.requests().is_empty());
}

#[test]
fn more_tools_than_openai_accepts_is_an_error_naming_server() {
    let names: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let setup = Setup::new("too_many", &names, false, json!({"turns": [{"text": "x"}]}));
    let output = setup.run(&["Hi"], None);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--server"), "{stderr}");
    assert!(stderr.contains("140 tools"), "{stderr}");
    assert!(setup.requests().is_empty());
    // Two of them are few enough.
    let output = setup.run(&["--server", "s1", "--server", "s7", "Hi"], None);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let tools = setup.requests()[0].body["tools"].as_array().map(Vec::len);
    assert_eq!(tools, Some(28));
}

#[test]
fn sigint_mid_run_exits_130_and_leaves_no_server() {
    let script = json!({"turns": [
        {"tool_calls": [{"name": "files_sleep", "arguments": {"ms": 60000}}]},
        {"text": "never"}
    ]});
    let setup = Setup::new("sigint", &["files"], false, script);
    let mut child = setup
        .command(&["Sleep long."])
        .spawn()
        .expect("mcpmux starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while setup.requests().is_empty() {
        assert!(Instant::now() < deadline, "the model was never asked");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The call is in flight a moment after the reply.
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mcpmux agent did not exit within 10 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert_eq!(setup.requests().len(), 1);
}

#[test]
fn an_unknown_server_is_a_config_error() {
    let setup = Setup::new(
        "unknown_server",
        &["files"],
        false,
        json!({"turns": [{"text": "x"}]}),
    );
    let output = setup.run(&["--server", "nope", "Hi"], None);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
}

#[test]
fn a_base_url_that_is_not_http_is_a_usage_error() {
    let setup = Setup::new(
        "bad_url",
        &["files"],
        false,
        json!({"turns": [{"text": "x"}]}),
    );
    let output = Command::new(MCPMUX)
        .arg("--config")
        .arg(&setup.config)
        .args([
            "agent",
            "--base-url",
            "localhost:8080",
            "--model",
            "m",
            "Hi",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("mcpmux runs");
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--base-url"), "{stderr}");
}

/// README's walk-through without a model: `mcpmux test-server --model SCRIPT --http ADDR` as the
/// model server, a configured test server as the tools.
#[test]
fn the_test_server_serves_a_scripted_model_for_the_cli() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let script = dir.path().join("script.json");
    std::fs::write(
        &script,
        json!({"turns": [
            {"tool_calls": [
                {"name": "t_sleep", "arguments": {"ms": 1000}},
                {"name": "t_sleep", "arguments": {"ms": 1000}}
            ]},
            {"text": "Two naps in one second."}
        ]})
        .to_string(),
    )
    .expect("write the script");
    let mut model = Command::new(MCPMUX)
        .arg("test-server")
        .arg("--model")
        .arg(&script)
        .args(["--http", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the model server starts");
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = model.stdout.take().expect("piped stdout");
    let model = Reap(model);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the model server listens");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    assert!(url.ends_with("/v1"), "{url}");
    let marker = format!("MCPMUX_AGENT_TEST=cli_model-{}", std::process::id());
    let (key, value) = marker.split_once('=').expect("KEY=VALUE");
    let config = dir.path().join("servers.json");
    std::fs::write(
        &config,
        json!({"mcpServers": {"t": {"command": MCPMUX, "args": ["test-server"], "env": {key: value}}}})
            .to_string(),
    )
    .expect("write the config");
    let started = Instant::now();
    let output = Command::new(MCPMUX)
        .arg("--config")
        .arg(&config)
        .args([
            "agent",
            "--base-url",
            &url,
            "--model",
            "scripted",
            "Nap twice.",
        ])
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .output()
        .expect("mcpmux agent runs");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "Two naps in one second.\n");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(model);
    assert_none_left(&(key.to_owned(), value.to_owned()));
}

#[test]
fn anthropic_sends_the_key_as_x_api_key_and_no_header_without_one() {
    let setup = Setup::new(
        "anthropic_key",
        &["files"],
        false,
        json!({"turns": [{"text": "Hi."}]}),
    );
    let mut command = setup.command(&["--provider", "anthropic", "Hello?"]);
    command.env("ANTHROPIC_API_KEY", "sk-ant-test");
    let output = command.output().expect("mcpmux runs");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "Hi.\n");
    let output = setup.run(&["--provider", "anthropic", "Hello again?"], None);
    assert_eq!(output.status.code(), Some(0));
    let requests = setup.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.path == "/v1/messages"));
    assert_eq!(requests[0].header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(requests[1].header("x-api-key"), None);
    assert!(
        requests
            .iter()
            .all(|r| r.header("anthropic-version").is_some())
    );
}

/// Runs `mcpmux --config CONFIG ARGS...` on a pseudo-terminal (util-linux `script`), `input`
/// typed ahead on it; returns everything the terminal showed (stdout and stderr, `\r\n` lines).
fn in_terminal(setup: &Setup, args: &[&str], input: &str) -> (Option<i32>, String) {
    let quote = |s: &str| {
        assert!(!s.contains('\''), "no quotes in {s:?}");
        format!("'{s}'")
    };
    let mut line = vec![
        quote(MCPMUX),
        "--config".to_owned(),
        quote(&setup.config.to_string_lossy()),
    ];
    line.extend(args.iter().map(|a| quote(a)));
    let mut child = Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env_remove("RUST_LOG")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs (it gives the command a terminal)");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("type ahead");
    }
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(LIMIT) {
        Ok(output) => {
            let output = output.expect("script ran");
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
            )
        }
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("mcpmux agent on a terminal did not finish within {LIMIT:?}");
        }
    }
}

/// The JSON Lines of a terminal's output (each line from its `{"type"` on).
fn json_lines(shown: &str) -> Vec<Value> {
    shown
        .split('\n')
        .filter_map(|l| l.find("{\"type\"").map(|i| l[i..].trim_end()))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

#[test]
fn approve_asks_on_the_terminal_before_each_call_and_a_no_denies_it() {
    let script = json!({"turns": [
        {"tool_calls": [
            {"name": "files_echo", "arguments": {"text": "one"}},
            {"name": "files_echo", "arguments": {"text": "two"}}
        ]},
        {"text": "Done asking."}
    ]});
    let setup = Setup::new("approve_tty", &["files"], false, script);
    let url = setup.model_url();
    let args = [
        "--json",
        "agent",
        "--base-url",
        &url,
        "--model",
        "m",
        "--approve",
        "Echo twice.",
    ];
    let (code, shown) = in_terminal(&setup, &args, "y\nn\n");
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(shown.matches("? [y/N]").count(), 2, "{shown}");
    let lines = json_lines(&shown);
    let tools: Vec<&Value> = lines.iter().filter(|l| l["type"] == "tool").collect();
    assert_eq!(tools.len(), 2, "{shown}");
    let allowed: Vec<&Value> = tools.iter().copied().filter(|t| t["ok"] == true).collect();
    assert_eq!(allowed.len(), 1, "one yes, one no: {shown}");
    let denied = tools
        .iter()
        .find(|t| t["ok"] == false)
        .expect("a denied call");
    assert!(
        denied["error"].as_str().unwrap_or("").contains("declined"),
        "{denied}"
    );
    let results = tool_results(&setup.requests()[1]);
    assert_eq!(results.len(), 2);
    assert_eq!(
        results
            .iter()
            .filter(|(_, t)| t.contains("declined"))
            .count(),
        1,
        "{results:?}"
    );
}

#[test]
fn on_a_terminal_without_a_prompt_the_session_is_interactive() {
    let script = json!({"turns": [{"text": "First answer."}, {"text": "Second answer."}]});
    let setup = Setup::new("interactive", &["files"], false, script);
    let url = setup.model_url();
    let args = ["agent", "--base-url", &url, "--model", "m"];
    let (code, shown) = in_terminal(&setup, &args, "Question one\nQuestion two\n\n");
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("First answer."), "{shown}");
    assert!(shown.contains("Second answer."), "{shown}");
    let requests = setup.requests();
    assert_eq!(requests.len(), 2);
    // The conversation is kept: the second request carries the first exchange.
    let second: Vec<String> = requests[1].body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            format!(
                "{}: {}",
                m["role"].as_str().unwrap_or(""),
                content_text(&m["content"])
            )
        })
        .collect();
    assert_eq!(
        second,
        [
            "user: Question one",
            "assistant: First answer.",
            "user: Question two"
        ]
    );
}

#[test]
fn sigint_while_waiting_for_the_prompt_on_stdin_exits_130() {
    let setup = Setup::new(
        "sigint_stdin",
        &["files"],
        false,
        json!({"turns": [{"text": "x"}]}),
    );
    let mut command = setup.command(&[]);
    command.stdin(Stdio::piped());
    let mut child = command.spawn().expect("mcpmux starts");
    let _stdin = child.stdin.take(); // held open: no prompt ever comes
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mcpmux agent did not exit within 10 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert!(setup.requests().is_empty());
}

//! End-to-end tests of the config-driven subcommands (`servers`, `tools`, `call SERVER.TOOL`,
//! `batch`, `resources`, `read`, `prompts`, `prompt`) from real config files: the built-in test
//! server over stdio and over HTTP (served in this test process), the official Python SDK server,
//! and server-everything. Every command is bounded by a timeout and runs with a private HOME.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);
const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");

/// The built-in test server, served over HTTP from a runtime of its own for one test.
struct HttpPeer {
    url: String,
    sse_url: String,
    _server: mcpmux_test_server::HttpServer,
    _runtime: tokio::runtime::Runtime,
}

fn http_peer() -> HttpPeer {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let server = runtime
        .block_on(mcpmux_test_server::start_http(Default::default()))
        .expect("the HTTP test server starts");
    HttpPeer {
        url: server.url_mcp.clone(),
        sse_url: server.url_sse.clone(),
        _server: server,
        _runtime: runtime,
    }
}

/// A folder with a config file, used as HOME and working directory.
struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    fn new(config: &Value) -> Place {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::write(dir.path().join("mcp.json"), config.to_string()).expect("write config");
        Place { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("mcp.json")
    }

    /// `mcpmux --config mcp.json ARGS...` in this folder, with HOME here.
    fn run(&self, args: &[&str]) -> Command {
        let mut cmd = self.bare();
        cmd.arg("--config").arg(self.config()).args(args);
        cmd
    }

    /// The names cache of this place's commands.
    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// `mcpmux` in this folder, with HOME and the names cache here and no config flag.
    fn bare(&self) -> Command {
        let mut cmd = Command::cargo_bin("mcpmux").expect("the mcpmux binary is built");
        cmd.timeout(LIMIT)
            .current_dir(self.path())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join(".config"))
            .env("MCPMUX_CACHE_DIR", self.cache())
            .env_remove("MCPMUX_CONFIG")
            .env_remove("MCPMUX_BEARER_TOKEN")
            .env_remove("RUST_LOG");
        cmd
    }
}

fn local() -> Value {
    json!({"command": MCPMUX, "args": ["test-server"]})
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A pinned peer installed by scripts/install-peers.sh.
fn require_peer(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-peers.sh",
        path.display()
    );
    path
}

#[test]
fn servers_lists_a_stdio_and_an_http_server() {
    let http = http_peer();
    let place = Place::new(&json!({"mcpServers": {
        "local": local(),
        "remote": {"type": "http", "url": http.url},
    }}));
    let out = place
        .run(&["--json", "servers"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v = stdout_json(&out);
    let by_name = |n: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap()
            .clone()
    };
    let l = by_name("local");
    assert_eq!(l["status"], "ok");
    assert_eq!(l["transport"], "stdio");
    assert_eq!(l["server_name"], "mcpmux-test-server");
    assert_eq!(l["protocol_version"], "2025-11-25");
    assert!(l["tools"].as_u64().unwrap() >= 10);
    assert!(l["latency_ms"].as_f64().is_some());
    let r = by_name("remote");
    assert_eq!(r["status"], "ok");
    assert_eq!(r["transport"], "http");
    place
        .run(&["servers"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "NAME    TRANSPORT  STATUS  PROTOCOL",
        ))
        .stdout(predicate::str::contains(
            "remote  http       ok      2025-11-25",
        ));
}

#[test]
fn tools_call_and_batch_across_two_servers() {
    let http = http_peer();
    let place = Place::new(&json!({"mcpServers": {
        "local": local(),
        "remote": {"url": http.url},
    }}));
    // tools: a table, and JSON with prefixed names.
    place
        .run(&["tools"])
        .assert()
        .success()
        .stdout(predicate::str::contains("local.echo"))
        .stdout(predicate::str::contains("remote.drop_stream"));
    let out = place
        .run(&["tools", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let tools = stdout_json(&out);
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"local_add") && names.contains(&"remote_add"),
        "{names:?}"
    );
    let add = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "local_add")
        .unwrap();
    assert_eq!(add["server"], "local");
    assert_eq!(add["tool"], "add");
    assert!(add["inputSchema"]["properties"]["a"].is_object());
    place
        .run(&["tools", "remote", "--schema"])
        .assert()
        .success()
        .stdout(predicate::str::contains("remote.add\n"))
        .stdout(
            predicate::str::contains("\"properties\"")
                .and(predicate::str::contains("local.").not()),
        );

    // call: KEY=VALUE typed by the schema; --args merged; --json.
    place
        .run(&["call", "local.add", "a=2", "b=40"])
        .assert()
        .success()
        .stdout("42\n");
    place
        .run(&[
            "call",
            "remote.add",
            "--args",
            r#"{"a": 1, "b": 1}"#,
            "b=41",
        ])
        .assert()
        .success()
        .stdout("42\n");
    let out = place
        .run(&["call", "remote.echo", "text=hello there", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_json(&out)["content"][0]["text"], "hello there");
    place
        .run(&["call", "local.add", "a=two", "b=1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "argument `a`: expected a number, got `two`",
        ));
    place
        .run(&["call", "local.fail", "message=broken"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("broken"));
    place
        .run(&["call", "local.progress", "steps=2", "ms=5"])
        .assert()
        .success()
        .stderr(predicate::str::contains("progress: 1/2"));
    place
        .run(&["call", "nosuch.echo"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "no server named `nosuch` (configured: local, remote)",
        ));
    place
        .run(&["call", "echo"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SERVER.TOOL"));

    // batch: the JSONL contract.
    let input = [
        r#"{"id": "a", "tool": "local.add", "arguments": {"a": 1, "b": 2}}"#,
        r#"{"tool": "remote_echo", "arguments": {"text": "hi"}}"#,
        "",
        "not json",
        r#"{"id": {"k": 1}, "tool": "local.fail", "arguments": {"message": "nope"}}"#,
        r#"{"tool": "local.nosuch"}"#,
        r#"{"tool": "remote.sleep", "arguments": {"ms": 5000}}"#,
        r#"{"id": 9, "tool": 5}"#,
        r#"{"tool": "local.echo", "arguments": [1]}"#,
        r#"{"tool": "local.echo", "arguments": {"text": "last"}}"#,
    ]
    .join("\n");
    let out = place
        .run(&["batch", "--timeout", "1"])
        .write_stdin(input)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "mcpmux: batch: 9 calls, 3 ok, 6 failed",
        ))
        .get_output()
        .clone();
    let lines = json_lines(&out);
    let ids: Vec<Value> = lines.iter().map(|l| l["id"].clone()).collect();
    assert_eq!(
        ids,
        [
            json!("a"),
            json!(1),
            Value::Null,
            json!({"k": 1}),
            json!(5),
            json!(6),
            json!(9),
            json!(8),
            json!(9)
        ]
    );
    // Every line carries its 1-based input line (the blank one is skipped).
    let numbers: Vec<Value> = lines.iter().map(|l| l["line"].clone()).collect();
    assert_eq!(numbers, [1, 2, 4, 5, 6, 7, 8, 9, 10].map(|n| json!(n)));
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[0]["result"]["structuredContent"]["sum"], 3);
    assert_eq!(lines[1]["result"]["content"][0]["text"], "hi");
    let kind = |i: usize| lines[i]["error"]["kind"].as_str().unwrap().to_owned();
    assert_eq!(kind(2), "invalid_input");
    assert_eq!(kind(3), "tool_error");
    assert_eq!(lines[3]["result"]["isError"], true);
    assert_eq!(kind(4), "unknown_tool");
    assert_eq!(kind(5), "timeout");
    assert_eq!(kind(6), "invalid_input");
    assert_eq!(kind(7), "invalid_input");
    assert_eq!(lines[8]["result"]["content"][0]["text"], "last");
    // Field order as documented.
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(raw.starts_with(r#"{"id":"a","ok":true,"result":"#), "{raw}");

    // --input FILE, --concurrency, all good: exit 0.
    let file = place.path().join("calls.jsonl");
    let calls: Vec<String> = (0..50)
        .map(|i| json!({"tool": if i % 2 == 0 { "local.sleep" } else { "remote.sleep" }, "arguments": {"ms": 20}}).to_string())
        .collect();
    std::fs::write(&file, calls.join("\n")).unwrap();
    let out = place
        .run(&[
            "batch",
            "--input",
            file.to_str().unwrap(),
            "--concurrency",
            "8",
            "-q",
        ])
        .assert()
        .success()
        .stderr("")
        .get_output()
        .clone();
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 50);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| l["id"] == i && l["ok"] == true)
    );
}

#[test]
fn tool_filters_from_the_config_apply() {
    let place = Place::new(&json!({"mcpServers": {
        "local": {"command": MCPMUX, "args": ["test-server"], "includeTools": ["echo", "add", "fail"], "excludeTools": ["fail"]},
    }}));
    let out = place
        .run(&["--json", "tools"])
        .assert()
        .success()
        .get_output()
        .clone();
    let names: Vec<String> = stdout_json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["local_echo", "local_add"]);
    place
        .run(&["call", "local.fail", "message=x"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "excluded by the config's tool filter",
        ));
    let out = place
        .run(&["batch"])
        .write_stdin(r#"{"tool": "local.fail", "arguments": {"message": "x"}}"#)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let line = &json_lines(&out)[0];
    assert_eq!(line["error"]["kind"], "unknown_tool");
    assert!(
        line["error"]["message"]
            .as_str()
            .unwrap()
            .contains("excluded")
    );
}

#[test]
fn a_failing_server_is_reported_and_the_others_serve() {
    let place = Place::new(&json!({"mcpServers": {
        "good": local(),
        "gone": {"command": "/nonexistent/mcp-server"},
    }}));
    place
        .run(&["tools"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("good.echo"))
        .stderr(predicate::str::contains(
            "server `gone` is unavailable: could not start `/nonexistent/mcp-server`",
        ));
    place
        .run(&["tools", "--strict"])
        .assert()
        .code(4)
        .stdout("");
    let out = place
        .run(&["batch"])
        .write_stdin("{\"tool\": \"gone.x\"}\n{\"tool\": \"good.echo\", \"arguments\": {\"text\": \"ok\"}}\n")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let lines = json_lines(&out);
    assert_eq!(lines[0]["error"]["kind"], "spawn");
    assert_eq!(lines[1]["ok"], true);
    // --strict: a server the input names that fails to start fails the batch (exit 4); one it
    // does not name never starts.
    place
        .run(&["batch", "--strict"])
        .write_stdin("{\"tool\": \"gone.x\"}\n")
        .assert()
        .code(4)
        .stdout(predicate::str::contains("\"kind\":\"spawn\""))
        .stderr(predicate::str::contains("server `gone` is unavailable"));
    place
        .run(&["batch", "--strict"])
        .write_stdin("{\"tool\": \"good.echo\", \"arguments\": {\"text\": \"ok\"}}\n")
        .assert()
        .success()
        .stderr(predicate::str::contains("gone").not());
    let out = place
        .run(&["--json", "servers"])
        .assert()
        .code(4)
        .get_output()
        .clone();
    let v = stdout_json(&out);
    let gone = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "gone")
        .unwrap();
    assert_eq!(gone["status"], "failed");
    // The good server alone is fine.
    place
        .run(&["call", "good.echo", "text=x"])
        .assert()
        .success()
        .stdout("x\n");
    place.run(&["call", "gone.echo"]).assert().code(4);
}

#[test]
fn config_errors_exit_3_and_point_at_file_server_and_field() {
    let place = Place::new(&json!({"mcpServers": {
        "api": {"type": "http", "url": "https://example.invalid/mcp", "headers": {"Authorization": "Bearer ${MCPMUX_TEST_NO_SUCH_VAR}"}},
        "ok": local(),
    }}));
    let config = place.config().display().to_string();
    place
        .run(&["call", "api.x"])
        .env_remove("MCPMUX_TEST_NO_SUCH_VAR")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "{config}: server `api`: field `headers.Authorization`: environment variable `MCPMUX_TEST_NO_SUCH_VAR` is not set"
        )));
    // Another server of the same file still works; listing everything reports the broken one.
    place
        .run(&["call", "ok.echo", "text=fine"])
        .assert()
        .success()
        .stdout("fine\n");
    place
        .run(&["tools"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("ok.echo"))
        .stderr(predicate::str::contains("MCPMUX_TEST_NO_SUCH_VAR"));
    place
        .run(&["tools", "--strict"])
        .assert()
        .code(3)
        .stdout("");

    let dotted = Place::new(&json!({"mcpServers": {"a.b": local()}}));
    dotted
        .run(&["tools"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "server `a.b`: a server name may not contain `.`",
        ));
    let broken = Place::new(&json!({}));
    std::fs::write(broken.config(), "{\"mcpServers\": {\n  \"x\" 1\n}}").unwrap();
    broken
        .run(&["servers"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("invalid JSON at line 2 column"));
    broken
        .bare()
        .args(["--config", "/nonexistent/mcp.json", "tools"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "/nonexistent/mcp.json: cannot read the file",
        ));
}

#[test]
fn no_config_is_a_config_error_but_demo_and_ad_hoc_calls_work() {
    let place = Place::new(&json!({}));
    std::fs::remove_file(place.config()).unwrap();
    place
        .bare()
        .arg("tools")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "no MCP server config found (looked for ",
        ))
        .stderr(predicate::str::contains(".mcp.json"));
    place
        .bare()
        .args([
            "call",
            "echo",
            "--args",
            r#"{"text":"hi"}"#,
            "--",
            MCPMUX,
            "test-server",
        ])
        .assert()
        .success()
        .stdout("hi\n");
    place
        .bare()
        .args(["demo", "--calls", "20", "--tasks", "4"])
        .assert()
        .success();
}

#[test]
fn default_locations_and_from_host() {
    let place = Place::new(&json!({}));
    // ./.mcp.json is found without --config.
    std::fs::write(
        place.path().join(".mcp.json"),
        json!({"mcpServers": {"proj": local()}}).to_string(),
    )
    .unwrap();
    place
        .bare()
        .args(["call", "proj.echo", "text=found"])
        .assert()
        .success()
        .stdout("found\n");
    // --from cursor reads ~/.cursor/mcp.json (and the project's .cursor/mcp.json).
    std::fs::create_dir_all(place.path().join(".cursor")).unwrap();
    std::fs::write(
        place.path().join(".cursor/mcp.json"),
        json!({"mcpServers": {"cur": {"command": MCPMUX, "args": ["test-server"], "env": {"X": "${env:HOME}"}}}}).to_string(),
    )
    .unwrap();
    let out = place
        .bare()
        .args(["--from", "cursor", "--json", "servers"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_json(&out)[0]["name"], "cur");
    // --config with --from: the file in that host's format.
    let zed = place.path().join("zed.json");
    std::fs::write(&zed, json!({"context_servers": {"z": local()}}).to_string()).unwrap();
    place
        .bare()
        .args([
            "--config",
            zed.to_str().unwrap(),
            "--from",
            "zed",
            "call",
            "z.echo",
            "text=zed",
        ])
        .assert()
        .success()
        .stdout("zed\n");
    place
        .bare()
        .args(["--from", "emacs", "tools"])
        .assert()
        .code(2);
    place
        .bare()
        .args(["--from", "gemini", "tools"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no gemini config found"));
}

#[test]
fn codex_toml_config() {
    let place = Place::new(&json!({}));
    let toml = place.path().join("config.toml");
    std::fs::write(
        &toml,
        format!("[mcp_servers.codex]\ncommand = {MCPMUX:?}\nargs = [\"test-server\"]\nenabled_tools = [\"echo\"]\n"),
    )
    .unwrap();
    let out = place
        .bare()
        .args(["--config", toml.to_str().unwrap(), "--json", "tools"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_json(&out)[0]["name"], "codex_echo");
}

#[test]
fn ad_hoc_http_servers_with_url() {
    let http = http_peer();
    let place = Place::new(&json!({}));
    place
        .bare()
        .args([
            "call",
            "echo",
            "--args",
            r#"{"text":"over http"}"#,
            "--url",
            &http.url,
        ])
        .assert()
        .success()
        .stdout("over http\n");
    place
        .bare()
        .args([
            "call",
            "add",
            "a=1",
            "b=2",
            "--url",
            &http.sse_url,
            "--transport",
            "sse",
        ])
        .args(["--header", "X-Test: 1", "--bearer", "t0k"])
        .assert()
        .success()
        .stdout("3\n");
    place
        .bare()
        .args([
            "call",
            "echo",
            "text=x",
            "--url",
            &http.url,
            "--transport",
            "http",
        ])
        .env("MCPMUX_BEARER_TOKEN", "from-env")
        .assert()
        .success();
    place
        .bare()
        .args(["tools", "--url", &http.url])
        .assert()
        .success()
        .stdout(predicate::str::contains("\ndrop_stream "))
        .stdout(predicate::str::contains("127_0_0_1.").not());
    let out = place
        .bare()
        .args(["batch", "--url", &http.url])
        .write_stdin("{\"tool\": \"echo\", \"arguments\": {\"text\": \"b\"}}\n")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(json_lines(&out)[0]["result"]["content"][0]["text"], "b");
    // Contradictions are usage errors.
    place
        .bare()
        .args(["call", "echo", "--url", &http.url, "--transport", "stdio"])
        .assert()
        .code(2);
    place
        .bare()
        .args(["call", "echo", "--url", &http.url, "--", MCPMUX])
        .assert()
        .code(2);
    place
        .bare()
        .args([
            "call",
            "echo",
            "--header",
            "X: 1",
            "--",
            MCPMUX,
            "test-server",
        ])
        .assert()
        .code(2);
    place
        .bare()
        .args(["call", "echo", "--url", "http://127.0.0.1:1/mcp"])
        .assert()
        .code(4);
}

#[test]
fn the_bearer_token_is_never_shown() {
    let place = Place::new(&json!({}));
    for args in [
        &["call", "--help"][..],
        &["--help"][..],
        &["tools", "--help"][..],
    ] {
        place
            .bare()
            .args(args)
            .env("MCPMUX_BEARER_TOKEN", "sekrit-token")
            .assert()
            .success()
            .stdout(predicate::str::contains("sekrit").not());
    }
}

#[test]
fn python_sdk_server_from_a_config_file() {
    let python = require_peer(repo_root().join(".peers/venv/bin/python"));
    let script = repo_root().join("tests/peers/py_server.py");
    let place = Place::new(&json!({"mcpServers": {
        "py": {"command": python, "args": [script, "stdio"]},
        "local": local(),
    }}));
    let out = place
        .run(&["--json", "tools", "py"])
        .assert()
        .success()
        .get_output()
        .clone();
    let names: Vec<String> = stdout_json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["py_echo", "py_add", "py_sleep"]);
    // `a` and `b` are numbers in the Python tool's schema: typed, not strings.
    let out = place
        .run(&["--json", "call", "py.add", "a=1.5", "b=2"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_json(&out)["structuredContent"]["result"], 3.5);
    let out = place
        .run(&["batch"])
        .write_stdin("{\"tool\":\"py.echo\",\"arguments\":{\"text\":\"py\"}}\n{\"tool\":\"local_echo\",\"arguments\":{\"text\":\"rs\"}}\n")
        .assert()
        .success()
        .get_output()
        .clone();
    let lines = json_lines(&out);
    assert_eq!(lines[0]["result"]["content"][0]["text"], "py");
    assert_eq!(lines[1]["result"]["content"][0]["text"], "rs");
}

#[test]
fn resources_and_prompts_of_server_everything() {
    let entry = require_peer(
        repo_root()
            .join(".peers/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
    );
    let place = Place::new(&json!({"mcpServers": {
        "everything": {"command": "node", "args": [entry, "stdio"]},
        "local": local(),
    }}));
    let out = place
        .run(&["--json", "resources"])
        .assert()
        .success()
        .get_output()
        .clone();
    let resources = stdout_json(&out);
    let first = &resources[0];
    assert_eq!(first["server"], "everything");
    let uri = first["uri"].as_str().unwrap().to_owned();
    place
        .run(&["resources"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("SERVER"))
        .stdout(predicate::str::contains(&uri));
    // The one server that lists it is found without --server.
    place
        .run(&["read", &uri])
        .assert()
        .success()
        .stdout(predicate::str::is_empty().not());
    let out = place
        .run(&["--json", "read", &uri, "--server", "everything"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_json(&out)["contents"][0]["uri"], uri.as_str());
    place
        .run(&["read", "demo://nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--server"));
    place
        .run(&["prompts"])
        .assert()
        .success()
        .stdout(predicate::str::contains("everything.args-prompt"))
        .stdout(predicate::str::contains("city*"));
    place
        .run(&["prompt", "everything.args-prompt", "city=Paris"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("[user]\n"))
        .stdout(predicate::str::contains("Paris"));
    let out = place
        .run(&["--json", "prompt", "everything.simple-prompt"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_json(&out)["messages"][0]["role"], "user");
}

#[test]
fn shell_completions() {
    let place = Place::new(&json!({}));
    for (shell, marker) in [
        ("bash", "_mcpmux()"),
        ("zsh", "#compdef mcpmux"),
        ("fish", "complete -c mcpmux"),
    ] {
        place
            .bare()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker))
            .stdout(predicate::str::contains("batch"));
    }
    place.bare().args(["completions", "tcsh"]).assert().code(2);
}

/// A completion request as the script of `COMPLETE=bash mcpmux` makes it on a TAB:
/// `COMPLETE=bash mcpmux -- WORDS...`, the cursor on the last word. The candidates (less the
/// options, also offered for an empty word), and how long the answer took.
fn complete(place: &Place, words: &[&str]) -> (Vec<String>, Duration) {
    let started = Instant::now();
    let out = place
        .bare()
        .timeout(Duration::from_secs(10))
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
        .env("_CLAP_IFS", "\n")
        .args(["--", "mcpmux"])
        .args(words)
        .output()
        .expect("run the completion");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let options = words.last().is_some_and(|w| w.starts_with('-'));
    let candidates = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty() && (options || !l.starts_with('-')))
        .map(str::to_owned)
        .collect();
    (candidates, took)
}

#[test]
fn tab_completes_server_names_and_the_tool_names_tools_listed() {
    let place = Place::new(&json!({"mcpServers": {"local": local(), "other": local()}}));
    let config = place.config();
    let config = config.to_str().expect("a UTF-8 path");
    // Server names, from the config alone.
    let (names, _) = complete(&place, &["--config", config, "tools", ""]);
    assert_eq!(names, ["local", "other"]);
    let (names, _) = complete(&place, &["--config", config, "resources", "o"]);
    assert_eq!(names, ["other"]);
    let (names, _) = complete(
        &place,
        &["read", "uri", "--config", config, "--server", "l"],
    );
    assert_eq!(names, ["local"]);
    // The config found the way commands find it ($MCPMUX_CONFIG here).
    let out = place
        .bare()
        .env("MCPMUX_CONFIG", place.config())
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .args(["--", "mcpmux", "prompts", ""])
        .output()
        .expect("run the completion");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("local\nother\n"), "{stdout}");
    // No tool names before a command listed them.
    let (names, _) = complete(&place, &["--config", config, "call", "loc"]);
    assert!(names.is_empty(), "{names:?}");
    // `tools` lists them, and keeps them.
    place.run(&["tools"]).assert().success();
    let cached: Vec<_> = std::fs::read_dir(place.cache())
        .expect("the cache folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        cached.len() == 1 && cached[0].starts_with("tools-") && cached[0].ends_with(".json"),
        "{cached:?}"
    );
    let (names, _) = complete(&place, &["--config", config, "call", "local.ec"]);
    assert_eq!(names, ["local.echo"]);
    let (names, _) = complete(&place, &["call", "--config", config, ""]);
    for wanted in ["local.echo", "local.add", "other.echo"] {
        assert!(names.iter().any(|n| n == wanted), "{wanted}: {names:?}");
    }
    let (names, _) = complete(&place, &["--config", config, "bench", "other.ad"]);
    assert_eq!(names, ["other.add"]);
    // Subcommands and options complete as before.
    let (names, _) = complete(&place, &["ca"]);
    assert_eq!(names, ["call"]);
}

#[test]
fn tab_starts_no_server() {
    // `hang` would leave a marker file and never answer; `local` is listed once, by name.
    let place = Place::new(&json!({}));
    let marker = place.path().join("started");
    let hang = format!("touch '{}'; sleep 100", marker.display());
    std::fs::write(
        place.config(),
        json!({"mcpServers": {
            "hang": {"command": "sh", "args": ["-c", hang]},
            "local": local(),
        }})
        .to_string(),
    )
    .expect("write the config");
    place.run(&["tools", "local"]).assert().success();
    assert!(!marker.exists(), "`tools local` started `hang`");
    let config = place.config();
    let config = config.to_str().expect("a UTF-8 path");
    for words in [
        &["--config", config, "call", ""][..],
        &["--config", config, "call", "hang."],
        &["--config", config, "tools", ""],
        &["--config", config, "servers", "--"],
        &["--config", config, "batch", ""],
    ] {
        let (names, took) = complete(&place, words);
        assert!(took < Duration::from_secs(2), "{words:?} took {took:?}");
        if words[2] == "call" && words[3].is_empty() {
            assert!(names.iter().any(|n| n == "local.echo"), "{names:?}");
            assert!(!names.iter().any(|n| n.starts_with("hang.")), "{names:?}");
        }
    }
    assert!(!marker.exists(), "a TAB started a server");
}

#[test]
fn help_of_every_subcommand() {
    let place = Place::new(&json!({}));
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--help"],
            &[
                "Exit status:",
                "3  configuration error",
                "130  interrupted by SIGINT",
                "143  terminated by SIGTERM",
                "servers",
                "batch",
                "completions",
                "--config <FILE>",
                "--from <HOST>",
            ],
        ),
        (
            &["servers", "--help"],
            &[
                "Usage: mcpmux servers [OPTIONS]",
                "how long connecting took",
                "--from claude-desktop",
            ],
        ),
        (
            &["tools", "--help"],
            &[
                "Usage: mcpmux tools [OPTIONS] [SERVER]",
                "--schema",
                "--url <URL>",
            ],
        ),
        (
            &["call", "--help"],
            &[
                "Usage: mcpmux call [OPTIONS] <TARGET> [KEY=VALUE]...",
                "--args <JSON>",
                "--save-media <DIR>",
                "--header <'NAME: VALUE'>",
                "--bearer <TOKEN>",
                "--transport <TRANSPORT>",
                "-- COMMAND",
            ],
        ),
        (
            &["batch", "--help"],
            &[
                "--input <FILE>",
                "--concurrency <N>",
                "tool_error",
                "unknown_tool",
                "denied",
            ],
        ),
        (&["resources", "--help"], &["mcpmux read URI"]),
        (&["read", "--help"], &["<URI>", "--server <NAME>"]),
        (&["prompts", "--help"], &["SERVER.PROMPT"]),
        (&["prompt", "--help"], &["<NAME> [KEY=VALUE]..."]),
        (&["completions", "--help"], &["bash", "zsh", "fish"]),
        (
            &["demo", "--help"],
            &["--transport <TRANSPORT>", "- http:", "- sse:"],
        ),
    ];
    for (args, wanted) in cases {
        let out = place
            .bare()
            .args(*args)
            .assert()
            .success()
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&out.stdout);
        for w in *wanted {
            assert!(
                text.contains(w),
                "`mcpmux {}` lacks {w:?}:\n{text}",
                args.join(" ")
            );
        }
    }
}

/// Runs `mcpmux --config mcp.json ARGS...` in `place` with `input` on stdin, and returns each
/// stdout line with the time it arrived, the exit code and stderr. Bounded by [`LIMIT`].
fn timed_lines(
    place: &Place,
    args: &[&str],
    input: &str,
) -> (Vec<(Duration, String)>, i32, String) {
    use std::io::{BufRead as _, Read as _, Write as _};
    let started = Instant::now();
    let mut child = std::process::Command::new(MCPMUX)
        .current_dir(place.path())
        .env("HOME", place.path())
        .env("XDG_CONFIG_HOME", place.path().join(".config"))
        .env_remove("MCPMUX_CONFIG")
        .env_remove("RUST_LOG")
        .arg("--config")
        .arg(place.config())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mcpmux starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((started.elapsed(), line)).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(LIMIT.saturating_sub(started.elapsed())) {
            Ok(line) => lines.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mcpmux {args:?} did not finish in {LIMIT:?}; lines so far: {lines:?}");
            }
        }
    }
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mcpmux {args:?} did not exit in {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let errors = errors.join().unwrap_or_default();
    (lines, status.code().unwrap_or(-1), errors)
}

#[test]
fn batch_starts_only_the_servers_it_names_when_it_first_calls_them() {
    // `hang` never answers its handshake; it leaves a file behind when started.
    let place = Place::new(&json!({"mcpServers": {
        "good": local(),
        "hang": {"command": "sh", "args": ["-c", "touch hang-started; exec sleep 100"]},
    }}));
    // A batch that calls only `good` does not wait for `hang` (the default connect deadline is
    // 60 s): it never starts.
    let started = Instant::now();
    let out = place
        .run(&["batch"])
        .write_stdin("{\"tool\": \"good.echo\", \"arguments\": {\"text\": \"hi\"}}\n")
        .assert()
        .success()
        .stderr(predicate::str::contains("hang").not())
        .stderr(predicate::str::contains(
            "mcpmux: batch: 1 calls, 1 ok, 0 failed in ",
        ))
        .get_output()
        .clone();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_eq!(json_lines(&out)[0]["result"]["content"][0]["text"], "hi");
    assert!(
        !place.path().join("hang-started").exists(),
        "`hang` was started"
    );

    // Calling both: the good call is answered at once, the hanging one fails at its connect
    // deadline, and the summary's time is the real wall time.
    let input = "{\"tool\": \"good.echo\", \"arguments\": {\"text\": \"first\"}}\n\
                 {\"tool\": \"hang.echo\", \"arguments\": {\"text\": \"never\"}}\n";
    let (lines, code, stderr) = timed_lines(&place, &["--connect-timeout", "5", "batch"], input);
    assert_eq!(code, 1, "stderr: {stderr}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (at, first) = &lines[0];
    let first: Value = serde_json::from_str(first).unwrap();
    assert_eq!(first["result"]["content"][0]["text"], "first");
    assert!(
        *at < Duration::from_secs(4),
        "the good call was answered after {at:?}"
    );
    let (at, second) = &lines[1];
    let second: Value = serde_json::from_str(second).unwrap();
    assert_eq!(second["error"]["kind"], "connect", "{second}");
    let message = second["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("server `hang` is not available")
            && message.contains("timed out after 5s"),
        "{message}"
    );
    assert!(
        *at >= Duration::from_millis(4500) && *at < Duration::from_secs(30),
        "the hanging call failed after {at:?}"
    );
    assert!(place.path().join("hang-started").exists());
    assert!(
        stderr.contains("mcpmux: server `hang` is unavailable: "),
        "{stderr}"
    );
    let seconds: f64 = stderr
        .split("mcpmux: batch: 2 calls, 1 ok, 1 failed (1 connect) in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    assert!((4.5..30.0).contains(&seconds), "summary says {seconds} s");
}

#[test]
fn one_tool_naming_rule_for_tools_call_and_batch() {
    let place = Place::new(&json!({"mcpServers": {"local": local(), "other": local()}}));
    // Configured servers: SERVER.TOOL and the prefixed SERVER_TOOL, in call and batch.
    place
        .run(&["call", "local_add", "a=2", "b=40"])
        .assert()
        .success()
        .stdout("42\n");
    place
        .run(&["call", "local.ech", "text=x"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "unknown tool `local.ech`: server `local` has no such tool; did you mean `local.echo`?",
        ));
    place
        .run(&["call", "other_ech", "text=x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `other_echo`?"));
    let input = [
        r#"{"tool": "local.echo", "arguments": {"text": "dotted"}}"#,
        r#"{"tool": "other_echo", "arguments": {"text": "prefixed"}}"#,
        r#"{"tool": "local.ech", "arguments": {"text": "typo"}}"#,
        r#"{"tool": "locl.echo"}"#,
        r#"{"tool": "echo"}"#,
    ]
    .join("\n");
    let out = place
        .run(&["batch"])
        .write_stdin(input)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let lines = json_lines(&out);
    assert_eq!(lines[0]["result"]["content"][0]["text"], "dotted");
    assert_eq!(lines[1]["result"]["content"][0]["text"], "prefixed");
    for (i, wanted) in [
        (
            2,
            "server `local` has no such tool; did you mean `local.echo`?",
        ),
        (
            3,
            "there is no server `locl` (configured: local, other); did you mean `local.echo`?",
        ),
        (4, "expected SERVER.TOOL or SERVER_TOOL"),
    ] {
        assert_eq!(lines[i]["error"]["kind"], "unknown_tool", "{}", lines[i]);
        let message = lines[i]["error"]["message"].as_str().unwrap();
        assert!(message.contains(wanted), "{message}");
    }

    // An ad-hoc server (named `mcpmux` after its program): `tools` prints the bare TOOL, and
    // TOOL, SERVER.TOOL and SERVER_TOOL all call it.
    let ad_hoc = |args: &[&str]| {
        let mut cmd = place.bare();
        cmd.args(args).args(["--", MCPMUX, "test-server"]);
        cmd
    };
    ad_hoc(&["tools"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\necho "))
        .stdout(predicate::str::contains("mcpmux.").not());
    for name in ["echo", "mcpmux.echo", "mcpmux_echo"] {
        ad_hoc(&["call", name, "text=same"])
            .assert()
            .success()
            .stdout("same\n");
    }
    ad_hoc(&["call", "ecoh", "text=x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown tool `ecoh`: server `mcpmux` has no such tool; did you mean `echo`?",
        ));
    let out = ad_hoc(&["batch"])
        .write_stdin(
            "{\"tool\": \"echo\", \"arguments\": {\"text\": \"1\"}}\n\
             {\"tool\": \"mcpmux.echo\", \"arguments\": {\"text\": \"2\"}}\n\
             {\"tool\": \"mcpmux_echo\", \"arguments\": {\"text\": \"3\"}}\n\
             {\"tool\": \"ecoh\"}\n",
        )
        .assert()
        .code(1)
        .get_output()
        .clone();
    let lines = json_lines(&out);
    for (i, text) in ["1", "2", "3"].iter().enumerate() {
        assert_eq!(
            lines[i]["result"]["content"][0]["text"], *text,
            "{}",
            lines[i]
        );
    }
    assert_eq!(lines[3]["error"]["kind"], "unknown_tool");
    assert!(
        lines[3]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `echo`?"),
        "{}",
        lines[3]
    );
}

#[test]
fn batch_input_lines_are_numbered_and_checked() {
    let place = Place::new(&json!({"mcpServers": {"local": local()}}));
    let input = [
        r#"{"id": "x", "tool": "local.echo", "arguments": {"text": "a"}}"#,
        "",
        "{oops",
        r#"{"id": 7, "tool": "local.echo", "args": {"text": "b"}}"#,
        r#"{"id": "x", "tool": "local.echo", "arguments": {"text": "c"}}"#,
        r#"{"tool": "local.echo", "arguments": {"text": "d"}}"#,
        r#""just a string""#,
    ]
    .join("\n");
    let out = place
        .run(&["batch"])
        .write_stdin(input)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "mcpmux: batch: 6 calls, 2 ok, 4 failed (4 invalid_input) in ",
        ))
        .get_output()
        .clone();
    let lines = json_lines(&out);
    let field = |name: &str| -> Vec<Value> { lines.iter().map(|l| l[name].clone()).collect() };
    assert_eq!(field("line"), [1, 3, 4, 5, 6, 7].map(|n| json!(n)));
    assert_eq!(
        field("id"),
        [
            json!("x"),
            Value::Null,
            json!(7),
            json!("x"),
            json!(5),
            Value::Null
        ]
    );
    assert_eq!(lines[0]["result"]["content"][0]["text"], "a");
    assert_eq!(lines[4]["result"]["content"][0]["text"], "d");
    for (i, wanted) in [
        (1, "line 3: not valid JSON"),
        (2, "line 4: unknown key `args`; did you mean `arguments`?"),
        (3, "line 5: duplicate id \"x\" (first on line 1)"),
        (5, "line 7: expected a JSON object, got a string"),
    ] {
        assert_eq!(lines[i]["error"]["kind"], "invalid_input", "{}", lines[i]);
        let message = lines[i]["error"]["message"].as_str().unwrap();
        assert!(message.contains(wanted), "{message}");
    }
    // The documented field order, `line` added last.
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    let first = raw.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(r#"{"id":"x","ok":true,"result":"#) && first.ends_with(r#","line":1}"#),
        "{first}"
    );
}

#[test]
fn config_driven_subcommands_do_not_panic_on_a_closed_stdout() {
    let place = Place::new(&json!({"mcpServers": {"local": local()}}));
    let cases: [&[&str]; 6] = [
        &["servers"],
        &["--json", "servers"],
        &["tools", "--schema"],
        &["call", "local.echo", "text=hi"],
        &["--json", "resources"],
        &["--json", "prompts"],
    ];
    for args in cases {
        // Bounded by timeout(1): a hang exits 124 and fails the test.
        let mut child = std::process::Command::new("timeout")
            .args(["-s", "KILL", "60", MCPMUX, "--config"])
            .arg(place.config())
            .args(args)
            .current_dir(place.path())
            .env("HOME", place.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mcpmux");
        drop(child.stdout.take()); // the reader is gone before anything is written
        let out = child.wait_with_output().expect("wait for mcpmux");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?}: {stderr}",
            out.status
        );
    }
}

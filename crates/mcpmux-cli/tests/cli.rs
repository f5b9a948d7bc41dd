//! End-to-end tests of the `mcpmux` binary: the real executable, its built-in test server, exit
//! codes and output. Every command is bounded by a timeout.

mod common;

use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// Upper bound for any one command (a hang fails the test instead of stalling the run).
const LIMIT: Duration = Duration::from_secs(60);

/// The binary under test.
const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");

/// `mcpmux` with a timeout and no inherited `RUST_LOG`.
fn mcpmux() -> Command {
    let mut cmd = Command::cargo_bin("mcpmux").expect("the mcpmux binary is built");
    cmd.timeout(LIMIT).env_remove("RUST_LOG");
    cmd
}

/// `mcpmux call TOOL --args ARGS -- mcpmux test-server`, plus `extra` before `--`.
fn call(tool: &str, args: &str, extra: &[&str]) -> Command {
    let mut cmd = mcpmux();
    cmd.args(["call", tool, "--args", args])
        .args(extra)
        .args(["--", MCPMUX, "test-server"]);
    cmd
}

fn stdout_json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn demo_prints_a_summary_and_reaps_the_server() {
    let out = mcpmux()
        .args(["demo", "--calls", "200", "--tasks", "20"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "connection closed:     yes, process reaped",
        ))
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no `{name}` line in:\n{stdout}"))
            .to_owned()
    };
    assert_eq!(field("calls:"), "200");
    assert_eq!(field("failures:"), "0");
    assert_eq!(field("tasks:"), "20");
    assert!(field("wall time:").ends_with(" s"));
    assert!(field("calls/s:").parse::<f64>().is_ok_and(|r| r > 0.0));
    assert_eq!(field("connections opened:"), "1 (shared by every task)");
    assert!(
        field("server:")
            .strip_prefix("mcpmux test-server, pid ")
            .is_some_and(|pid| pid.parse::<u32>().is_ok()),
        "{stdout}"
    );
    assert!(!stdout.contains("pids seen"), "{stdout}");
}

#[test]
fn demo_summary_has_the_same_lines_on_every_transport() {
    let labels = |stdout: &str| -> Vec<String> {
        stdout
            .lines()
            .filter_map(|l| l.split_once(':').map(|(label, _)| label.to_owned()))
            .collect()
    };
    let mut first: Option<Vec<String>> = None;
    for (transport, how) in [
        ("stdio", "process reaped"),
        ("http", "session deleted"),
        ("sse", "stream closed"),
    ] {
        let out = mcpmux()
            .args([
                "demo",
                "--transport",
                transport,
                "--calls",
                "20",
                "--tasks",
                "4",
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            stdout.contains(&format!("connection closed:     yes, {how}\n")),
            "{stdout}"
        );
        assert!(
            stdout.contains("connections opened:    1 (shared by every task)\n"),
            "{stdout}"
        );
        assert!(stdout.contains("calls:                 20\n"), "{stdout}");
        assert!(stdout.contains("failures:              0\n"), "{stdout}");
        let these = labels(&stdout);
        match &first {
            None => first = Some(these),
            Some(first) => assert_eq!(&these, first, "{transport}: {stdout}"),
        }
    }
}

#[test]
fn demo_json_summary_has_every_field() {
    let out = mcpmux()
        .args(["demo", "--calls", "200", "--tasks", "20", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v = stdout_json(&out);
    assert_eq!(v["calls"], 200);
    assert_eq!(v["tasks"], 20);
    assert_eq!(v["failures"], 0);
    assert_eq!(v["transport"], "stdio");
    assert_eq!(v["server_reaped"], true);
    assert!(v["wall_time_s"].as_f64().is_some_and(|t| t > 0.0));
    assert!(v["calls_per_s"].as_f64().is_some_and(|r| r > 0.0));
    let pids = v["server_pids"]
        .as_array()
        .expect("server_pids is an array");
    assert_eq!(pids.len(), 1, "{v}");
    assert!(pids[0].as_u64().is_some());
}

#[test]
fn demo_with_more_tasks_than_calls() {
    mcpmux()
        .args(["--json", "demo", "--calls", "3", "--tasks", "10"])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""failures":0"#));
}

#[test]
fn demo_runs_over_every_transport() {
    for transport in ["stdio", "http", "sse"] {
        let out = mcpmux()
            .args(["--json", "demo", "--transport", transport])
            .args(["--calls", "100", "--tasks", "10"])
            .assert()
            .success()
            .get_output()
            .clone();
        let v = stdout_json(&out);
        assert_eq!(v["transport"], transport);
        assert_eq!(v["failures"], 0);
        assert_eq!(v["connections"], 1, "{v}");
        assert_eq!(v["connection_closed"], true, "{v}");
        let closed_by = match transport {
            "stdio" => "process reaped",
            "http" => "session deleted",
            _ => "stream closed",
        };
        assert_eq!(v["closed_by"], closed_by, "{v}");
        if transport != "stdio" {
            assert_eq!(v["sessions"], 1, "{v}");
            assert_eq!(v["session_closed"], true, "{v}");
        }
    }
    mcpmux()
        .args([
            "demo",
            "--transport",
            "http",
            "--calls",
            "10",
            "--tasks",
            "2",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "connection closed:     yes, session deleted",
        ));
    mcpmux()
        .args(["demo", "--transport", "websocket"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "possible values: stdio, http, sse",
        ));
    mcpmux().args(["demo", "--tasks", "0"]).assert().code(2);
}

#[test]
fn call_echo_prints_the_text() {
    call("echo", r#"{"text":"hi"}"#, &[])
        .assert()
        .success()
        .stdout("hi\n");
}

#[test]
fn call_json_prints_the_whole_result() {
    let out = call("echo", r#"{"text":"hi"}"#, &["--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v = stdout_json(&out);
    assert_eq!(v["content"][0]["type"], "text");
    assert_eq!(v["content"][0]["text"], "hi");
}

#[test]
fn global_flags_go_before_the_subcommand_too() {
    let out = mcpmux()
        .args(["--json", "--timeout", "30", "-v"])
        .args(["call", "echo", "--args", r#"{"text":"hi"}"#])
        .args(["--", MCPMUX, "test-server"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_json(&out)["content"][0]["text"], "hi");
}

#[test]
fn call_add_has_structured_content() {
    call("add", r#"{"a":2,"b":40}"#, &[])
        .assert()
        .success()
        .stdout("42\n");
    let out = call("add", r#"{"a":2,"b":40}"#, &["--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_json(&out)["structuredContent"]["sum"], 42);
}

#[test]
fn call_fail_prints_the_tool_error_on_stderr_and_exits_1() {
    call("fail", r#"{"message":"it broke"}"#, &[])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("it broke"));
    let out = call("fail", r#"{"message":"it broke"}"#, &["--json"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let v = stdout_json(&out);
    assert_eq!(v["isError"], true);
    assert_eq!(v["content"][0]["text"], "it broke");
}

#[test]
fn args_that_are_not_a_json_object_are_a_usage_error() {
    for bad in ["[1]", "nope", "\"text\"", "null"] {
        call("echo", bad, &[])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--args"));
    }
}

#[test]
fn call_needs_a_server_command_after_double_dash() {
    mcpmux().args(["call", "echo"]).assert().code(2);
    mcpmux().args(["call", "echo", "server"]).assert().code(2);
}

#[test]
fn a_missing_server_command_exits_4() {
    mcpmux()
        .args(["call", "echo", "--", "/nonexistent/x"])
        .assert()
        .code(4)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "mcpmux: could not start `/nonexistent/x`",
        ))
        .stderr(predicate::str::contains("No such file or directory"));
}

#[test]
fn a_server_that_dies_during_initialize_exits_4() {
    mcpmux()
        .args([
            "call",
            "echo",
            "--",
            MCPMUX,
            "test-server",
            "--no-such-flag",
        ])
        .assert()
        .code(4)
        // `contains`, not `starts_with`: the library's connection task currently panics on this
        // path ("JoinHandle polled after completion" in stdio.rs drain_stderr) and prints it.
        .stderr(
            predicate::str::contains("\nmcpmux: could not connect to")
                .or(predicate::str::starts_with("mcpmux: could not connect to")),
        )
        .stderr(predicate::str::contains("server process exited"));
}

/// A Node-like crash at startup: the error names the `Error:` line, not the version banner
/// printed after it.
#[test]
fn a_crashed_server_is_reported_by_its_error_line() {
    mcpmux()
        .args(["call", "echo", "--", "sh", "-c"])
        .arg(r#"echo "Error: Cannot find module 'x'" >&2; echo "Node.js v20.20.2" >&2; exit 1"#)
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "stderr: Error: Cannot find module 'x' (last stderr line: Node.js v20.20.2)",
        ));
}

/// `yes` is no MCP server: exit 4 within seconds, the first line quoted, a handful of warnings
/// rather than one per line.
#[test]
fn a_server_that_writes_no_json_rpc_exits_4_quoting_its_first_line() {
    let started = Instant::now();
    let out = mcpmux()
        .args(["call", "echo", "--", "yes", "hello"])
        .output()
        .expect("run mcpmux");
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lines that are not JSON-RPC and no JSON-RPC message")
            && stderr.contains("the first: \"hello\""),
        "{stderr}"
    );
    assert!(stderr.lines().count() < 20, "{stderr}");
}

#[test]
fn an_unknown_tool_is_a_usage_error_with_a_suggestion() {
    // Refused before the request, from the server's tool list (issue 15: exit 2, not 1).
    call("no_such_tool", "{}", &[])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "mcpmux: unknown tool `no_such_tool`: server `mcpmux` has no such tool\n",
        ));
    call("eccho", "{}", &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `echo`?"));
}

/// Live (not zombie) processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    common::processes_whose("cmdline", marker)
}

#[test]
fn connect_timeout_bounds_the_startup_and_exits_4() {
    // A "server" that never answers: startup fails at the deadline, not after the per-step
    // timeouts and retries (about 105 s before), and the process is gone.
    let marker = "100.4217";
    let started = Instant::now();
    mcpmux()
        .args([
            "--connect-timeout",
            "2",
            "--timeout",
            "2",
            "call",
            "echo",
            "--",
            "sleep",
            marker,
        ])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(4)
        .stderr(predicate::str::contains("timed out after 2s"));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "exited after {took:?}");
    assert!(
        processes_with(marker).is_empty(),
        "left running: {:?}",
        processes_with(marker)
    );
    mcpmux()
        .args([
            "--connect-timeout",
            "soon",
            "call",
            "echo",
            "--",
            "sleep",
            "1",
        ])
        .assert()
        .code(2);
}

#[test]
fn timeout_bounds_each_request() {
    call("sleep", r#"{"ms":10000}"#, &["--timeout", "0.2"])
        .timeout(Duration::from_secs(8))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("timed out"));
    call("echo", "{}", &["--timeout", "-1"]).assert().code(2);
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let mut child = StdCommand::new(MCPMUX)
        .args(["call", "big", "--args", r#"{"bytes":4000000}"#])
        .args(["--", MCPMUX, "test-server"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mcpmux");
    drop(child.stdout.take()); // the reader goes away before anything is written
    let out = child.wait_with_output().expect("wait for mcpmux");
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn help_of_each_command() {
    mcpmux()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit status:"))
        .stdout(predicate::str::contains("4  could not connect to a server"))
        .stdout(predicate::str::contains("demo").and(predicate::str::contains("call")))
        .stdout(predicate::str::contains("test-server").not());
    mcpmux()
        .args(["demo", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--calls <N>"))
        .stdout(predicate::str::contains("--tasks <N>"))
        .stdout(predicate::str::contains("--transport <TRANSPORT>"))
        .stdout(predicate::str::contains("--json"));
    mcpmux()
        .args(["call", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Usage: mcpmux call [OPTIONS] <TARGET> [KEY=VALUE]... [-- <COMMAND>...]",
        ))
        .stdout(predicate::str::contains("--args <JSON>"));
    mcpmux()
        .args(["test-server", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--never-initialize"));
    mcpmux().assert().code(2);
    mcpmux().arg("--version").assert().success();
}

#[test]
fn a_server_that_crashes_during_a_call_exits_1() {
    call("crash", r#"{"code":3}"#, &[])
        .timeout(Duration::from_secs(15))
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("calling tool `crash` failed"))
        .stderr(predicate::str::contains("server process exited"));
}

#[test]
fn quiet_and_verbose_conflict() {
    call("echo", r#"{"text":"hi"}"#, &["-q", "-v"])
        .assert()
        .code(2);
}

#[cfg(feature = "bench")]
#[test]
fn bench_measures_the_raw_limit_and_mcpmux_side_by_side() {
    let out = mcpmux()
        .args([
            "--json",
            "bench",
            "echo",
            "--args",
            r#"{"text":"hi"}"#,
            "--calls",
            "200",
            "--runs",
            "2",
            "--quiet-wait",
            "0",
            "--",
            MCPMUX,
            "test-server",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout_json(&out);
    let cells = report["cells"].as_array().unwrap();
    let clients: Vec<&str> = cells
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    assert_eq!(clients, ["raw", "mcpmux"]);
    for cell in cells {
        let runs = cell["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2, "{cell}");
        for run in runs {
            assert_eq!(run["ok"], 200, "{cell}");
            assert_eq!(run["errors"], 0, "{cell}");
            assert!(run["wall_ns"].as_u64().unwrap() > 0);
        }
        assert!(cell["peak_rss_kb"].as_u64().unwrap() > 0, "{cell}");
    }
    // The table form names both clients and the ratio column.
    let out = mcpmux()
        .args([
            "bench",
            "echo",
            "--args",
            r#"{"text":"x"}"#,
            "--calls",
            "20",
        ])
        .args(["--runs", "1", "--sequential"])
        .args(["--quiet-wait", "0", "--", MCPMUX, "test-server"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    assert!(
        table.contains("raw limit") && table.contains("% of raw"),
        "{table}"
    );
}

#[cfg(feature = "bench")]
#[test]
fn bench_reports_failing_calls_and_rejects_unknown_clients() {
    // A tool that does not exist: every call fails, the exit code says so.
    mcpmux()
        .args(["bench", "no-such-tool", "--calls", "5", "--runs", "1"])
        .args([
            "--clients",
            "mcpmux",
            "--quiet-wait",
            "0",
            "--",
            MCPMUX,
            "test-server",
        ])
        .assert()
        .code(1);
    mcpmux()
        .args([
            "bench",
            "echo",
            "--clients",
            "rmcp",
            "--",
            MCPMUX,
            "test-server",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown client"));
    mcpmux().args(["bench", "echo"]).assert().code(2);
}

#[cfg(feature = "bench")]
#[test]
fn a_signal_during_bench_stops_its_workers_and_servers() {
    // The server ignores stdin EOF and SIGTERM; its one call sleeps for a minute. The last case
    // sends a second SIGINT at once: the exit is immediate, and still nothing is left.
    for (signal, code, twice) in [
        ("INT", 130, false),
        ("TERM", 143, false),
        ("INT", 130, true),
    ] {
        let marker = format!(
            "MCPMUX_SIGNAL_TEST_BENCH_{signal}_{twice}={}",
            std::process::id()
        );
        let mut host = StdCommand::new(MCPMUX)
            .args(["bench", "sleep", "--args", r#"{"ms":60000}"#])
            .args([
                "--calls",
                "1",
                "--runs",
                "1",
                "--warmup",
                "0",
                "--quiet-wait",
                "0",
            ])
            .args(["--", "env", &marker, MCPMUX, "test-server"])
            .args(["--ignore-stdin-eof", "--ignore-sigterm"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mcpmux");
        wait_started(&marker);
        // Let the run's call reach the server.
        std::thread::sleep(Duration::from_millis(500));
        let sent = Instant::now();
        send_signal(host.id(), signal);
        if twice {
            std::thread::sleep(Duration::from_millis(50));
            send_signal(host.id(), signal);
        }
        let status = exit_within(&mut host, Duration::from_secs(7));
        assert_eq!(status.code(), Some(code), "SIG{signal}");
        let limit = Duration::from_secs(if twice { 2 } else { 7 });
        assert!(sent.elapsed() < limit, "{:?}", sent.elapsed());
        let mut stderr = String::new();
        if let Some(mut e) = host.stderr.take() {
            use std::io::Read as _;
            let _ = e.read_to_string(&mut stderr);
        }
        // (The cancelled run may end before the second signal arrives.)
        let said = stderr.contains(&format!("interrupted by SIG{signal}"))
            || (twice && stderr.contains(&format!("SIG{signal}: exiting now")));
        assert!(said, "{stderr}");
        // No server (the marker is in its environment) and no worker (in its command line).
        assert_none_left(&marker);
        let workers = processes_with(&marker);
        for pid in &workers {
            let _ = StdCommand::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        assert!(workers.is_empty(), "a bench worker was left: {workers:?}");
    }
}

#[test]
fn env_sets_variables_for_an_ad_hoc_server_and_nothing_else_leaks() {
    // The "server" starts only if it got FOO=bar and not the caller's secret.
    let script = format!(
        r#"test "$FOO" = "bar baz" && test -z "$MCPMUX_TEST_SECRET" && exec "{MCPMUX}" test-server"#
    );
    mcpmux()
        .env("MCPMUX_TEST_SECRET", "s3cret")
        .args([
            "call",
            "echo",
            "--args",
            r#"{"text":"env ok"}"#,
            "--env",
            "FOO=bar baz",
        ])
        .args(["--", "sh", "-c", &script])
        .timeout(Duration::from_secs(30))
        .assert()
        .success()
        .stdout("env ok\n");
    // Without it the server exits at once: a connect failure.
    mcpmux()
        .args(["call", "echo", "--", "sh", "-c", &script])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(4);
    mcpmux()
        .args(["call", "echo", "--env", "NOEQUALS", "--", "true"])
        .assert()
        .code(2);
    mcpmux()
        .args([
            "call",
            "echo",
            "--env",
            "A=b",
            "--url",
            "http://127.0.0.1:9/mcp",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--env applies to stdio servers"));
}

#[test]
fn completions_into_a_closed_pipe_exit_cleanly() {
    let mut child = StdCommand::new(MCPMUX)
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mcpmux");
    drop(child.stdout.take()); // `| head -0`: the reader is gone before anything is written
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn the_built_in_test_server_speaks_http_too() {
    let (mut server, url) = http_test_server(&[]);
    let result = mcpmux()
        .args(["call", "echo", "--args", r#"{"text":"over http"}"#, "--url"])
        .arg(&url)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run mcpmux call");
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&result.stdout), "over http\n");
}

/// Live processes whose environment holds `marker`.
fn processes_with_env(marker: &str) -> Vec<u32> {
    common::processes_whose("environ", marker)
}

#[test]
fn a_server_does_not_outlive_its_host_killed_with_sigkill() {
    // The server ignores SIGTERM and stdin EOF; its host (`mcpmux call`) is killed with SIGKILL,
    // so no shutdown sequence runs: the watchdog must kill the server's group.
    let marker = format!("MCPMUX_WATCHDOG_TEST={}", std::process::id());
    let mut host = StdCommand::new(MCPMUX)
        .args(["call", "sleep", "--args", r#"{"ms":60000}"#])
        .args(["--env", &marker, "--", MCPMUX, "test-server"])
        .args(["--ignore-sigterm", "--ignore-stdin-eof"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcpmux");
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_with_env(&marker).is_empty() {
        assert!(Instant::now() < deadline, "the server never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    host.kill().expect("SIGKILL the host");
    host.wait().expect("reap the host");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_with_env(&marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = processes_with_env(&marker);
    for pid in &left {
        // Clean up before failing: a test leaves no process behind.
        let _ = StdCommand::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(left.is_empty(), "the server outlived its host: {left:?}");
}

/// Sends `signal` (`INT`, `TERM`) to process `pid` with kill(1).
fn send_signal(pid: u32, signal: &str) {
    let status = StdCommand::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Waits up to `limit` for `child` to exit; kills it (and fails) past that.
fn exit_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for mcpmux") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mcpmux did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a process with `marker` in its environment runs.
fn wait_started(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_with_env(marker).is_empty() {
        assert!(Instant::now() < deadline, "the server never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that no process with `marker` in its environment is left (killing any, first).
fn assert_none_left(marker: &str) {
    // The host waited for the shutdown; a short grace covers the kernel's reaping.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !processes_with_env(marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = processes_with_env(marker);
    for pid in &left {
        let _ = StdCommand::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(left.is_empty(), "the server outlived its host: {left:?}");
}

/// `mcpmux call` on a server that ignores stdin EOF, then `signal`: the exit code, and no
/// server left.
fn call_interrupted_by(signal: &str, name: &str) -> i32 {
    let marker = format!("MCPMUX_SIGNAL_TEST_{name}={}", std::process::id());
    let mut host = StdCommand::new(MCPMUX)
        .args(["call", "sleep", "--args", r#"{"ms":60000}"#])
        .args(["--env", &marker, "--", MCPMUX, "test-server"])
        .arg("--ignore-stdin-eof")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcpmux");
    wait_started(&marker);
    // Let the call reach the server.
    std::thread::sleep(Duration::from_millis(300));
    send_signal(host.id(), signal);
    let status = exit_within(&mut host, Duration::from_secs(7));
    assert_none_left(&marker);
    status.code().unwrap_or(-1)
}

#[test]
fn sigint_during_a_call_shuts_the_server_down_and_exits_130() {
    assert_eq!(call_interrupted_by("INT", "INT"), 130);
}

#[test]
fn sigterm_during_a_call_shuts_the_server_down_and_exits_143() {
    assert_eq!(call_interrupted_by("TERM", "TERM"), 143);
}

#[test]
fn sigint_during_a_batch_cancels_the_unanswered_lines_and_exits_130() {
    use std::io::{BufRead as _, BufReader, Write as _};

    let marker = format!("MCPMUX_SIGNAL_TEST_BATCH={}", std::process::id());
    let mut host = StdCommand::new(MCPMUX)
        .args(["batch", "--env", &marker, "--", MCPMUX, "test-server"])
        .arg("--ignore-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mcpmux");
    let mut stdin = host.stdin.take().expect("stdin");
    let sleep = r#"{"ms":60000}"#;
    writeln!(
        stdin,
        "{{\"id\":\"e\",\"tool\":\"echo\",\"arguments\":{{\"text\":\"hi\"}}}}\n\
         {{\"id\":\"a\",\"tool\":\"sleep\",\"arguments\":{sleep}}}\n\
         {{\"tool\":\"sleep\",\"arguments\":{sleep}}}\n\
         {{\"id\":7,\"tool\":\"sleep\",\"arguments\":{sleep}}}\n\
         {{\"id\":\"f\",\"tool\":\"echo\",\"arguments\":{{\"text\":\"behind\"}}}}"
    )
    .expect("write the input");
    // Stdin stays open: the batch ends only by the signal.
    let mut stdout = BufReader::new(host.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read the echo's line");
    let echo: Value = serde_json::from_str(&first).expect("a JSON line");
    assert_eq!(echo["ok"], true, "{first}");
    assert_eq!(echo["id"], "e");
    assert_eq!(echo["line"], 1);
    // Let the sleeps reach the server.
    std::thread::sleep(Duration::from_millis(300));
    send_signal(host.id(), "INT");
    let status = exit_within(&mut host, Duration::from_secs(7));
    drop(stdin);
    assert_eq!(status.code(), Some(130));
    let rest: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(&l.expect("read a line")).expect("a JSON line"))
        .collect();
    let ids: Vec<(Value, Value)> = rest
        .iter()
        .map(|l| (l["id"].clone(), l["line"].clone()))
        .collect();
    assert_eq!(
        ids,
        [
            (Value::from("a"), Value::from(2)),
            (Value::from(2), Value::from(3)),
            (Value::from(7), Value::from(4)),
            (Value::from("f"), Value::from(5)),
        ]
    );
    // The echo behind the sleeps finished: it keeps its answer.
    assert_eq!(rest[3]["ok"], true, "{}", rest[3]);
    for l in &rest[..3] {
        assert_eq!(l["ok"], false, "{l}");
        assert_eq!(l["error"]["kind"], "cancelled", "{l}");
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut host.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(
        stderr.contains("batch: 5 calls, 2 ok, 3 failed (3 cancelled)")
            && stderr.contains("interrupted by SIGINT"),
        "{stderr}"
    );
    assert_none_left(&marker);
}

#[test]
fn a_second_sigint_exits_at_once_and_the_watchdog_kills_the_server() {
    // The server ignores stdin EOF and SIGTERM: its shutdown would take ~4 s (SIGKILL last).
    let marker = format!("MCPMUX_SIGNAL_TEST_TWICE={}", std::process::id());
    let mut host = StdCommand::new(MCPMUX)
        .args(["call", "sleep", "--args", r#"{"ms":60000}"#])
        .args(["--env", &marker, "--", MCPMUX, "test-server"])
        .args(["--ignore-stdin-eof", "--ignore-sigterm"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcpmux");
    wait_started(&marker);
    std::thread::sleep(Duration::from_millis(300));
    send_signal(host.id(), "INT");
    std::thread::sleep(Duration::from_millis(300));
    let second = Instant::now();
    send_signal(host.id(), "INT");
    let status = exit_within(&mut host, Duration::from_secs(7));
    assert!(
        second.elapsed() < Duration::from_millis(1500),
        "the second SIGINT took {:?}",
        second.elapsed()
    );
    assert_eq!(status.code(), Some(130));
    assert_none_left(&marker);
}

#[test]
fn json_errors_are_one_object_on_stdout_and_a_line_on_stderr() {
    // (args, exit code, kind)
    let cases: [(&[&str], i32, &str); 3] = [
        (
            &["--json", "call", "x", "--", "/nonexistent/mcpmux-srv"],
            4,
            "spawn",
        ),
        (
            &["--json", "tools", "--config", "/nonexistent/mcp.json"],
            3,
            "config",
        ),
        (
            &[
                "--json",
                "call",
                "echo",
                "--args",
                "[1]",
                "--",
                MCPMUX,
                "test-server",
            ],
            2,
            "usage",
        ),
    ];
    for (args, code, kind) in cases {
        let out = mcpmux().args(args).output().expect("run mcpmux");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        let v = stdout_json(&out);
        assert_eq!(v["error"]["kind"], kind, "{args:?}: {v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{v}");
        // The stderr report stays (clap's own wording for a command line it refused).
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    // Without --json, stdout stays empty.
    let out = mcpmux()
        .args(["call", "x", "--", "/nonexistent/mcpmux-srv"])
        .output()
        .expect("run mcpmux");
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_failed_server_of_tools_is_reported_once() {
    let out = mcpmux()
        .args(["tools", "--", "/nonexistent/mcpmux-srv"])
        .output()
        .expect("run mcpmux");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert_eq!(
        stderr.matches("could not start").count(),
        1,
        "printed more than once: {stderr}"
    );
}

#[test]
fn no_subcommand_panics_on_a_closed_stdout() {
    let batch_input = r#"{"tool":"big","arguments":{"bytes":200000}}"#;
    let cases: [&[&str]; 7] = [
        &["tools", "--", MCPMUX, "test-server"],
        &["--json", "tools", "--", MCPMUX, "test-server"],
        &[
            "call",
            "big",
            "--args",
            r#"{"bytes":200000}"#,
            "--",
            MCPMUX,
            "test-server",
        ],
        &["batch", "--", MCPMUX, "test-server"],
        &["resources", "--", MCPMUX, "test-server"],
        &["prompts", "--", MCPMUX, "test-server"],
        &["--json", "demo", "--calls", "20"],
    ];
    for args in cases {
        // Bounded by timeout(1): a hang exits 124 and fails the test.
        let mut child = StdCommand::new("timeout")
            .args(["-s", "KILL", "60", MCPMUX])
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mcpmux");
        drop(child.stdout.take()); // the reader is gone before anything is written
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write as _;
            if args[0] == "batch" {
                let _ = writeln!(stdin, "{batch_input}");
            }
        }
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

/// `mcpmux test-server --http 127.0.0.1:0 EXTRA...` and its `/mcp` URL.
fn http_test_server(extra: &[&str]) -> (std::process::Child, String) {
    let (server, base) = common::start_http_test_server(extra);
    (server, format!("{base}/mcp"))
}

#[test]
fn a_call_in_flight_when_its_http_server_dies_is_closed() {
    // `call` (its --json error object) and `batch` (its result line) label it the same way.
    for batch in [false, true] {
        let (mut server, url) = http_test_server(&["--http-json-response"]);
        let mut cmd = StdCommand::new("timeout");
        cmd.args(["-s", "KILL", "60", MCPMUX, "--json"]);
        if batch {
            cmd.args(["batch", "--url", &url]);
        } else {
            cmd.args(["call", "sleep", "--args", r#"{"ms":20000}"#, "--url", &url]);
        }
        let mut child = cmd
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mcpmux");
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write as _;
            if batch {
                let _ = writeln!(stdin, r#"{{"tool":"sleep","arguments":{{"ms":20000}}}}"#);
            }
        }
        std::thread::sleep(Duration::from_millis(1500)); // the call is in flight
        let _ = server.kill();
        let _ = server.wait();
        let out = child.wait_with_output().expect("wait for mcpmux");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "batch={batch}: {stderr}");
        let v = stdout_json(&out);
        // One JSON object either way: batch's result line, or call's error object.
        assert_eq!(v["error"]["kind"], "closed", "batch={batch}: {v}; {stderr}");
        if batch {
            assert!(stderr.contains("(1 closed)"), "{stderr}");
        }
    }
}

#[test]
fn batch_shows_a_bar_with_the_total_and_counts_on_a_terminal() {
    // `script` gives the batch a terminal (its stderr), where the bar is drawn.
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("calls.jsonl");
    std::fs::write(
        &input,
        "{\"tool\":\"echo\",\"arguments\":{\"text\":\"a\"}}\n\n\
         {\"tool\":\"sleep\",\"arguments\":{\"ms\":800}}\n\
         {\"tool\":\"fail\",\"arguments\":{\"message\":\"no\"}}\n",
    )
    .expect("write input");
    let command = format!(
        "{MCPMUX} batch --input {} -- {MCPMUX} test-server",
        input.display()
    );
    let out = StdCommand::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("run script (util-linux)");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("/3 calls"),
        "no bar with the total: {screen}"
    );
    assert!(
        screen.contains("1 ok, 0 failed"),
        "no ok/failed counts: {screen}"
    );
    assert!(screen.contains("ETA"), "no ETA: {screen}");
    // Without a terminal: no bar at all.
    let plain = mcpmux()
        .args(["batch", "--input"])
        .arg(&input)
        .args(["--", MCPMUX, "test-server"])
        .output()
        .expect("run batch");
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("ETA"));
}

#[test]
fn sigint_during_tools_shuts_the_server_down_and_exits_130() {
    // A server that never answers initialize and ignores stdin EOF: `tools` waits for it.
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let marker = format!("MCPMUX_SIGNAL_TEST_TOOLS_{signal}={}", std::process::id());
        let mut host = StdCommand::new(MCPMUX)
            .args(["tools", "--env", &marker, "--", MCPMUX, "test-server"])
            .args(["--never-initialize", "--ignore-stdin-eof"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mcpmux");
        wait_started(&marker);
        std::thread::sleep(Duration::from_millis(300));
        let sent = Instant::now();
        send_signal(host.id(), signal);
        let status = exit_within(&mut host, Duration::from_secs(7));
        assert_eq!(status.code(), Some(code), "SIG{signal}");
        assert!(
            sent.elapsed() < Duration::from_secs(7),
            "{:?}",
            sent.elapsed()
        );
        let mut stderr = String::new();
        if let Some(mut e) = host.stderr.take() {
            use std::io::Read as _;
            let _ = e.read_to_string(&mut stderr);
        }
        assert!(
            stderr.contains(&format!("interrupted by SIG{signal}")),
            "{stderr}"
        );
        assert_none_left(&marker);
    }
}

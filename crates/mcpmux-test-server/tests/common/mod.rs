//! Test harness: spawns the built server binary and drives it with raw JSON
//! lines. Every wait is bounded by [`TIMEOUT`]; every process is killed and
//! reaped by [`Server::finish`] (and killed on drop if a test panics).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

/// Upper bound for any single wait in the tests.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// A running server process.
pub struct Server {
    pub child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    pub stderr: Option<Lines<BufReader<ChildStderr>>>,
    /// Messages read while waiting for a specific response.
    pub backlog: VecDeque<Value>,
    next_id: i64,
}

impl Server {
    /// Starts the server with `args`; stderr is discarded.
    pub async fn start(args: &[&str]) -> Server {
        Self::spawn(args, false)
    }

    /// Starts the server with `args`, capturing stderr.
    pub async fn start_with_stderr(args: &[&str]) -> Server {
        Self::spawn(args, true)
    }

    fn spawn(args: &[&str], capture_stderr: bool) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcpmux-test-server"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if capture_stderr {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()
            .expect("spawn mcpmux-test-server");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let stderr = child.stderr.take().map(|e| BufReader::new(e).lines());
        Server {
            child,
            stdin,
            stdout,
            stderr,
            backlog: VecDeque::new(),
            next_id: 1000,
        }
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("server pid")
    }

    /// Writes one raw line (a newline is appended).
    pub async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        tokio::time::timeout(TIMEOUT, async {
            stdin.write_all(&bytes).await?;
            stdin.flush().await
        })
        .await
        .expect("write timed out")
        .expect("write to server");
    }

    /// Writes one JSON message.
    pub async fn send(&mut self, msg: &Value) {
        self.send_line(&msg.to_string()).await;
    }

    /// Sends a notification.
    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Closes the server's stdin.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next raw stdout line; None at EOF. Panics after [`TIMEOUT`].
    pub async fn next_line(&mut self) -> Option<String> {
        self.next_line_within(TIMEOUT)
            .await
            .expect("timed out waiting for a line from the server")
    }

    /// The next raw stdout line within `limit`: Err on timeout, Ok(None) at EOF.
    pub async fn next_line_within(&mut self, limit: Duration) -> Result<Option<String>, ()> {
        match tokio::time::timeout(limit, self.stdout.next_line()).await {
            Ok(line) => Ok(line.expect("read server stdout")),
            Err(_) => Err(()),
        }
    }

    /// The next stdout line parsed as JSON (backlog first).
    pub async fn next_message(&mut self) -> Value {
        if let Some(msg) = self.backlog.pop_front() {
            return msg;
        }
        let line = self.next_line().await.expect("server closed stdout");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSON from server: {e}: {line}"))
    }

    /// Reads until the response with `id`; everything else goes to the backlog.
    pub async fn response(&mut self, id: &Value) -> Value {
        if let Some(pos) = self.backlog.iter().position(|m| m.get("id") == Some(id)) {
            return self.backlog.remove(pos).expect("backlog entry");
        }
        loop {
            let line = self.next_line().await.expect("server closed stdout");
            let msg: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("bad JSON from server: {e}: {line}"));
            if msg.get("id") == Some(id) && msg.get("method").is_none() {
                return msg;
            }
            self.backlog.push_back(msg);
        }
    }

    /// Sends a request with a fresh id and returns its id.
    pub async fn send_request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = json!(self.next_id);
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// Sends a request and returns its whole response message.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params).await;
        self.response(&id).await
    }

    /// Sends a request and returns its `result` (panics on an error response).
    pub async fn result(&mut self, method: &str, params: Value) -> Value {
        let resp = self.request(method, params).await;
        match resp.get("result") {
            Some(result) => result.clone(),
            None => panic!("{method} failed: {resp}"),
        }
    }

    /// Calls a tool and returns the CallToolResult.
    pub async fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.result("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }

    /// Runs the initialize handshake; returns the initialize result.
    pub async fn initialize(&mut self) -> Value {
        let result = self
            .result(
                "initialize",
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "0"},
                }),
            )
            .await;
        self.notify("notifications/initialized", json!({})).await;
        result
    }

    /// Waits for the process to exit on its own (bounded by `limit`).
    pub async fn wait_exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .map(|status| status.expect("wait for server"))
    }

    /// Kills (if still running) and reaps the process.
    pub async fn finish(mut self) -> ExitStatus {
        let _ = self.child.start_kill();
        tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .expect("server did not die after SIGKILL")
            .expect("wait for server")
    }
}

/// The text of the first content item of a CallToolResult.
pub fn text(result: &Value) -> &str {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content in {result}"))
}

/// True if a process with this pid exists (zombies included).
pub fn alive(pid: u32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok()
}

/// Sends a signal to a pid, ignoring errors.
pub fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
}

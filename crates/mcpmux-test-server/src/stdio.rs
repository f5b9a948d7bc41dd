//! The read loop, request dispatch, cancellation and shutdown.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio::task::{AbortHandle, JoinSet};

use crate::jsonrpc::{
    self, Incoming, METHOD_NOT_FOUND, PARSE_ERROR, RpcError, error_response, params_object,
    response,
};
use crate::output::{Outbox, run_writer};
use crate::{
    LATEST_PROTOCOL_VERSION, Options, SERVER_NAME, SERVER_VERSION, SUPPORTED_PROTOCOL_VERSIONS,
    faults, tools,
};

/// How long in-flight requests may still finish after stdin closes before
/// they are aborted.
const EOF_GRACE: Duration = Duration::from_millis(100);

/// Prefix of the opaque `tools/list` cursor.
const CURSOR_PREFIX: &str = "mcpmux-test-server/tools@";

/// Locks a mutex, ignoring poisoning (we never panic while holding one).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// State shared by the reader and all request tasks.
pub(crate) struct State {
    /// Startup options.
    pub(crate) opts: Options,
    /// Output channel.
    pub(crate) out: Outbox,
    /// In-flight requests by serialized id: (registration number, abort handle).
    inflight: Mutex<HashMap<String, (u64, AbortHandle)>>,
    /// Every `notifications/cancelled` requestId, in arrival order.
    cancelled: Mutex<Vec<Value>>,
    /// Source of registration numbers.
    next_seq: AtomicU64,
}

impl State {
    /// The cancelled request ids so far, in arrival order.
    pub(crate) fn cancelled_ids(&self) -> Vec<Value> {
        lock(&self.cancelled).clone()
    }

    /// Handles one input line (a message or a batch).
    fn handle_line(self: &Arc<Self>, line: &[u8], tasks: &mut JoinSet<()>) {
        let line = line.trim_ascii();
        if line.is_empty() {
            return;
        }
        let msg: Value = match serde_json::from_slice(line) {
            Ok(msg) => msg,
            Err(err) => {
                self.out.send(&error_response(
                    Value::Null,
                    RpcError::new(PARSE_ERROR, format!("parse error: {err}")),
                ));
                return;
            }
        };
        match msg {
            Value::Array(items) => self.handle_batch(items, tasks),
            msg => match jsonrpc::classify(msg) {
                Incoming::Request { id, method, params } => {
                    let state = Arc::clone(self);
                    self.spawn_request(tasks, id.clone(), move || async move {
                        let reply = state.dispatch(id, method, params).await;
                        state.out.send(&reply);
                    });
                }
                Incoming::Notification { method, params } => {
                    self.handle_notification(&method, &params)
                }
                Incoming::Response => {}
                Incoming::Invalid(reply) => self.out.send(&reply),
            },
        }
    }

    /// Handles a batch: every request runs in its own task; one array with
    /// all the responses (in batch order, notifications and cancelled
    /// requests omitted) is sent when the last one is done.
    fn handle_batch(self: &Arc<Self>, items: Vec<Value>, tasks: &mut JoinSet<()>) {
        if items.is_empty() {
            self.out.send(&error_response(
                Value::Null,
                RpcError::invalid_request("invalid request: empty batch"),
            ));
            return;
        }
        let mut replies: Vec<(usize, Value)> = Vec::new();
        let mut members: JoinSet<(usize, Value)> = JoinSet::new();
        for (index, item) in items.into_iter().enumerate() {
            match jsonrpc::classify(item) {
                Incoming::Request { id, method, params } => {
                    let state = Arc::clone(self);
                    self.spawn_request(&mut members, id.clone(), move || async move {
                        (index, state.dispatch(id, method, params).await)
                    });
                }
                Incoming::Notification { method, params } => {
                    self.handle_notification(&method, &params)
                }
                Incoming::Response => {}
                Incoming::Invalid(reply) => replies.push((index, reply)),
            }
        }
        if members.is_empty() && replies.is_empty() {
            return;
        }
        let out = self.out.clone();
        tasks.spawn(async move {
            // Dropping `members` (if this task is aborted) aborts them all.
            while let Some(joined) = members.join_next().await {
                if let Ok(reply) = joined {
                    replies.push(reply);
                }
            }
            if !replies.is_empty() {
                replies.sort_by_key(|(index, _)| *index);
                out.send(&Value::Array(replies.into_iter().map(|(_, r)| r).collect()));
            }
        });
    }

    /// Spawns a request's task into `set` and registers it for cancellation.
    fn spawn_request<T, F, Fut>(self: &Arc<Self>, set: &mut JoinSet<T>, id: Value, make: F)
    where
        T: Send + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        let key = id.to_string();
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let fut = make();
        let state = Arc::clone(self);
        let task_key = key.clone();
        // Hold the lock across spawn + insert, so a fast task cannot
        // unregister itself before it is registered.
        let mut inflight = lock(&self.inflight);
        let handle = set.spawn(async move {
            let result = fut.await;
            state.unregister(&task_key, seq);
            result
        });
        inflight.insert(key, (seq, handle));
    }

    /// Removes a finished request from the in-flight table.
    fn unregister(&self, key: &str, seq: u64) {
        let mut inflight = lock(&self.inflight);
        if inflight.get(key).is_some_and(|(s, _)| *s == seq) {
            inflight.remove(key);
        }
    }

    /// Handles a notification from the client.
    fn handle_notification(&self, method: &str, params: &Value) {
        if method != "notifications/cancelled" {
            // notifications/initialized and anything else: nothing to do.
            return;
        }
        let Some(id) = params.get("requestId") else {
            return;
        };
        lock(&self.cancelled).push(id.clone());
        if let Some(path) = &self.opts.cancel_log {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| writeln!(file, "{id}"));
            if let Err(err) = written {
                eprintln!(
                    "mcpmux-test-server: cannot append to {}: {err}",
                    path.display()
                );
            }
        }
        if let Some((_, handle)) = lock(&self.inflight).remove(&id.to_string()) {
            handle.abort();
        }
    }

    /// Runs one request to completion and builds its response.
    async fn dispatch(&self, id: Value, method: String, params: Value) -> Value {
        let result = match method.as_str() {
            "initialize" => self.initialize(&params).await,
            "ping" => Ok(json!({})),
            "logging/setLevel" => set_level(&params),
            "tools/list" => self.list_tools(&params),
            "tools/call" => tools::call(self, &params).await,
            _ => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("method not found: {method}"),
            )),
        };
        match result {
            Ok(result) => response(id, result),
            Err(err) => error_response(id, err),
        }
    }

    async fn initialize(&self, params: &Value) -> Result<Value, RpcError> {
        let params = params_object(params)?;
        if self.opts.never_initialize {
            std::future::pending::<()>().await;
        }
        if self.opts.delay_initialize_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.opts.delay_initialize_ms)).await;
        }
        let requested = params.get("protocolVersion").and_then(Value::as_str);
        let version = requested
            .filter(|v| SUPPORTED_PROTOCOL_VERSIONS.contains(v))
            .unwrap_or(LATEST_PROTOCOL_VERSION);
        Ok(json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": true}, "logging": {}},
            "serverInfo": {"name": SERVER_NAME, "version": SERVER_VERSION},
            "instructions": "mcpmux test server: deterministic tools (echo, add, sleep, progress, \
                             log, ...) and fault injection (crash, hang, garbage, big, stderr, \
                             spawn_grandchild). Not for production use.",
        }))
    }

    fn list_tools(&self, params: &Value) -> Result<Value, RpcError> {
        let params = params_object(params)?;
        let all = tools::definitions();
        let start = match params.get("cursor") {
            None | Some(Value::Null) => 0,
            Some(Value::String(cursor)) => cursor
                .strip_prefix(CURSOR_PREFIX)
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n > 0 && n < all.len())
                .ok_or_else(|| RpcError::invalid_params(format!("invalid cursor: {cursor}")))?,
            Some(_) => return Err(RpcError::invalid_params("cursor must be a string")),
        };
        let page = self.opts.page_size;
        let end = if page == 0 {
            all.len()
        } else {
            start.saturating_add(page).min(all.len())
        };
        let mut result = json!({"tools": &all[start..end]});
        if end < all.len() {
            result["nextCursor"] = Value::String(format!("{CURSOR_PREFIX}{end}"));
        }
        Ok(result)
    }
}

fn set_level(params: &Value) -> Result<Value, RpcError> {
    match params.get("level") {
        Some(Value::String(_)) => Ok(json!({})),
        _ => Err(RpcError::invalid_params(
            "logging/setLevel: `level` must be a string",
        )),
    }
}

/// Serves MCP over newline-delimited JSON-RPC on `reader` / `writer`.
///
/// Reads one message (or batch) per line; runs every request in its own
/// tokio task; writes all output through one buffered writer task. Applies
/// the startup [`Options`] (garbage lines, grandchild, SIGTERM handling) first.
///
/// When `reader` reaches EOF, requests still in flight get a short grace
/// period (100 ms), the rest are aborted, pending output is flushed and the
/// function returns `Ok(())` — unless [`Options::ignore_stdin_eof`] is set,
/// in which case it keeps serving in-flight requests and never returns
/// (except on a write error). Returns `Err` on a read or write error.
///
/// The `crash` tool ends the whole process with `std::process::exit`.
pub async fn serve<R, W>(reader: R, writer: W, opts: Options) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out, rx) = Outbox::channel();
    let mut writer_task = tokio::spawn(run_writer(rx, writer));
    if opts.ignore_sigterm {
        faults::ignore_sigterm()?;
    }
    if opts.garbage_at_start > 0 {
        out.send_bytes(faults::garbage_lines(opts.garbage_at_start));
    }
    if opts.grandchild {
        let pid = faults::spawn_grandchild()?;
        eprintln!("mcpmux-test-server: grandchild pid {pid}");
    }
    let state = Arc::new(State {
        opts,
        out,
        inflight: Mutex::new(HashMap::new()),
        cancelled: Mutex::new(Vec::new()),
        next_seq: AtomicU64::new(0),
    });

    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = tokio::select! {
            read = reader.read_until(b'\n', &mut line) => read?,
            // The writer only stops early on a write error (stdout closed).
            written = &mut writer_task => return writer_outcome(written),
        };
        if read == 0 {
            break;
        }
        state.handle_line(&line, &mut tasks);
        while tasks.try_join_next().is_some() {}
    }

    if state.opts.ignore_stdin_eof {
        // Keep running (and answering in-flight requests) until killed.
        let written = (&mut writer_task).await;
        drop(tasks);
        return writer_outcome(written);
    }
    let _ = tokio::time::timeout(EOF_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.shutdown().await;
    state.out.close();
    drop(state);
    writer_outcome(writer_task.await)
}

fn writer_outcome(
    joined: Result<std::io::Result<()>, tokio::task::JoinError>,
) -> std::io::Result<()> {
    joined.map_err(std::io::Error::other)?
}

/// Serves MCP on this process's stdin / stdout (see [`serve`]).
///
/// Note that tokio's stdin reader cannot be interrupted: after this returns,
/// end the process (e.g. `std::process::exit`) rather than waiting for the
/// runtime to shut down.
pub async fn serve_stdio(opts: Options) -> std::io::Result<()> {
    serve(tokio::io::stdin(), tokio::io::stdout(), opts).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// Runs `serve` on in-memory pipes, sends `input`, closes the input and
    /// returns all output lines.
    async fn run(input: &str, opts: Options) -> Vec<Value> {
        let (mut client_w, server_r) = tokio::io::duplex(1 << 20);
        let (server_w, client_r) = tokio::io::duplex(1 << 20);
        let server = tokio::spawn(serve(server_r, server_w, opts));
        client_w.write_all(input.as_bytes()).await.unwrap();
        drop(client_w);
        let mut lines = BufReader::new(client_r).lines();
        let mut out = Vec::new();
        while let Some(line) = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap()
        {
            out.push(serde_json::from_str(&line).unwrap());
        }
        server.await.unwrap().unwrap();
        out
    }

    #[tokio::test]
    async fn ping_and_echo_in_memory() {
        let out = run(
            concat!(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
                "\n",
                r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#,
                "\n",
            ),
            Options::default(),
        )
        .await;
        assert_eq!(out.len(), 2);
        let by_id = |id: i64| out.iter().find(|m| m["id"] == id).unwrap().clone();
        assert_eq!(by_id(1)["result"], json!({}));
        assert_eq!(by_id(2)["result"]["content"][0]["text"], "hi");
    }

    #[tokio::test]
    async fn pagination_walks_all_tools() {
        let opts = Options {
            page_size: 4,
            ..Options::default()
        };
        let state = Arc::new(State {
            opts,
            out: Outbox::channel().0,
            inflight: Mutex::new(HashMap::new()),
            cancelled: Mutex::new(Vec::new()),
            next_seq: AtomicU64::new(0),
        });
        let mut names = Vec::new();
        let mut cursor = Value::Null;
        loop {
            let page = state.list_tools(&json!({ "cursor": cursor })).unwrap();
            let tools = page["tools"].as_array().unwrap();
            assert!(tools.len() <= 4);
            names.extend(tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
            match page.get("nextCursor") {
                Some(next) => cursor = next.clone(),
                None => break,
            }
        }
        assert_eq!(names, crate::TOOL_NAMES);
        for bad in [
            json!("nope"),
            json!(7),
            json!(format!("{CURSOR_PREFIX}999")),
        ] {
            let err = state.list_tools(&json!({ "cursor": bad })).unwrap_err();
            assert_eq!(err.code, jsonrpc::INVALID_PARAMS);
        }
    }
}

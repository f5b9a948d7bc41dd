//! The transport-independent protocol core: one incoming JSON-RPC message (or
//! batch) in, its response and notifications out.
//!
//! A transport hands every parsed message to [`Handler::accept`] together
//! with a [`Sink`] (where the request's notifications go) and a [`Reply`]
//! (where its response goes). Notifications from the client are acted on at
//! once; every request runs in its own task, spawned into the transport's
//! [`JoinSet`] and registered for `notifications/cancelled`.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::{AbortHandle, JoinSet};

use crate::jsonrpc::{
    self, Incoming, METHOD_NOT_FOUND, RpcError, error_response, params_object, response,
};
use crate::stats::Stats;
use crate::{
    LATEST_PROTOCOL_VERSION, Options, SERVER_NAME, SERVER_VERSION, SUPPORTED_PROTOCOL_VERSIONS,
    tools,
};

/// Prefix of the opaque `tools/list` cursor.
const CURSOR_PREFIX: &str = "mcpmux-test-server/tools@";

/// Locks a mutex, ignoring poisoning (we never panic while holding one).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the server-initiated messages of a request go (its progress and log
/// notifications, garbage), and what `drop_stream` acts on.
pub(crate) trait Emit: Send + Sync {
    /// Sends one JSON-RPC message.
    fn message(&self, msg: &Value);

    /// Sends `count` garbage (non-JSON-RPC) items.
    fn garbage(&self, count: usize);

    /// Closes the stream carrying this request's response abruptly, before
    /// (`true`) or right after (`false`) the response. `Err` explains why
    /// the transport cannot.
    fn drop_stream(&self, before_response: bool) -> Result<(), String> {
        let _ = before_response;
        Err("drop_stream needs an SSE response stream".to_owned())
    }

    /// Writes `bytes` (one message, newline included) in `parts` pieces
    /// `ms` apart, nothing else in between (fault tool `split`).
    fn split(&self, bytes: Vec<u8>, parts: usize, ms: u64) -> Result<(), String> {
        let _ = (bytes, parts, ms);
        Err("split needs the stdio transport".to_owned())
    }

    /// Writes `partial` (no newline), then closes stdout for good while the
    /// server keeps running (fault tool `close_stdout`).
    fn close_output(&self, partial: Vec<u8>) -> Result<(), String> {
        let _ = partial;
        Err("close_stdout needs the stdio transport".to_owned())
    }
}

/// A shared [`Emit`] target.
pub(crate) type Sink = Arc<dyn Emit>;

/// Receives the response to one message: called at most once; dropped
/// without a call when there is nothing to answer (a cancelled request).
pub(crate) type Reply = Box<dyn FnOnce(Value) + Send + 'static>;

/// What [`Handler::accept`] made of a message.
#[derive(Debug)]
pub(crate) enum Accepted {
    /// Nothing will be answered (notifications and responses only); the
    /// [`Reply`] was dropped.
    Nothing,
    /// Not a valid message: answer with this error response (the [`Reply`]
    /// was dropped).
    Invalid(Value),
    /// The [`Reply`] will be called with the response (or batch of
    /// responses) unless the request is cancelled.
    Pending,
}

/// Which transport a [`Handler`] serves: decides the tool list and what the
/// `crash` tool does.
#[derive(Clone, Default)]
pub(crate) enum Transport {
    /// stdio: `crash` exits the process.
    #[default]
    Stdio,
    /// HTTP: `drop_stream` is offered; `crash` calls this instead of exiting.
    Http {
        /// Stops the whole HTTP server with the given code.
        crash: Arc<dyn Fn(i32) + Send + Sync>,
    },
}

/// Protocol state of one connection (stdio) or session (HTTP).
pub(crate) struct Handler {
    /// Startup options.
    pub(crate) opts: Options,
    /// Counters shared with the transport.
    pub(crate) stats: Arc<Stats>,
    /// The transport.
    pub(crate) transport: Transport,
    /// In-flight requests by serialized id: (registration number, abort handle).
    inflight: Mutex<HashMap<String, (u64, AbortHandle)>>,
    /// Every `notifications/cancelled` requestId, in arrival order.
    cancelled: Mutex<Vec<Value>>,
    /// Source of registration numbers.
    next_seq: AtomicU64,
}

impl Handler {
    /// A handler with no requests in flight.
    pub(crate) fn new(opts: Options, stats: Arc<Stats>, transport: Transport) -> Arc<Self> {
        Arc::new(Self {
            opts,
            stats,
            transport,
            inflight: Mutex::new(HashMap::new()),
            cancelled: Mutex::new(Vec::new()),
            next_seq: AtomicU64::new(0),
        })
    }

    /// True when serving HTTP (offers the HTTP-only tools).
    pub(crate) fn is_http(&self) -> bool {
        matches!(self.transport, Transport::Http { .. })
    }

    /// The cancelled request ids so far, in arrival order.
    pub(crate) fn cancelled_ids(&self) -> Vec<Value> {
        lock(&self.cancelled).clone()
    }

    /// Aborts every request in flight.
    pub(crate) fn abort_all(&self) {
        for (_, (_, handle)) in lock(&self.inflight).drain() {
            handle.abort();
        }
    }

    /// Handles one parsed message or batch.
    ///
    /// Requests are spawned into `tasks`; their notifications go to `sink`
    /// and their response (a batch: one array, in batch order, without
    /// notifications and cancelled requests) to `reply`.
    pub(crate) fn accept(
        self: &Arc<Self>,
        msg: Value,
        sink: &Sink,
        reply: Reply,
        tasks: &mut JoinSet<()>,
    ) -> Accepted {
        match msg {
            Value::Array(items) => self.accept_batch(items, sink, reply, tasks),
            msg => match jsonrpc::classify(msg) {
                Incoming::Request { id, method, params } => {
                    let handler = Arc::clone(self);
                    let sink = Arc::clone(sink);
                    self.spawn_request(tasks, id.clone(), move || async move {
                        // `None`: a fault tool answered (or chose not to) itself.
                        if let Some(answer) = handler.dispatch(id, method, params, &sink).await {
                            reply(answer);
                        }
                    });
                    Accepted::Pending
                }
                Incoming::Notification { method, params } => {
                    self.handle_notification(&method, &params);
                    Accepted::Nothing
                }
                Incoming::Response => Accepted::Nothing,
                Incoming::Invalid(error) => Accepted::Invalid(error),
            },
        }
    }

    /// Handles a batch: every request runs in its own task; one array with
    /// all the responses is sent when the last one is done.
    fn accept_batch(
        self: &Arc<Self>,
        items: Vec<Value>,
        sink: &Sink,
        reply: Reply,
        tasks: &mut JoinSet<()>,
    ) -> Accepted {
        if items.is_empty() {
            return Accepted::Invalid(error_response(
                Value::Null,
                RpcError::invalid_request("invalid request: empty batch"),
            ));
        }
        let mut replies: Vec<(usize, Value)> = Vec::new();
        let mut members: JoinSet<(usize, Option<Value>)> = JoinSet::new();
        for (index, item) in items.into_iter().enumerate() {
            match jsonrpc::classify(item) {
                Incoming::Request { id, method, params } => {
                    let handler = Arc::clone(self);
                    let sink = Arc::clone(sink);
                    self.spawn_request(&mut members, id.clone(), move || async move {
                        (index, handler.dispatch(id, method, params, &sink).await)
                    });
                }
                Incoming::Notification { method, params } => {
                    self.handle_notification(&method, &params)
                }
                Incoming::Response => {}
                Incoming::Invalid(error) => replies.push((index, error)),
            }
        }
        if members.is_empty() && replies.is_empty() {
            return Accepted::Nothing;
        }
        tasks.spawn(async move {
            // Dropping `members` (if this task is aborted) aborts them all.
            while let Some(joined) = members.join_next().await {
                if let Ok((index, Some(answer))) = joined {
                    replies.push((index, answer));
                }
            }
            if !replies.is_empty() {
                replies.sort_by_key(|(index, _)| *index);
                reply(Value::Array(replies.into_iter().map(|(_, r)| r).collect()));
            }
        });
        Accepted::Pending
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
        let handler = Arc::clone(self);
        let task_key = key.clone();
        // Hold the lock across spawn + insert, so a fast task cannot
        // unregister itself before it is registered.
        let mut inflight = lock(&self.inflight);
        let handle = set.spawn(async move {
            let result = fut.await;
            handler.unregister(&task_key, seq);
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
        if method == "notifications/initialized" {
            self.stats.bump(&self.stats.initialized);
            return;
        }
        if method != "notifications/cancelled" {
            return;
        }
        let Some(id) = params.get("requestId") else {
            return;
        };
        lock(&self.cancelled).push(id.clone());
        self.stats.record_cancel(id.clone());
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
        if self.opts.ignore_cancellations {
            return;
        }
        if let Some((_, handle)) = lock(&self.inflight).remove(&id.to_string()) {
            handle.abort();
        }
    }

    /// Runs one request to completion and builds its response; `None` when
    /// a fault tool already answered through the sink (or never answers).
    async fn dispatch(
        &self,
        id: Value,
        method: String,
        params: Value,
        sink: &Sink,
    ) -> Option<Value> {
        if method == "tools/call" {
            self.stats.bump(&self.stats.tool_calls);
        }
        if method == "tools/call"
            && self.opts.fault_tools
            && let Some(answer) = crate::fault_tools::call(self, sink, &id, &params).await
        {
            return answer;
        }
        let result = match method.as_str() {
            "initialize" => self.initialize(&params).await,
            "ping" => Ok(json!({})),
            "logging/setLevel" => set_level(&params),
            "tools/list" => self.list_tools(&params),
            "tools/call" => tools::call(self, sink, &params).await,
            _ => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("method not found: {method}"),
            )),
        };
        Some(match result {
            Ok(result) => response(id, result),
            Err(err) => error_response(id, err),
        })
    }

    async fn initialize(&self, params: &Value) -> Result<Value, RpcError> {
        let params = params_object(params)?;
        self.stats.bump(&self.stats.initializes);
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

    pub(crate) fn list_tools(&self, params: &Value) -> Result<Value, RpcError> {
        let params = params_object(params)?;
        let all = tools::definitions(self.is_http(), self.opts.fault_tools);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(page_size: usize, transport: Transport) -> Arc<Handler> {
        let opts = Options {
            page_size,
            ..Options::default()
        };
        Handler::new(opts, Arc::new(Stats::default()), transport)
    }

    fn walk(h: &Handler) -> Vec<String> {
        let mut names = Vec::new();
        let mut cursor = Value::Null;
        loop {
            let page = h.list_tools(&json!({ "cursor": cursor })).unwrap();
            let tools = page["tools"].as_array().unwrap();
            assert!(tools.len() <= 4);
            names.extend(tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
            match page.get("nextCursor") {
                Some(next) => cursor = next.clone(),
                None => break,
            }
        }
        names
    }

    #[test]
    fn pagination_walks_all_tools() {
        let h = handler(4, Transport::Stdio);
        assert_eq!(walk(&h), crate::TOOL_NAMES);
        for bad in [
            json!("nope"),
            json!(7),
            json!(format!("{CURSOR_PREFIX}999")),
        ] {
            let err = h.list_tools(&json!({ "cursor": bad })).unwrap_err();
            assert_eq!(err.code, jsonrpc::INVALID_PARAMS);
        }
    }

    #[test]
    fn http_lists_the_http_only_tools_too() {
        let h = handler(
            4,
            Transport::Http {
                crash: Arc::new(|_| {}),
            },
        );
        let mut expected: Vec<&str> = crate::TOOL_NAMES.to_vec();
        expected.extend(crate::HTTP_ONLY_TOOL_NAMES);
        assert_eq!(walk(&h), expected);
    }
}

//! [`Server`], the cheap cloneable handle, and [`Guard`], one user of its shared connection.

use std::ffi::OsString;
use std::sync::{Arc, Mutex, PoisonError};

use mcpmux_protocol::{
    CallToolParams, CallToolResult, InitializeResult, JsonObject, ListToolsResult, PaginatedParams,
    ProtocolVersion, Tool, methods,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::config::{Config, ServerBuilder};
use crate::connection::ConnHandle;
use crate::error::{Error, Result};
use crate::notification::{Notifications, ServerNotification};
use crate::recovery::{Health, SessionState, Tracker};
use crate::request::{self, RequestOptions};

#[derive(Debug)]
struct Inner {
    config: Arc<Config>,
    /// The current connection, if any; handed to the next `enter()` while it accepts users.
    slot: Mutex<Option<Arc<ConnHandle>>>,
    notifications: broadcast::Sender<ServerNotification>,
    tracker: Arc<Tracker>,
    session: Arc<SessionState>,
}

/// A handle on one MCP server: cheap to clone (one reference count), safe to share across tasks
/// and threads. All clones share one connection.
///
/// The connection is opened lazily by the first [`enter`](Self::enter) (or call) and lives while
/// any [`Guard`] exists — an explicit one, or the implicit one a call made through the handle
/// holds while it is in flight. When the last guard goes, from any task or thread, the
/// connection shuts down in its own task: stdin closed, a wait, SIGTERM to the process group, a
/// wait, SIGKILL, and the process reaped. A later `enter()` starts a fresh connection.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> mcpmux::Result<()> {
/// use serde_json::json;
/// let server = mcpmux::Server::stdio("mcpmux-test-server").build()?;
///
/// // Many tasks, one connection, one process.
/// let mut tasks = Vec::new();
/// for i in 0..10 {
///     let server = server.clone();
///     tasks.push(tokio::spawn(async move {
///         let guard = server.enter().await?; // like `async with server:`
///         let r = guard.call_tool("echo", json!({"text": format!("hi {i}")})).await?;
///         Ok::<_, mcpmux::Error>(r.text())
///     }));
/// }
/// for t in tasks {
///     println!("{}", t.await.expect("task panicked")?);
/// }
/// // The last guard is gone: the server process has been asked to exit.
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl Server {
    /// Starts building a handle on a stdio server: `program` is run directly (no shell).
    ///
    /// ```
    /// let server = mcpmux::Server::stdio("npx").args(["-y", "some-mcp-server"]).build();
    /// assert!(server.is_ok());
    /// ```
    pub fn stdio(program: impl Into<OsString>) -> ServerBuilder {
        ServerBuilder::stdio(program.into())
    }

    /// Starts building a handle on an HTTP server at `url`: Streamable HTTP, falling back to
    /// legacy HTTP+SSE if the server refuses it (see [`HttpMode`](crate::HttpMode)).
    ///
    /// ```
    /// let server = mcpmux::Server::http("http://127.0.0.1:8000/mcp")
    ///     .bearer_token("secret")
    ///     .build();
    /// assert!(server.is_ok());
    /// assert!(mcpmux::Server::http("not a url").build().is_err());
    /// ```
    pub fn http(url: &str) -> ServerBuilder {
        ServerBuilder::http(url)
    }

    pub(crate) fn from_config(config: Config) -> Self {
        let (notifications, _) = broadcast::channel(config.notification_capacity);
        Server {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                slot: Mutex::new(None),
                notifications,
                tracker: Arc::default(),
                session: Arc::default(),
            }),
        }
    }

    /// The server's name (for logs and errors).
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// Joins the shared connection, opening it (spawn + `initialize`) if there is none.
    ///
    /// Concurrent first calls share one connect: exactly one process is spawned. The returned
    /// guard keeps the connection alive; drop it to leave.
    ///
    /// # Errors
    /// [`ErrorKind::Spawn`](crate::ErrorKind::Spawn) if the process cannot start; a timeout,
    /// closed, RPC or protocol error if `initialize` fails (every waiting caller gets it).
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future leaves the connection; if nobody else uses it, it closes.
    pub async fn enter(&self) -> Result<Guard> {
        let policy = self.inner.config.reconnect;
        let mut attempt = 1;
        loop {
            self.inner.tracker.check_circuit(self.name())?;
            // Counted as a user from here on, so a dropped `enter` future leaves cleanly.
            let result = match self.acquire() {
                Ok(conn) => {
                    let conn = User(conn);
                    conn.0.wait_ready().await.map(|init| Guard { conn, init })
                }
                Err(e) => {
                    self.inner.tracker.connect_failed(&e, &policy);
                    Err(e)
                }
            };
            match result {
                Ok(guard) => return Ok(guard),
                Err(e) if attempt < policy.max_attempts && crate::recovery::retryable(&e) => {
                    let wait = policy.delay(attempt);
                    tracing::debug!(server = %self.name(), attempt, ?wait, "connect failed ({e}); retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The server's health: connected or not, the last failure, restarts, the circuit.
    pub fn health(&self) -> Health {
        let connected = self
            .inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|c| !c.is_closed() && c.is_ready());
        self.inner.tracker.snapshot(connected)
    }

    fn acquire(&self) -> Result<Arc<ConnHandle>> {
        let mut slot = self
            .inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(conn) = slot.as_ref()
            && conn.try_acquire()
        {
            return Ok(conn.clone());
        }
        let conn = ConnHandle::start(
            self.inner.config.clone(),
            self.inner.notifications.clone(),
            self.inner.tracker.clone(),
            self.inner.session.clone(),
        )?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Closes the current connection now and waits until it has shut down (process reaped).
    ///
    /// Requests still in flight fail with a closed error. The handle stays usable: the next
    /// `enter()` opens a fresh connection.
    ///
    /// # Cancel safety
    /// The shutdown runs in the connection's own task and completes even if this future is
    /// dropped.
    pub async fn close(&self) {
        let conn = self
            .inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(conn) = conn {
            conn.close();
            conn.terminated().await;
        }
    }

    /// Replaces the roots offered to the server (see [`ServerBuilder::roots`]) and tells a live
    /// connection with `notifications/roots/list_changed`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the handle was built
    /// without roots.
    pub fn set_roots(&self, roots: Vec<mcpmux_protocol::Root>) -> Result<()> {
        let Some(shared) = &self.inner.config.handlers.roots else {
            return Err(Error::invalid(
                "this server handle was built without roots (ServerBuilder::roots)",
            ));
        };
        *shared.write().unwrap_or_else(PoisonError::into_inner) = roots;
        let conn = self
            .inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(conn) = conn
            && !conn.is_closed()
        {
            let _ = request::notify(&conn, methods::ROOTS_LIST_CHANGED, None::<&()>);
        }
        Ok(())
    }

    /// Subscribes to the server's notifications (progress, log messages, list changes), from
    /// this and every later connection.
    pub fn notifications(&self) -> Notifications {
        Notifications {
            rx: self.inner.notifications.subscribe(),
        }
    }

    /// Calls a tool through an implicit guard held for the duration of the call.
    ///
    /// See [`Guard::call_tool`].
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Result<CallToolResult> {
        self.enter().await?.call_tool(name, arguments).await
    }

    /// Calls a tool with per-call options through an implicit guard. See [`Guard::call_tool_with`].
    pub async fn call_tool_with(
        &self,
        name: &str,
        arguments: Value,
        options: RequestOptions,
    ) -> Result<CallToolResult> {
        self.enter()
            .await?
            .call_tool_with(name, arguments, options)
            .await
    }

    /// Calls a tool with borrowed arguments (see [`Guard::call_tool_ref`]), entering for the call.
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    pub async fn call_tool_ref(
        &self,
        name: &str,
        arguments: &serde_json::Map<String, Value>,
        options: RequestOptions,
    ) -> Result<CallToolResult> {
        self.enter()
            .await?
            .call_tool_ref(name, arguments, options)
            .await
    }

    /// Lists every tool (all pages) through an implicit guard. See [`Guard::list_tools`].
    pub async fn list_tools(&self) -> Result<Vec<Tool>> {
        self.enter().await?.list_tools().await
    }

    /// Pings the server through an implicit guard.
    pub async fn ping(&self) -> Result<()> {
        self.enter().await?.ping().await
    }
}

/// One user of a server's shared connection: the Rust form of `async with server:`.
///
/// Cheap to clone (each clone is one more user). Dropping it never blocks or awaits and works on
/// any thread, even outside a tokio runtime: it only decrements a count and, for the last user,
/// signals the connection task, which shuts the connection down in the background.
///
/// All requests are multiplexed on the one connection; any number may be in flight at once.
#[derive(Debug)]
#[must_use = "the connection closes when the last guard is dropped"]
pub struct Guard {
    conn: User,
    init: Arc<InitializeResult>,
}

/// One counted user of a connection; leaving is its `Drop`.
#[derive(Debug)]
struct User(Arc<ConnHandle>);

impl std::ops::Deref for User {
    type Target = ConnHandle;
    fn deref(&self) -> &ConnHandle {
        &self.0
    }
}

impl Clone for User {
    fn clone(&self) -> Self {
        // A live user keeps the count above zero, so the connection cannot have closed its door
        // for idleness; if it died, calls fail with its close reason anyway.
        self.0.add_user();
        User(self.0.clone())
    }
}

impl Drop for User {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl Clone for Guard {
    fn clone(&self) -> Self {
        Guard {
            conn: self.conn.clone(),
            init: self.init.clone(),
        }
    }
}

impl Guard {
    /// The server's `initialize` result (capabilities, server info, instructions).
    pub fn initialize_result(&self) -> &InitializeResult {
        &self.init
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> ProtocolVersion {
        // Checked during initialize: only supported versions get here.
        ProtocolVersion::parse(&self.init.protocol_version).unwrap_or(ProtocolVersion::LATEST)
    }

    /// The server process's id (stdio servers only).
    pub fn process_id(&self) -> Option<u32> {
        self.conn.pid()
    }

    /// Whether this connection has closed (or is closing); calls on it then fail.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// Resolves once this connection has shut down completely (process reaped).
    pub async fn closed(&self) {
        self.conn.terminated().await;
    }

    /// Sends a request and parses its result as `R`.
    ///
    /// `params` is serialized as the request's `params`; for a method without parameters use
    /// [`request_raw`](Self::request_raw) with `None`.
    ///
    /// # Errors
    /// Timeout, closed, RPC (the server's JSON-RPC error), protocol (a result that does not parse
    /// as `R`), invalid input (params that do not serialize).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request: it is removed from the connection and the server
    /// is sent `notifications/cancelled` (it may still complete the work).
    pub async fn request<P, R>(
        &self,
        method: &str,
        params: &P,
        options: RequestOptions,
    ) -> Result<R>
    where
        P: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let raw = self.request_raw(method, Some(params), options).await?;
        request::parse_result(method, &raw)
    }

    /// Sends a request and returns its raw JSON result, unparsed.
    ///
    /// # Errors
    /// As [`request`](Self::request), minus result parsing.
    ///
    /// # Cancel safety
    /// As [`request`](Self::request).
    pub async fn request_raw<P>(
        &self,
        method: &str,
        params: Option<&P>,
        options: RequestOptions,
    ) -> Result<Box<serde_json::value::RawValue>>
    where
        P: Serialize + ?Sized,
    {
        let timeout = options.timeout.unwrap_or(self.conn.config.request_timeout);
        if self.conn.stateless().is_none() {
            return request::send(&self.conn, method, params, timeout, Some(&options), false).await;
        }
        // Stateless MCP: the server may answer `input_required`; fulfil and retry.
        let value = params
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| Error::invalid_input(format!("could not encode {method} parameters"), e))?
            .unwrap_or(Value::Null);
        let conn = &self.conn;
        let options = &options;
        crate::stateless::round_trips(&conn.config.handlers, value, |p| async move {
            request::send(conn, method, Some(&p), timeout, Some(options), false).await
        })
        .await
    }

    /// Sends a notification.
    ///
    /// # Errors
    /// Closed if the connection is gone; invalid input if `params` do not serialize.
    pub fn notify<P: Serialize + ?Sized>(&self, method: &str, params: Option<&P>) -> Result<()> {
        request::notify(&self.conn, method, params)
    }

    /// Sends `ping` and waits for the answer (on a stateless 2026-07-28 connection, which has no
    /// `ping`, a `server/discover` round trip instead).
    ///
    /// # Errors
    /// As [`request`](Self::request).
    ///
    /// # Cancel safety
    /// As [`request`](Self::request).
    pub async fn ping(&self) -> Result<()> {
        // Stateless MCP (2026-07-28) removed `ping`; `server/discover` is the cheap round trip.
        let method = if self.conn.stateless().is_some() {
            mcpmux_protocol::stateless::DISCOVER
        } else {
            methods::PING
        };
        let _: Value = request::parse_result(
            method,
            &self
                .request_raw(method, None::<&()>, RequestOptions::new())
                .await?,
        )?;
        Ok(())
    }

    /// Calls a tool. A tool that fails reports it in the result (`isError`, see
    /// [`CallToolResult::is_error`]), not as an `Err`.
    ///
    /// `arguments` must be a JSON object (or `null` for none).
    ///
    /// # Errors
    /// As [`request`](Self::request); invalid input if `arguments` is not an object.
    ///
    /// # Cancel safety
    /// As [`request`](Self::request).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(guard: mcpmux::Guard) -> mcpmux::Result<()> {
    /// let r = guard.call_tool("add", serde_json::json!({"a": 1, "b": 2})).await?;
    /// assert_eq!(r.structured_content, Some(serde_json::json!({"sum": 3})));
    /// # Ok(()) }
    /// ```
    // A plain `fn` returning the hand-written call future (`call.rs`, 160 bytes; a test keeps
    // it ≤ 256): an `async fn` would keep room for every nested future.
    pub fn call_tool<'a>(
        &'a self,
        name: &'a str,
        arguments: Value,
    ) -> impl Future<Output = Result<CallToolResult>> + Send + 'a {
        crate::call::CallTool::new(
            self,
            name,
            ToolArgs::Value(arguments),
            RequestOptions::new(),
        )
    }

    /// Calls a tool with per-call options (timeout, progress token).
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    ///
    /// # Cancel safety
    /// As [`request`](Self::request).
    pub fn call_tool_with<'a>(
        &'a self,
        name: &'a str,
        arguments: Value,
        options: RequestOptions,
    ) -> impl Future<Output = Result<CallToolResult>> + Send + 'a {
        crate::call::CallTool::new(self, name, ToolArgs::Value(arguments), options)
    }

    /// Calls a tool with borrowed arguments: nothing is cloned or consumed, so the same map
    /// can be sent again (the arguments are encoded straight from it).
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    ///
    /// # Cancel safety
    /// As [`request`](Self::request).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(guard: mcpmux::Guard) -> mcpmux::Result<()> {
    /// let args = serde_json::json!({"query": "mcp"});
    /// let args = args.as_object().expect("an object");
    /// for _ in 0..3 {
    ///     guard.call_tool_ref("search", args, mcpmux::RequestOptions::new()).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn call_tool_ref<'a>(
        &'a self,
        name: &'a str,
        arguments: &'a JsonObject,
        options: RequestOptions,
    ) -> impl Future<Output = Result<CallToolResult>> + Send + 'a {
        crate::call::CallTool::new(self, name, ToolArgs::Borrowed(arguments), options)
    }

    /// Whether a call with these options takes the common path ([`crate::call`]): a session
    /// (not stateless MCP), a server without tasks, no progress callback.
    pub(crate) fn is_plain_call(&self, options: &RequestOptions) -> bool {
        self.conn.stateless().is_none()
            && !options.routes_progress()
            && !self
                .initialize_result()
                .capabilities
                .extra
                .contains_key("tasks")
    }

    /// The common path's start: checks and encodes the arguments (then no longer needed) and
    /// queues the request; the connection task keeps its timeout.
    pub(crate) fn queue_plain_call<'a>(
        &'a self,
        name: &str,
        arguments: &ToolArgs<'_>,
        options: &RequestOptions,
    ) -> Result<request::Waiting<'a>> {
        arguments.check()?;
        let meta = progress_meta(options);
        let prepared = self.prepare_tool_call(name, arguments, meta.as_ref());
        let timeout = options.timeout.unwrap_or(self.conn.config.request_timeout);
        request::queue_plain(&self.conn, prepared, Vec::new(), timeout, false)
    }

    /// Numbers and encodes a `tools/call` request (`mcpmux_protocol::write`: cannot fail).
    fn prepare_tool_call(
        &self,
        name: &str,
        arguments: &ToolArgs<'_>,
        meta: Option<&JsonObject>,
    ) -> request::Prepared {
        let prepared = request::prepare_with(&self.conn, |id, frame| {
            mcpmux_protocol::write::encode_tool_call(frame, id, name, arguments.get(), meta);
            Ok::<(), std::convert::Infallible>(())
        });
        let Ok(prepared) = prepared;
        prepared
    }

    /// Whether a result needs the (asynchronous) structured-output check.
    pub(crate) fn needs_output_check(&self, result: &CallToolResult) -> bool {
        self.conn.config.validate_output
            && result.structured_content.is_some()
            && !result.is_error()
    }

    /// The synchronous output check: a tool with an output schema must return structured
    /// content (when validation is on).
    pub(crate) fn check_missing_output(&self, name: &str, result: &CallToolResult) -> Result<()> {
        if self.conn.config.validate_output {
            self.check_missing_structured_output(name, result)
        } else {
            Ok(())
        }
    }

    /// Any tool call (tasks, stateless MCP, progress callbacks included); the common case
    /// takes [`crate::call::CallTool`]'s own path instead.
    pub(crate) async fn call_tool_general(
        &self,
        name: &str,
        arguments: ToolArgs<'_>,
        options: RequestOptions,
    ) -> Result<CallToolResult> {
        let arguments = match arguments {
            ToolArgs::Value(v) => ToolArgs::Owned(tool_arguments(v)?),
            other => other,
        };
        let meta = progress_meta(&options);
        let mut options = options;
        if self.conn.stateless().is_some() {
            // Mirror `x-mcp-header` parameters into `Mcp-Param-*` headers (from the cached list).
            // Boxed: a cold path kept out of every call's future (which stays small and cheap
            // to spawn; BENCHMARKS.md measured the cost of a large one).
            let tools = Box::pin(self.tools_any()).await?;
            if let Some(tool) = tools.get(name) {
                options.headers =
                    crate::stateless::tool_param_headers(&tool.input_schema, arguments.get());
            }
        }
        let tasks_possible = self
            .initialize_result()
            .capabilities
            .extra
            .contains_key("tasks");
        if tasks_possible && Box::pin(self.requires_task(name)).await {
            return Box::pin(async {
                self.start_task(name, arguments.into_owned(), meta, None, options.clone())
                    .await?
                    .wait()
                    .await
            })
            .await;
        }
        let method = methods::TOOLS_CALL;
        let raw = if self.conn.stateless().is_none() {
            // Encode now and drop the arguments before the wait: 10,000 calls in flight then
            // hold 10,000 encoded frames, not frames plus argument maps.
            let prepared = self.prepare_tool_call(name, &arguments, meta.as_ref());
            drop((arguments, meta));
            let timeout = options.timeout.unwrap_or(self.conn.config.request_timeout);
            request::send_prepared(
                &self.conn,
                method,
                prepared,
                Vec::new(),
                timeout,
                Some(&options),
                false,
            )
            .await?
        } else {
            let params = CallToolParams {
                name: name.to_owned(),
                arguments: arguments.into_owned(),
                meta,
                task: None,
            };
            let raw = Box::pin(self.request_raw(method, Some(&params), options)).await?;
            crate::raw_result::RawResult::Owned(raw)
        };
        let result: CallToolResult = request::parse_raw_result(method, &raw)?;
        drop(raw);
        if self.needs_output_check(&result) {
            // May fetch and compile schemas: boxed, off the common path.
            Box::pin(self.check_structured_output(name, &result)).await?;
        } else {
            self.check_missing_output(name, &result)?;
        }
        Ok(result)
    }

    /// Lists one page of tools.
    ///
    /// # Errors
    /// As [`request`](Self::request).
    ///
    /// # Cancel safety
    /// As [`request`](Self::request).
    pub async fn list_tools_page(&self, cursor: Option<String>) -> Result<ListToolsResult> {
        self.request(
            methods::TOOLS_LIST,
            &PaginatedParams { cursor },
            RequestOptions::new(),
        )
        .await
    }

    pub(crate) fn conn(&self) -> &ConnHandle {
        &self.conn
    }

    pub(crate) fn conn_arc(&self) -> Arc<ConnHandle> {
        self.conn.0.clone()
    }
}

/// `_meta` with the progress token, when the caller set one.
fn progress_meta(options: &RequestOptions) -> Option<JsonObject> {
    options.progress_token.clone().map(|token| {
        let mut m = JsonObject::new();
        m.insert(
            "progressToken".to_owned(),
            serde_json::to_value(token).unwrap_or(Value::Null),
        );
        m
    })
}

/// A call's arguments: taken over, or borrowed from the caller.
pub(crate) enum ToolArgs<'a> {
    /// As given to `call_tool`: checked (an object or `null`) when the call starts.
    Value(Value),
    Owned(Option<JsonObject>),
    Borrowed(&'a JsonObject),
}

impl ToolArgs<'_> {
    /// Invalid input unless the arguments are an object or `null` (as [`tool_arguments`]).
    fn check(&self) -> Result<()> {
        match self {
            ToolArgs::Value(v) if !(v.is_object() || v.is_null()) => Err(Error::invalid(format!(
                "tool arguments must be a JSON object, not {v}"
            ))),
            _ => Ok(()),
        }
    }

    fn get(&self) -> Option<&JsonObject> {
        match self {
            ToolArgs::Value(Value::Object(a)) => Some(a),
            ToolArgs::Value(_) => None,
            ToolArgs::Owned(a) => a.as_ref(),
            ToolArgs::Borrowed(a) => Some(a),
        }
    }

    /// Owned arguments, for the cold paths that keep them (tasks, stateless MCP).
    fn into_owned(self) -> Option<JsonObject> {
        match self {
            ToolArgs::Value(Value::Object(a)) => Some(a),
            ToolArgs::Value(_) => None,
            ToolArgs::Owned(a) => a,
            ToolArgs::Borrowed(a) => Some(a.clone()),
        }
    }
}

/// Tool arguments as the wire wants them: a JSON object, or none for `null`.
pub(crate) fn tool_arguments(arguments: Value) -> Result<Option<JsonObject>> {
    match arguments {
        Value::Object(map) => Ok(Some(map)),
        Value::Null => Ok(None),
        other => Err(Error::invalid(format!(
            "tool arguments must be a JSON object, not {other}"
        ))),
    }
}

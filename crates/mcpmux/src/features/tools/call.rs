//! Tool calls, in one place: the [`CallTool`] request builder ([`Guard::call_tool`],
//! [`Server::call_tool`]), its future, and what happens to a result before the caller sees it
//! (parsing, the structured-output check).
//!
//! The future is written by hand rather than as an `async fn`: a compiler-built state machine
//! keeps room for every nested future and for the parameters each one copies, which made a
//! call's future 904 bytes (release) — per call in flight, and copied when an application
//! spawns it. The common call (a session over stdio or Streamable HTTP, no tasks, no progress
//! callback) needs only its inputs until it is queued and then the reply channel and the
//! cancel guard; every other call runs the general `async` path, boxed.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use mcpmux_protocol::{CallToolParams, CallToolResult, JsonObject, methods};
use serde_json::Value;

use super::super::tool_arguments;
use crate::error::{Error, Result};
use crate::request::{self, RequestOptions, Waiting, option_setters};
use crate::server::{Guard, Server};

/// A tool call's arguments: a JSON value given over (an object, or `null` for none), an owned
/// object, or an object borrowed from the caller (encoded straight from it, so the same map can
/// be sent again without a clone).
///
/// ```
/// use mcpmux::ToolArguments;
/// let map = serde_json::json!({"text": "hi"}).as_object().cloned().unwrap_or_default();
/// let _owned: ToolArguments<'_> = serde_json::json!({"text": "hi"}).into();
/// let _borrowed: ToolArguments<'_> = (&map).into();
/// ```
#[derive(Debug, Clone)]
pub struct ToolArguments<'a>(Args<'a>);

#[derive(Debug, Clone)]
enum Args<'a> {
    /// As given: checked (an object or `null`) when the call starts.
    Value(Value),
    Owned(Option<JsonObject>),
    Borrowed(&'a JsonObject),
}

impl From<Value> for ToolArguments<'_> {
    fn from(v: Value) -> Self {
        ToolArguments(Args::Value(v))
    }
}

impl From<JsonObject> for ToolArguments<'_> {
    fn from(m: JsonObject) -> Self {
        ToolArguments(Args::Owned(Some(m)))
    }
}

impl<'a> From<&'a JsonObject> for ToolArguments<'a> {
    fn from(m: &'a JsonObject) -> Self {
        ToolArguments(Args::Borrowed(m))
    }
}

impl From<Option<JsonObject>> for ToolArguments<'_> {
    fn from(m: Option<JsonObject>) -> Self {
        ToolArguments(Args::Owned(m))
    }
}

impl ToolArguments<'_> {
    /// Invalid input unless the arguments are an object or `null`.
    fn check(&self) -> Result<()> {
        match &self.0 {
            Args::Value(v) if !(v.is_object() || v.is_null()) => Err(Error::invalid(format!(
                "tool arguments must be a JSON object, not {v}"
            ))),
            _ => Ok(()),
        }
    }

    fn get(&self) -> Option<&JsonObject> {
        match &self.0 {
            Args::Value(Value::Object(a)) => Some(a),
            Args::Value(_) => None,
            Args::Owned(a) => a.as_ref(),
            Args::Borrowed(a) => Some(a),
        }
    }

    /// Checked and owned, for the cold paths that keep them (tasks, stateless MCP).
    fn into_owned(self) -> Result<Option<JsonObject>> {
        match self.0 {
            Args::Value(v) => tool_arguments(v),
            Args::Owned(a) => Ok(a),
            Args::Borrowed(a) => Ok(Some(a.clone())),
        }
    }
}

/// Who a call goes through.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Guard(&'a Guard),
    /// Enters for the call (an implicit guard held while it is in flight).
    Server(&'a Server),
}

/// A tool call being built: [`Guard::call_tool`] or [`Server::call_tool`]. Set per-call
/// options, then `.await` it; nothing is sent before.
///
/// ```no_run
/// # async fn f(guard: mcpmux::Guard) -> mcpmux::Result<()> {
/// use std::time::Duration;
/// let result = guard
///     .call_tool("research", serde_json::json!({"topic": "rust"}))
///     .timeout(Duration::from_secs(120))
///     .on_progress(|p| eprintln!("{} of {:?}", p.progress, p.total))
///     .meta("com.example/trace", "abc123")
///     .await?;
/// # let _ = result; Ok(()) }
/// ```
///
/// # Cancel safety
/// Dropping the awaited future before it completes cancels the call: it is removed from the
/// connection and the server is sent `notifications/cancelled` (it may still finish the work).
#[derive(Debug)]
#[must_use = "a tool call does nothing until it is awaited"]
pub struct CallTool<'a> {
    target: Target<'a>,
    name: &'a str,
    arguments: ToolArguments<'a>,
    options: RequestOptions,
}

impl<'a> CallTool<'a> {
    option_setters!();
}

impl<'a> IntoFuture for CallTool<'a> {
    type Output = Result<CallToolResult>;
    type IntoFuture = CallToolFuture<'a>;

    fn into_future(self) -> CallToolFuture<'a> {
        let state = match self.target {
            Target::Guard(guard) => State::Start {
                guard,
                name: self.name,
                arguments: self.arguments,
                options: self.options,
            },
            Target::Server(server) => {
                let CallTool {
                    name,
                    arguments,
                    options,
                    ..
                } = self;
                State::Boxed(Box::pin(async move {
                    let guard = server.enter().await?;
                    guard
                        .call_tool(name, arguments)
                        .options(options)
                        .into_future()
                        .await
                }))
            }
        };
        CallToolFuture { state }
    }
}

impl Guard {
    /// Calls a tool. A tool that fails reports it in the result (`isError`, see
    /// [`CallToolResult::is_error`]), not as an `Err`.
    ///
    /// `arguments`: a JSON object (or `null` for none), an owned map, or a borrowed map (see
    /// [`ToolArguments`]). Per-call options go on the returned [`CallTool`].
    ///
    /// # Errors
    /// As [`request`](Self::request); invalid input if `arguments` is not an object; a
    /// protocol error if `structuredContent` does not match the tool's `outputSchema`.
    ///
    /// # Cancel safety
    /// As [`request`](Self::request).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(guard: mcpmux::Guard) -> mcpmux::Result<()> {
    /// let r = guard.call_tool("add", serde_json::json!({"a": 1, "b": 2})).await?;
    /// assert_eq!(r.structured_content, Some(serde_json::json!({"sum": 3})));
    ///
    /// // Borrowed arguments: nothing cloned, the same map sent again.
    /// let args = serde_json::json!({"query": "mcp"}).as_object().cloned().unwrap_or_default();
    /// for _ in 0..3 {
    ///     guard.call_tool("search", &args).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn call_tool<'a>(
        &'a self,
        name: &'a str,
        arguments: impl Into<ToolArguments<'a>>,
    ) -> CallTool<'a> {
        CallTool {
            target: Target::Guard(self),
            name,
            arguments: arguments.into(),
            options: RequestOptions::new(),
        }
    }

    /// Whether a call with these options takes the common path: a session (not stateless
    /// MCP), a server without tasks, no progress callback.
    fn is_plain_call(&self, options: &RequestOptions) -> bool {
        self.session().dialect().plain_calls()
            && !options.routes_progress()
            && !self
                .initialize_result()
                .capabilities
                .extra
                .contains_key("tasks")
    }

    /// The common path's start: checks and encodes the arguments (then no longer needed) and
    /// queues the request; the connection task keeps its timeout.
    fn queue_plain_call<'a>(
        &'a self,
        name: &str,
        arguments: &ToolArguments<'_>,
        options: &RequestOptions,
    ) -> Result<Waiting<'a>> {
        arguments.check()?;
        let meta = options.request_meta();
        let session = self.session();
        let arguments = arguments.get();
        request::queue_plain_with(&session.conn, session.timeout(options), |id, line| {
            mcpmux_protocol::write::encode_tool_call(line, id, name, arguments, meta.as_ref());
        })
    }

    /// Whether a result needs the (asynchronous) structured-output check.
    fn needs_output_check(&self, result: &CallToolResult) -> bool {
        self.session().settings.validate_output
            && result.structured_content.is_some()
            && !result.is_error()
    }

    /// The synchronous output check: a tool with an output schema must return structured
    /// content (when validation is on).
    fn check_missing_output(&self, name: &str, result: &CallToolResult) -> Result<()> {
        if self.session().settings.validate_output {
            self.check_missing_structured_output(name, result)
        } else {
            Ok(())
        }
    }

    /// Any tool call (tasks, stateless MCP, progress callbacks included); the common case
    /// takes [`CallToolFuture`]'s own path instead.
    async fn call_tool_general(
        &self,
        name: &str,
        arguments: ToolArguments<'_>,
        mut options: RequestOptions,
    ) -> Result<CallToolResult> {
        arguments.check()?;
        let meta = options.request_meta();
        let session = self.session();
        let dialect = session.dialect();
        if dialect.mirrors_tool_params() {
            // Mirror `x-mcp-header` parameters into `Mcp-Param-*` headers (from the cached list).
            // Boxed: a cold path kept out of every call's future.
            let tools = Box::pin(self.tools_any()).await?;
            if let Some(tool) = tools.get(name) {
                options.set_headers(dialect.tool_call_headers(&tool.input_schema, arguments.get()));
            }
        }
        let tasks_possible = self
            .initialize_result()
            .capabilities
            .extra
            .contains_key("tasks");
        if tasks_possible && Box::pin(self.requires_task(name)).await {
            let arguments = arguments.into_owned()?;
            return Box::pin(async {
                self.start_task(name, arguments, meta, None, options.clone())
                    .await?
                    .wait()
                    .await
            })
            .await;
        }
        let method = methods::TOOLS_CALL;
        let raw = if dialect.plain_calls() {
            // Encode now and drop the arguments before the wait: 10,000 calls in flight then
            // hold 10,000 encoded frames, not frames plus argument maps.
            let prepared = prepare_tool_call(session, name, arguments.get(), meta.as_ref());
            drop((arguments, meta));
            request::send_prepared(
                &session.conn,
                method,
                prepared,
                Vec::new(),
                session.timeout(&options),
                Some(&options),
                false,
            )
            .await?
        } else {
            let params = CallToolParams {
                name: name.to_owned(),
                arguments: arguments.into_owned()?,
                meta,
                task: None,
            };
            let raw = Box::pin(session.request(method, Some(&params), &options)).await?;
            crate::connection::RawResult::Owned(raw)
        };
        let result = request::parse_tool_result(&raw)?;
        drop(raw);
        if self.needs_output_check(&result) {
            // May fetch and compile schemas: boxed, off the common path.
            Box::pin(self.check_structured_output(name, &result)).await?;
        } else {
            self.check_missing_output(name, &result)?;
        }
        Ok(result)
    }

    /// Whether `name` must run as a task (the server supports tasks and the tool says
    /// `execution.taskSupport: "required"`).
    async fn requires_task(&self, name: &str) -> bool {
        if !self
            .initialize_result()
            .capabilities
            .extra
            .contains_key("tasks")
        {
            return false;
        }
        let Ok(tools) = self.tools_any().await else {
            return false;
        };
        tools
            .get(name)
            .and_then(|t| t.extra.get("execution"))
            .and_then(|e| e.get("taskSupport"))
            .and_then(Value::as_str)
            == Some("required")
    }
}

impl Server {
    /// Calls a tool through an implicit guard held for the duration of the call. See
    /// [`Guard::call_tool`].
    ///
    /// # Errors
    /// As [`Guard::call_tool`], and as [`Server::enter`] when the connection cannot be opened.
    ///
    /// # Cancel safety
    /// As [`Guard::call_tool`].
    pub fn call_tool<'a>(
        &'a self,
        name: &'a str,
        arguments: impl Into<ToolArguments<'a>>,
    ) -> CallTool<'a> {
        CallTool {
            target: Target::Server(self),
            name,
            arguments: arguments.into(),
            options: RequestOptions::new(),
        }
    }

    /// Lists every tool (all pages) through an implicit guard. See [`Guard::list_tools`].
    ///
    /// # Errors
    /// As [`Guard::list_tools`].
    ///
    /// # Cancel safety
    /// As [`Guard::list_tools`].
    pub async fn list_tools(&self) -> Result<Vec<mcpmux_protocol::Tool>> {
        self.enter().await?.list_tools().await
    }
}

/// Numbers and encodes a `tools/call` request (`mcpmux_protocol::write`: cannot fail).
fn prepare_tool_call(
    session: &crate::session::Session,
    name: &str,
    arguments: Option<&JsonObject>,
    meta: Option<&JsonObject>,
) -> request::Prepared {
    let prepared = request::prepare_with(&session.conn, |id, frame| {
        mcpmux_protocol::write::encode_tool_call(frame, id, name, arguments, meta);
        Ok::<(), std::convert::Infallible>(())
    });
    let Ok(prepared) = prepared;
    prepared
}

/// A boxed step of the general path.
type Boxed<'a> = Pin<Box<dyn Future<Output = Result<CallToolResult>> + Send + 'a>>;

/// The future of a tool call ([`CallTool`] awaited). Nothing is sent before its first poll;
/// dropping it before it completes cancels the call.
#[must_use = "futures do nothing unless polled"]
pub struct CallToolFuture<'a> {
    state: State<'a>,
}

impl std::fmt::Debug for CallToolFuture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Start { .. } => "start",
            State::Waiting { .. } => "waiting",
            State::Boxed(_) => "general path",
            State::Done => "done",
        };
        f.debug_struct("CallToolFuture")
            .field("state", &state)
            .finish()
    }
}

enum State<'a> {
    /// Not polled yet.
    Start {
        guard: &'a Guard,
        name: &'a str,
        arguments: ToolArguments<'a>,
        options: RequestOptions,
    },
    /// The common path: queued, waiting for the response.
    Waiting {
        guard: &'a Guard,
        name: &'a str,
        waiting: Waiting<'a>,
    },
    /// The general path (or the structured-output check after the common one).
    Boxed(Boxed<'a>),
    /// Completed.
    Done,
}

impl Future for CallToolFuture<'_> {
    type Output = Result<CallToolResult>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // At most three turns: start, wait, then possibly the boxed check.
        loop {
            match &mut this.state {
                State::Start { .. } => {
                    let State::Start {
                        guard,
                        name,
                        arguments,
                        options,
                    } = std::mem::replace(&mut this.state, State::Done)
                    else {
                        return Poll::Ready(Err(polled_after_completion()));
                    };
                    if guard.is_plain_call(&options) {
                        match guard.queue_plain_call(name, &arguments, &options) {
                            Ok(waiting) => {
                                this.state = State::Waiting {
                                    guard,
                                    name,
                                    waiting,
                                }
                            }
                            Err(e) => return Poll::Ready(Err(e)),
                        }
                    } else {
                        this.state = State::Boxed(Box::pin(
                            guard.call_tool_general(name, arguments, options),
                        ));
                    }
                }
                State::Waiting {
                    guard,
                    name,
                    waiting,
                } => {
                    let raw = ready!(waiting.poll_result(cx, methods::TOOLS_CALL));
                    let (guard, name) = (*guard, *name);
                    this.state = State::Done;
                    let result = raw.and_then(|raw| request::parse_tool_result(&raw));
                    match result {
                        Ok(result) if guard.needs_output_check(&result) => {
                            this.state = State::Boxed(Box::pin(async move {
                                guard.check_structured_output(name, &result).await?;
                                Ok(result)
                            }));
                        }
                        Ok(result) => {
                            return Poll::Ready(
                                guard.check_missing_output(name, &result).map(|()| result),
                            );
                        }
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                State::Boxed(fut) => {
                    let result = ready!(fut.as_mut().poll(cx));
                    this.state = State::Done;
                    return Poll::Ready(result);
                }
                State::Done => return Poll::Ready(Err(polled_after_completion())),
            }
        }
    }
}

fn polled_after_completion() -> Error {
    Error::invalid("a tool call's future was polled after it completed")
}

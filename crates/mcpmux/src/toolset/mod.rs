//! [`Toolset`]: many servers as one set of tools for an agent.
//!
//! Each server's tools are offered under `SERVER` + separator + `TOOL` (`github_search` with the
//! default `_`), filtered per server ([`ToolFilter`]), from the servers' cached tool lists
//! ([`Guard::tools`], refreshed after `notifications/tools/list_changed`). Calls go through an
//! optional [`ApprovalHook`]; [`Toolset::call_many`] runs a batch concurrently. A server that fails
//! to start is reported ([`Toolset::failures`]) while the others serve, unless the toolset is
//! strict.

mod approval;
mod catalog;
mod export;
mod filter;
mod gemini;
mod names;
mod output;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt as _;
use serde_json::Value;

use crate::CallToolResult;
use crate::error::{Error, Result};
use crate::request::RequestOptions;
use crate::server::{Guard, Server};

pub use approval::{Approval, ApprovalFuture, ApprovalHook, ApprovalRequest};
use catalog::Catalog;
pub use export::{ExportedTools, Provider, ToolInfo, ToolRef, export_tools};
pub use filter::ToolFilter;
pub use output::{Part, ToolOutput};

/// The default separator between server and tool names.
pub const DEFAULT_SEPARATOR: &str = "_";

/// One server of a toolset.
#[derive(Debug)]
struct Member {
    name: String,
    server: Server,
    filter: ToolFilter,
    /// The server's connection, held for the toolset's lifetime; `None` if it failed to start
    /// (or is still starting). Replaced by a fresh one (the server's reconnect policy) when it
    /// died. Shared with a late start's task, which fills it.
    guard: Arc<std::sync::Mutex<Option<Guard>>>,
    failure: Option<Error>,
    /// A start still running after [`ToolsetBuilder::startup_wait`]; aborted with the toolset.
    late: Option<tokio::task::AbortHandle>,
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(late) = &self.late {
            late.abort();
        }
    }
}

impl Member {
    fn current_guard(&self) -> Option<Guard> {
        self.guard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A guard on a live connection: the held one, or — if it died — a new one from the
    /// server's reconnect policy, kept for the next calls. A server that has not started (yet)
    /// is taken up once its connection is up (started late, or by another user of its handle);
    /// `None` until then.
    async fn live_guard(&self) -> Option<Result<Guard, Error>> {
        let Some(held) = self.current_guard() else {
            let up = self.server.try_enter()?;
            *self
                .guard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(up.clone());
            return Some(Ok(up));
        };
        if !held.is_closed() {
            return Some(Ok(held));
        }
        drop(held);
        match self.server.enter().await {
            Ok(fresh) => {
                *self
                    .guard
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(fresh.clone());
                Some(Ok(fresh))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

struct Inner {
    members: Vec<Member>,
    separator: String,
    approval: Option<Arc<dyn ApprovalHook>>,
    catalog: Mutex<Arc<Catalog>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Toolset")
            .field("members", &self.members)
            .field("separator", &self.separator)
            .field("approval", &self.approval.is_some())
            .finish_non_exhaustive()
    }
}

/// Many MCP servers as one toolset: prefixed tool names, per-server filters, an approval hook,
/// concurrent batches, and tool definitions for model APIs.
///
/// Cheap to clone; the connections stay open while any clone lives.
///
/// # Examples
///
/// ```no_run
/// use mcpmux::{Provider, Server, ToolCall, ToolFilter, Toolset};
/// use serde_json::json;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let toolset = Toolset::builder()
///     .server("time", Server::stdio("uvx").arg("mcp-server-time").build()?)
///     .server_filtered(
///         "fs",
///         Server::stdio("npx").args(["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]).build()?,
///         ToolFilter::all().exclude(["write_file"]),
///     )
///     .build()
///     .await?; // a server that fails to start is reported, the others serve
/// for (server, error) in toolset.failures() {
///     eprintln!("{server} is unavailable: {error}");
/// }
///
/// // Tools for the model, and the way back from the names it calls.
/// let exported = toolset.export(Provider::OpenAiChat).await?;
/// let tools_json = exported.to_json();
/// # let _ = tools_json;
///
/// // The parallel calls the model made, concurrently; results in request order.
/// let results = toolset
///     .call_many(
///         [
///             ToolCall::new("time_get_current_time", json!({"timezone": "UTC"})),
///             ToolCall::new("fs.list_directory", json!({"path": "/tmp"})),
///         ],
///         Some(8),
///     )
///     .await;
/// for r in results {
///     match r {
///         Ok(result) => println!("{}", mcpmux::ToolOutput::from_result(&result)?.text()),
///         Err(e) => eprintln!("{}: {e}", e.kind()),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Toolset {
    inner: Arc<Inner>,
}

/// One call of a batch for [`Toolset::call_many`].
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The toolset's name of the tool (`server_tool`), or `server.tool`.
    pub name: String,
    /// The arguments (a JSON object, or `null`).
    pub arguments: Value,
}

impl ToolCall {
    /// A call of `name` with `arguments`.
    pub fn new(name: impl Into<String>, arguments: Value) -> Self {
        ToolCall {
            name: name.into(),
            arguments,
        }
    }
}

/// Builds a [`Toolset`].
#[must_use = "a builder does nothing until `build()` is awaited"]
pub struct ToolsetBuilder {
    servers: Vec<(String, Server, ToolFilter)>,
    separator: String,
    strict: bool,
    approval: Option<Arc<dyn ApprovalHook>>,
    startup_wait: Option<std::time::Duration>,
}

impl std::fmt::Debug for ToolsetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolsetBuilder")
            .field("servers", &self.servers)
            .field("separator", &self.separator)
            .field("strict", &self.strict)
            .field("approval", &self.approval.is_some())
            .field("startup_wait", &self.startup_wait)
            .finish()
    }
}

impl ToolsetBuilder {
    /// Adds a server, offering all its tools. `name` prefixes its tools and may not contain `.`.
    pub fn server(self, name: impl Into<String>, server: Server) -> Self {
        self.server_filtered(name, server, ToolFilter::all())
    }

    /// Adds a server, offering the tools `filter` allows.
    pub fn server_filtered(
        mut self,
        name: impl Into<String>,
        server: Server,
        filter: ToolFilter,
    ) -> Self {
        self.servers.push((name.into(), server, filter));
        self
    }

    /// The separator between server and tool names (default `_`).
    pub fn separator(mut self, separator: impl Into<String>) -> Self {
        self.separator = separator.into();
        self
    }

    /// Strict mode: if any server fails to start, `build()` fails (and every server is left).
    /// Default: a failing server is reported in [`Toolset::failures`] and the others serve.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Asks `hook` before each call is sent; a denial is that call's error.
    pub fn approval(mut self, hook: impl ApprovalHook) -> Self {
        self.approval = Some(Arc::new(hook));
        self
    }

    /// `build()` waits at most `wait` for the servers to start; one still starting then goes
    /// on starting in the background and its tools join the toolset once it is up (until
    /// then its calls fail, naming it). Default: wait for every server (each bounded by its
    /// connect timeout). Not in strict mode, which needs every server.
    ///
    /// ```
    /// let builder = mcpmux::Toolset::builder().startup_wait(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn startup_wait(mut self, wait: std::time::Duration) -> Self {
        self.startup_wait = Some(wait);
        self
    }

    /// Connects every server (concurrently) and reads its tools.
    ///
    /// # Errors
    /// A server name that is empty, repeated or contains `.`; two tools with the same prefixed
    /// name (the message names both servers); in strict mode, any server that fails to start.
    ///
    /// # Cancel safety
    /// Dropping the future leaves every server it entered.
    pub async fn build(self) -> Result<Toolset> {
        for (i, (name, _, _)) in self.servers.iter().enumerate() {
            if name.is_empty() || name.contains('.') {
                return Err(Error::invalid(format!(
                    "invalid server name `{name}`: it may not be empty or contain `.`"
                )));
            }
            if self.servers[..i].iter().any(|(n, _, _)| n == name) {
                return Err(Error::invalid(format!("two servers are named `{name}`")));
            }
        }
        let wait = self.startup_wait.filter(|_| !self.strict);
        let slots: Vec<Arc<std::sync::Mutex<Option<Guard>>>> = self
            .servers
            .iter()
            .map(|_| Arc::new(std::sync::Mutex::new(None)))
            .collect();
        let started = futures_util::future::join_all(self.servers.iter().zip(&slots).map(
            |((_, server, _), slot)| async move {
                let Some(wait) = wait else {
                    return Start::Done(start(server.clone()).await);
                };
                let mut task = tokio::spawn(start(server.clone()));
                match tokio::time::timeout(wait, &mut task).await {
                    Ok(Ok(done)) => Start::Done(done),
                    Ok(Err(e)) => Start::Done(Err(Error::invalid(format!(
                        "the server's start failed: {e}"
                    )))),
                    Err(_) => {
                        // Still starting: it goes on in the background, and its connection is
                        // kept once up.
                        let slot = slot.clone();
                        let keep = tokio::spawn(async move {
                            if let Ok(Ok((guard, _))) = task.await {
                                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(guard);
                            }
                        });
                        Start::Late(keep.abort_handle())
                    }
                }
            },
        ))
        .await;
        let mut members = Vec::with_capacity(self.servers.len());
        let mut lists = Vec::with_capacity(self.servers.len());
        let mut failures = Vec::new();
        for (((name, server, filter), outcome), slot) in
            self.servers.into_iter().zip(started).zip(slots)
        {
            let outcome = match outcome {
                Start::Done(r) => r,
                Start::Late(late) => {
                    tracing::debug!(server = %name, "still starting; its tools join when it is up");
                    lists.push(None);
                    members.push(Member {
                        name,
                        server,
                        filter,
                        guard: slot,
                        failure: None,
                        late: Some(late),
                    });
                    continue;
                }
            };
            let (guard, failure, list) = match outcome {
                Ok((guard, list)) => (Some(guard), None, Some(list)),
                Err(e) => {
                    // Debug, not warn: the failure is returned (`failures()`, or the build error
                    // with `strict`), and the caller reports it; a warning printed it twice.
                    tracing::debug!(server = %name, error = %e, "server failed to start");
                    failures.push((name.clone(), e.clone()));
                    (None, Some(e), None)
                }
            };
            lists.push(list);
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = guard;
            members.push(Member {
                name,
                server,
                filter,
                guard: slot,
                failure,
                late: None,
            });
        }
        if self.strict && !failures.is_empty() {
            return Err(Error::startup(failures));
        }
        let catalog = build_catalog(&members, lists, &self.separator)?;
        Ok(Toolset {
            inner: Arc::new(Inner {
                members,
                separator: self.separator,
                approval: self.approval,
                catalog: Mutex::new(Arc::new(catalog)),
            }),
        })
    }
}

/// How one server's start ended within the startup wait.
enum Start {
    Done(Result<(Guard, crate::ToolList)>),
    /// Still starting (in the background).
    Late(tokio::task::AbortHandle),
}

/// Connects `server` and reads its tools.
async fn start(server: Server) -> Result<(Guard, crate::ToolList)> {
    let guard = server.enter().await?;
    let tools = guard.tools().await?;
    Ok((guard, tools))
}

fn build_catalog(
    members: &[Member],
    lists: Vec<Option<crate::ToolList>>,
    separator: &str,
) -> Result<Catalog> {
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let filters: Vec<&ToolFilter> = members.iter().map(|m| &m.filter).collect();
    Catalog::build(&names, &filters, lists, separator)
}

impl Toolset {
    /// Starts building a toolset.
    pub fn builder() -> ToolsetBuilder {
        ToolsetBuilder {
            servers: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_owned(),
            strict: false,
            approval: None,
            startup_wait: None,
        }
    }

    /// The servers' names, in the order they were added.
    pub fn server_names(&self) -> impl Iterator<Item = &str> {
        self.inner.members.iter().map(|m| m.name.as_str())
    }

    /// The handle of server `name`.
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.member(name).map(|(_, m)| &m.server)
    }

    /// The connection to server `name` (`None` if unknown or it failed to start).
    pub fn guard(&self, name: &str) -> Option<Guard> {
        self.member(name).and_then(|(_, m)| m.current_guard())
    }

    /// Each server's health: connected, disconnected (reconnects on the next call), circuit open,
    /// with its last error and restart count.
    pub fn health(&self) -> Vec<(String, crate::Health)> {
        self.inner
            .members
            .iter()
            .map(|m| (m.name.clone(), m.server.health()))
            .collect()
    }

    /// The servers that failed to start, with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &Error)> {
        self.inner
            .members
            .iter()
            .filter_map(|m| m.failure.as_ref().map(|e| (m.name.as_str(), e)))
    }

    /// The separator between server and tool names.
    pub fn separator(&self) -> &str {
        &self.inner.separator
    }

    fn member(&self, name: &str) -> Option<(usize, &Member)> {
        self.inner
            .members
            .iter()
            .enumerate()
            .find(|(_, m)| m.name == name)
    }

    /// The name map, rebuilt if a server's cached tool list changed since.
    async fn catalog(&self) -> Result<Arc<Catalog>> {
        let fresh = futures_util::future::join_all(self.inner.members.iter().map(|m| async move {
            match m.live_guard().await {
                Some(Err(e)) => {
                    tracing::warn!(server = %m.name, error = %e, "cannot reconnect");
                    None
                }
                Some(Ok(g)) => match g.tools().await {
                    Ok(list) => Some(Some(list)),
                    Err(e) => {
                        tracing::warn!(server = %m.name, error = %e, "cannot refresh the tool list");
                        None
                    }
                },
                None => Some(None),
            }
        }))
        .await;
        let current = self.current_catalog();
        // A list that could not be refreshed stays as it was.
        let lists: Vec<Option<crate::ToolList>> = fresh
            .into_iter()
            .enumerate()
            .map(|(i, f)| f.unwrap_or_else(|| current.lists.get(i).cloned().flatten()))
            .collect();
        if current.built_from(&lists) {
            return Ok(current);
        }
        let catalog = Arc::new(build_catalog(
            &self.inner.members,
            lists,
            &self.inner.separator,
        )?);
        *self
            .inner
            .catalog
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = catalog.clone();
        Ok(catalog)
    }

    fn current_catalog(&self) -> Arc<Catalog> {
        self.inner
            .catalog
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every offered tool, in server order, under its prefixed name (from the cached lists,
    /// refreshed after `list_changed`).
    ///
    /// # Errors
    /// A refreshed list introduced a name conflict.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the fetch it started; the cache stays as it was, and a
    /// caller waiting on the same fetch starts its own.
    pub async fn tools(&self) -> Result<Vec<ToolInfo>> {
        let catalog = self.catalog().await?;
        Ok(catalog
            .slots
            .iter()
            .filter_map(|slot| {
                Some(ToolInfo {
                    name: slot.name.clone(),
                    server: self.inner.members[slot.member].name.clone(),
                    tool: catalog.tool(slot)?.clone(),
                })
            })
            .collect())
    }

    /// Tool definitions for `provider`'s API (see [`export_tools`]).
    ///
    /// # Errors
    /// As [`tools`](Self::tools).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the list refreshes it started; the toolset's names stay as
    /// they were.
    pub async fn export(&self, provider: Provider) -> Result<ExportedTools> {
        export_tools(provider, &self.tools().await?)
    }

    /// Which server and tool `name` means: an exact prefixed name first, else `server.tool`
    /// (split at the first `.`).
    ///
    /// # Errors
    /// [`ErrorKind::UnknownTool`](crate::ErrorKind::UnknownTool) if neither matches an offered
    /// tool.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the list refreshes it started; the toolset's names stay as
    /// they were.
    pub async fn resolve(&self, name: &str) -> Result<ToolRef> {
        let catalog = self.catalog().await.map_err(refresh_failed)?;
        self.resolve_in(&catalog, name)
    }

    fn resolve_in(&self, catalog: &Catalog, name: &str) -> Result<ToolRef> {
        if let Some(slot) = catalog.get(name) {
            return Ok(self.tool_ref(catalog, slot));
        }
        let Some((server, tool)) = name.split_once('.') else {
            return Err(Error::unknown_tool(None, format!("unknown tool `{name}`")));
        };
        let Some((member, m)) = self.member(server) else {
            return Err(Error::unknown_tool(
                None,
                format!("unknown tool `{name}`: there is no server `{server}`"),
            ));
        };
        if let Some(failure) = &m.failure {
            return Err(Error::unavailable_server(server, failure));
        }
        if catalog.lists[member].is_none() && m.late.is_some() {
            return Err(Error::unavailable_server(
                server,
                &Error::invalid("the server is still starting"),
            ));
        }
        match catalog.find(member, tool) {
            Some(slot) => Ok(self.tool_ref(catalog, slot)),
            None => {
                let exists = catalog.lists[member]
                    .as_ref()
                    .is_some_and(|l| l.get(tool).is_some());
                let why = if exists {
                    "it is excluded by the server's tool filter"
                } else {
                    "the server has no such tool"
                };
                Err(Error::unknown_tool(
                    Some(server),
                    format!("unknown tool `{name}`: {why}"),
                ))
            }
        }
    }

    fn tool_ref(&self, catalog: &Catalog, slot: &catalog::Slot) -> ToolRef {
        ToolRef {
            server: self.inner.members[slot.member].name.clone(),
            tool: catalog
                .tool(slot)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            name: slot.name.clone(),
        }
    }

    /// Calls a tool by its prefixed name (or `server.tool`); per-call options go on the
    /// returned [`ToolsetCall`], then `.await` it.
    ///
    /// # Errors
    /// An [`Error`] naming the server ([`Error::server`]):
    /// [`ErrorKind::UnknownTool`](crate::ErrorKind::UnknownTool),
    /// [`ErrorKind::Denied`](crate::ErrorKind::Denied) by the
    /// approval hook, the server unavailable ([`Error::is_connect`]), or the call's own failure
    /// (timeout, closed, server error, ...). A tool that reports failure (`isError`) is an `Ok`
    /// result.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the call (`notifications/cancelled`).
    pub fn call<'a>(&'a self, name: &'a str, arguments: Value) -> ToolsetCall<'a> {
        ToolsetCall {
            toolset: self,
            target: Named::Name(name),
            arguments,
            options: RequestOptions::new(),
        }
    }

    /// Calls `tool` of `server` directly (as [`resolve`](Self::resolve) or
    /// [`ExportedTools::resolve`] gave them).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    ///
    /// # Cancel safety
    /// As [`call`](Self::call).
    pub fn call_target<'a>(&'a self, target: &'a ToolRef, arguments: Value) -> ToolsetCall<'a> {
        ToolsetCall {
            toolset: self,
            target: Named::Ref(target),
            arguments,
            options: RequestOptions::new(),
        }
    }

    async fn run_call(
        &self,
        target: Named<'_>,
        arguments: Value,
        options: RequestOptions,
    ) -> Result<CallToolResult> {
        let catalog = self.catalog().await.map_err(refresh_failed)?;
        let target = match target {
            Named::Name(name) => self.resolve_in(&catalog, name)?,
            Named::Ref(r) => self.resolve_in(&catalog, &format!("{}.{}", r.server, r.tool))?,
        };
        self.call_resolved(&catalog, &target, arguments, options)
            .await
    }

    async fn call_resolved(
        &self,
        catalog: &Catalog,
        target: &ToolRef,
        arguments: Value,
        options: RequestOptions,
    ) -> Result<CallToolResult> {
        let server = target.server.as_str();
        let Some((member, m)) = self.member(server) else {
            return Err(Error::unknown_tool(
                None,
                format!("there is no server `{server}`"),
            ));
        };
        let guard = match m.live_guard().await {
            Some(Ok(g)) => g,
            Some(Err(e)) => return Err(Error::unavailable_server(server, &e)),
            None => {
                let failure = m.failure.clone().unwrap_or_else(|| {
                    Error::invalid(if m.late.is_some() {
                        "the server is still starting"
                    } else {
                        "the server did not start"
                    })
                });
                return Err(Error::unavailable_server(server, &failure));
            }
        };
        if !(arguments.is_object() || arguments.is_null()) {
            return Err(Error::invalid(format!(
                "the arguments of `{}` must be a JSON object",
                target.name
            ))
            .for_server(server));
        }
        if let Some(hook) = &self.inner.approval {
            let tool = catalog
                .find(member, &target.tool)
                .and_then(|slot| catalog.tool(slot))
                .cloned();
            if let Some(tool) = tool {
                let request = ApprovalRequest {
                    name: target.name.clone(),
                    server: server.to_owned(),
                    tool,
                    arguments: arguments.clone(),
                };
                if let Approval::Deny(reason) = hook.check(request).await {
                    return Err(Error::denied(
                        server,
                        format!("call of `{}` denied: {reason}", target.name),
                    ));
                }
            }
        }
        guard
            .call_tool(&target.tool, arguments)
            .options(options)
            .await
            .map_err(|e| e.for_server(server))
    }

    /// Runs a batch of calls concurrently across servers, at most `limit` at once (`None`: no
    /// limit). Results come back in request order, each its own `Result`: one failing call or
    /// server never aborts the others.
    ///
    /// # Cancel safety
    /// Dropping the future cancels every call still in flight.
    pub async fn call_many<I>(&self, calls: I, limit: Option<usize>) -> Vec<Result<CallToolResult>>
    where
        I: IntoIterator<Item = ToolCall>,
    {
        let limit = limit.unwrap_or(usize::MAX).max(1);
        futures_util::stream::iter(calls)
            .map(|c| async move { self.call(&c.name, c.arguments).await })
            .buffered(limit)
            .collect()
            .await
    }
}

/// What a [`ToolsetCall`] calls.
#[derive(Debug, Clone, Copy)]
enum Named<'a> {
    Name(&'a str),
    Ref(&'a ToolRef),
}

/// A call being built: [`Toolset::call`] or [`Toolset::call_target`]. Set per-call options,
/// then `.await` it.
///
/// # Cancel safety
/// Dropping the awaited future cancels the call (`notifications/cancelled`).
#[derive(Debug)]
#[must_use = "a tool call does nothing until it is awaited"]
pub struct ToolsetCall<'a> {
    toolset: &'a Toolset,
    target: Named<'a>,
    arguments: Value,
    options: RequestOptions,
}

impl ToolsetCall<'_> {
    crate::request::option_setters!();
}

impl<'a> std::future::IntoFuture for ToolsetCall<'a> {
    type Output = Result<CallToolResult>;
    type IntoFuture =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<CallToolResult>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(
            self.toolset
                .run_call(self.target, self.arguments, self.options),
        )
    }
}

/// A catalog that could not be rebuilt during a call (a refreshed list brought a name
/// conflict): the server broke the toolset's naming, reported as a protocol error.
fn refresh_failed(e: Error) -> Error {
    Error::protocol(e.to_string())
}

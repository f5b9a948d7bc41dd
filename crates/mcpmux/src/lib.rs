/*!
mcpmux: one shared MCP connection per server, any number of concurrent requests on it, and a
clean shutdown from any task or thread.

An MCP server is reached through a [`Server`] handle: cheap to clone, safe to share. Its
connection is owned by a background task, never by the caller that opened it, so no caller's
lifetime (or cancellation) can tear it down under another. Users are counted by [`Guard`]s — the
Rust form of `async with server:` — and when the last one goes, from any task or thread, the
connection shuts down cleanly: stdin closed, a wait, SIGTERM to the process group, a wait,
SIGKILL, and the process reaped.

# Brief overview

- [`Server::stdio`] → [`ServerBuilder`] → [`Server`]: the handle. Nothing runs until first use.
- [`Server::enter`] → [`Guard`]: one user of the shared connection; calls go through it (or
  through the handle, which holds an implicit guard per call).
- [`Guard::call_tool`] → [`CallTool`], a request builder (`.timeout()`, `.on_progress()`,
  `.meta()`, then `.await`); [`Guard::list_tools`], [`Guard::tools`] (cached),
  [`Guard::request`]: requests, multiplexed by id on the one connection. Dropping a request's
  future sends `notifications/cancelled`.
- [`Toolset`]: many servers as one set of tools for an agent: name prefixes, filters, cached
  lists, function definitions for LLM APIs ([`Toolset::export`]), parallel calls
  ([`Toolset::call_many`]), an approval hook.
- [`Server::notifications`]: progress, log and list-changed notifications, bounded.
- [`Error`]: the one error type, of the library and the toolset alike; [`Error::kind`] tells
  closed / timeout / server error / protocol / spawn / unknown tool / denied apart without
  parsing text, [`Error::server`] names the server.
- [`protocol`]: the MCP message types (the wire plumbing stays in `mcpmux-protocol`).

The crate's layers, and where a message enters, is routed and leaves, are drawn in
ARCHITECTURE.md at the repository root.

# Example

```no_run
use serde_json::json;

#[tokio::main]
async fn main() -> mcpmux::Result<()> {
    let server = mcpmux::Server::stdio("mcpmux-test-server").build()?;
    let guard = server.enter().await?;
    let (a, b) = tokio::join!(
        guard.call_tool("echo", json!({"text": "one"})),
        guard.call_tool("sleep", json!({"ms": 50})),
    );
    println!("{} / {}", a?.text(), b?.text());
    drop(guard); // last user: the server process is shut down and reaped in the background
    Ok(())
}
```
*/
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(unused_must_use)]

// The layers, each importing only those below it (ARCHITECTURE.md; `scripts/layers.py` checks).
pub mod auth;
mod builder;
mod connection;
mod error;
mod features;
mod handler;
mod http_client;
mod notification;
mod request;
mod server;
mod session;
mod toolset;
mod transport;

pub use builder::ServerBuilder;
pub use error::{CloseReason, Error, ErrorKind, Result};
pub use features::skills::{LoadedSkill, SKILLS_EXTENSION, SkillEntry, SkillFile};
pub use features::tasks::TaskHandle;
pub use features::tools::ToolList;
pub use features::tools::call::{CallTool, CallToolFuture, ToolArguments};
pub use handler::{ElicitationHandler, HandlerFuture, SamplingHandler};
pub use notification::{Notifications, Received, ServerNotification};
pub use request::RequestOptions;
pub use server::{Guard, Request, Server};
pub use session::listen::{ListenFilter, Subscription};
pub use session::recovery::{Health, HealthState, ReconnectPolicy};
pub use session::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_INITIALIZE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};
pub use toolset::{
    Approval, ApprovalFuture, ApprovalHook, ApprovalRequest, DEFAULT_SEPARATOR, ExportedTools,
    Part, Provider, ToolCall, ToolFilter, ToolInfo, ToolOutput, ToolRef, Toolset, ToolsetBuilder,
    ToolsetCall, export_tools,
};
pub use transport::DEFAULT_MAX_MESSAGE_SIZE;
pub use transport::http::HttpMode;
pub use transport::process::INHERITED_ENV;

/// The MCP message types: requests' parameters and results, content, capabilities, ids and
/// protocol versions, as `mcpmux-protocol` defines them.
///
/// The wire plumbing of that crate (the decoder, the line framer, the SSE parser, the fast-path
/// scanners and writers) is not re-exported: it is low-level, public there for benchmarks and
/// fuzzers, and not part of this crate's API.
pub mod protocol {
    pub use mcpmux_protocol::types::*;
    pub use mcpmux_protocol::{ErrorObject, ProtocolVersion, RequestId};
}
pub use mcpmux_protocol::{CallToolResult, Content, InitializeResult, ProtocolVersion, Tool};

#[allow(dead_code)]
fn _assert_impls() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    send_sync_clone::<Server>();
    send_sync_clone::<Guard>();
    send_sync_clone::<Error>();
}

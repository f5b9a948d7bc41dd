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
- [`Guard::call_tool`], [`Guard::list_tools`], [`Guard::request`]: requests, multiplexed by id on
  the one connection. Dropping a request's future sends `notifications/cancelled`.
- [`Server::notifications`]: progress, log and list-changed notifications, bounded.
- [`Error`]: one error type; [`Error::kind`] tells closed / timeout / server error / protocol /
  spawn apart without parsing text.

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

mod cache;
mod call;
mod config;
mod connection;
mod deadlines;
mod error;
mod features;
mod handler;
mod lifecycle;
mod listen;
mod notification;
mod raw_result;
mod recovery;
mod request;
mod server;
mod skills;
mod stateless;
mod tasks;
mod toolset;
mod transport;

pub use config::{
    DEFAULT_INITIALIZE_TIMEOUT, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_REQUEST_TIMEOUT, HttpMode,
    INHERITED_ENV, ServerBuilder,
};
pub use error::{CloseReason, Error, ErrorKind, Result};
pub use features::ToolList;
pub use handler::{ElicitationHandler, HandlerFuture, SamplingHandler};
pub use listen::{ListenFilter, Subscription};
pub use notification::{Notifications, Received, ServerNotification};
pub use recovery::{Health, HealthState, ReconnectPolicy};
pub use request::RequestOptions;
pub use server::{Guard, Server};
pub use skills::{LoadedSkill, SKILLS_EXTENSION, SkillEntry, SkillFile};
pub use tasks::TaskHandle;
pub use toolset::{
    Approval, ApprovalFuture, ApprovalHook, ApprovalRequest, CallError, CallErrorKind,
    DEFAULT_SEPARATOR, ExportedTools, Part, Provider, ToolCall, ToolFilter, ToolInfo, ToolOutput,
    ToolRef, Toolset, ToolsetBuilder, ToolsetError, export_tools,
};

/// The protocol types, re-exported.
pub use mcpmux_protocol as protocol;
pub use mcpmux_protocol::{CallToolResult, Content, InitializeResult, ProtocolVersion, Tool};

#[allow(dead_code)]
fn _assert_impls() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    send_sync_clone::<Server>();
    send_sync_clone::<Guard>();
    send_sync_clone::<Error>();
}

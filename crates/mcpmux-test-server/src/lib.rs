//! `mcpmux-test-server`: a small, fast, scriptable MCP server used by mcpmux's
//! tests, benchmarks and demo.
//!
//! It speaks newline-delimited JSON-RPC 2.0 (the MCP stdio transport) and
//! offers a set of deterministic tools (`echo`, `add`, `sleep`, ...) plus
//! fault-injection tools and startup flags (`crash`, `hang`, `garbage`,
//! `--ignore-sigterm`, ...) for exercising a client's error handling.
//!
//! Messages are handled as [`serde_json::Value`]s on purpose: this crate
//! shares no types with the client, so it can catch mistakes that a shared
//! type definition would hide.
//!
//! Every request runs in its own tokio task; all output goes through a single
//! channel to one writer task, which flushes whenever the channel is
//! momentarily empty.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let opts = mcpmux_test_server::Options::default();
//! mcpmux_test_server::serve_stdio(opts).await
//! # }
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod faults;
mod jsonrpc;
mod options;
mod output;
mod server;
mod tools;

pub use options::Options;
pub use server::{serve, serve_stdio};
pub use tools::{TOOL_NAMES, tool_definitions};

/// The `serverInfo.name` this server reports in its `initialize` result.
pub const SERVER_NAME: &str = "mcpmux-test-server";

/// The `serverInfo.version` this server reports (the crate version).
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// MCP protocol versions the server accepts; a client asking for one of these
/// gets it echoed back in the `initialize` result.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] =
    &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// The protocol version answered when the client asks for an unknown one.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// The largest `big` / `stderr` payload the server will produce (256 MiB).
pub const MAX_PAYLOAD_BYTES: u64 = 256 * 1024 * 1024;

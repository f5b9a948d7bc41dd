//! `mcpmux-test-server`: a small, fast, scriptable MCP server used by mcpmux's
//! tests, benchmarks and demo.
//!
//! # Brief overview
//!
//! - stdio: [`serve`] / [`serve_stdio`] speak newline-delimited JSON-RPC 2.0
//!   (the MCP stdio transport), configured by [`Options`].
//! - HTTP: [`start_http`] / [`serve_http`] / [`run_http`] serve Streamable
//!   HTTP on `/mcp` and the legacy HTTP+SSE transport on `/sse` +
//!   `/messages`, configured by [`HttpOptions`] (JSON or SSE answers,
//!   stateless, session expiry, event ids and resumption, priming, 503s,
//!   legacy-only), and count what clients do in [`Stats`]. HTTP/1.1 and
//!   prior-knowledge h2c on one listener, or HTTPS with ALPN `h2` and
//!   `http/1.1` ([`HttpOptions::tls_cert`]; [`test_certs`] makes a throw-away
//!   CA and certificate).
//!
//! - model: [`model`] is a scripted OpenAI- and Anthropic-compatible model server, for testing
//!   agents end to end.
//!
//! Both offer the same deterministic tools (`echo`, `add`, `sleep`, ...) and
//! fault-injection tools (`crash`, `hang`, `garbage`, ...); HTTP adds
//! `drop_stream`. Startup flags (`--ignore-sigterm`, ...) exercise a
//! client's error handling.
//!
//! Messages are handled as [`serde_json::Value`]s on purpose: this crate
//! shares no types with the client, so it can catch mistakes that a shared
//! type definition would hide. One transport-independent core turns each
//! incoming message into its response and notifications; every request runs
//! in its own tokio task.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let opts = mcpmux_test_server::Options::default();
//! mcpmux_test_server::serve_stdio(opts).await
//! # }
//! ```
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let server = mcpmux_test_server::start_http(Default::default()).await?;
//! println!("{} / {}", server.url_mcp, server.url_sse);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod fault_tools;
mod faults;
mod handler;
mod http;
mod jsonrpc;
pub mod model;
mod options;
mod order;
mod output;
mod stats;
mod stdio;
pub mod test_certs;
mod tools;

pub use fault_tools::FAULT_TOOL_NAMES;
pub use http::{HttpOptions, HttpServer, listen, run_http, serve_http, start_http, start_http_on};
pub use options::Options;
pub use order::MemberOrder;
pub use stats::Stats;
pub use stdio::{serve, serve_stdio};
pub use tools::{HTTP_ONLY_TOOL_NAMES, TOOL_NAMES, tool_definitions};

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

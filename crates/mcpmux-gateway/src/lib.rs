/*!
The MCP server side of mcpmux: a [`Gateway`] serves the tools of many MCP servers (a
[`mcpmux::Toolset`]) as one MCP server, forwarding every call over the toolset's shared upstream
connections. `mcpmux serve` runs it on stdin/stdout.

What it speaks (this slice): `initialize` (2024-11-05 … 2025-11-25, see [`negotiate`]),
`notifications/initialized`, `ping`, `tools/list` (the union of the upstreams' tools, each
definition passed through under its offered name, see [`Prefix`]), `tools/call` (an upstream
that fails or is down answers a tool result with `isError: true` naming the server and the
reason), `notifications/cancelled` (the forwarded call is dropped, which cancels it upstream),
and JSON-RPC batches. Unknown methods get -32601, lines that are not JSON -32700, other invalid
messages -32600. Requests run concurrently; one writer task writes whole response lines.

# Example

```no_run
use mcpmux::{Server, Toolset};
use mcpmux_gateway::{Gateway, Prefix};

# async fn run() -> Result<(), Box<dyn std::error::Error>> {
let toolset = Toolset::builder()
    .server("time", Server::stdio("uvx").arg("mcp-server-time").build()?)
    .server("fetch", Server::stdio("uvx").arg("mcp-server-fetch").build()?)
    .build()
    .await?; // a server that fails to start is left out; the others serve
let gateway = Gateway::new(toolset, Prefix::Auto).await?;
gateway.serve_stdio().await?; // until stdin closes
# Ok(()) }
```
*/
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod catalog;
mod dispatch;
mod error;
mod events;
mod forward;
mod http;
mod incoming;
mod inflight;
mod listen;
mod message;
mod metrics;
mod modern;
mod mrtr;
mod names;
mod relay;
mod serve;
mod session;
mod skills;
mod state;
mod tasks;
mod tools;
mod version;

use std::sync::{Arc, Mutex, PoisonError, Weak};

use mcpmux::Toolset;
use mcpmux_protocol::LoggingLevel;

pub use error::GatewayError;
pub use http::HttpOptions;
pub use listen::{LISTEN_BACKLOG, listen};
pub use names::{MAX_TOOL_NAME, Prefix, is_valid_tool_name};
pub use relay::Relay;
pub use version::negotiate;

use catalog::{Catalog, Want};
use metrics::Metrics;
use names::ToolMap;
use session::{Downstream, Outbox};

/// Many MCP servers served as one: the tools of a [`Toolset`] under the names [`Prefix`]
/// chooses. Cheap to clone.
///
/// # Examples
///
/// Serving over any pair of byte streams (here an in-memory pipe, with no upstream at all):
///
/// ```
/// use mcpmux_gateway::{Gateway, Prefix};
/// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let toolset = mcpmux::Toolset::builder().build().await?;
/// let gateway = Gateway::new(toolset, Prefix::Always).await?;
/// let (mut to_gateway, gateway_in) = tokio::io::duplex(4096);
/// let (gateway_out, from_gateway) = tokio::io::duplex(4096);
/// let serving = tokio::spawn(async move { gateway.serve(gateway_in, gateway_out).await });
///
/// to_gateway.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n").await?;
/// let mut lines = BufReader::new(from_gateway).lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#));
/// drop(to_gateway); // EOF: the gateway finishes
/// serving.await??;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    toolset: Toolset,
    prefix: Prefix,
    map: Mutex<Arc<ToolMap>>,
    metrics: Metrics,
    /// The resources, templates and prompts as last listed.
    catalog: Mutex<Arc<Catalog>>,
    /// What runs where, and the relay of upstream requests to clients.
    relay: Relay,
    /// Every client session (dropped ones are pruned as found).
    sessions: Mutex<Vec<Weak<Downstream>>>,
    subscriptions: events::Subscriptions,
    /// Seals the `requestState` of multi-round-trip requests.
    sealer: std::sync::RwLock<state::Sealer>,
    /// Calls waiting for a modern client's input.
    parked: mrtr::ParkedCalls,
    /// Which upstream owns each task id handed out.
    tasks: tasks::Owners,
    /// Dropped with the gateway: its background tasks (upstream watchers) end.
    _alive: tokio::sync::watch::Sender<()>,
}

impl Gateway {
    /// A gateway over `toolset`, naming its tools by `prefix`. Reads the tool lists once.
    ///
    /// # Errors
    /// [`GatewayError::NameConflict`] when two tools would be offered under one name (with
    /// [`Prefix::Never`]: two servers offer the same tool name); [`GatewayError::List`] when the
    /// toolset's names conflict.
    pub async fn new(toolset: Toolset, prefix: Prefix) -> Result<Gateway, GatewayError> {
        Gateway::with_relay(toolset, prefix, Relay::new()).await
    }

    /// A gateway over `toolset` whose upstreams were built with `relay`'s handlers
    /// ([`Relay::install`]): their sampling and elicitation requests reach the client whose
    /// call is running there.
    ///
    /// # Errors
    /// As [`Gateway::new`].
    pub async fn with_relay(
        toolset: Toolset,
        prefix: Prefix,
        relay: Relay,
    ) -> Result<Gateway, GatewayError> {
        let map = ToolMap::build(toolset.tools().await?, prefix)?;
        let (alive, watching) = tokio::sync::watch::channel(());
        let gateway = Gateway {
            inner: Arc::new(Inner {
                toolset,
                prefix,
                map: Mutex::new(Arc::new(map)),
                metrics: Metrics::new(),
                catalog: Mutex::new(Arc::new(Catalog::default())),
                relay,
                sessions: Mutex::new(Vec::new()),
                subscriptions: events::Subscriptions::default(),
                sealer: std::sync::RwLock::new(state::Sealer::random()),
                parked: mrtr::ParkedCalls::default(),
                tasks: tasks::Owners::default(),
                _alive: alive,
            }),
        };
        events::start(&gateway, &watching);
        Ok(gateway)
    }

    /// Seals the `requestState` of 2026-07-28 multi-round-trip requests with a key derived
    /// from `secret` instead of a random one of this process's, so that several gateways behind
    /// one load balancer open each other's states (give them all the same secret, of at least
    /// 32 random bytes). Call it before serving: states sealed before are no longer accepted.
    pub fn state_secret(&self, secret: &[u8]) {
        *self
            .inner
            .sealer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = state::Sealer::from_secret(secret);
    }

    /// The sealer of `requestState`s.
    pub(crate) fn sealer(&self) -> state::Sealer {
        self.inner
            .sealer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The toolset served.
    pub fn toolset(&self) -> &Toolset {
        &self.inner.toolset
    }

    /// The gateway's metrics in Prometheus' text format (what `/metrics` serves): forwarded
    /// tool calls (`mcpmux_gateway_tool_calls_total`), those that failed or answered `isError`
    /// (`mcpmux_gateway_tool_call_errors_total`) and their latency
    /// (`mcpmux_gateway_tool_call_seconds`), labelled by `server` and upstream `tool`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let toolset = mcpmux::Toolset::builder().build().await?;
    /// let gateway = mcpmux_gateway::Gateway::new(toolset, mcpmux_gateway::Prefix::Always).await?;
    /// // No call forwarded yet: no series, only the end marker.
    /// assert_eq!(gateway.metrics_text(), "# EOF\n");
    /// # Ok(()) }
    /// ```
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.render()
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The names of the tools offered now (as `tools/list` last showed them).
    pub fn tool_names(&self) -> Vec<String> {
        self.current_map()
            .tools
            .iter()
            .map(|e| e.tool.name.clone())
            .collect()
    }

    /// The naming mode.
    pub(crate) fn prefix(&self) -> Prefix {
        self.inner.prefix
    }

    /// A new client session whose unrelated messages go to `outbox`.
    pub(crate) fn open_session(&self, outbox: Outbox) -> Arc<Downstream> {
        let session = Downstream::new(outbox);
        let mut sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sessions.retain(|w| w.strong_count() > 0);
        sessions.push(Arc::downgrade(&session));
        session
    }

    /// The client sessions open now.
    pub(crate) fn sessions(&self) -> Vec<Arc<Downstream>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// The lowest log level any client asked for (`None`: none asked).
    pub(crate) fn lowest_log_level(&self) -> Option<LoggingLevel> {
        self.sessions().iter().filter_map(|s| s.log_level()).min()
    }

    /// The catalog as last read.
    pub(crate) fn last_catalog(&self) -> Arc<Catalog> {
        self.inner
            .catalog
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The catalog read afresh (the `want` lists; the others as last read), kept as the last.
    pub(crate) async fn catalog(&self, want: &[Want]) -> Arc<Catalog> {
        let fresh = Arc::new(catalog::read(self, want).await);
        let mut last = self
            .inner
            .catalog
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let merged = Arc::new(last.merged_with(&fresh, want));
        *last = merged.clone();
        merged
    }

    fn current_map(&self) -> Arc<ToolMap> {
        self.inner
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The name map, rebuilt from the upstreams' current (cached) lists. If they cannot be read
    /// or would bring a name conflict, the previous map stays (and the reason is logged).
    async fn refreshed_map(&self) -> Arc<ToolMap> {
        let built = match self.inner.toolset.tools().await {
            Ok(infos) => ToolMap::build(infos, self.inner.prefix),
            Err(e) => Err(GatewayError::List(e)),
        };
        match built {
            Ok(map) => {
                let map = Arc::new(map);
                *self
                    .inner
                    .map
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = map.clone();
                map
            }
            Err(e) => {
                tracing::warn!(error = %e, "keeping the previous tool list");
                self.current_map()
            }
        }
    }
}

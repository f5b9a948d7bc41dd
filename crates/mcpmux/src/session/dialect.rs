//! The protocol dialect of a session, chosen once by the handshake.
//!
//! Session-based MCP (2024-11-05 … 2025-11-25, after `initialize`) and stateless MCP
//! (2026-07-28, after `server/discover`) differ in how requests are framed (per-request `_meta`
//! and routing headers), what keeps state (a session on the server, or every request carrying
//! it), how input requests reach the client (server requests, or `input_required` round
//! trips), how subscriptions and the log level are set, and which round trip is the cheap
//! ping. Every one of those differences is a method here; nothing outside this module asks
//! which dialect is spoken. What the transport must know (headers) is handed down as plain
//! values with each request.

use std::sync::Arc;
use std::time::Duration;

use mcpmux_protocol::{JsonObject, LoggingLevel, SetLevelParams, Tool, UriParams, methods};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::Session;
use super::stateless::{self, Stateless};
use crate::error::{Error, Result};
use crate::request::{self, RequestOptions};

/// How a session speaks MCP.
#[derive(Debug)]
pub(crate) enum Dialect {
    /// Session-based MCP: `initialize`, a session on the server (over HTTP, `Mcp-Session-Id`),
    /// server-to-client requests, `resources/subscribe`, `logging/setLevel`, `ping`.
    Sessions,
    /// Stateless MCP (2026-07-28): every request carries its `_meta` and routing headers;
    /// input requests come back as `input_required` results; `subscriptions/listen`.
    Stateless(Stateless),
}

impl Dialect {
    /// Whether a tool call may take the allocation-free common path (framing untouched).
    pub(crate) fn plain_calls(&self) -> bool {
        matches!(self, Dialect::Sessions)
    }

    /// Sends one request and waits for its raw result; stateless requests are framed, retried
    /// once on a version mismatch the server can resolve, and driven through their
    /// `input_required` round trips.
    pub(crate) async fn send<P: Serialize + ?Sized>(
        &self,
        session: &Session,
        method: &str,
        params: Option<&P>,
        timeout: Duration,
        options: Option<&RequestOptions>,
    ) -> Result<Box<RawValue>> {
        match self {
            Dialect::Sessions => {
                let headers = options.map(|o| o.headers().to_vec()).unwrap_or_default();
                request::send(
                    &session.conn,
                    method,
                    params,
                    headers,
                    timeout,
                    options,
                    false,
                )
                .await
            }
            Dialect::Stateless(s) => {
                let value = params
                    .map(serde_json::to_value)
                    .transpose()
                    .map_err(|e| {
                        Error::invalid_input(format!("could not encode {method} parameters"), e)
                    })?
                    .unwrap_or(Value::Null);
                let log_level = session.state().log_level();
                if options.is_some_and(RequestOptions::passes_input_required) {
                    return s
                        .send(
                            &session.conn,
                            method,
                            Some(value),
                            log_level,
                            timeout,
                            options,
                        )
                        .await;
                }
                stateless::round_trips(&session.settings.handlers, value, |p| async move {
                    s.send(&session.conn, method, Some(p), log_level, timeout, options)
                        .await
                })
                .await
            }
        }
    }

    /// The cheapest round trip: `ping`, or `server/discover` where `ping` is gone.
    pub(crate) fn ping_method(&self) -> &'static str {
        match self {
            Dialect::Sessions => methods::PING,
            Dialect::Stateless(_) => mcpmux_protocol::stateless::DISCOVER,
        }
    }

    /// Subscribes to (or unsubscribes from) updates of `uri`, and remembers it for later
    /// connections.
    pub(crate) async fn subscribe(
        &self,
        session: &Arc<Session>,
        uri: &str,
        on: bool,
    ) -> Result<()> {
        match self {
            Dialect::Sessions => {
                if !on {
                    session.state().subscribed(uri, false);
                }
                let method = if on {
                    methods::RESOURCES_SUBSCRIBE
                } else {
                    methods::RESOURCES_UNSUBSCRIBE
                };
                let params = UriParams {
                    uri: uri.to_owned(),
                };
                session
                    .request(method, Some(&params), &RequestOptions::new())
                    .await?;
                if on {
                    // Restored on every later connection (and HTTP session) of this server.
                    session.state().subscribed(uri, true);
                }
                Ok(())
            }
            Dialect::Stateless(_) => {
                // No resources/subscribe: a managed subscriptions/listen stream carries the
                // updates.
                session.state().subscribed(uri, on);
                session
                    .listen
                    .refresh(session, session.state().subscribed_uris());
                Ok(())
            }
        }
    }

    /// Sets the minimum level of log messages (`logging/setLevel`, or in every later stateless
    /// request's `_meta`), and remembers it for later connections.
    pub(crate) async fn set_log_level(&self, session: &Session, level: LoggingLevel) -> Result<()> {
        session.state().set_log_level(level);
        match self {
            Dialect::Sessions => {
                session
                    .request(
                        methods::LOGGING_SET_LEVEL,
                        Some(&SetLevelParams { level }),
                        &RequestOptions::new(),
                    )
                    .await?;
                Ok(())
            }
            Dialect::Stateless(_) => Ok(()),
        }
    }

    /// Re-applies the session state the user set up on earlier connections (subscriptions, log
    /// level) before anyone uses a new one. Failures are logged, not fatal.
    pub(crate) async fn restore(&self, session: &Arc<Session>) {
        match self {
            Dialect::Sessions => {
                for (method, params) in session.state().restore_requests() {
                    let r = session
                        .request(method, Some(&params), &RequestOptions::new())
                        .await;
                    if let Err(e) = r {
                        tracing::warn!(server = %session.name(), "could not restore {method} {params}: {e}");
                    }
                }
            }
            Dialect::Stateless(_) => {
                // No session on the server: subscriptions live in a subscriptions/listen
                // stream, and the log level travels in each request's _meta.
                session
                    .listen
                    .refresh(session, session.state().subscribed_uris());
            }
        }
    }

    /// How long a list the server just sent stays fresh, from its `ttlMs` (2026-07-28 caching
    /// hints): a stateless server's list without `ttlMs` is stale at once; an older server's
    /// list stays until its `list_changed` (`None`), unless it sent a `ttlMs` anyway.
    pub(crate) fn list_freshness(&self, ttl_ms: Option<u64>) -> Option<Duration> {
        match self {
            Dialect::Sessions => ttl_ms.map(Duration::from_millis),
            Dialect::Stateless(_) => Some(ttl_ms.map_or(Duration::ZERO, Duration::from_millis)),
        }
    }

    /// Drops the tools a client must not use, and says how long a listed page stays fresh
    /// ([`list_freshness`](Self::list_freshness)).
    pub(crate) fn usable_tools(
        &self,
        session: &Session,
        tools: &mut Vec<Tool>,
        ttl_ms: Option<u64>,
    ) -> Option<Duration> {
        match self {
            Dialect::Sessions => {}
            Dialect::Stateless(_) => {
                // A tool whose `x-mcp-header` annotations are invalid must not be used; the
                // others stay usable.
                tools.retain(|t| {
                    match mcpmux_protocol::stateless::param_headers(&t.input_schema) {
                        Ok(_) => true,
                        Err(why) => {
                            tracing::warn!(server = %session.name(), tool = %t.name, "tool excluded: {why}");
                            false
                        }
                    }
                });
            }
        }
        self.list_freshness(ttl_ms)
    }

    /// The per-call HTTP headers of a call of a tool with this input schema (stateless MCP's
    /// `Mcp-Param-*`; none otherwise).
    pub(crate) fn tool_call_headers(
        &self,
        input_schema: &Value,
        arguments: Option<&JsonObject>,
    ) -> Vec<(String, String)> {
        match self {
            Dialect::Sessions => Vec::new(),
            Dialect::Stateless(_) => stateless::tool_param_headers(input_schema, arguments),
        }
    }

    /// Whether per-call headers need the tool list (stateless MCP mirrors parameters).
    pub(crate) fn mirrors_tool_params(&self) -> bool {
        matches!(self, Dialect::Stateless(_))
    }
}

//! MCP over HTTP, the server side: Streamable HTTP on the endpoint path (default `/mcp`),
//! the legacy HTTP+SSE transport on `/sse` + `/messages` for 2024-11-05 clients, and
//! `/metrics`. Every message is handled by [`crate::incoming`], as on stdio.
//!
//! # Routes
//!
//! - `POST /mcp`: a message or batch. `initialize` without `Mcp-Session-Id` opens a session
//!   (its id in the answer's `Mcp-Session-Id`); anything else needs that header (400 without,
//!   404 for an unknown or ended session) and a supported `MCP-Protocol-Version` if it sends
//!   one (400 otherwise). Notifications and responses: 202. Requests: an SSE stream (a priming
//!   event, the messages related to the request, its response; each event with an id for
//!   `Last-Event-ID`), or one JSON body when the client accepts only JSON or
//!   [`HttpOptions::json_response`] is set. A body that is not JSON: 400 with a -32700 error.
//! - `GET /mcp`: the session's stream (its messages related to no request), one at a time
//!   (409 for a second); with `Last-Event-ID`, the events after it of any stream of the
//!   session that is kept, then the rest of that stream.
//! - `DELETE /mcp`: ends the session, cancelling its requests (and their upstream calls).
//! - A POST with `MCP-Protocol-Version: 2026-07-28` and no session (the stateless protocol)
//!   stands alone: it is answered in a session of its own that no table holds; GET and DELETE
//!   with that version get 405. Its `Mcp-Method`/`Mcp-Name`/`Mcp-Param-*` headers and `_meta`
//!   protocol version are checked against the body (400, -32020), a removed method gets 404, and
//!   its error answers carry their HTTP status
//!   (404 for -32601, 400 for -32020/-32021/-32022).
//! - `GET /sse`, `POST /messages?sessionId=…`: the legacy transport.
//! - `GET /metrics`: [`Gateway::metrics_text`].
//!
//! Before any route: the `Host` and `Origin` checks and the bearer token (see
//! [`HttpOptions`]); a body over the limit gets 413.

// Checks return `Result<_, Response>`: the error *is* the HTTP answer, built at most once per
// request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod events;
mod guard;
mod legacy;
mod options;
mod reply;
mod sessions;
mod streamable;

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::StreamExt as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use mcpmux_protocol::ErrorObject;
use mcpmux_protocol::jsonrpc::{INVALID_REQUEST, PARSE_ERROR};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use options::HttpOptions;

use crate::Gateway;
use guard::Guard;
use legacy::LegacySessions;
use sessions::Sessions;

/// What every route shares.
#[derive(Debug)]
pub(crate) struct App {
    gateway: Gateway,
    opts: HttpOptions,
    guard: Guard,
    sessions: Sessions,
    legacy: LegacySessions,
    epoch: Instant,
}

/// Ends every session when serving stops (its future returns or is dropped).
struct EndSessions(Arc<App>);

impl Drop for EndSessions {
    fn drop(&mut self) {
        self.0.sessions.end_all();
        self.0.legacy.end_all();
    }
}

/// Reads a request body up to the limit: 413 beyond it.
async fn read_body(app: &App, body: Body) -> Result<Bytes, Response> {
    let limit = app.opts.body_limit;
    let too_large = || {
        reply::rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorObject::new(
                INVALID_REQUEST,
                format!("payload too large: the body limit is {limit} bytes"),
            ),
        )
    };
    let mut chunks = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            reply::rpc_error(
                StatusCode::BAD_REQUEST,
                ErrorObject::new(PARSE_ERROR, format!("cannot read the body: {e}")),
            )
        })?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// `GET /metrics`.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut response = Response::new(Body::from(app.gateway.metrics_text()));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    response
}

async fn not_found() -> Response {
    reply::error(StatusCode::NOT_FOUND, "not found")
}

async fn method_not_allowed() -> Response {
    reply::error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            &app.opts.path,
            get(streamable::get)
                .post(streamable::post)
                .delete(streamable::delete)
                .fallback(method_not_allowed),
        )
        .route("/sse", get(legacy::get).fallback(method_not_allowed))
        .route(
            legacy::MESSAGES_PATH,
            post(legacy::post).fallback(method_not_allowed),
        )
        .route("/metrics", get(metrics).fallback(method_not_allowed))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::layer,
        ))
        .with_state(app)
}

impl Gateway {
    /// Serves MCP over HTTP on `listener` (see [`HttpOptions`] for the routes, checks and
    /// limits) until the future is dropped: then every connection is closed and every request
    /// in flight cancelled (their upstream calls with them).
    ///
    /// # Errors
    /// `InvalidInput` for a path [`HttpOptions::path`] refuses, or for a listener on a
    /// non-loopback address without [`HttpOptions::bearer_token`]; the listener's own errors.
    ///
    /// # Example
    ///
    /// ```
    /// use mcpmux_gateway::{Gateway, HttpOptions, Prefix};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let toolset = mcpmux::Toolset::builder().build().await?;
    /// let gateway = Gateway::new(toolset, Prefix::Always).await?;
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let url = format!("http://{}/mcp", listener.local_addr()?);
    /// let serving = tokio::spawn(async move {
    ///     gateway.serve_http(listener, HttpOptions::new()).await
    /// });
    ///
    /// // Any MCP client, here mcpmux's own over Streamable HTTP:
    /// let client = mcpmux::Server::http(&url).build()?;
    /// client.ping().await?;
    /// assert!(client.list_tools().await?.is_empty());
    /// client.close().await;
    /// serving.abort();
    /// # Ok(()) }
    /// ```
    pub async fn serve_http(&self, listener: TcpListener, options: HttpOptions) -> io::Result<()> {
        options
            .check()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() && options.token.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "refusing to serve on {addr} (not a loopback address) without a bearer token"
                ),
            ));
        }
        let app = Arc::new(App {
            gateway: self.clone(),
            guard: Guard::new(addr, &options),
            opts: options,
            sessions: Sessions::default(),
            legacy: LegacySessions::default(),
            epoch: Instant::now(),
        });
        let mut connections = JoinSet::new();
        // Declared after `connections`, so dropped first: the sessions end, then the
        // connections go.
        let _end = EndSessions(app.clone());
        let router = router(app.clone());
        // Sessions idle past `session_idle` are forgotten now and then, not only when full.
        let mut sweep = tokio::time::interval(app.opts.session_idle.max(Duration::from_secs(1)));
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = sweep.tick() => app.sessions.sweep(app.opts.session_idle),
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => {
                        let _ = tcp.set_nodelay(true);
                        let service = TowerToHyperService::new(router.clone());
                        connections.spawn(async move {
                            let served = hyper::server::conn::http1::Builder::new()
                                .timer(TokioTimer::new())
                                .header_read_timeout(Duration::from_secs(30))
                                .serve_connection(TokioIo::new(tcp), service)
                                .await;
                            if let Err(e) = served {
                                tracing::debug!(error = %e, "HTTP connection ended with an error");
                            }
                        });
                    }
                    // Out of file descriptors and the like: back off briefly.
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }
}

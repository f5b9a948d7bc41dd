//! MCP over HTTP: Streamable HTTP on `/mcp`, legacy HTTP+SSE on `/sse` +
//! `/messages`, with fault switches ([`HttpOptions`]) and counters
//! ([`Stats`]) for testing clients.
//!
//! # Routes
//!
//! - `POST /mcp`: one message or batch → 202 (notifications / responses
//!   only), or the answer as `application/json` or `text/event-stream`.
//!   `initialize` without `Mcp-Session-Id` creates a session.
//! - `GET /mcp`: the session's server stream (409 if one is live), or with
//!   `Last-Event-ID` the resumption of any stream of the session.
//! - `DELETE /mcp`: ends the session.
//! - `GET /sse`: a legacy stream; first event `endpoint` with data
//!   `/messages?sessionId=<id>`, then `message` events.
//! - `POST /messages?sessionId=<id>`: legacy client messages → 202.
//! - `/moved` (any method): 307 to `/mcp`; `/moved-permanently`: 308 to
//!   `/mcp` (an endpoint that moved, or a server mounted under a prefix).
//! - `GET /http-versions`: `{"http1": N, "http2": N}`, the requests on the
//!   MCP routes (`/mcp`, `/sse`, `/messages`) by HTTP version
//!   ([`Stats::http1_requests`], [`Stats::http2_requests`]).
//!
//! # HTTP versions
//!
//! Every connection is served by hyper-util's auto builder: HTTP/1.1, or
//! HTTP/2 when the client starts with the HTTP/2 preface (prior-knowledge
//! h2c on the plain listener). With [`HttpOptions::tls_cert`] the listener
//! speaks TLS only and offers ALPN `h2` and `http/1.1`.
//!
//! Other methods on these paths answer 405, other paths 404.

// Checks return `Result<_, Response>`: the error *is* the HTTP answer, built
// at most once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod headers;
mod legacy;
mod oauth;
mod options;
mod session;
mod sse;
mod stream;
mod streamable;
mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{any, get, post};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use options::HttpOptions;

use crate::faults;
use crate::handler::{Handler, Transport, lock};
use crate::stats::Stats;
use session::{Session, Sessions, token};
use sse::OnClientClose;

/// State shared by all routes of one server.
pub(crate) struct App {
    /// The options.
    pub(crate) opts: HttpOptions,
    /// The counters.
    pub(crate) stats: Arc<Stats>,
    /// Session tables.
    pub(crate) sessions: Sessions,
    /// The one shared session when stateless.
    pub(crate) stateless: Option<Arc<Session>>,
    /// What request handlers are built with (carries the crash switch).
    transport: Transport,
    /// Set when the server stops: connections dropped then are not client
    /// closes.
    stopping: AtomicBool,
    /// POSTs still to answer with 503 ([`HttpServer::fail_next_posts`]).
    fail_next: Arc<AtomicU64>,
    /// The authorization server of `--http-oauth-ttl`.
    pub(crate) oauth: oauth::OAuth,
}

impl App {
    fn new(
        opts: HttpOptions,
        stats: Arc<Stats>,
        crashed: watch::Sender<Option<i32>>,
        fail_next: Arc<AtomicU64>,
    ) -> Arc<Self> {
        let transport = Transport::Http {
            crash: Arc::new(move |code| {
                crashed.send_replace(Some(code));
            }),
        };
        let stateless = opts.stateless.then(|| {
            Session::new(
                None,
                Handler::new(opts.server.clone(), Arc::clone(&stats), transport.clone()),
            )
        });
        Arc::new(Self {
            opts,
            stats,
            sessions: Sessions::default(),
            stateless,
            transport,
            stopping: AtomicBool::new(false),
            fail_next,
            oauth: oauth::OAuth::default(),
        })
    }

    /// A fresh protocol handler (one per session).
    pub(crate) fn handler(&self) -> Arc<Handler> {
        Handler::new(
            self.opts.server.clone(),
            Arc::clone(&self.stats),
            self.transport.clone(),
        )
    }

    /// Creates and registers a Streamable HTTP session.
    pub(crate) fn new_session(&self) -> Arc<Session> {
        let id = token();
        let session = Session::new(Some(id.clone()), self.handler());
        lock(&self.sessions.streamable).insert(id, Arc::clone(&session));
        self.stats.bump(&self.stats.sessions_created);
        session
    }

    /// Counts a POST; the first `fail_first_posts` get 503, and so do the
    /// next ones asked for by [`HttpServer::fail_next_posts`].
    pub(crate) fn count_post(&self) -> Result<(), Response> {
        let n = self.stats.bump(&self.stats.posts);
        let burst = || {
            self.fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok()
        };
        if n <= self.opts.fail_first_posts || burst() {
            self.stats.bump(&self.stats.http_5xx);
            return Err(headers::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "failing on purpose (fail_first_posts)",
            ));
        }
        Ok(())
    }

    /// What to do when the client drops an SSE body: count it, and for a
    /// legacy stream (`legacy` = its session id) end the session.
    pub(crate) fn on_client_close(self: &Arc<Self>, legacy: Option<String>) -> OnClientClose {
        let app: Weak<App> = Arc::downgrade(self);
        Box::new(move || {
            let Some(app) = app.upgrade() else { return };
            if app.stopping.load(Ordering::SeqCst) {
                return;
            }
            match legacy {
                None => {
                    app.stats.bump(&app.stats.sse_streams_closed_by_client);
                }
                Some(id) => {
                    if let Some(session) = lock(&app.sessions.legacy).remove(&id) {
                        session.work.abort();
                    }
                    app.stats.bump(&app.stats.legacy_streams_closed);
                }
            }
        })
    }
}

/// Ends every session when the server task ends (or is aborted).
struct StopGuard(Arc<App>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.stopping.store(true, Ordering::SeqCst);
        self.0.sessions.end_all();
        if let Some(shared) = &self.0.stateless {
            shared.end(true);
        }
    }
}

fn router(app: Arc<App>) -> Router {
    let mcp = Router::new()
        .route(
            "/mcp",
            get(streamable::get)
                .post(streamable::post)
                .delete(streamable::delete),
        )
        .route("/sse", get(legacy::get))
        .route(legacy::MESSAGES_PATH, post(legacy::post))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            count_version,
        ));
    let mcp = if app.opts.oauth_ttl.is_some() {
        mcp.route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            oauth::require_token,
        ))
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(oauth::resource_metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::server_metadata),
        )
        .route("/register", post(oauth::register))
        .route("/authorize", get(oauth::authorize))
        .route("/token", post(oauth::token))
        .route("/oauth/counters", get(oauth::counters))
        .route("/oauth/expire", post(oauth::expire))
    } else {
        mcp
    };
    mcp.route("/moved", any(moved_temporarily))
        .route("/moved-permanently", any(moved_permanently))
        .route("/http-versions", get(http_versions))
        .with_state(app)
}

/// Counts each request on the MCP routes by its HTTP version.
async fn count_version(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let counter = if request.version() == axum::http::Version::HTTP_2 {
        &app.stats.http2_requests
    } else {
        &app.stats.http1_requests
    };
    // Nobody waits on these: no wake-up.
    counter.fetch_add(1, Ordering::Relaxed);
    next.run(request).await
}

/// `GET /http-versions`: the MCP routes' requests by HTTP version.
async fn http_versions(axum::extract::State(app): axum::extract::State<Arc<App>>) -> Response {
    let body = serde_json::json!({
        "http1": app.stats.get(&app.stats.http1_requests),
        "http2": app.stats.get(&app.stats.http2_requests),
    });
    let mut response = Response::new(axum::body::Body::from(body.to_string()));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// `/moved`: 307 to `/mcp` (method and body kept by the client).
async fn moved_temporarily(axum::extract::State(app): axum::extract::State<Arc<App>>) -> Response {
    moved(&app, StatusCode::TEMPORARY_REDIRECT)
}

/// `/moved-permanently`: 308 to `/mcp`.
async fn moved_permanently(axum::extract::State(app): axum::extract::State<Arc<App>>) -> Response {
    moved(&app, StatusCode::PERMANENT_REDIRECT)
}

fn moved(app: &App, status: StatusCode) -> Response {
    app.stats.bump(&app.stats.redirects);
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = status;
    response.headers_mut().insert(
        axum::http::header::LOCATION,
        axum::http::HeaderValue::from_static("/mcp"),
    );
    response
}

/// Most concurrent HTTP/2 streams per connection: a client multiplexes all
/// its calls on one connection, and the benchmarks run 10 000 at once.
const H2_MAX_STREAMS: u32 = 65_536;

/// The HTTP/2 connection's receive window (hyper's default is 1 MiB). 10,000 requests of
/// ≈ 170 bytes at once need more: with 1 MiB the client's h2 splits request bodies into small
/// DATA frames that do not end their stream, and h2 (0.4.20) counts those against its
/// small-frame budget and closes the connection (GOAWAY `ENHANCE_YOUR_CALM`,
/// `too_many_data_frames`): the benchmarks' HTTP/2 `c10k` cells failed for every client that
/// sends them all at once.
const H2_CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;

/// How long a TLS handshake may take.
const TLS_HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Serves one accepted connection, HTTP/1.1 or HTTP/2 (after the TLS
/// handshake when `tls` is set), until it closes.
async fn serve_connection(
    tcp: tokio::net::TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    service: TowerToHyperService<Router>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .max_concurrent_streams(H2_MAX_STREAMS)
        .initial_connection_window_size(H2_CONNECTION_WINDOW);
    match tls {
        None => {
            let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
        }
        Some(acceptor) => {
            // A failed or stalled handshake just drops the connection (the
            // client reports it).
            let Ok(Ok(stream)) =
                tokio::time::timeout(TLS_HANDSHAKE_LIMIT, acceptor.accept(tcp)).await
            else {
                return;
            };
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    }
}

/// Accepts connections until the crash switch flips; dropping (aborting)
/// this future closes every connection.
async fn run(
    listener: TcpListener,
    app: Arc<App>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut crashed: watch::Receiver<Option<i32>>,
) {
    let mut connections = JoinSet::new();
    // Declared after `connections`, so dropped before it: the server is
    // marked stopping before the connections (and their bodies) go.
    let _guard = StopGuard(Arc::clone(&app));
    let stats = Arc::clone(&app.stats);
    let router = router(app);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    stats.connections.fetch_add(1, Ordering::Relaxed);
                    let _ = tcp.set_nodelay(true);
                    let service = TowerToHyperService::new(router.clone());
                    connections.spawn(serve_connection(tcp, tls.clone(), service));
                }
                // Out of file descriptors and the like: back off briefly.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = async { crashed.wait_for(Option::is_some).await.is_ok() } => break,
        }
    }
}

/// A running HTTP server (see [`start_http`]).
///
/// # Drop behavior
///
/// Dropping the handle stops the server like [`HttpServer::shutdown`], but
/// without waiting: the server task is aborted, which closes the listener
/// and every connection and aborts every request in flight.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use mcpmux_test_server::{HttpOptions, start_http};
/// let server = start_http(HttpOptions::default()).await?;
/// println!("MCP endpoint: {}", server.url_mcp);
/// // ... point a client at it, then read server.stats ...
/// server.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the server stops when this handle is dropped"]
pub struct HttpServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// `http://ADDR` (no trailing slash; `https://` with TLS).
    pub url_base: String,
    /// The Streamable HTTP endpoint, `http://ADDR/mcp`.
    pub url_mcp: String,
    /// The legacy SSE endpoint, `http://ADDR/sse`.
    pub url_sse: String,
    /// What the server has seen.
    pub stats: Arc<Stats>,
    crashed: watch::Receiver<Option<i32>>,
    task: Option<JoinHandle<()>>,
    fail_next: Arc<AtomicU64>,
}

impl HttpServer {
    /// A burst of server errors: the next `n` POSTs (any endpoint, after any
    /// [`HttpOptions::fail_first_posts`]) are answered with 503, counted in
    /// [`Stats::http_5xx`]. Replaces a burst still under way.
    pub fn fail_next_posts(&self, n: u64) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Waits until the `crash` tool stops the server and returns its exit
    /// code; `None` if the server stopped otherwise.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait(&mut self) -> Option<i32> {
        match self.crashed.wait_for(Option::is_some).await {
            Ok(code) => *code,
            Err(_) => None,
        }
    }

    /// Stops the server: closes the listener and every connection (clients
    /// see their streams break), aborts every request in flight.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts serving on `listener` in a task on the current runtime and
/// returns its handle. Applies the startup faults of
/// [`HttpOptions::server`] (`ignore_sigterm`, `grandchild`) first. With
/// [`HttpOptions::tls_cert`] and [`HttpOptions::tls_key`] it serves HTTPS.
///
/// # Errors
///
/// When the listener has no local address, the TLS certificate or key
/// cannot be read or used (`InvalidInput` or the read error, naming the
/// file), or a startup fault fails.
///
/// # Panics
///
/// Outside a tokio runtime.
pub async fn start_http_on(
    listener: TcpListener,
    opts: HttpOptions,
) -> std::io::Result<HttpServer> {
    let addr = listener.local_addr()?;
    if opts.server.member_order != crate::MemberOrder::Sorted {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "--member-order applies to stdio only (Streamable HTTP writes sorted members)",
        ));
    }
    let tls = match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => Some(tokio_rustls::TlsAcceptor::from(tls::server_config(
            cert, key,
        )?)),
        (None, None) => None,
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "HTTPS needs both a TLS certificate and its key",
            ));
        }
    };
    if opts.server.ignore_sigterm {
        faults::ignore_sigterm()?;
    }
    if opts.server.grandchild {
        let pid = faults::spawn_grandchild()?;
        eprintln!("mcpmux-test-server: grandchild pid {pid}");
    }
    let stats = Arc::new(Stats::default());
    let (crash_tx, crash_rx) = watch::channel(None);
    let fail_next = Arc::new(AtomicU64::new(0));
    let app = App::new(opts, Arc::clone(&stats), crash_tx, Arc::clone(&fail_next));
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task = tokio::spawn(run(listener, app, tls, crash_rx.clone()));
    let url_base = format!("{scheme}://{addr}");
    Ok(HttpServer {
        addr,
        url_mcp: format!("{url_base}/mcp"),
        url_sse: format!("{url_base}/sse"),
        url_base,
        stats,
        crashed: crash_rx,
        task: Some(task),
        fail_next,
    })
}

/// Binds `addr` with an accept queue of 4,096 (Linux caps it at `net.core.somaxconn`) instead
/// of the 128 that `TcpListener::bind` gets from the standard library: the load tests open
/// thousands of connections at once, and an overflowing queue drops SYNs, so a client waits
/// 1 s, 3 s, 7 s … before its retry and can pass its connect timeout on a loaded machine. (`mcpmux_gateway::listen` does the same for the gateway; this
/// crate does not depend on the gateway.)
///
/// Call it inside a tokio runtime.
///
/// # Errors
///
/// The address cannot be bound.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let listener = mcpmux_test_server::listen("127.0.0.1:0".parse().unwrap())?;
/// let server = mcpmux_test_server::start_http_on(listener, Default::default()).await?;
/// # Ok(()) }
/// ```
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Binds `127.0.0.1:0` and starts serving (see [`start_http_on`]).
///
/// # Errors
///
/// When binding fails or a startup fault fails.
pub async fn start_http(opts: HttpOptions) -> std::io::Result<HttpServer> {
    let listener = listen(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    start_http_on(listener, opts).await
}

/// Serves MCP over HTTP on `listener` until the `crash` tool stops it.
///
/// # Errors
///
/// See [`start_http_on`].
pub async fn serve_http(listener: TcpListener, opts: HttpOptions) -> std::io::Result<()> {
    let mut server = start_http_on(listener, opts).await?;
    server.wait().await;
    Ok(())
}

/// What the binary does with `--http ADDR`: binds [`HttpOptions::listen`]
/// (default `127.0.0.1:0`), prints `listening on http://ADDR` (with TLS
/// `https://ADDR`) on stdout,
/// serves until the `crash` tool stops it and returns the exit code.
///
/// # Errors
///
/// A non-loopback address without [`HttpOptions::allow_remote`]
/// (`InvalidInput`), a bind failure, or a failing startup fault.
pub async fn run_http(opts: HttpOptions) -> std::io::Result<i32> {
    let addr = opts
        .listen
        .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    if !addr.ip().is_loopback() && !opts.allow_remote {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("refusing to listen on non-loopback address {addr} without --allow-remote"),
        ));
    }
    let listener = listen(addr)?;
    let mut server = start_http_on(listener, opts).await?;
    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", server.url_base)?;
        stdout.flush()?;
    }
    Ok(server.wait().await.unwrap_or(0))
}

//! HTTP transports: Streamable HTTP (MCP 2025-03-26+) and legacy HTTP+SSE (2024-11-05).
//!
//! Every outgoing message becomes its own future (a POST, and for a request the reading of its
//! JSON or SSE answer), so requests are never serialized behind each other; an optional
//! semaphore caps them. Each is a task of its own, so that many requests' connecting, sending
//! and reading run on every worker thread. Change 19 polled them all in the connection task
//! instead (a `FuturesUnordered` in [`HttpTransport::next_event`]), expecting a spawn and join
//! per message to cost more: measured side by side since, the spawned POSTs cost fewer
//! instructions per sequential call (≈ 96,300–97,700 against 98,800–100,100: the connection
//! task is not woken for every POST's I/O), and polled by the one task 10,000 requests in flight
//! over HTTP/1.1 ran at 54–73 % of the raw driver's calls/s instead of 88–102 %, with twice the
//! memory (BENCHMARKS.md, the eleventh session). The long-lived work is spawned too: the GET
//! stream, the legacy stream, a re-initialize. All report back through one channel that
//! `next_event` drains, which is where the shared state changes: session re-initialization
//! after a 404, the fallback to legacy SSE, the legacy `endpoint`, and held messages.

mod explain;
mod legacy;
mod sse;
mod streamable;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, WWW_AUTHENTICATE,
};
use serde_json::value::RawValue;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{AbortHandle, JoinSet};

use super::{Event, OutKind, Outgoing, TransportSettings};
use crate::auth::{Attempts, Authorizer, challenge};
use crate::error::{CloseReason, Error, Result};
use crate::http_client::same_origin;

pub(crate) const SESSION_HEADER: &str = "mcp-session-id";
pub(crate) const VERSION_HEADER: &str = "mcp-protocol-version";
const DELETE_TIMEOUT: Duration = Duration::from_secs(2);
/// A request rejected by this many expired sessions in a row fails instead of looping.
const MAX_REPLAYS: u32 = 3;

/// Spawns a message's POST with the future boxed first: the task then holds a pointer, not the
/// future itself, which is moved several times on its way into the task. Measured with
/// `bench/instructions.sh seq … http`: ≈ 96,900 instructions per call boxed, ≈ 101,500–102,900
/// spawned unboxed.
fn spawn_boxed(
    tasks: &mut JoinSet<Option<u64>>,
    post: impl std::future::Future<Output = Option<u64>> + Send + 'static,
) -> AbortHandle {
    tasks.spawn(Box::pin(post))
}

/// Which HTTP transport to speak to a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HttpMode {
    /// Try Streamable HTTP; if the server answers the initialize POST with 400, 404 or 405, fall
    /// back to the legacy HTTP+SSE transport on the same URL (the spec's backwards
    /// compatibility procedure).
    #[default]
    Auto,
    /// Streamable HTTP (MCP 2025-03-26 and later) only.
    Streamable,
    /// The legacy HTTP+SSE transport (MCP 2024-11-05) only.
    Sse,
}

/// How to reach an HTTP server.
#[derive(Clone)]
pub(crate) struct HttpSettings {
    pub(crate) url: reqwest::Url,
    pub(crate) mode: HttpMode,
    /// Extra headers on every request (the bearer token among them, marked sensitive).
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) client: Option<reqwest::Client>,
    /// How the default client is built (when `client` is not given).
    pub(crate) client_options: crate::http_client::ClientOptions,
    pub(crate) max_concurrency: Option<usize>,
    /// Reconnect attempts for a dropped SSE stream before its callers get an error.
    pub(crate) max_reconnects: u32,
    /// Wait before the first reconnect when the server sent no `retry:`.
    pub(crate) default_retry: Duration,
    /// OAuth, when configured: the server's authorizer, shared by all its connections.
    pub(crate) auth: Option<Arc<Authorizer>>,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be secrets: names only.
        f.debug_struct("HttpSettings")
            .field("url", &self.url.as_str())
            .field("mode", &self.mode)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("max_concurrency", &self.max_concurrency)
            .field("max_reconnects", &self.max_reconnects)
            .field("oauth", &self.auth.is_some())
            .finish_non_exhaustive()
    }
}

/// Reports from the per-message tasks to the transport.
#[derive(Debug)]
enum Report {
    /// Pass an event on to the connection.
    Event(Event),
    /// A request carrying session `used` got 404: the session is gone, the server never
    /// processed it.
    SessionExpired { out: Outgoing, used: String },
    /// The initialize POST got 400/404/405 in [`HttpMode::Auto`]: try legacy SSE.
    Fallback { out: Outgoing },
    /// The legacy stream announced where to POST.
    LegacyEndpoint(reqwest::Url),
    /// The internal re-initialize finished.
    Reinitialized(Result<()>),
    /// The POST of `notifications/initialized` was answered (or failed).
    InitializedDelivered,
    /// The GET stream for server messages opened, was refused, or took too long.
    ServerStreamSettled,
}

/// How long requests wait for the server's GET stream after `initialized` before they go anyway.
const STREAM_SETTLE_LIMIT: Duration = Duration::from_secs(1);

/// State the tasks share.
#[derive(Debug)]
struct Ctx {
    config: Arc<TransportSettings>,
    http: HttpSettings,
    client: reqwest::Client,
    /// The session id, the negotiated version and the POST headers built from them.
    session: Mutex<Arc<SessionHeaders>>,
    reports: mpsc::UnboundedSender<Report>,
    limiter: Option<Arc<Semaphore>>,
    /// Whether a failed initialize POST may fall back to legacy SSE.
    may_fall_back: Mutex<bool>,
}

/// The session as requests see it: its id, the negotiated protocol version, and the headers
/// of a message POST, built once whenever the id or the version changes rather than per request.
#[derive(Debug)]
struct SessionHeaders {
    id: Option<String>,
    version: Option<String>,
    /// The configured headers, `Mcp-Session-Id`, `Mcp-Protocol-Version`, `Accept` (JSON and
    /// SSE) and `Content-Type` (JSON): everything a message POST carries but the token.
    post: HeaderMap,
}

/// What a message POST accepts.
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

impl SessionHeaders {
    fn new(configured: &HeaderMap, id: Option<String>, version: Option<String>) -> Self {
        let mut post = with_session(configured, id.as_deref(), version.as_deref());
        // Appended, as `RequestBuilder::header` does: a configured `Accept` is sent as well.
        post.append(ACCEPT, HeaderValue::from_static(ACCEPT_BOTH));
        post.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        SessionHeaders { id, version, post }
    }
}

/// `configured` plus the session id and the negotiated version, those that are header values.
fn with_session(configured: &HeaderMap, session: Option<&str>, version: Option<&str>) -> HeaderMap {
    let mut h = configured.clone();
    if let Some(s) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert(SESSION_HEADER, s);
    }
    if let Some(v) = version.and_then(|v| HeaderValue::from_str(v).ok()) {
        h.insert(VERSION_HEADER, v);
    }
    h
}

impl Ctx {
    /// The current session and its prebuilt headers (one lock and a reference count).
    fn session_headers(&self) -> Arc<SessionHeaders> {
        self.session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn session(&self) -> Option<String> {
        self.session_headers().id.clone()
    }

    /// Replaces the session id (and so the prebuilt headers).
    fn set_session(&self, id: Option<String>) {
        let mut s = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if s.id != id {
            *s = Arc::new(SessionHeaders::new(
                &self.http.headers,
                id,
                s.version.clone(),
            ));
        }
    }

    /// Records the negotiated version (and so rebuilds the prebuilt headers).
    fn set_protocol_version(&self, v: String) {
        let mut s = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if s.version.as_deref() != Some(v.as_str()) {
            *s = Arc::new(SessionHeaders::new(
                &self.http.headers,
                s.id.clone(),
                Some(v),
            ));
        }
    }

    /// Sends the request `build` makes (called again for each attempt). With OAuth, and only
    /// to the server's own origin, it carries the access token, and a 401 or a 403
    /// `insufficient_scope` is answered by re-authorizing and sending it again (a bounded
    /// number of times); any other answer is returned as it is.
    async fn send(
        &self,
        target: &reqwest::Url,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> std::result::Result<reqwest::Response, SendFailure> {
        match self
            .http
            .auth
            .as_ref()
            .filter(|_| same_origin(target, &self.http.url))
        {
            None => build().send().await.map_err(SendFailure::Http),
            // Boxed: OAuth's state (credential, DPoP proof, re-authorization) is kilobytes, which
            // every message's future would otherwise carry, OAuth or not.
            Some(auth) => Box::pin(self.send_authorized(auth, build)).await,
        }
    }

    /// [`send`](Self::send) with the access token, answering 401 and 403 as it says.
    async fn send_authorized(
        &self,
        auth: &Authorizer,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> std::result::Result<reqwest::Response, SendFailure> {
        let mut attempts = Attempts::default();
        let mut nonce_retries = 0;
        loop {
            let credential = auth.credential().await;
            let mut req = build();
            if let Some(c) = &credential {
                req = req.header(AUTHORIZATION, c.header.clone());
            }
            let resp = match credential.as_ref().and_then(|c| c.dpop.as_ref()) {
                // A DPoP-bound token: a fresh proof for this method and URL (RFC 9449 §7).
                Some(bound) => {
                    let (client, request) = req.build_split();
                    let mut request = request.map_err(SendFailure::Http)?;
                    let proof = bound
                        .key
                        .proof(
                            request.method().as_str(),
                            request.url(),
                            Some(&bound.token),
                            auth.dpop_nonce().as_deref(),
                        )
                        .map_err(SendFailure::Auth)?;
                    let value = HeaderValue::from_str(&proof).map_err(|_| {
                        SendFailure::Auth(Error::auth("a DPoP proof is not a header value"))
                    })?;
                    request.headers_mut().insert("dpop", value);
                    client.execute(request).await.map_err(SendFailure::Http)?
                }
                None => req.send().await.map_err(SendFailure::Http)?,
            };
            if let Some(n) = resp
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
            {
                auth.set_dpop_nonce(n);
            }
            let status = resp.status().as_u16();
            if status != 401 && status != 403 {
                return Ok(resp);
            }
            let challenge = challenge::parse(
                resp.headers()
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            );
            // RFC 9449 §9: the server wants its nonce in the proof; not a token problem.
            if status == 401
                && challenge.error.as_deref() == Some("use_dpop_nonce")
                && resp.headers().contains_key("dpop-nonce")
                && nonce_retries < 2
            {
                nonce_retries += 1;
                continue;
            }
            if status == 403 && !challenge.insufficient_scope() {
                return Ok(resp); // a refusal, not a request for more scope
            }
            let used = credential.map(|c| c.generation);
            if let Err(e) = auth
                .challenged(status, &challenge, used, &mut attempts)
                .await
            {
                return Err(SendFailure::Auth(e.for_server(&self.config.name)));
            }
        }
    }

    fn report(&self, r: Report) {
        let _ = self.reports.send(r);
    }

    fn fail(&self, id: u64, error: Error) {
        self.report(Report::Event(Event::RequestFailed { id, error }));
    }

    /// Headers for a request outside the current session's message POSTs (the GET stream,
    /// re-initializing, legacy SSE, the DELETE): the user's, `session`, the negotiated version.
    fn headers(&self, session: Option<&str>) -> HeaderMap {
        let current = self.session_headers();
        with_session(&self.http.headers, session, current.version.as_deref())
    }
}

/// Why [`Ctx::send`] got no response.
#[derive(Debug)]
pub(super) enum SendFailure {
    /// The HTTP request itself failed.
    Http(reqwest::Error),
    /// Authorization failed.
    Auth(Error),
}

impl SendFailure {
    /// The error, described as `what` failed.
    pub(super) fn into_error(self, what: &str) -> Error {
        match self {
            SendFailure::Http(e) => explain::send_error(what, e),
            SendFailure::Auth(e) => e,
        }
    }
}

/// Which protocol the transport speaks now.
#[derive(Debug)]
enum Mode {
    Streamable,
    /// Legacy HTTP+SSE; `endpoint` is known once the stream announced it.
    Legacy {
        endpoint: Option<reqwest::Url>,
    },
}

/// The HTTP transport of one connection.
#[derive(Debug)]
pub(crate) struct HttpTransport {
    ctx: Arc<Ctx>,
    reports: mpsc::UnboundedReceiver<Report>,
    /// Every message's POST: the request's id when it is done with it, `None` when it handed
    /// the message back (expired session, fallback) or sent a notification. And the
    /// long-lived work: the GET stream, the legacy stream, a re-initialize (`None` too).
    tasks: JoinSet<Option<u64>>,
    /// The POST of each request, so a cancelled request stops reading its stream.
    inflight: HashMap<u64, AbortHandle>,
    mode: Mode,
    /// Messages waiting for the legacy endpoint or for a re-initialized session.
    held: Vec<Outgoing>,
    reinitializing: bool,
    /// Between `notifications/initialized` and the GET stream settling: requests wait, so the
    /// server sees `initialized` first and has its stream for requests it sends during them.
    starting: bool,
    /// How often each request was re-sent after a session expiry (at most once per new
    /// session, [`MAX_REPLAYS`] in all).
    replayed: HashMap<u64, u32>,
    /// The `initialize` params, to re-initialize an expired session.
    init_params: Option<Box<RawValue>>,
    reinit_count: u64,
    get_stream: Option<AbortHandle>,
    legacy_stream: Option<AbortHandle>,
    closed: bool,
}

impl HttpTransport {
    /// Prepares the transport; nothing is sent until the first message.
    pub(crate) fn new(config: Arc<TransportSettings>, http: &HttpSettings) -> Result<Self> {
        let client = match &http.client {
            Some(c) => c.clone(),
            None => crate::http_client::default_client(&http.client_options)?,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let mode = match http.mode {
            HttpMode::Sse => Mode::Legacy { endpoint: None },
            HttpMode::Auto | HttpMode::Streamable => Mode::Streamable,
        };
        let ctx = Arc::new(Ctx {
            limiter: http.max_concurrency.map(|n| Arc::new(Semaphore::new(n))),
            may_fall_back: Mutex::new(http.mode == HttpMode::Auto),
            http: http.clone(),
            config,
            client,
            session: Mutex::new(Arc::new(SessionHeaders::new(&http.headers, None, None))),
            reports: tx,
        });
        let mut t = HttpTransport {
            ctx,
            reports: rx,
            tasks: JoinSet::new(),
            inflight: HashMap::new(),
            mode,
            held: Vec::new(),
            reinitializing: false,
            starting: false,
            replayed: HashMap::new(),
            init_params: None,
            reinit_count: 0,
            get_stream: None,
            legacy_stream: None,
            closed: false,
        };
        if matches!(t.mode, Mode::Legacy { .. }) {
            t.open_legacy_stream();
        }
        Ok(t)
    }

    pub(crate) fn send(&mut self, out: Outgoing) {
        if self.closed {
            return; // the connection fails its requests with the close reason
        }
        if let OutKind::Request {
            initialize: true, ..
        } = out.kind
        {
            self.init_params = streamable::initialize_params(out.body());
        }
        let ready = match &self.mode {
            Mode::Legacy { endpoint } => endpoint.is_some() && !self.reinitializing,
            Mode::Streamable => !self.reinitializing && !self.starting,
        };
        if !ready {
            self.held.push(out);
            return;
        }
        self.dispatch(out);
    }

    /// Starts the future that sends `out` (and reads its answer).
    fn dispatch(&mut self, out: Outgoing) {
        let ctx = self.ctx.clone();
        let id = match out.kind {
            OutKind::Request { id, .. } => Some(id),
            _ => None,
        };
        let initialized = matches!(out.kind, OutKind::Notification { initialized: true });
        let handle = match &self.mode {
            Mode::Streamable if initialized && self.get_stream.is_none() => {
                // Hold everything else until this is delivered and the GET stream settled.
                self.starting = true;
                spawn_boxed(&mut self.tasks, async move {
                    streamable::post(ctx.clone(), out).await;
                    ctx.report(Report::InitializedDelivered);
                    None
                })
            }
            // A post that handed its message back (expired session, fallback) returns no id, so
            // the request stays registered as in flight.
            Mode::Streamable => spawn_boxed(&mut self.tasks, async move {
                let done = streamable::post(ctx, out).await;
                id.filter(|_| done)
            }),
            Mode::Legacy { endpoint } => {
                let Some(endpoint) = endpoint.clone() else {
                    self.held.push(out);
                    return;
                };
                spawn_boxed(&mut self.tasks, async move {
                    let done = legacy::post(ctx, endpoint, out).await;
                    id.filter(|_| done)
                })
            }
        };
        if let Some(id) = id {
            self.inflight.insert(id, handle);
        }
    }

    /// Opens the GET stream for server messages, after `initialized` was delivered.
    fn open_server_stream(&mut self) {
        if self.get_stream.is_some() {
            return;
        }
        let ctx = self.ctx.clone();
        self.get_stream = Some(self.tasks.spawn(async move {
            streamable::server_stream(ctx).await;
            None
        }));
        let ctx = self.ctx.clone();
        self.tasks.spawn(async move {
            tokio::time::sleep(STREAM_SETTLE_LIMIT).await;
            ctx.report(Report::ServerStreamSettled);
            None
        });
    }

    /// Whether an OAuth login of this server is waiting for the user.
    pub(crate) fn waiting_for_login(&self) -> bool {
        self.ctx
            .http
            .auth
            .as_ref()
            .is_some_and(|a| a.waiting_for_user())
    }

    pub(crate) fn forget(&mut self, id: u64) {
        self.replayed.remove(&id);
        if let Some(h) = self.inflight.remove(&id) {
            h.abort();
        }
        self.held
            .retain(|o| !matches!(o.kind, OutKind::Request { id: i, .. } if i == id));
    }

    fn open_legacy_stream(&mut self) {
        let ctx = self.ctx.clone();
        self.legacy_stream = Some(self.tasks.spawn(async move {
            legacy::stream(ctx).await;
            None
        }));
    }

    fn release_held(&mut self) {
        for out in std::mem::take(&mut self.held) {
            self.dispatch(out);
        }
    }

    /// Handles one task report; `Some` when it is an event for the connection.
    fn on_report(&mut self, report: Report) -> Option<Event> {
        match report {
            Report::Event(Event::Closed(reason)) => {
                self.closed = true;
                Some(Event::Closed(reason))
            }
            Report::Event(ev) => Some(ev),
            Report::Fallback { out } => {
                tracing::info!(server = %self.ctx.config.name, "Streamable HTTP refused; falling back to legacy HTTP+SSE");
                *self
                    .ctx
                    .may_fall_back
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = false;
                self.mode = Mode::Legacy { endpoint: None };
                self.held.insert(0, out);
                self.open_legacy_stream();
                None
            }
            Report::LegacyEndpoint(url) => {
                self.mode = Mode::Legacy {
                    endpoint: Some(url),
                };
                self.release_held();
                None
            }
            Report::SessionExpired { out, used } => self.on_session_expired(out, used),
            Report::InitializedDelivered => {
                self.open_server_stream();
                None
            }
            Report::ServerStreamSettled => {
                if self.starting {
                    self.starting = false;
                    self.release_held();
                }
                None
            }
            Report::Reinitialized(Ok(())) => {
                self.reinitializing = false;
                tracing::info!(server = %self.ctx.config.name, "session re-initialized");
                self.release_held();
                Some(Event::SessionRestarted)
            }
            Report::Reinitialized(Err(e)) => {
                self.reinitializing = false;
                self.closed = true;
                Some(Event::Closed(CloseReason::new(format!(
                    "the HTTP session expired and re-initializing failed: {e}"
                ))))
            }
        }
    }

    fn on_session_expired(&mut self, out: Outgoing, used: String) -> Option<Event> {
        let id = match out.kind {
            OutKind::Request { id, .. } => id,
            // A notification or response for a dead session has nobody waiting: drop it.
            _ => return None,
        };
        let replays = self.replayed.entry(id).or_insert(0);
        *replays += 1;
        if *replays > MAX_REPLAYS {
            self.replayed.remove(&id);
            return Some(Event::RequestFailed {
                id,
                error: Error::http(
                    format!(
                        "the HTTP session expired {MAX_REPLAYS} times while request {id} was re-sent"
                    ),
                    Some(404),
                    None,
                ),
            });
        }
        if !self.inflight.contains_key(&id) {
            return None; // cancelled meanwhile
        }
        self.held.push(out);
        let current = self.ctx.session();
        if self.reinitializing {
            return None;
        }
        if current.as_deref() != Some(used.as_str()) && current.is_some() {
            // Already re-initialized since this request left: just resend it.
            self.release_held();
            return None;
        }
        let Some(params) = self.init_params.clone() else {
            return Some(Event::RequestFailed {
                id,
                error: Error::http(
                    "the HTTP session expired before initialize",
                    Some(404),
                    None,
                ),
            });
        };
        self.reinitializing = true;
        self.reinit_count += 1;
        // The old id stays until the new one is known: a task sending now gets a 404 and is
        // held like this one, never a 400 for a missing id.
        let ctx = self.ctx.clone();
        let n = self.reinit_count;
        self.tasks.spawn(async move {
            let r = streamable::reinitialize(&ctx, params, n).await;
            ctx.report(Report::Reinitialized(r));
            None
        });
        None
    }

    /// A request's POST is done with it (answered or failed).
    fn post_done(&mut self, id: u64) {
        self.inflight.remove(&id);
        self.replayed.remove(&id);
    }

    pub(crate) async fn next_event(&mut self) -> Event {
        loop {
            tokio::select! {
                report = self.reports.recv() => {
                    // The transport holds a sender in `ctx`, so the channel never closes.
                    if let Some(report) = report
                        && let Some(ev) = self.on_report(report)
                    {
                        return ev;
                    }
                }
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => match done {
                    Ok(Some(id)) => self.post_done(id),
                    Ok(None) => {}
                    Err(e) if e.is_panic() => {
                        tracing::error!(server = %self.ctx.config.name, "an HTTP task panicked: {e}");
                    }
                    Err(_) => {} // aborted
                },
            }
        }
    }

    pub(crate) async fn shutdown(mut self, _graceful: bool) {
        self.tasks.abort_all();
        if matches!(self.mode, Mode::Streamable)
            && let Some(session) = self.ctx.session()
        {
            let ctx = self.ctx.clone();
            let res = tokio::time::timeout(DELETE_TIMEOUT, async move {
                let mut req = ctx
                    .client
                    .delete(ctx.http.url.clone())
                    .headers(ctx.headers(Some(&session)));
                // The token in hand, if any: a shutdown never starts a login.
                if let Some(h) = ctx.http.auth.as_ref().and_then(|a| a.current_header()) {
                    req = req.header(AUTHORIZATION, h);
                }
                req.send().await
            })
            .await;
            match res {
                Ok(Ok(r)) if r.status().is_success() || r.status().as_u16() == 405 => {
                    tracing::debug!(server = %self.ctx.config.name, "session deleted");
                }
                Ok(Ok(r)) => {
                    tracing::debug!(server = %self.ctx.config.name, status = %r.status(), "DELETE of the session failed")
                }
                Ok(Err(e)) => {
                    tracing::debug!(server = %self.ctx.config.name, "DELETE of the session failed: {e}")
                }
                Err(_) => {
                    tracing::debug!(server = %self.ctx.config.name, "DELETE of the session timed out")
                }
            }
        }
        while self.tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static("k3y"));
        h.append("x-multi", HeaderValue::from_static("a"));
        h.append("x-multi", HeaderValue::from_static("b"));
        h
    }

    fn values<'a>(h: &'a HeaderMap, name: &str) -> Vec<&'a str> {
        h.get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("?"))
            .collect()
    }

    #[test]
    fn post_headers_hold_the_configured_ones_the_session_and_the_version() {
        let s = SessionHeaders::new(&configured(), Some("s1".into()), Some("2025-06-18".into()));
        assert_eq!(values(&s.post, "x-api-key"), ["k3y"]);
        assert_eq!(values(&s.post, "x-multi"), ["a", "b"]);
        assert_eq!(values(&s.post, SESSION_HEADER), ["s1"]);
        assert_eq!(values(&s.post, VERSION_HEADER), ["2025-06-18"]);
        assert_eq!(values(&s.post, "accept"), [ACCEPT_BOTH]);
        assert_eq!(values(&s.post, "content-type"), ["application/json"]);
        assert_eq!(s.post.len(), 7);
    }

    #[test]
    fn before_initialize_there_is_neither_session_nor_version() {
        let s = SessionHeaders::new(&configured(), None, None);
        assert!(s.post.get(SESSION_HEADER).is_none());
        assert!(s.post.get(VERSION_HEADER).is_none());
        assert_eq!(values(&s.post, "x-api-key"), ["k3y"]);
    }

    #[test]
    fn a_session_id_that_is_no_header_value_is_left_out() {
        let s = SessionHeaders::new(&HeaderMap::new(), Some("bad\nid".into()), None);
        assert!(s.post.get(SESSION_HEADER).is_none());
        assert_eq!(s.id.as_deref(), Some("bad\nid"), "kept to detect expiry");
    }

    /// Every message's POST is a spawned task, so its future's size is paid per request in
    /// flight (10,000 at `c10k`). An OAuth retry loop once made it 5,104 bytes unnoticed
    /// (BENCHMARKS.md, change 21: 2,272 since); this catches the next such growth.
    #[test]
    fn a_messages_post_future_stays_small() {
        const MAX: usize = 3 * 1024;
        let http = HttpSettings {
            url: reqwest::Url::parse("http://127.0.0.1:9/mcp").expect("url"),
            mode: HttpMode::Streamable,
            headers: HeaderMap::new(),
            client: None,
            client_options: crate::http_client::ClientOptions::default(),
            max_concurrency: None,
            max_reconnects: 0,
            default_retry: Duration::from_secs(1),
            auth: None,
        };
        let config = Arc::new(TransportSettings {
            name: "size".into(),
            max_message_size: 1 << 20,
            kind: crate::transport::TransportKind::Http(http.clone()),
        });
        let transport = HttpTransport::new(config, &http).expect("transport");
        let request = || {
            Outgoing::new(
                b"{}\n".to_vec(),
                OutKind::Request {
                    id: 1,
                    initialize: false,
                },
            )
        };
        let streamable = streamable::post(transport.ctx.clone(), request());
        let legacy = legacy::post(transport.ctx.clone(), http.url.clone(), request());
        for (name, size) in [
            ("streamable", std::mem::size_of_val(&streamable)),
            ("legacy", std::mem::size_of_val(&legacy)),
        ] {
            assert!(
                size <= MAX,
                "a {name} POST's future is {size} bytes (at most {MAX})"
            );
        }
    }

    #[test]
    fn configured_accept_and_session_headers_are_kept_or_replaced_as_before() {
        // `RequestBuilder::header` appended Accept and Content-Type to the configured headers;
        // the session id and the version replaced configured ones.
        let mut h = HeaderMap::new();
        h.insert("accept", HeaderValue::from_static("text/plain"));
        h.insert(SESSION_HEADER, HeaderValue::from_static("configured"));
        let s = SessionHeaders::new(&h, Some("s2".into()), None);
        assert_eq!(values(&s.post, "accept"), ["text/plain", ACCEPT_BOTH]);
        assert_eq!(values(&s.post, SESSION_HEADER), ["s2"]);
        let none = SessionHeaders::new(&h, None, None);
        assert_eq!(values(&none.post, SESSION_HEADER), ["configured"]);
    }
}

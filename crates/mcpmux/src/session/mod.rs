//! The session layer: one MCP session on one connection.
//!
//! A [`Session`] owns a connection ([`crate::connection`]) and everything that makes it an MCP
//! session: the handshake ([`handshake`]: `server/discover` or `initialize`, run once in its own
//! task), the protocol [`dialect`] chosen there (session-based 2024-11-05 … 2025-11-25, or
//! stateless 2026-07-28), the list caches ([`cache`]), the managed `subscriptions/listen`
//! stream ([`listen`]), and the state that survives reconnects ([`recovery`]: subscriptions, the
//! log level, health). It is the connection's [`Observer`]: list changes drop caches, a renewed
//! HTTP session gets its state back, a lost connection is recorded.

pub(crate) mod cache;
pub(crate) mod dialect;
mod handshake;
pub(crate) mod listen;
pub(crate) mod recovery;
pub(crate) mod stateless;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mcpmux_protocol::{Implementation, InitializeResult, ProtocolVersion, methods};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::{broadcast, watch};

use crate::connection::{ConnHandle, ConnSettings, Observer};
use crate::error::{Error, Result};
use crate::handler::Handlers;
use crate::notification::ServerNotification;
use crate::request::{self, RequestOptions};
use crate::transport::{Transport, TransportSettings};
use cache::Caches;
use dialect::Dialect;
use recovery::{ReconnectPolicy, SessionState, Tracker};

/// Default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default timeout of one `initialize` (or `server/discover`) exchange.
pub const DEFAULT_INITIALIZE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on opening a connection: spawn, handshake and every retry.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// What a session needs to know: who we are, what we offer, how long to wait.
#[derive(Debug, Clone)]
pub(crate) struct SessionSettings {
    pub(crate) name: Arc<str>,
    pub(crate) client_info: Implementation,
    /// `None`: negotiate (probe `server/discover`, else `initialize` with the latest version).
    pub(crate) protocol_version: Option<ProtocolVersion>,
    pub(crate) initialize_timeout: Duration,
    /// Bounds opening a connection: spawn, handshake and retries (`None`: unbounded).
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) request_timeout: Duration,
    pub(crate) handlers: Handlers,
    pub(crate) validate_output: bool,
    pub(crate) reconnect: ReconnectPolicy,
}

/// The ready state a session publishes once its handshake finished.
type Ready = Option<Result<Arc<InitializeResult>>>;

/// The connection's observer: per-connection caches, per-server state and health.
#[derive(Debug)]
struct Hooks {
    caches: Caches,
    state: Arc<SessionState>,
    tracker: Arc<Tracker>,
    /// The transport's last summary of lines that are not JSON (before any message): how many,
    /// and the first. The handshake watches it.
    stray: watch::Sender<Option<(u64, Arc<str>)>>,
}

impl Observer for Hooks {
    fn notified(&self, method: &str) {
        match method {
            methods::TOOLS_LIST_CHANGED => self.caches.tools.invalidate(),
            methods::RESOURCES_LIST_CHANGED => self.caches.resources.invalidate(),
            methods::PROMPTS_LIST_CHANGED => self.caches.prompts.invalidate(),
            _ => {}
        }
    }

    fn session_renewed(&self) -> Vec<(&'static str, serde_json::Value)> {
        self.state.restore_requests()
    }

    fn lost(&self, error: &Error) {
        self.tracker.connection_lost(error.clone());
    }

    fn stray_lines(&self, count: u64, first: &Arc<str>) {
        self.stray.send_replace(Some((count, first.clone())));
    }
}

/// One MCP session: its connection, handshake outcome, dialect, caches and listen stream.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) conn: ConnHandle,
    hooks: Arc<Hooks>,
    ready: watch::Sender<Ready>,
    dialect: OnceLock<Dialect>,
    /// The managed `subscriptions/listen` of a stateless session.
    pub(crate) listen: listen::Managed,
    pub(crate) settings: Arc<SessionSettings>,
}

/// Before the handshake picked one, requests go out session-style.
static SESSIONS: Dialect = Dialect::Sessions;

impl Session {
    /// Opens the transport, starts the connection and its handshake; the caller becomes the
    /// first user.
    ///
    /// # Errors
    /// A spawn failure, at once.
    pub(crate) fn start(
        settings: Arc<SessionSettings>,
        conn_settings: Arc<ConnSettings>,
        transport: &Arc<TransportSettings>,
        notifications: broadcast::Sender<ServerNotification>,
        tracker: Arc<Tracker>,
        state: Arc<SessionState>,
    ) -> Result<Arc<Session>> {
        let transport = Transport::open(transport)?;
        let hooks = Arc::new(Hooks {
            caches: Caches::default(),
            state,
            tracker,
            stray: watch::Sender::new(None),
        });
        let conn = ConnHandle::start(conn_settings, transport, notifications, hooks.clone());
        let session = Arc::new(Session {
            conn,
            hooks,
            ready: watch::Sender::new(None),
            dialect: OnceLock::new(),
            listen: listen::Managed::default(),
            settings,
        });
        tokio::spawn(handshake::run(session.clone()));
        Ok(session)
    }

    /// The server's name.
    pub(crate) fn name(&self) -> &str {
        &self.settings.name
    }

    /// The protocol dialect the handshake chose (session-based until it has).
    pub(crate) fn dialect(&self) -> &Dialect {
        self.dialect.get().unwrap_or(&SESSIONS)
    }

    fn set_dialect(&self, dialect: Dialect) {
        let _ = self.dialect.set(dialect);
    }

    /// This connection's list caches.
    pub(crate) fn caches(&self) -> &Caches {
        &self.hooks.caches
    }

    /// The state restored on every new connection or HTTP session of this server.
    pub(crate) fn state(&self) -> &SessionState {
        &self.hooks.state
    }

    /// The server's health record.
    pub(crate) fn tracker(&self) -> &Tracker {
        &self.hooks.tracker
    }

    /// The handshake's result, once it succeeded.
    pub(crate) fn ready_result(&self) -> Option<Arc<InitializeResult>> {
        match &*self.ready.borrow() {
            Some(Ok(init)) => Some(init.clone()),
            _ => None,
        }
    }

    /// Whether the handshake completed successfully.
    pub(crate) fn is_ready(&self) -> bool {
        matches!(*self.ready.borrow(), Some(Ok(_)))
    }

    fn publish_ready(&self, ready: Result<Arc<InitializeResult>>) {
        self.ready.send_replace(Some(ready));
    }

    /// Waits until the handshake has completed or failed.
    pub(crate) async fn wait_ready(&self) -> Result<Arc<InitializeResult>> {
        let mut rx = self.ready.subscribe();
        let state = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| self.conn.closed_error())?;
        match state.as_ref() {
            Some(r) => r.clone(),
            None => Err(self.conn.closed_error()),
        }
    }

    /// The timeout of a request sent with `options`.
    pub(crate) fn timeout(&self, options: &RequestOptions) -> Duration {
        options.timeout.unwrap_or(self.settings.request_timeout)
    }

    /// Sends a request in this session's dialect and waits for its raw result.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request (`notifications/cancelled`).
    pub(crate) async fn request<P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: Option<&P>,
        options: &RequestOptions,
    ) -> Result<Box<RawValue>> {
        let timeout = self.timeout(options);
        self.dialect()
            .send(self, method, params, timeout, Some(options))
            .await
    }

    /// Sends a notification (fire and forget; fails only if the connection is gone).
    pub(crate) fn notify<P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: Option<&P>,
    ) -> Result<()> {
        request::notify(&self.conn, method, params)
    }
}

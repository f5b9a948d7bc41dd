//! [`Server`], the cheap cloneable handle, and [`Guard`], one user of its shared connection.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use mcpmux_protocol::{InitializeResult, ProtocolVersion, methods};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::broadcast;

use crate::connection::ConnSettings;
use crate::error::{Error, Result};
use crate::notification::{Notifications, ServerNotification};
use crate::request::{self, RequestOptions};
use crate::session::recovery::{Health, SessionState, Tracker, retryable};
use crate::session::{Session, SessionSettings};
use crate::transport::TransportSettings;

/// Everything a [`Server`] handle's connections need, split by the layer that uses it and
/// shared by every connection the handle opens (built by `ServerBuilder`).
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) transport: Arc<TransportSettings>,
    pub(crate) conn: Arc<ConnSettings>,
    pub(crate) session: Arc<SessionSettings>,
    pub(crate) notification_capacity: usize,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    /// The current session, if any; handed to the next `enter()` while it accepts users.
    slot: Mutex<Option<Arc<Session>>>,
    notifications: broadcast::Sender<ServerNotification>,
    tracker: Arc<Tracker>,
    session: Arc<SessionState>,
}

/// A handle on one MCP server: cheap to clone (one reference count), safe to share across tasks
/// and threads. All clones share one connection.
///
/// The connection is opened lazily by the first [`enter`](Self::enter) (or call) and lives while
/// any [`Guard`] exists — an explicit one, or the implicit one a call made through the handle
/// holds while it is in flight. When the last guard goes, from any task or thread, the
/// connection shuts down in its own task: stdin closed, a wait, SIGTERM to the process group, a
/// wait, SIGKILL, and the process reaped. A later `enter()` starts a fresh connection.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> mcpmux::Result<()> {
/// use serde_json::json;
/// let server = mcpmux::Server::stdio("mcpmux-test-server").build()?;
///
/// // Many tasks, one connection, one process.
/// let mut tasks = Vec::new();
/// for i in 0..10 {
///     let server = server.clone();
///     tasks.push(tokio::spawn(async move {
///         let guard = server.enter().await?; // like `async with server:`
///         let r = guard.call_tool("echo", json!({"text": format!("hi {i}")})).await?;
///         Ok::<_, mcpmux::Error>(r.text())
///     }));
/// }
/// for t in tasks {
///     println!("{}", t.await.expect("task panicked")?);
/// }
/// // The last guard is gone: the server process has been asked to exit.
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl Server {
    pub(crate) fn from_config(config: Config) -> Self {
        let (notifications, _) = broadcast::channel(config.notification_capacity);
        Server {
            inner: Arc::new(Inner {
                config,
                slot: Mutex::new(None),
                notifications,
                tracker: Arc::default(),
                session: Arc::default(),
            }),
        }
    }

    /// The server's name (for logs and errors).
    pub fn name(&self) -> &str {
        &self.inner.config.session.name
    }

    /// Logs in to this server now, as [`auth::login`](crate::auth::login) does, through the
    /// server's own HTTP client: the CA certificates it trusts (`ca_cert_pem`,
    /// `ca_cert_file`) and its HTTP/2 setting reach discovery, registration and the token
    /// requests too.
    ///
    /// ```no_run
    /// # async fn f() -> mcpmux::Result<()> {
    /// use mcpmux::auth::OAuthConfig;
    /// let server = mcpmux::Server::http("https://mcp.internal.example/mcp")
    ///     .ca_cert_file("internal-ca.pem")
    ///     .oauth(OAuthConfig::new())
    ///     .build()?;
    /// let status = server.login().await?;
    /// println!("logged in, client {}", status.client_id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a server without OAuth
    /// (a stdio server, or an HTTP one built without `oauth`);
    /// [`ErrorKind::Auth`](crate::ErrorKind::Auth) when discovery or the login fails.
    pub async fn login(&self) -> crate::Result<crate::auth::AuthStatus> {
        let (a, url) = self.oauth_authorizer()?;
        let tokens = a.login_now().await.map_err(|e| e.for_server(self.name()))?;
        Ok(crate::auth::AuthStatus::new(url.as_str(), &tokens))
    }

    /// Revokes and forgets this server's tokens, as [`auth::logout`](crate::auth::logout)
    /// does, through the server's own HTTP client; what was forgotten, `None` when nothing was
    /// stored.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a server without OAuth;
    /// otherwise when the store cannot be read or written.
    pub async fn logout(&self) -> crate::Result<Option<crate::auth::AuthStatus>> {
        let (a, url) = self.oauth_authorizer()?;
        let tokens = a.logout().await?;
        Ok(tokens.map(|t| crate::auth::AuthStatus::new(url.as_str(), &t)))
    }

    /// The OAuth authorizer of an HTTP server built with `oauth`, and the server's URL.
    fn oauth_authorizer(&self) -> crate::Result<(&Arc<crate::auth::Authorizer>, &reqwest::Url)> {
        let found = match &self.inner.config.transport.kind {
            crate::transport::TransportKind::Http(h) => h.auth.as_ref().map(|a| (a, &h.url)),
            crate::transport::TransportKind::Stdio(_) => None,
        };
        found.ok_or_else(|| {
            crate::Error::invalid(format!(
                "server `{}` has no OAuth configured (an HTTP server built with `oauth`)",
                self.name()
            ))
        })
    }

    /// Joins the shared connection, opening it (spawn + `initialize`) if there is none.
    ///
    /// Concurrent first calls share one connect: exactly one process is spawned. The returned
    /// guard keeps the connection alive; drop it to leave.
    ///
    /// Opening a connection — spawn, handshake and any retries — is bounded by the connect
    /// timeout ([`ServerBuilder::connect_timeout`](crate::ServerBuilder::connect_timeout));
    /// joining a connection that is already up is not.
    ///
    /// # Errors
    /// [`ErrorKind::Spawn`](crate::ErrorKind::Spawn) if the process cannot start; a timeout,
    /// closed, RPC or protocol error if `initialize` fails (every waiting caller gets it); a
    /// timeout ([`Error::is_connect`]) when the connect timeout runs out.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future leaves the connection; if nobody else uses it, it closes.
    pub async fn enter(&self) -> Result<Guard> {
        if let Some(guard) = self.enter_ready() {
            return Ok(guard);
        }
        let Some(limit) = self.inner.config.session.connect_timeout else {
            return self.connect().await;
        };
        // Time a user spends logging in (OAuth) is not startup time: the deadline moves by it.
        let auth = match &self.inner.config.transport.kind {
            crate::transport::TransportKind::Http(h) => h.auth.clone(),
            crate::transport::TransportKind::Stdio(_) => None,
        };
        let waited = || {
            auth.as_ref()
                .map_or(std::time::Duration::ZERO, |a| a.user_wait_total())
        };
        let start = tokio::time::Instant::now();
        let waited_before = waited();
        let connect = self.connect();
        tokio::pin!(connect);
        let mut deadline = start + limit;
        loop {
            tokio::select! {
                result = &mut connect => return result,
                () = tokio::time::sleep_until(deadline) => {
                    let login = auth.as_ref().is_some_and(|a| a.waiting_for_user());
                    let moved = start + limit + waited().saturating_sub(waited_before);
                    let now = tokio::time::Instant::now();
                    if moved > now {
                        deadline = moved;
                    } else if login {
                        deadline = now + std::time::Duration::from_millis(100);
                    } else {
                        return Err(Error::connect_timeout(self.name(), limit));
                    }
                }
            }
        }
    }

    /// Joins the connection if it is up now; `None` (at once) if it is not: nothing is started,
    /// nothing waited for.
    ///
    /// ```
    /// let server = mcpmux::Server::stdio("some-mcp-server").build()?;
    /// assert!(server.try_enter().is_none()); // nothing runs until a first `enter`
    /// # Ok::<(), mcpmux::Error>(())
    /// ```
    pub fn try_enter(&self) -> Option<Guard> {
        self.enter_ready()
    }

    /// Joins the current connection if it is up (no wait, no timer).
    fn enter_ready(&self) -> Option<Guard> {
        let slot = self
            .inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let session = slot.as_ref()?;
        let init = session.ready_result()?;
        session.conn.try_acquire().then(|| Guard {
            session: User(session.clone()),
            init,
        })
    }

    /// Opens (or joins) the connection, retrying as the reconnect policy says.
    async fn connect(&self) -> Result<Guard> {
        let policy = self.inner.config.session.reconnect;
        let mut attempt = 1;
        loop {
            self.inner.tracker.check_circuit(self.name())?;
            // Counted as a user from here on, so a dropped `enter` future leaves cleanly.
            let result = match self.acquire() {
                Ok(conn) => {
                    let session = User(conn);
                    session
                        .0
                        .wait_ready()
                        .await
                        .map(|init| Guard { session, init })
                }
                Err(e) => {
                    self.inner.tracker.connect_failed(&e, &policy);
                    Err(e)
                }
            };
            match result {
                Ok(guard) => return Ok(guard),
                Err(e) if attempt < policy.max_attempts && retryable(&e) => {
                    let wait = policy.delay(attempt);
                    tracing::debug!(server = %self.name(), attempt, ?wait, "connect failed ({e}); retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The server's health: connected or not, the last failure, restarts, the circuit.
    pub fn health(&self) -> Health {
        let connected = self
            .inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|s| !s.conn.is_closed() && s.is_ready());
        self.inner.tracker.snapshot(connected)
    }

    fn acquire(&self) -> Result<Arc<Session>> {
        let mut slot = self
            .inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(session) = slot.as_ref()
            && session.conn.try_acquire()
        {
            return Ok(session.clone());
        }
        let config = &self.inner.config;
        let session = Session::start(
            config.session.clone(),
            config.conn.clone(),
            &config.transport,
            self.inner.notifications.clone(),
            self.inner.tracker.clone(),
            self.inner.session.clone(),
        )?;
        *slot = Some(session.clone());
        Ok(session)
    }

    /// Closes the current connection now and waits until it has shut down (process reaped).
    ///
    /// Requests still in flight fail with a closed error. The handle stays usable: the next
    /// `enter()` opens a fresh connection.
    ///
    /// # Cancel safety
    /// The shutdown runs in the connection's own task and completes even if this future is
    /// dropped.
    pub async fn close(&self) {
        let conn = self
            .inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(session) = conn {
            session.conn.close();
            session.conn.terminated().await;
        }
    }

    /// Replaces the roots offered to the server (see [`ServerBuilder::roots`](crate::ServerBuilder::roots)) and tells a live
    /// connection with `notifications/roots/list_changed`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the handle was built
    /// without roots.
    pub fn set_roots(&self, roots: Vec<mcpmux_protocol::Root>) -> Result<()> {
        let Some(shared) = &self.inner.config.session.handlers.roots else {
            return Err(Error::invalid(
                "this server handle was built without roots (ServerBuilder::roots)",
            ));
        };
        *shared.write().unwrap_or_else(PoisonError::into_inner) = roots;
        let conn = self
            .inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(session) = conn
            && !session.conn.is_closed()
        {
            let _ = session.notify(methods::ROOTS_LIST_CHANGED, None::<&()>);
        }
        Ok(())
    }

    /// Subscribes to the server's notifications (progress, log messages, list changes), from
    /// this and every later connection.
    pub fn notifications(&self) -> Notifications {
        Notifications {
            rx: self.inner.notifications.subscribe(),
        }
    }

    /// Pings the server through an implicit guard.
    ///
    /// # Errors
    /// As [`Server::enter`] and [`Guard::ping`].
    ///
    /// # Cancel safety
    /// As [`Guard::ping`]; dropping it also leaves the implicit guard.
    pub async fn ping(&self) -> Result<()> {
        self.enter().await?.ping().await
    }
}

/// One user of a server's shared connection: the Rust form of `async with server:`.
///
/// Cheap to clone (each clone is one more user). Dropping it never blocks or awaits and works on
/// any thread, even outside a tokio runtime: it only decrements a count and, for the last user,
/// signals the connection task, which shuts the connection down in the background.
///
/// All requests are multiplexed on the one connection; any number may be in flight at once.
#[derive(Debug)]
#[must_use = "the connection closes when the last guard is dropped"]
pub struct Guard {
    session: User,
    init: Arc<InitializeResult>,
}

/// One counted user of a session's connection; leaving is its `Drop`.
#[derive(Debug)]
struct User(Arc<Session>);

impl Clone for User {
    fn clone(&self) -> Self {
        // A live user keeps the count above zero, so the connection cannot have closed its door
        // for idleness; if it died, calls fail with its close reason anyway.
        self.0.conn.add_user();
        User(self.0.clone())
    }
}

impl Drop for User {
    fn drop(&mut self) {
        self.0.conn.release();
    }
}

impl Clone for Guard {
    fn clone(&self) -> Self {
        Guard {
            session: self.session.clone(),
            init: self.init.clone(),
        }
    }
}

impl Guard {
    /// The server's `initialize` result (capabilities, server info, instructions).
    pub fn initialize_result(&self) -> &InitializeResult {
        &self.init
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> ProtocolVersion {
        // Checked during initialize: only supported versions get here.
        ProtocolVersion::parse(&self.init.protocol_version).unwrap_or(ProtocolVersion::LATEST)
    }

    /// The server process's id (stdio servers only).
    pub fn process_id(&self) -> Option<u32> {
        self.session.0.conn.pid()
    }

    /// Whether this connection has closed (or is closing); calls on it then fail.
    pub fn is_closed(&self) -> bool {
        self.session.0.conn.is_closed()
    }

    /// Resolves once this connection has shut down completely (process reaped).
    ///
    /// # Cancel safety
    /// Cancel safe: it only waits.
    pub async fn closed(&self) {
        self.session.0.conn.terminated().await;
    }

    /// Sends a request and parses its result as `R`; set per-request options on the returned
    /// builder, then `.await` it.
    ///
    /// `params` is serialized as the request's `params`; for a method without parameters use
    /// [`request_raw`](Self::request_raw) with `None`.
    ///
    /// ```no_run
    /// # async fn f(guard: mcpmux::Guard) -> mcpmux::Result<()> {
    /// use std::time::Duration;
    /// let result: serde_json::Value = guard
    ///     .request("tools/list", &serde_json::json!({}))
    ///     .timeout(Duration::from_secs(5))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Timeout, closed, RPC (the server's JSON-RPC error), protocol (a result that does not parse
    /// as `R`), invalid input (params that do not serialize).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request: it is removed from the connection and the server
    /// is sent `notifications/cancelled` (it may still complete the work).
    pub fn request<'a, P, R>(&'a self, method: &'a str, params: &'a P) -> Request<'a, P, R>
    where
        P: Serialize + ?Sized + Sync,
        R: DeserializeOwned + Send + 'a,
    {
        Request::new(self, method, Some(params))
    }

    /// Sends a request and returns its raw JSON result, unparsed.
    ///
    /// # Errors
    /// As [`request`](Self::request), minus result parsing.
    ///
    /// # Cancel safety
    /// As [`request`](Self::request).
    pub fn request_raw<'a, P>(
        &'a self,
        method: &'a str,
        params: Option<&'a P>,
    ) -> Request<'a, P, Box<RawValue>>
    where
        P: Serialize + ?Sized + Sync,
    {
        Request::new(self, method, params)
    }

    /// Sends a notification.
    ///
    /// # Errors
    /// Closed if the connection is gone; invalid input if `params` do not serialize.
    pub fn notify<P: Serialize + ?Sized>(&self, method: &str, params: Option<&P>) -> Result<()> {
        self.session.0.notify(method, params)
    }

    /// Sends `ping` and waits for the answer (on a stateless 2026-07-28 connection, which has no
    /// `ping`, a `server/discover` round trip instead).
    ///
    /// # Errors
    /// As [`request`](Self::request).
    ///
    /// # Cancel safety
    /// As [`request`](Self::request).
    pub async fn ping(&self) -> Result<()> {
        let method = self.session().dialect().ping_method();
        let _: Value = self
            .request_raw(method, None::<&()>)
            .await
            .and_then(|raw| request::parse_result(method, &raw))?;
        Ok(())
    }

    /// The session this guard uses.
    pub(crate) fn session(&self) -> &Arc<Session> {
        &self.session.0
    }
}

/// A request being built: [`Guard::request`] and [`Guard::request_raw`]. Set options, then
/// `.await` it (nothing is sent before).
///
/// # Cancel safety
/// Dropping the awaited future cancels the request (`notifications/cancelled`).
#[must_use = "a request does nothing until it is awaited"]
pub struct Request<'a, P: ?Sized, R> {
    guard: &'a Guard,
    method: &'a str,
    params: Option<&'a P>,
    options: RequestOptions,
    result: PhantomData<fn() -> R>,
}

impl<P: ?Sized, R> std::fmt::Debug for Request<'_, P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a, P: Serialize + ?Sized + Sync, R> Request<'a, P, R> {
    fn new(guard: &'a Guard, method: &'a str, params: Option<&'a P>) -> Self {
        Request {
            guard,
            method,
            params,
            options: RequestOptions::new(),
            result: PhantomData,
        }
    }

    request::option_setters!();

    /// Sends it and waits for the raw result.
    async fn send_raw(self) -> Result<Box<RawValue>> {
        let session = self.guard.session();
        match self.options.request_meta() {
            None => {
                session
                    .request(self.method, self.params, &self.options)
                    .await
            }
            Some(meta) => {
                // `_meta` joins the caller's params (an object, or none).
                let mut params = match self.params.map(serde_json::to_value).transpose() {
                    Ok(Some(Value::Object(m))) => m,
                    Ok(_) => serde_json::Map::new(),
                    Err(e) => {
                        return Err(Error::invalid_input(
                            format!("could not encode {} parameters", self.method),
                            e,
                        ));
                    }
                };
                params.insert("_meta".to_owned(), Value::Object(meta));
                session
                    .request(self.method, Some(&params), &self.options)
                    .await
            }
        }
    }
}

impl<'a, P, R> IntoFuture for Request<'a, P, R>
where
    P: Serialize + ?Sized + Sync,
    R: DeserializeOwned + Send + 'a,
{
    type Output = Result<R>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<R>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        let method = self.method;
        Box::pin(async move {
            let raw = self.send_raw().await?;
            request::parse_result(method, &raw)
        })
    }
}

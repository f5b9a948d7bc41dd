//! [`ServerBuilder`]: how a server is reached and how its connection behaves, checked once and
//! split into the settings each layer reads.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcpmux_protocol::{Implementation, ProtocolVersion};

use crate::connection::ConnSettings;
use crate::error::Result;
use crate::handler::Handlers;
use crate::server::{Config, Server};
use crate::session::recovery::ReconnectPolicy;
use crate::session::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_INITIALIZE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, SessionSettings,
};
use crate::transport::http::{HttpMode, HttpSettings};
use crate::transport::process::{ShutdownTimeouts, StdioSettings};
use crate::transport::{DEFAULT_MAX_MESSAGE_SIZE, TransportKind, TransportSettings};

/// The settings as the setters collect them.
#[derive(Debug)]
struct Draft {
    name: Arc<str>,
    transport: TransportKind,
    client_info: Implementation,
    protocol_version: Option<ProtocolVersion>,
    initialize_timeout: Duration,
    connect_timeout: Option<Duration>,
    request_timeout: Duration,
    idle_linger: Option<Duration>,
    max_message_size: usize,
    notification_capacity: usize,
    handlers: Handlers,
    validate_output: bool,
    reconnect: ReconnectPolicy,
    oauth: Option<crate::auth::OAuthConfig>,
}

impl Server {
    /// Starts building a handle on a stdio server: `program` is run directly (no shell).
    ///
    /// ```
    /// let server = mcpmux::Server::stdio("npx").args(["-y", "some-mcp-server"]).build();
    /// assert!(server.is_ok());
    /// ```
    pub fn stdio(program: impl Into<OsString>) -> ServerBuilder {
        ServerBuilder::stdio(program.into())
    }

    /// Starts building a handle on an HTTP server at `url`: Streamable HTTP, falling back to
    /// legacy HTTP+SSE if the server refuses it (see [`HttpMode`](crate::HttpMode)).
    ///
    /// ```
    /// let server = mcpmux::Server::http("http://127.0.0.1:8000/mcp")
    ///     .bearer_token("secret")
    ///     .build();
    /// assert!(server.is_ok());
    /// assert!(mcpmux::Server::http("not a url").build().is_err());
    /// ```
    pub fn http(url: &str) -> ServerBuilder {
        ServerBuilder::http(url)
    }
}

/// Builds a [`Server`] handle. Created by [`Server::stdio`].
///
/// Setters never fail; [`build`](Self::build) checks the whole configuration.
///
/// ```no_run
/// use std::time::Duration;
/// # fn f() -> mcpmux::Result<()> {
/// let server = mcpmux::Server::stdio("uvx")
///     .args(["mcp-server-time"])
///     .env("TZ", "UTC")
///     .request_timeout(Duration::from_secs(10))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct ServerBuilder {
    config: Draft,
    /// The first setter error, reported by `build()`.
    error: Option<crate::Error>,
}

impl ServerBuilder {
    pub(crate) fn stdio(program: OsString) -> Self {
        let name = std::path::Path::new(&program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "server".to_owned());
        Self::with_transport(
            name,
            TransportKind::Stdio(StdioSettings {
                program,
                args: Vec::new(),
                env: Vec::new(),
                inherit_all_env: false,
                cwd: None,
                shutdown: ShutdownTimeouts {
                    after_stdin_close: Duration::from_secs(2),
                    after_sigterm: Duration::from_secs(2),
                },
                stderr_line_max: 4096,
                stderr_tail_lines: 20,
            }),
        )
    }

    pub(crate) fn http(url: &str) -> Self {
        let (parsed, error) = match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => (u, None),
            Ok(u) => (
                u,
                Some(invalid(format!(
                    "unsupported URL scheme in {url:?}: use http or https"
                ))),
            ),
            Err(e) => (
                // A placeholder; `build()` reports the error.
                reqwest::Url::parse("http://invalid.invalid/").unwrap_or_else(|_| unreachable!()),
                Some(crate::Error::invalid_input(
                    format!("invalid server URL {url:?}"),
                    e,
                )),
            ),
        };
        let name = parsed.host_str().unwrap_or("server").to_owned();
        let mut b = Self::with_transport(
            name,
            TransportKind::Http(HttpSettings {
                url: parsed,
                mode: HttpMode::Auto,
                headers: reqwest::header::HeaderMap::new(),
                client: None,
                client_options: crate::http_client::ClientOptions::default(),
                max_concurrency: None,
                max_reconnects: 5,
                default_retry: Duration::from_secs(1),
                auth: None,
            }),
        );
        b.error = error;
        b
    }

    fn with_transport(name: String, transport: TransportKind) -> Self {
        ServerBuilder {
            error: None,
            config: Draft {
                name: name.into(),
                transport,
                client_info: Implementation::new("mcpmux", env!("CARGO_PKG_VERSION")),
                protocol_version: None,
                initialize_timeout: DEFAULT_INITIALIZE_TIMEOUT,
                connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
                idle_linger: None,
                max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                notification_capacity: 1024,
                handlers: Handlers::default(),
                validate_output: true,
                reconnect: ReconnectPolicy::default(),
                oauth: None,
            },
        }
    }

    fn fail(&mut self, error: crate::Error) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    fn stdio_mut(&mut self, setter: &str) -> Option<&mut StdioSettings> {
        if !matches!(self.config.transport, TransportKind::Stdio(_)) {
            self.fail(invalid(format!("{setter}() applies to stdio servers only")));
        }
        match &mut self.config.transport {
            TransportKind::Stdio(s) => Some(s),
            TransportKind::Http(_) => None,
        }
    }

    fn http_mut(&mut self, setter: &str) -> Option<&mut HttpSettings> {
        if !matches!(self.config.transport, TransportKind::Http(_)) {
            self.fail(invalid(format!("{setter}() applies to HTTP servers only")));
        }
        match &mut self.config.transport {
            TransportKind::Http(h) => Some(h),
            TransportKind::Stdio(_) => None,
        }
    }

    /// A name for this server, used in logs and errors (default: the program's file name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = name.into().into();
        self
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        if let Some(s) = self.stdio_mut("arg") {
            s.args.push(arg.into());
        }
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        if let Some(s) = self.stdio_mut("args") {
            s.args.extend(args.into_iter().map(Into::into));
        }
        self
    }

    /// Sets an environment variable for the server process.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        if let Some(s) = self.stdio_mut("env") {
            s.env.push((key.into(), Some(value.into())));
        }
        self
    }

    /// Removes an environment variable the server would otherwise inherit.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        if let Some(s) = self.stdio_mut("env_remove") {
            s.env.push((key.into(), None));
        }
        self
    }

    /// Inherit this process's whole environment instead of the allow-list [`INHERITED_ENV`](crate::INHERITED_ENV).
    ///
    /// Off by default: an MCP server is often third-party code, and secrets live in environment
    /// variables.
    pub fn inherit_env(mut self, all: bool) -> Self {
        if let Some(s) = self.stdio_mut("inherit_env") {
            s.inherit_all_env = all;
        }
        self
    }

    /// The server's working directory (default: this process's).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        if let Some(s) = self.stdio_mut("cwd") {
            s.cwd = Some(dir.into());
        }
        self
    }

    /// Which HTTP transport to use (default [`HttpMode::Auto`]).
    pub fn http_mode(mut self, mode: HttpMode) -> Self {
        if let Some(h) = self.http_mut("http_mode") {
            h.mode = mode;
        }
        self
    }

    /// Adds a header to every HTTP request (e.g. an API key). Values are never logged.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let parsed = (
            reqwest::header::HeaderName::from_bytes(name.as_bytes()),
            reqwest::header::HeaderValue::from_str(value),
        );
        match parsed {
            (Ok(n), Ok(mut v)) => {
                v.set_sensitive(true);
                if let Some(h) = self.http_mut("header") {
                    h.headers.append(n, v);
                }
            }
            (Err(e), _) => self.fail(crate::Error::invalid_input(
                format!("invalid header name {name:?}"),
                e,
            )),
            (_, Err(e)) => self.fail(crate::Error::invalid_input(
                format!("invalid value for header {name:?}"),
                e,
            )),
        }
        self
    }

    /// OAuth 2.1 for this HTTP server: requests carry its access token, obtained on the first
    /// 401 by discovery and a login (see [`auth`](crate::auth)), refreshed ahead of expiry,
    /// kept in the config's token store. Replaces any `Authorization` header set here.
    ///
    /// ```
    /// use mcpmux::auth::{HeadlessLogin, MemoryTokenStore, OAuthConfig};
    /// let server = mcpmux::Server::http("http://127.0.0.1:8000/mcp")
    ///     .oauth(OAuthConfig::new().login(HeadlessLogin::new()).store(MemoryTokenStore::new()))
    ///     .build();
    /// assert!(server.is_ok());
    /// ```
    pub fn oauth(mut self, config: crate::auth::OAuthConfig) -> Self {
        if self.http_mut("oauth").is_some() {
            self.config.oauth = Some(config);
        }
        self
    }

    /// Sends `Authorization: Bearer <token>` on every HTTP request. Never logged.
    pub fn bearer_token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// The `reqwest` client to use (default: one built for this handle, rustls, pooled). Every
    /// connection of this handle shares it.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        if let Some(h) = self.http_mut("http_client") {
            h.client = Some(client);
        }
        self
    }

    /// Accept TLS certificates that do not verify (self-signed, wrong host, expired).
    ///
    /// **Dangerous**: anyone on the path can read and change the traffic, tokens included.
    /// For local development only; a warning is logged when a handle is built with it. Ignored
    /// when [`http_client`](Self::http_client) supplies the client.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        if let Some(h) = self.http_mut("danger_accept_invalid_certs") {
            h.client_options.accept_invalid_certs = accept;
        }
        self
    }

    /// Also trusts the CA certificates in `pem` (one or more PEM `CERTIFICATE` blocks) for this
    /// server's TLS connections, besides the platform's roots: for a server whose certificate a
    /// private or test CA signed. Certificates are still verified (name, validity, chain). Calls
    /// add up. Ignored when [`http_client`](Self::http_client) supplies the client.
    ///
    /// The platform's roots are the system store (on Linux read through rustls-native-certs);
    /// when the `SSL_CERT_FILE` (or `SSL_CERT_DIR`) environment variable is set, its
    /// certificates replace the system store.
    ///
    /// `build()` fails with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when
    /// `pem` holds no certificate.
    ///
    /// ```
    /// let pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    /// let built = mcpmux::Server::http("https://127.0.0.1:8443/mcp").ca_cert_pem(pem).build();
    /// assert!(built.is_err());
    /// ```
    pub fn ca_cert_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        let parsed = crate::http_client::parse_ca_pem(pem.as_ref());
        match parsed {
            Ok(certs) => {
                if let Some(h) = self.http_mut("ca_cert_pem") {
                    h.client_options.extra_roots.extend(certs);
                }
            }
            Err(e) => self.fail(e),
        }
        self
    }

    /// [`ca_cert_pem`](Self::ca_cert_pem) with the contents of the file at `path`, read now.
    ///
    /// `build()` fails with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), naming
    /// the file, when it cannot be read or holds no certificate.
    pub fn ca_cert_file(mut self, path: impl AsRef<std::path::Path>) -> Self {
        let path = path.as_ref();
        let parsed = match std::fs::read(path) {
            Ok(pem) => crate::http_client::parse_ca_pem(&pem)
                .map_err(|e| crate::Error::invalid(format!("{}: {e}", path.display()))),
            Err(e) => Err(crate::Error::invalid(format!(
                "cannot read the CA certificate {}: {e}",
                path.display()
            ))),
        };
        match parsed {
            Ok(certs) => {
                if let Some(h) = self.http_mut("ca_cert_file") {
                    h.client_options.extra_roots.extend(certs);
                }
            }
            Err(e) => self.fail(e),
        }
        self
    }

    /// HTTP/2 with prior knowledge: on `http://` URLs, h2c (cleartext HTTP/2) from the first
    /// byte, for servers known to accept it (no HTTP/1.1 upgrade); on `https://`, only `h2` is
    /// offered in ALPN. Off by default: over TLS HTTP/2 is negotiated anyway when the server
    /// offers it; plain `http://` stays HTTP/1.1. Ignored when
    /// [`http_client`](Self::http_client) supplies the client.
    pub fn http2_prior_knowledge(mut self, on: bool) -> Self {
        if let Some(h) = self.http_mut("http2_prior_knowledge") {
            h.client_options.http2_prior_knowledge = on;
        }
        self
    }

    /// At most this many requests in flight at once (default: no limit; one slow response never
    /// blocks the others).
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        if let Some(h) = self.http_mut("max_concurrent_requests") {
            h.max_concurrency = Some(limit.max(1));
        }
        self
    }

    /// How many times a dropped SSE stream is resumed before its callers get an error
    /// (default 5). The first reconnect waits the server's `retry:` exactly; later ones back off.
    pub fn max_reconnects(mut self, attempts: u32) -> Self {
        if let Some(h) = self.http_mut("max_reconnects") {
            h.max_reconnects = attempts;
        }
        self
    }

    /// Answers the server's `sampling/createMessage` requests (and advertises `sampling`).
    pub fn sampling(mut self, handler: impl crate::SamplingHandler) -> Self {
        self.config.handlers.sampling = Some(std::sync::Arc::new(handler));
        self
    }

    /// Answers the server's `elicitation/create` requests (and advertises `elicitation`).
    pub fn elicitation(mut self, handler: impl crate::ElicitationHandler) -> Self {
        self.config.handlers.elicitation = Some(std::sync::Arc::new(handler));
        self
    }

    /// Offers these roots to the server (`roots/list`, advertised with `listChanged`); change
    /// them later with [`Server::set_roots`].
    pub fn roots(mut self, roots: Vec<mcpmux_protocol::Root>) -> Self {
        self.config.handlers.roots = Some(std::sync::Arc::new(std::sync::RwLock::new(roots)));
        self
    }

    /// Whether a tool's `structuredContent` is validated against its `outputSchema` (default
    /// true; the schemas come from a cached `tools/list`, fetched once when first needed).
    pub fn validate_structured_output(mut self, validate: bool) -> Self {
        self.config.validate_output = validate;
        self
    }

    /// How to reconnect after failures (default [`ReconnectPolicy::default`](crate::ReconnectPolicy)).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.config.reconnect = policy;
        self
    }

    /// The `clientInfo` sent in `initialize` (default: mcpmux and its version).
    pub fn client_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.config.client_info = Implementation::new(name, version);
        self
    }

    /// Pins the protocol version. By default mcpmux negotiates: it probes `server/discover`
    /// for stateless MCP ([`ProtocolVersion::STATELESS`], 2026-07-28) and falls back to
    /// `initialize` offering [`ProtocolVersion::LATEST`] for older servers.
    ///
    /// Pinning a dated version skips the probe and offers that version in `initialize` (any
    /// version in [`ProtocolVersion::SUPPORTED`] is accepted back); pinning 2026-07-28 requires
    /// the server to offer it in `server/discover`.
    pub fn protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.config.protocol_version = Some(version);
        self
    }

    /// Timeout of one handshake exchange, `initialize` or `server/discover` (default 30 s); the
    /// whole startup is bounded by [`connect_timeout`](Self::connect_timeout).
    pub fn initialize_timeout(mut self, timeout: Duration) -> Self {
        self.config.initialize_timeout = timeout;
        self
    }

    /// Bounds opening a connection — spawning the process, the handshake and every retry — as
    /// a whole (default 60 s; `None`: no bound beyond each step's own). Joining a connection that
    /// is already up is never bounded by it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = mcpmux::Server::stdio("my-server")
    ///     .connect_timeout(Some(Duration::from_secs(5)))
    ///     .build();
    /// assert!(server.is_ok());
    /// ```
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Default timeout of each request (default 60 s); override per call with
    /// [`RequestOptions::timeout`](crate::RequestOptions::timeout).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Keep the connection open this long after its last user leaves, so a quick next
    /// [`Server::enter`] reuses it (default: close at once).
    pub fn idle_linger(mut self, linger: Duration) -> Self {
        self.config.idle_linger = Some(linger);
        self
    }

    /// Maximum size of one incoming message in bytes (default 64 MiB). A larger message fails
    /// the request it answers with a protocol error; the connection stays up.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// How long shutdown waits after closing stdin, and then after SIGTERM, before escalating
    /// (default 2 s each).
    pub fn shutdown_timeouts(
        mut self,
        after_stdin_close: Duration,
        after_sigterm: Duration,
    ) -> Self {
        // Only stdio servers have a process to shut down.
        if let TransportKind::Stdio(s) = &mut self.config.transport {
            s.shutdown = ShutdownTimeouts {
                after_stdin_close,
                after_sigterm,
            };
        }
        self
    }

    /// How many server notifications a subscriber may fall behind before it loses the oldest
    /// (default 1024).
    pub fn notification_capacity(mut self, capacity: usize) -> Self {
        self.config.notification_capacity = capacity;
        self
    }

    /// Builds the handle. Nothing is spawned until the first [`Server::enter`] or call.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty program name or a
    /// zero-sized limit.
    pub fn build(mut self) -> Result<Server> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if let TransportKind::Http(h) = &mut self.config.transport
            && h.client.is_none()
        {
            // One pooled client per handle, shared by all its connections.
            if h.client_options.accept_invalid_certs {
                tracing::warn!(
                    server = %self.config.name,
                    "TLS certificate verification is DISABLED for this server (danger_accept_invalid_certs)"
                );
            }
            h.client = Some(crate::http_client::default_client(&h.client_options)?);
        }
        if let Some(oauth) = self.config.oauth.take()
            && let TransportKind::Http(h) = &mut self.config.transport
        {
            if h.headers.remove(reqwest::header::AUTHORIZATION).is_some() {
                tracing::warn!(server = %self.config.name, "OAuth replaces the configured Authorization header");
            }
            let client = match &h.client {
                Some(c) => c.clone(),
                None => crate::http_client::default_client(&h.client_options)?,
            };
            h.auth = Some(Arc::new(crate::auth::Authorizer::new(
                oauth,
                h.url.clone(),
                self.config.name.clone(),
                client,
            )));
        }
        let c = &self.config;
        if let TransportKind::Stdio(s) = &c.transport
            && s.program.is_empty()
        {
            return Err(invalid("the server command is empty"));
        }
        if c.max_message_size == 0 || c.notification_capacity == 0 {
            return Err(invalid(
                "max_message_size and notification_capacity must be at least 1",
            ));
        }
        let d = self.config;
        Ok(Server::from_config(Config {
            transport: Arc::new(TransportSettings {
                name: d.name.clone(),
                max_message_size: d.max_message_size,
                kind: d.transport,
            }),
            conn: Arc::new(ConnSettings {
                name: d.name.clone(),
                idle_linger: d.idle_linger,
                max_message_size: d.max_message_size,
                handlers: d.handlers.clone(),
            }),
            session: Arc::new(SessionSettings {
                name: d.name,
                client_info: d.client_info,
                protocol_version: d.protocol_version,
                initialize_timeout: d.initialize_timeout,
                connect_timeout: d.connect_timeout,
                request_timeout: d.request_timeout,
                handlers: d.handlers,
                validate_output: d.validate_output,
                reconnect: d.reconnect,
            }),
            notification_capacity: d.notification_capacity,
        }))
    }
}

fn invalid(message: impl Into<String>) -> crate::Error {
    crate::Error::invalid(message)
}

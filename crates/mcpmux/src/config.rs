//! How a server is reached and how its connection behaves: the builder and its settings.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcpmux_protocol::{Implementation, ProtocolVersion};

use crate::error::Result;
use crate::server::Server;

/// Environment variables a stdio server inherits by default; everything else must be set
/// explicitly with [`ServerBuilder::env`] or allowed with [`ServerBuilder::inherit_env`].
pub const INHERITED_ENV: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR",
    "TZ",
];

/// How to start a stdio server: program, arguments, environment and working directory.
#[derive(Debug, Clone)]
pub(crate) struct StdioConfig {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    /// Variables to set (`Some`) or remove (`None`), applied after the inherited ones.
    pub(crate) env: Vec<(OsString, Option<OsString>)>,
    pub(crate) inherit_all_env: bool,
    pub(crate) cwd: Option<PathBuf>,
}

/// Timeouts of the stdio shutdown sequence.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShutdownTimeouts {
    /// How long to wait for the process to exit after closing its stdin.
    pub(crate) after_stdin_close: Duration,
    /// How long to wait after SIGTERM before SIGKILL.
    pub(crate) after_sigterm: Duration,
}

/// Everything a connection needs, shared by every connection a [`Server`] opens.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) name: Arc<str>,
    pub(crate) stdio: StdioConfig,
    pub(crate) client_info: Implementation,
    pub(crate) protocol_version: ProtocolVersion,
    pub(crate) initialize_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) idle_linger: Option<Duration>,
    pub(crate) max_message_size: usize,
    pub(crate) stderr_line_max: usize,
    pub(crate) stderr_tail_lines: usize,
    pub(crate) shutdown: ShutdownTimeouts,
    pub(crate) notification_capacity: usize,
}

/// Default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default timeout for spawning and initializing a connection.
pub const DEFAULT_INITIALIZE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default maximum size of one incoming message.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

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
    config: Config,
}

impl ServerBuilder {
    pub(crate) fn stdio(program: OsString) -> Self {
        let name = std::path::Path::new(&program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "server".to_owned());
        ServerBuilder {
            config: Config {
                name: name.into(),
                stdio: StdioConfig {
                    program,
                    args: Vec::new(),
                    env: Vec::new(),
                    inherit_all_env: false,
                    cwd: None,
                },
                client_info: Implementation::new("mcpmux", env!("CARGO_PKG_VERSION")),
                protocol_version: ProtocolVersion::LATEST,
                initialize_timeout: DEFAULT_INITIALIZE_TIMEOUT,
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
                idle_linger: None,
                max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                stderr_line_max: 4096,
                stderr_tail_lines: 20,
                shutdown: ShutdownTimeouts {
                    after_stdin_close: Duration::from_secs(2),
                    after_sigterm: Duration::from_secs(2),
                },
                notification_capacity: 1024,
            },
        }
    }

    /// A name for this server, used in logs and errors (default: the program's file name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = name.into().into();
        self
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.config.stdio.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.config
            .stdio
            .args
            .extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the server process.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.config.stdio.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable the server would otherwise inherit.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.config.stdio.env.push((key.into(), None));
        self
    }

    /// Inherit this process's whole environment instead of the allow-list [`INHERITED_ENV`].
    ///
    /// Off by default: an MCP server is often third-party code, and secrets live in environment
    /// variables.
    pub fn inherit_env(mut self, all: bool) -> Self {
        self.config.stdio.inherit_all_env = all;
        self
    }

    /// The server's working directory (default: this process's).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.stdio.cwd = Some(dir.into());
        self
    }

    /// The `clientInfo` sent in `initialize` (default: mcpmux and its version).
    pub fn client_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.config.client_info = Implementation::new(name, version);
        self
    }

    /// The protocol version offered in `initialize` (default: [`ProtocolVersion::LATEST`]).
    /// Any version in [`ProtocolVersion::SUPPORTED`] is accepted from the server.
    pub fn protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.config.protocol_version = version;
        self
    }

    /// Timeout for starting the process and completing `initialize` (default 30 s).
    pub fn initialize_timeout(mut self, timeout: Duration) -> Self {
        self.config.initialize_timeout = timeout;
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
        self.config.shutdown = ShutdownTimeouts {
            after_stdin_close,
            after_sigterm,
        };
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
    pub fn build(self) -> Result<Server> {
        let c = &self.config;
        if c.stdio.program.is_empty() {
            return Err(crate::Error::invalid_input(
                "the server command is empty",
                std::io::Error::from(std::io::ErrorKind::InvalidInput),
            ));
        }
        if c.max_message_size == 0 || c.notification_capacity == 0 {
            return Err(crate::Error::invalid_input(
                "max_message_size and notification_capacity must be at least 1",
                std::io::Error::from(std::io::ErrorKind::InvalidInput),
            ));
        }
        Ok(Server::from_config(self.config))
    }
}

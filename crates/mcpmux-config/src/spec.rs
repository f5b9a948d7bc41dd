//! [`ServerSpec`]: one server, resolved from a config entry, and how it becomes a
//! [`mcpmux::ServerBuilder`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use mcpmux::{HttpMode, ServerBuilder, ToolFilter};

use crate::host::Host;

/// One configured server, with every variable expanded.
///
/// ```
/// let config = mcpmux_config::parse_str(
///     r#"{"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}"#,
///     mcpmux_config::Host::ClaudeDesktop,
/// )?;
/// let spec = config.resolve("time", &mut mcpmux_config::Inputs::new(mcpmux_config::NoPrompter))?;
/// assert_eq!(spec.name, "time");
/// let server = spec.builder().build(); // a mcpmux::Server handle; nothing runs yet
/// assert!(server.is_ok());
/// # Ok::<(), mcpmux_config::ConfigError>(())
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerSpec {
    /// The server's name (the key of its entry; never contains `.`).
    pub name: String,
    /// How to reach it.
    pub transport: Transport,
    /// Which of its tools to offer.
    pub tools: ToolFilter,
    /// Timeout of each request (Gemini `timeout`, Zed `timeout`, Codex `tool_timeout_sec`).
    pub timeout: Option<Duration>,
    /// Bound on starting the server: spawn, handshake and retries (`connect_timeout` in
    /// seconds, Codex `startup_timeout_sec` / `startup_timeout_ms`).
    pub startup_timeout: Option<Duration>,
    /// Where the entry came from.
    pub origin: Origin,
}

/// Where a server entry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The config file (`None` for a string parsed with [`parse_str`](crate::parse_str)).
    pub file: Option<PathBuf>,
    /// Whose format the file is in.
    pub host: Host,
}

/// How a server is reached.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Transport {
    /// A child process speaking MCP on stdin/stdout.
    Stdio(StdioSpec),
    /// An HTTP endpoint (Streamable HTTP or legacy SSE, see [`HttpSpec::mode`]).
    Http(HttpSpec),
}

/// How to start a stdio server.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StdioSpec {
    /// The program (run directly, no shell).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables to set (`Some`) or to remove (`None`, VS Code's `null`).
    pub env: Vec<(String, Option<String>)>,
    /// Its working directory.
    pub cwd: Option<PathBuf>,
}

/// How to reach an HTTP server.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpSpec {
    /// The endpoint.
    pub url: String,
    /// Extra headers on every request.
    pub headers: Vec<(String, String)>,
    /// A bearer token (Codex `bearer_token_env_var`), sent as `Authorization: Bearer …`.
    pub bearer: Option<String>,
    /// Which HTTP transport.
    pub mode: HttpMode,
    /// OAuth settings (the `oauth` object; on by default, used only on a 401).
    pub oauth: crate::oauth::OAuthSpec,
}

impl ServerSpec {
    /// A [`mcpmux::ServerBuilder`] for this server: transport, environment, headers, timeouts
    /// and name set; add anything else before `build()`.
    pub fn builder(&self) -> ServerBuilder {
        let mut b = match &self.transport {
            Transport::Stdio(s) => {
                let mut b = mcpmux::Server::stdio(&s.command).args(&s.args);
                for (k, v) in &s.env {
                    b = match v {
                        Some(v) => b.env(k, v),
                        None => b.env_remove(k),
                    };
                }
                if let Some(cwd) = &s.cwd {
                    b = b.cwd(cwd);
                }
                b
            }
            Transport::Http(h) => {
                let mut b = mcpmux::Server::http(&h.url).http_mode(h.mode);
                for (k, v) in &h.headers {
                    b = b.header(k, v);
                }
                if let Some(token) = &h.bearer {
                    b = b.bearer_token(token);
                }
                b
            }
        };
        b = b.name(&self.name);
        if let Some(t) = self.timeout {
            b = b.request_timeout(t);
        }
        if let Some(t) = self.startup_timeout {
            b = b.connect_timeout(Some(t));
        }
        b
    }

    /// A short description of the transport: `stdio`, `http`, `sse` or `http+sse` (Streamable
    /// HTTP, falling back to legacy SSE).
    pub fn transport_name(&self) -> &'static str {
        match &self.transport {
            Transport::Stdio(_) => "stdio",
            Transport::Http(h) => match h.mode {
                HttpMode::Streamable => "http",
                HttpMode::Sse => "sse",
                _ => "http+sse",
            },
        }
    }
}

// Secrets live in env values, headers and tokens: Debug shows names only.
impl fmt::Debug for ServerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSpec")
            .field("name", &self.name)
            .field("transport", &self.transport)
            .field("tools", &self.tools)
            .field("timeout", &self.timeout)
            .field("startup_timeout", &self.startup_timeout)
            .field("origin", &self.origin)
            .finish()
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Stdio(s) => f.debug_tuple("Stdio").field(s).finish(),
            Transport::Http(h) => f.debug_tuple("Http").field(h).finish(),
        }
    }
}

impl fmt::Debug for StdioSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("StdioSpec")
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &env)
            .field("cwd", &self.cwd)
            .finish()
    }
}

impl fmt::Debug for HttpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("HttpSpec")
            .field("url", &self.url)
            .field("headers", &headers)
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .field("mode", &self.mode)
            .field("oauth", &self.oauth)
            .finish()
    }
}

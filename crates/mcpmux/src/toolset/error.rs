//! The errors of a [`Toolset`](crate::Toolset): [`CallError`] for one call, [`ToolsetError`] for
//! building one.

use std::fmt;

use crate::error::{Error, ErrorKind};

/// What kind of failure a [`CallError`] is. [`as_str`](Self::as_str) gives the stable names of
/// `mcpmux batch`'s `error.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallErrorKind {
    /// The server answered with a JSON-RPC error.
    ServerError,
    /// The call timed out.
    Timeout,
    /// The call was cancelled.
    Cancelled,
    /// The connection closed during the call.
    Closed,
    /// The server could not be reached (initialize failed or timed out, an HTTP failure).
    Connect,
    /// The server process could not be started.
    Spawn,
    /// The server broke the protocol.
    Protocol,
    /// No such tool in the toolset (or it is filtered out).
    UnknownTool,
    /// The call was malformed (arguments not an object, ...).
    InvalidInput,
    /// The approval hook denied the call.
    Denied,
}

impl CallErrorKind {
    /// The stable snake_case name: `server_error`, `timeout`, `cancelled`, `closed`, `connect`,
    /// `spawn`, `protocol`, `unknown_tool`, `invalid_input` or `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallErrorKind::ServerError => "server_error",
            CallErrorKind::Timeout => "timeout",
            CallErrorKind::Cancelled => "cancelled",
            CallErrorKind::Closed => "closed",
            CallErrorKind::Connect => "connect",
            CallErrorKind::Spawn => "spawn",
            CallErrorKind::Protocol => "protocol",
            CallErrorKind::UnknownTool => "unknown_tool",
            CallErrorKind::InvalidInput => "invalid_input",
            CallErrorKind::Denied => "denied",
        }
    }
}

impl fmt::Display for CallErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tool call's failure, with the server it was for.
///
/// A tool that reports its own failure (`isError`) is not a `CallError`: the call succeeded and
/// its result says so.
#[derive(Debug, Clone)]
pub struct CallError {
    kind: CallErrorKind,
    server: Option<String>,
    message: String,
    source: Option<Error>,
}

impl CallError {
    pub(crate) fn new(
        kind: CallErrorKind,
        server: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        CallError {
            kind,
            server: server.map(str::to_owned),
            message: message.into(),
            source: None,
        }
    }

    /// A library error during a call on `server`.
    pub(crate) fn from_call(server: &str, error: Error) -> Self {
        let kind = match error.kind() {
            ErrorKind::Rpc => CallErrorKind::ServerError,
            ErrorKind::Timeout => CallErrorKind::Timeout,
            ErrorKind::Cancelled => CallErrorKind::Cancelled,
            ErrorKind::Closed => CallErrorKind::Closed,
            ErrorKind::Spawn => CallErrorKind::Spawn,
            ErrorKind::InvalidInput => CallErrorKind::InvalidInput,
            ErrorKind::Protocol => CallErrorKind::Protocol,
            _ => CallErrorKind::Connect,
        };
        CallError {
            kind,
            server: Some(server.to_owned()),
            message: chain(&error),
            source: Some(error),
        }
    }

    /// A server that could not be started or initialized.
    pub(crate) fn from_connect(server: &str, error: &Error) -> Self {
        let kind = if error.is_spawn() {
            CallErrorKind::Spawn
        } else {
            CallErrorKind::Connect
        };
        CallError {
            kind,
            server: Some(server.to_owned()),
            message: format!("server `{server}` is not available: {}", chain(error)),
            source: Some(error.clone()),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> CallErrorKind {
        self.kind
    }

    /// The server the call was for, if it was resolved to one.
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// The library error behind this one, if any.
    pub fn mcp_error(&self) -> Option<&Error> {
        self.source.as_ref()
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The message already holds the causes (joined by `chain` in this module), so there is no
/// `source()`.
impl std::error::Error for CallError {}

/// An error and its causes, joined by `: `, skipping a cause the text before already contains.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// Why a [`Toolset`](crate::Toolset) could not be built (or its tool list refreshed).
#[derive(Debug, Clone)]
pub struct ToolsetError {
    message: String,
    failures: Vec<(String, Error)>,
}

impl ToolsetError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ToolsetError {
            message: message.into(),
            failures: Vec::new(),
        }
    }

    pub(crate) fn startup(failures: Vec<(String, Error)>) -> Self {
        let names: Vec<String> = failures
            .iter()
            .map(|(n, e)| format!("`{n}`: {}", chain(e)))
            .collect();
        ToolsetError {
            message: format!(
                "{} server(s) failed to start: {}",
                failures.len(),
                names.join("; ")
            ),
            failures,
        }
    }

    /// The servers that failed to start (strict mode), with their errors.
    pub fn failures(&self) -> &[(String, Error)] {
        &self.failures
    }
}

impl fmt::Display for ToolsetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolsetError {}

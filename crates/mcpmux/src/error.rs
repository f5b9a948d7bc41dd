//! The one error type of mcpmux.

use std::fmt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use mcpmux_protocol::ErrorObject;

/// What went wrong, for callers that branch on it.
///
/// New kinds may be added in minor releases, so match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The connection is closed (process exited, stream ended, shut down); see
    /// [`Error::close_reason`].
    Closed,
    /// The request (or the connect / initialize step) took longer than its timeout.
    Timeout,
    /// The request was cancelled before it completed.
    Cancelled,
    /// The server answered with a JSON-RPC error; see [`Error::rpc_error`].
    Rpc,
    /// The server broke the protocol (malformed result, unsupported version, oversized message).
    Protocol,
    /// The server process could not be started.
    Spawn,
    /// The request could not be built (for example arguments that do not serialize), or the
    /// configuration is invalid.
    InvalidInput,
    /// The server is unavailable: its circuit is open after repeated failed connects.
    Unavailable,
    /// An HTTP request failed (connection refused, an error status, a stream lost for good);
    /// see [`Error::http_status`].
    Http,
    /// A [`Toolset`](crate::Toolset) has no tool of that name (or its filter hides it).
    UnknownTool,
    /// The [`Toolset`](crate::Toolset)'s approval hook denied the call.
    Denied,
    /// Authorization failed: the server wants a login that could not be done (no way to show
    /// the authorization page, the user refused, a timeout), the authorization server refused
    /// (a rejected client or grant, a scope that step-up could not obtain), or its metadata
    /// failed a check (a protected resource or issuer that does not match).
    Auth,
}

impl ErrorKind {
    /// A stable snake_case name for the kind, suitable for machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Closed => "closed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Rpc => "server_error",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Spawn => "spawn",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Http => "http",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::UnknownTool => "unknown_tool",
            ErrorKind::Denied => "denied",
            ErrorKind::Auth => "auth",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a connection closed: a description, the process exit status if there was a process, and
/// the last lines it wrote to stderr.
#[derive(Debug, Clone)]
pub struct CloseReason {
    pub(crate) what: String,
    pub(crate) exit_status: Option<ExitStatus>,
    pub(crate) stderr_tail: Vec<String>,
}

impl CloseReason {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        CloseReason {
            what: what.into(),
            exit_status: None,
            stderr_tail: Vec::new(),
        }
    }

    /// What happened, e.g. "server process exited" or "connection closed by the client".
    pub fn description(&self) -> &str {
        &self.what
    }

    /// The server process's exit status, when it exited and was reaped.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.exit_status
    }

    /// The last lines the server wrote to stderr (each capped in length), oldest first.
    pub fn stderr_tail(&self) -> &[String] {
        &self.stderr_tail
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(status) = self.exit_status {
            write!(f, " ({status})")?;
        }
        let last = self.stderr_tail.iter().rev().find(|l| !l.trim().is_empty());
        match (self.stderr_line(), last) {
            (Some(best), Some(last)) if best != last.as_str() => {
                write!(f, "; stderr: {best} (last stderr line: {last})")?;
            }
            (_, Some(last)) => write!(f, "; last stderr line: {last}")?,
            _ => {}
        }
        Ok(())
    }
}

impl CloseReason {
    /// The most informative of the last stderr lines: the latest error-like line (`Error: ...`,
    /// `error: ...`, an exception, a panic) rather than what a runtime prints after it (Node's
    /// `Node.js v20.20.2` banner, a stack frame); otherwise the last line that is not blank.
    pub fn stderr_line(&self) -> Option<&str> {
        self.stderr_tail
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .max_by_key(|(i, l)| (stderr_line_rank(l), *i))
            .map(|(_, l)| l.as_str())
    }
}

/// How much a stderr line tells a person why a process died: 3 a line that opens with an error
/// (`Error: `, `TypeError: `, `error[E0432]: `, `fatal: `, `thread 'main' panicked at`), 2 a
/// line that names one elsewhere, 0 a version banner or a stack frame, 1 anything else.
fn stderr_line_rank(line: &str) -> u8 {
    let t = line.trim();
    let lower = t.to_ascii_lowercase();
    let frame = t.starts_with("at ") || t.starts_with("File \"") || t.starts_with("^");
    let banner = t.split_whitespace().count() <= 3
        && t.split_whitespace().any(|w| {
            let w = w.trim_start_matches('v');
            w.contains('.')
                && w.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
    if frame || banner {
        return 0;
    }
    let head = t.split([':', '[', ' ']).next().unwrap_or("");
    let opens = head.ends_with("Error")
        || head.ends_with("Exception")
        || matches!(
            head.to_ascii_lowercase().as_str(),
            "error" | "fatal" | "panic"
        )
        || lower.contains("panicked at");
    if opens && t.len() > head.len() {
        return 3;
    }
    let names = ["error", "exception", "panicked", "traceback", "fatal"];
    if names.iter().any(|n| lower.contains(n)) {
        return 2;
    }
    1
}

#[derive(Debug, Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    rpc: Option<ErrorObject>,
    close: Option<Arc<CloseReason>>,
    http_status: Option<u16>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    /// The server the failed operation was for, when known.
    server: Option<Arc<str>>,
    /// Whether it failed while connecting (spawn, handshake), not during a request.
    connecting: bool,
    /// Each server that failed to start, for a toolset's strict start.
    failures: Vec<(String, Error)>,
}

/// An mcpmux error: cheap to clone (one pointer), with a kind you can branch on.
///
/// The `Display` text is for people and may change between releases; branch on
/// [`Error::kind`] or the `is_*` predicates instead. It does not repeat the underlying cause,
/// which [`std::error::Error::source`] returns.
///
/// ```
/// # async fn f(server: mcpmux::Server) {
/// match server.call_tool("echo", serde_json::json!({"text": "hi"})).await {
///     Ok(result) => println!("{}", result.text()),
///     Err(e) if e.is_timeout() => eprintln!("too slow: {e}"),
///     Err(e) if e.is_closed() => eprintln!("server went away: {:?}", e.close_reason()),
///     Err(e) => eprintln!("failed: {e}"),
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

impl Error {
    fn build(
        kind: ErrorKind,
        message: String,
        rpc: Option<ErrorObject>,
        close: Option<Arc<CloseReason>>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error {
            inner: Arc::new(Inner {
                kind,
                message,
                rpc,
                close,
                http_status: None,
                source: source.map(Arc::from),
                server: None,
                connecting: false,
                failures: Vec::new(),
            }),
        }
    }

    /// This error with one more detail set (copied once if the error is shared).
    fn with(mut self, set: impl FnOnce(&mut Inner)) -> Self {
        set(Arc::make_mut(&mut self.inner));
        self
    }

    /// The same error with `note` appended to its message.
    pub(crate) fn noted(self, note: &str) -> Self {
        self.with(|i| {
            i.message.push_str("; ");
            i.message.push_str(note);
        })
    }

    /// The same error, for `server` (kept when one is already set).
    pub(crate) fn for_server(self, server: &str) -> Self {
        if self.inner.server.is_some() {
            return self;
        }
        self.with(|i| i.server = Some(server.into()))
    }

    /// `server` could not be started or initialized: the cause's kind, marked as a connect
    /// failure, with a message naming the server.
    pub(crate) fn unavailable_server(server: &str, cause: &Error) -> Self {
        // The message carries the cause and its chain (no `source()`, so nothing repeats).
        let message = format!("server `{server}` is not available: {}", chain(cause));
        Error::build(
            cause.kind(),
            message,
            cause.inner.rpc.clone(),
            cause.inner.close.clone(),
            None,
        )
        .with(|i| {
            i.server = Some(server.into());
            i.connecting = true;
            i.http_status = cause.inner.http_status;
        })
    }

    /// Several servers failed to start (a toolset's strict start): the first failure's kind.
    pub(crate) fn startup(failures: Vec<(String, Error)>) -> Self {
        let names: Vec<String> = failures
            .iter()
            .map(|(n, e)| format!("`{n}`: {}", chain(e)))
            .collect();
        let kind = failures
            .first()
            .map_or(ErrorKind::Unavailable, |(_, e)| e.kind());
        let message = format!(
            "{} server(s) failed to start: {}",
            failures.len(),
            names.join("; ")
        );
        Error::build(kind, message, None, None, None).with(|i| {
            i.connecting = true;
            i.failures = failures;
        })
    }

    /// Opening a connection to `server` (spawn, handshake, retries) ran past `limit`.
    pub(crate) fn connect_timeout(server: &str, limit: Duration) -> Self {
        Error::build(
            ErrorKind::Timeout,
            format!(
                "connecting to `{server}` timed out after {}: the server did not start and complete its handshake in time",
                seconds(limit)
            ),
            None,
            None,
            None,
        )
        .with(|i| {
            i.server = Some(server.into());
            i.connecting = true;
        })
    }

    /// No tool of that name.
    pub(crate) fn unknown_tool(server: Option<&str>, message: impl Into<String>) -> Self {
        Error::build(ErrorKind::UnknownTool, message.into(), None, None, None)
            .with(|i| i.server = server.map(Into::into))
    }

    /// The approval hook said no.
    pub(crate) fn denied(server: &str, message: impl Into<String>) -> Self {
        Error::build(ErrorKind::Denied, message.into(), None, None, None)
            .with(|i| i.server = Some(server.into()))
    }

    pub(crate) fn closed(reason: Arc<CloseReason>) -> Self {
        Error::build(
            ErrorKind::Closed,
            format!("connection closed: {reason}"),
            None,
            Some(reason),
            None,
        )
    }

    pub(crate) fn timeout(what: &str, after: Duration) -> Self {
        Error::build(
            ErrorKind::Timeout,
            format!("{what} timed out after {after:?}"),
            None,
            None,
            None,
        )
    }

    pub(crate) fn rpc(method: &str, err: ErrorObject) -> Self {
        Error::build(
            ErrorKind::Rpc,
            format!("server returned an error for {method}: {err}"),
            Some(err),
            None,
            None,
        )
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Error::build(ErrorKind::Protocol, message.into(), None, None, None)
    }

    pub(crate) fn protocol_from(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::build(
            ErrorKind::Protocol,
            message.into(),
            None,
            None,
            Some(Box::new(source)),
        )
    }

    pub(crate) fn http(
        message: impl Into<String>,
        status: Option<u16>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::build(ErrorKind::Http, message.into(), None, None, source)
            .with(|i| i.http_status = status)
    }

    /// An authorization failure ([`ErrorKind::Auth`]). The message must never carry a token.
    pub(crate) fn auth(message: impl Into<String>) -> Self {
        Error::build(ErrorKind::Auth, message.into(), None, None, None)
    }

    /// An authorization failure with its HTTP status.
    pub(crate) fn auth_status(message: impl Into<String>, status: u16) -> Self {
        Error::auth(message).with(|i| i.http_status = Some(status))
    }

    pub(crate) fn cancelled(message: String) -> Self {
        Error::build(ErrorKind::Cancelled, message, None, None, None)
    }

    pub(crate) fn unavailable(message: String) -> Self {
        Error::build(ErrorKind::Unavailable, message, None, None, None)
    }

    pub(crate) fn spawn(program: &str, source: std::io::Error) -> Self {
        Error::build(
            ErrorKind::Spawn,
            format!("could not start `{program}`"),
            None,
            None,
            Some(Box::new(source)),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::build(ErrorKind::InvalidInput, message.into(), None, None, None)
    }

    pub(crate) fn invalid_input(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::build(
            ErrorKind::InvalidInput,
            message.into(),
            None,
            None,
            Some(Box::new(source)),
        )
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Authorization failed ([`ErrorKind::Auth`]).
    pub fn is_auth(&self) -> bool {
        self.inner.kind == ErrorKind::Auth
    }

    /// The connection was closed; [`close_reason`](Self::close_reason) says why.
    pub fn is_closed(&self) -> bool {
        self.inner.kind == ErrorKind::Closed
    }

    /// A timeout expired.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// The request was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.kind == ErrorKind::Cancelled
    }

    /// The server answered with a JSON-RPC error ([`rpc_error`](Self::rpc_error)).
    pub fn is_rpc(&self) -> bool {
        self.inner.kind == ErrorKind::Rpc
    }

    /// The server violated the protocol.
    pub fn is_protocol(&self) -> bool {
        self.inner.kind == ErrorKind::Protocol
    }

    /// The server process could not be started.
    pub fn is_spawn(&self) -> bool {
        self.inner.kind == ErrorKind::Spawn
    }

    /// An HTTP request failed ([`http_status`](Self::http_status) has the status, if any).
    pub fn is_http(&self) -> bool {
        self.inner.kind == ErrorKind::Http
    }

    /// The HTTP status of a failed HTTP request, if the server answered.
    pub fn http_status(&self) -> Option<u16> {
        self.inner.http_status
    }

    /// The JSON-RPC error object (code, message, data) the server returned.
    pub fn rpc_error(&self) -> Option<&ErrorObject> {
        self.inner.rpc.as_ref()
    }

    /// Why the connection closed, for [`ErrorKind::Closed`].
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.inner.close.as_deref()
    }

    /// The server the failed operation was for, when known (a [`Toolset`](crate::Toolset)'s
    /// errors name it).
    pub fn server(&self) -> Option<&str> {
        self.inner.server.as_deref()
    }

    /// Whether the server could not be started or initialized (as opposed to a request that
    /// failed on a working connection).
    pub fn is_connect(&self) -> bool {
        self.inner.connecting
    }

    /// Each server that failed to start, with its error, when a
    /// [`ToolsetBuilder::strict`](crate::ToolsetBuilder::strict) start failed; empty otherwise.
    pub fn failures(&self) -> &[(String, Error)] {
        &self.inner.failures
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(server) = &self.inner.server {
            d.field("server", server);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A duration as a person writes it: `2s`, `0.5s`, `1m 30s`.
pub(crate) fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        let s = ms / 1000;
        if s >= 60 && !s.is_multiple_of(60) {
            format!("{}m {}s", s / 60, s % 60)
        } else if s >= 60 {
            format!("{}m", s / 60)
        } else {
            format!("{s}s")
        }
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

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

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn predicates_match_kinds() {
        let e = Error::timeout("tools/call", Duration::from_millis(5));
        assert!(e.is_timeout() && !e.is_closed());
        assert_eq!(e.kind().as_str(), "timeout");
        let e = Error::rpc("tools/call", ErrorObject::new(-32602, "bad"));
        assert_eq!(e.rpc_error().map(|r| r.code), Some(-32602));
        let mut reason = CloseReason::new("server process exited");
        reason.stderr_tail = vec!["boom".into()];
        let e = Error::closed(Arc::new(reason));
        assert!(e.to_string().contains("boom"), "{e}");
        assert_eq!(
            e.close_reason().map(|r| r.description()),
            Some("server process exited")
        );
    }

    #[test]
    fn the_stderr_line_is_the_error_not_the_banner() {
        let reason = |lines: &[&str]| {
            let mut r = CloseReason::new("server process exited");
            r.stderr_tail = lines.iter().map(|l| (*l).to_owned()).collect();
            r
        };
        let node = reason(&[
            "node:internal/modules/cjs/loader:1228",
            "  throw err;",
            "  ^",
            "",
            "Error: Cannot find module 'x'",
            "Require stack:",
            "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)",
            "  code: 'MODULE_NOT_FOUND',",
            "}",
            "",
            "Node.js v20.20.2",
        ]);
        assert_eq!(node.stderr_line(), Some("Error: Cannot find module 'x'"));
        let shown = node.to_string();
        assert!(
            shown.contains("stderr: Error: Cannot find module 'x'")
                && shown.contains("Node.js v20.20.2"),
            "{shown}"
        );
        let python = reason(&[
            "Traceback (most recent call last):",
            "  File \"server.py\", line 1, in <module>",
            "    import mcp",
            "ModuleNotFoundError: No module named 'mcp'",
        ]);
        assert_eq!(
            python.stderr_line(),
            Some("ModuleNotFoundError: No module named 'mcp'")
        );
        let rust = reason(&[
            "thread 'main' panicked at src/main.rs:2:5:",
            "boom",
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        ]);
        assert_eq!(
            rust.stderr_line(),
            Some("thread 'main' panicked at src/main.rs:2:5:")
        );
        let plain = reason(&["starting", "listening on stdio", ""]);
        assert_eq!(plain.stderr_line(), Some("listening on stdio"));
        assert_eq!(
            plain.to_string(),
            "server process exited; last stderr line: listening on stdio"
        );
        assert_eq!(reason(&[]).stderr_line(), None);
    }

    #[test]
    fn toolset_kinds_have_stable_names() {
        assert_eq!(ErrorKind::UnknownTool.as_str(), "unknown_tool");
        assert_eq!(ErrorKind::Denied.to_string(), "denied");
        let e = Error::unknown_tool(Some("srv"), "unknown tool `srv.x`");
        assert_eq!(
            (e.kind(), e.server()),
            (ErrorKind::UnknownTool, Some("srv"))
        );
        assert!(!e.is_connect());
        let e = Error::denied("srv", "call of `srv_x` denied: no");
        assert_eq!((e.kind(), e.server()), (ErrorKind::Denied, Some("srv")));
    }

    #[test]
    fn a_server_name_is_added_once_without_touching_the_rest() {
        let e = Error::rpc("tools/call", ErrorObject::new(-32602, "bad"));
        let shared = e.clone();
        let named = e.for_server("a").for_server("b");
        assert_eq!(named.server(), Some("a"));
        assert_eq!(named.kind(), ErrorKind::Rpc);
        assert_eq!(named.rpc_error().map(|r| r.code), Some(-32602));
        assert_eq!(named.to_string(), shared.to_string());
        // The clone taken before is unchanged (copy on write).
        assert_eq!(shared.server(), None);
    }

    #[test]
    fn an_unavailable_server_keeps_the_cause_kind_and_text() {
        let cause = Error::spawn(
            "/nonexistent/mcp",
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
        );
        let e = Error::unavailable_server("broken", &cause);
        assert_eq!(e.kind(), ErrorKind::Spawn);
        assert!(e.is_connect());
        assert_eq!(e.server(), Some("broken"));
        assert_eq!(
            e.to_string(),
            "server `broken` is not available: could not start `/nonexistent/mcp`: No such file or directory"
        );
        assert!(
            std::error::Error::source(&e).is_none(),
            "the message holds the chain"
        );
        let strict = Error::startup(vec![("broken".into(), cause)]);
        assert_eq!(strict.kind(), ErrorKind::Spawn);
        assert!(strict.is_connect());
        assert_eq!(strict.failures().len(), 1);
        assert!(
            strict.to_string().contains("`broken`: could not start"),
            "{strict}"
        );
    }
}

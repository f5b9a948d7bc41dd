//! [`HttpOptions`]: how [`Gateway::serve_http`](crate::Gateway::serve_http) serves.

use std::fmt;
use std::time::Duration;

/// How the gateway serves MCP over HTTP: the endpoint path, who may connect, and the limits.
/// The defaults suit a gateway on 127.0.0.1.
///
/// ```
/// use std::time::Duration;
/// use mcpmux_gateway::HttpOptions;
///
/// let options = HttpOptions::new()
///     .path("/mcp")
///     .bearer_token("s3cret")
///     .allow_origin("https://app.example")
///     .body_limit(1 << 20)
///     .session_concurrency(64)
///     .json_response(false)
///     .disconnect_grace(Duration::from_secs(5));
/// assert_eq!(options.endpoint_path(), "/mcp");
/// assert!(!format!("{options:?}").contains("s3cret"), "the token is never printed");
/// ```
#[derive(Clone)]
pub struct HttpOptions {
    pub(crate) path: String,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) token: Option<String>,
    pub(crate) body_limit: usize,
    pub(crate) session_concurrency: usize,
    pub(crate) json_response: bool,
    pub(crate) disconnect_grace: Duration,
    pub(crate) max_sessions: usize,
    pub(crate) session_idle: Duration,
    pub(crate) retry_ms: u64,
}

impl Default for HttpOptions {
    fn default() -> HttpOptions {
        HttpOptions {
            path: "/mcp".to_owned(),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            token: None,
            body_limit: 4 << 20,
            session_concurrency: 256,
            json_response: false,
            disconnect_grace: Duration::from_secs(5),
            max_sessions: 1024,
            session_idle: Duration::from_secs(30 * 60),
            retry_ms: 1000,
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("path", &self.path)
            .field("allowed_origins", &self.allowed_origins)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("body_limit", &self.body_limit)
            .field("session_concurrency", &self.session_concurrency)
            .field("json_response", &self.json_response)
            .field("disconnect_grace", &self.disconnect_grace)
            .field("max_sessions", &self.max_sessions)
            .field("session_idle", &self.session_idle)
            .finish()
    }
}

impl HttpOptions {
    /// The defaults: Streamable HTTP on `/mcp`, no token, a 4 MiB body limit, 256 requests
    /// of one session at once, SSE answers, 5 s of disconnect grace, at most 1,024 sessions.
    pub fn new() -> HttpOptions {
        HttpOptions::default()
    }

    /// The Streamable HTTP endpoint's path (default `/mcp`): it must start with `/` and hold
    /// only letters, digits and `/ - _ . ~`, and must not be `/sse`, `/messages` or `/metrics`
    /// (the legacy transport and the metrics live there).
    pub fn path(mut self, path: impl Into<String>) -> HttpOptions {
        self.path = path.into();
        self
    }

    /// The endpoint path.
    pub fn endpoint_path(&self) -> &str {
        &self.path
    }

    /// Also allows requests whose `Origin` is exactly `origin` (e.g. `https://app.example`).
    /// Origins on `localhost`, `127.0.0.1` and `[::1]` are always allowed; a request with any
    /// other `Origin` gets 403. Requests without `Origin` (not from a browser) are allowed.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> HttpOptions {
        self.allowed_origins
            .push(origin.into().trim_end_matches('/').to_ascii_lowercase());
        self
    }

    /// Also allows requests whose `Host` names `host` (any port). On a loopback address
    /// only `localhost`, `127.0.0.1` and `[::1]` are allowed otherwise (DNS rebinding
    /// protection), and a request naming another host gets 403; on other addresses every
    /// host is allowed unless this names some.
    pub fn allow_host(mut self, host: impl Into<String>) -> HttpOptions {
        self.allowed_hosts.push(host.into().to_ascii_lowercase());
        self
    }

    /// Clients must send `Authorization: Bearer <token>` (401 otherwise), on every route,
    /// `/metrics` included. Required to serve on a non-loopback address.
    pub fn bearer_token(mut self, token: impl Into<String>) -> HttpOptions {
        self.token = Some(token.into());
        self
    }

    /// The largest request body in bytes (default 4 MiB); larger ones get 413.
    pub fn body_limit(mut self, bytes: usize) -> HttpOptions {
        self.body_limit = bytes;
        self
    }

    /// How many requests of one session run at once (default 256, at least 1); more wait
    /// for a running one to end, in arrival order.
    pub fn session_concurrency(mut self, limit: usize) -> HttpOptions {
        self.session_concurrency = limit.max(1);
        self
    }

    /// Answer POSTs with one `application/json` body even when the client accepts
    /// `text/event-stream` (default false: an SSE stream, carrying the request's progress and
    /// log messages before its response). Clients that accept only JSON always get JSON.
    pub fn json_response(mut self, json: bool) -> HttpOptions {
        self.json_response = json;
        self
    }

    /// How long a request whose SSE response stream the client dropped keeps running, waiting
    /// for the client to resume the stream with `Last-Event-ID` (default 5 s); then it is
    /// cancelled (and its upstream call with it).
    pub fn disconnect_grace(mut self, grace: Duration) -> HttpOptions {
        self.disconnect_grace = grace;
        self
    }

    /// At most this many Streamable HTTP and legacy SSE sessions at once (default 1,024);
    /// `initialize` then gets 503 unless an idle session can be forgotten.
    pub fn max_sessions(mut self, sessions: usize) -> HttpOptions {
        self.max_sessions = sessions.max(1);
        self
    }

    /// A Streamable HTTP session with no request, no open stream and no message from its
    /// client for this long (default 30 minutes) is forgotten (its client then gets 404 and
    /// initializes again).
    pub fn session_idle(mut self, idle: Duration) -> HttpOptions {
        self.session_idle = idle;
        self
    }

    /// Whether these options can be served: the path must be one [`HttpOptions::path`]
    /// accepts. [`Gateway::serve_http`](crate::Gateway::serve_http) checks this too.
    ///
    /// # Errors
    /// Why the path cannot be served.
    ///
    /// ```
    /// use mcpmux_gateway::HttpOptions;
    /// assert!(HttpOptions::new().check().is_ok());
    /// assert!(HttpOptions::new().path("/metrics").check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), String> {
        let p = &self.path;
        let ok_chars = p
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
        if !p.starts_with('/') || !ok_chars || p.contains("//") {
            return Err(format!(
                "invalid path `{p}`: it must start with `/` and hold only letters, digits and / - _ . ~"
            ));
        }
        if ["/sse", "/messages", "/metrics"].contains(&p.as_str()) {
            return Err(format!(
                "invalid path `{p}`: /sse, /messages and /metrics are taken"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        for ok in ["/mcp", "/", "/a/b-c_d.e~f"] {
            assert!(HttpOptions::new().path(ok).check().is_ok(), "{ok}");
        }
        for bad in ["mcp", "/{x}", "/*rest", "/sse", "/metrics", "/a//b", "/é"] {
            assert!(HttpOptions::new().path(bad).check().is_err(), "{bad}");
        }
    }
}

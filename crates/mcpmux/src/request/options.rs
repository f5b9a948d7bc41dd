//! [`RequestOptions`]: per-request settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mcpmux_protocol::{JsonObject, ProgressParams, ProgressToken, RequestId};

/// Per-request settings that override the server's defaults.
///
/// ```
/// use std::time::Duration;
/// let opts = mcpmux::RequestOptions::new().timeout(Duration::from_secs(5)).progress_token("job-1");
/// # let _ = opts;
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct RequestOptions {
    pub(crate) timeout: Option<Duration>,
    /// Everything else, rarely set: boxed, so the options a plain call carries (and every call's
    /// future holds until it is queued) stay 24 bytes.
    extra: Option<Box<Extra>>,
}

/// The rarely set options.
#[derive(Clone, Default)]
struct Extra {
    progress_token: Option<ProgressToken>,
    on_progress: Option<ProgressCallback>,
    /// With progress: each notification restarts the timeout, up to this total.
    reset_up_to: Option<Duration>,
    /// Extra HTTP headers (stateless MCP's `Mcp-Param-*`).
    headers: Vec<(String, String)>,
    /// The request's `_meta` (besides the progress token).
    meta: Option<JsonObject>,
    /// A stateless server's `input_required` result goes to the caller as it is.
    input_required_to_caller: bool,
}

/// A per-call progress callback.
pub(crate) type ProgressCallback = Arc<dyn Fn(ProgressParams) + Send + Sync>;

impl std::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extra = self.extra.as_deref();
        f.debug_struct("RequestOptions")
            .field("timeout", &self.timeout)
            .field("progress_token", &self.token())
            .field("on_progress", &self.on_progress_callback().is_some())
            .field("reset_up_to", &self.reset_up_to())
            .field("meta", &extra.and_then(|e| e.meta.as_ref()))
            .finish()
    }
}

/// Progress tokens chosen by mcpmux when a callback is set without an explicit token.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

impl RequestOptions {
    /// Defaults: the server's request timeout, no progress token.
    pub fn new() -> Self {
        Self::default()
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// The progress token, if one was set (or chosen for a callback).
    pub(crate) fn token(&self) -> Option<&ProgressToken> {
        self.extra.as_deref()?.progress_token.as_ref()
    }

    /// The per-call progress callback.
    pub(crate) fn on_progress_callback(&self) -> Option<&ProgressCallback> {
        self.extra.as_deref()?.on_progress.as_ref()
    }

    /// The most a progress-reset timeout may run in all.
    pub(crate) fn reset_up_to(&self) -> Option<Duration> {
        self.extra.as_deref()?.reset_up_to
    }

    /// Extra HTTP headers of this request.
    pub(crate) fn headers(&self) -> &[(String, String)] {
        self.extra.as_deref().map_or(&[], |e| &e.headers)
    }

    /// Sets the extra HTTP headers (stateless MCP's `Mcp-Param-*`).
    pub(crate) fn set_headers(&mut self, headers: Vec<(String, String)>) {
        if !headers.is_empty() || self.extra.is_some() {
            self.extra_mut().headers = headers;
        }
    }

    /// This request's timeout, instead of the server's default. On expiry the request is
    /// cancelled on the server too (`notifications/cancelled`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Ask the server for progress notifications tagged with this token (`_meta.progressToken`);
    /// they arrive on [`Server::notifications`](crate::Server::notifications).
    pub fn progress_token(mut self, token: impl Into<ProgressToken>) -> Self {
        self.extra_mut().progress_token = Some(token.into());
        self
    }

    /// Calls `callback` with each progress notification for this request (in this task, as
    /// the notifications arrive). A progress token is chosen if none was set. The channel to the
    /// callback is bounded: if the callback is slower than the server, old updates are dropped.
    ///
    /// ```
    /// let opts = mcpmux::RequestOptions::new()
    ///     .on_progress(|p| eprintln!("{}/{:?} {}", p.progress, p.total, p.message.unwrap_or_default()));
    /// # let _ = opts;
    /// ```
    pub fn on_progress(
        mut self,
        callback: impl Fn(ProgressParams) + Send + Sync + 'static,
    ) -> Self {
        let extra = self.extra_mut();
        extra.on_progress = Some(Arc::new(callback));
        if extra.progress_token.is_none() {
            let n = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
            extra.progress_token = Some(RequestId::String(format!("mcpmux-progress-{n}")));
        }
        self
    }

    /// Whether progress is routed to this caller (a callback, or timeouts reset by progress):
    /// then the caller keeps the timer.
    pub(crate) fn routes_progress(&self) -> bool {
        self.extra
            .as_deref()
            .is_some_and(|e| e.on_progress.is_some() || e.reset_up_to.is_some())
    }

    /// Adds `key: value` to the request's `_meta` (e.g. tracing context or an extension's
    /// fields). The progress token, when set, is added beside it.
    ///
    /// ```
    /// let opts = mcpmux::RequestOptions::new().meta("com.example/trace", "abc123");
    /// # let _ = opts;
    /// ```
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.extra_mut()
            .meta
            .get_or_insert_with(JsonObject::new)
            .insert(key.into(), value.into());
        self
    }

    /// The request's `_meta`: the caller's entries and the progress token.
    pub(crate) fn request_meta(&self) -> Option<JsonObject> {
        let extra = self.extra.as_deref()?;
        let Some(token) = &extra.progress_token else {
            return extra.meta.clone();
        };
        let mut m = extra.meta.clone().unwrap_or_default();
        m.insert(
            "progressToken".to_owned(),
            serde_json::to_value(token).unwrap_or(serde_json::Value::Null),
        );
        Some(m)
    }

    /// On a stateless (2026-07-28) connection, hands a multi-round-trip result
    /// (`resultType: "input_required"`, with its `inputRequests` and `requestState`) to the
    /// caller as it came, instead of answering its input requests with this server's handlers
    /// and retrying. For a caller that passes the round trips on to a client of its own (a
    /// gateway); its retry carries `inputResponses` and `requestState` in the params. No effect
    /// on a session connection, where input requests are server requests to the handlers.
    ///
    /// ```
    /// let opts = mcpmux::RequestOptions::new().input_required_to_caller();
    /// # let _ = opts;
    /// ```
    pub fn input_required_to_caller(mut self) -> Self {
        self.extra_mut().input_required_to_caller = true;
        self
    }

    /// Whether `input_required` results go to the caller.
    pub(crate) fn passes_input_required(&self) -> bool {
        self.extra
            .as_deref()
            .is_some_and(|e| e.input_required_to_caller)
    }

    /// Each progress notification restarts the timeout, but the request never runs longer than
    /// `max_total` in all. Needs a progress token (set by [`on_progress`](Self::on_progress) or
    /// [`progress_token`](Self::progress_token)).
    pub fn reset_timeout_on_progress(mut self, max_total: Duration) -> Self {
        self.extra_mut().reset_up_to = Some(max_total);
        self
    }
}

/// The per-request option setters of a request builder whose `options` field is a
/// [`RequestOptions`]: `timeout`, `progress_token`, `on_progress`, `reset_timeout_on_progress`,
/// `meta`, `input_required_to_caller`, and `options` to replace them all.
macro_rules! option_setters {
    () => {
        /// This request's timeout, instead of the server's default. On expiry the request is
        /// cancelled on the server too (`notifications/cancelled`).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options = self.options.timeout(timeout);
            self
        }

        /// Asks the server for progress notifications tagged with this token
        /// (`_meta.progressToken`); they arrive on
        /// [`Server::notifications`](crate::Server::notifications).
        pub fn progress_token(mut self, token: impl Into<mcpmux_protocol::ProgressToken>) -> Self {
            self.options = self.options.progress_token(token);
            self
        }

        /// Calls `callback` with each progress notification for this request, as it arrives
        /// (see [`RequestOptions::on_progress`](crate::RequestOptions::on_progress)).
        pub fn on_progress(
            mut self,
            callback: impl Fn(mcpmux_protocol::ProgressParams) + Send + Sync + 'static,
        ) -> Self {
            self.options = self.options.on_progress(callback);
            self
        }

        /// Each progress notification restarts the timeout, up to `max_total` in all (see
        /// [`RequestOptions::reset_timeout_on_progress`](crate::RequestOptions::reset_timeout_on_progress)).
        pub fn reset_timeout_on_progress(mut self, max_total: std::time::Duration) -> Self {
            self.options = self.options.reset_timeout_on_progress(max_total);
            self
        }

        /// Adds `key: value` to the request's `_meta`.
        pub fn meta(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
            self.options = self.options.meta(key, value);
            self
        }

        /// Hands a stateless server's `input_required` result to the caller as it came (see
        /// [`RequestOptions::input_required_to_caller`](crate::RequestOptions::input_required_to_caller)).
        pub fn input_required_to_caller(mut self) -> Self {
            self.options = self.options.input_required_to_caller();
            self
        }

        /// Replaces every per-request option at once (options prepared elsewhere and reused).
        pub fn options(mut self, options: crate::RequestOptions) -> Self {
            self.options = options;
            self
        }
    };
}
pub(crate) use option_setters;

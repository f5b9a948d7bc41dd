//! Recovery: reconnect with backoff and jitter, a circuit breaker, a health view, and the
//! session state (subscriptions, log level) restored on every new connection or session.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use mcpmux_protocol::LoggingLevel;

use crate::error::{Error, ErrorKind};

/// How a [`Server`](crate::Server) reconnects after its connection died or failed to start.
///
/// A dead connection is replaced by the next request at once. When connecting fails, `enter()`
/// retries up to `max_attempts` times in all, waiting `base_delay × 2^n` (capped at
/// `max_delay`, with ±50 % jitter) between tries. After `circuit_threshold` consecutive failed
/// connects the circuit opens: requests fail at once with [`ErrorKind::Unavailable`] until
/// `circuit_cooldown` has passed, then one attempt is let through.
///
/// Tool calls are never retried: a call whose connection died fails with the close reason.
///
/// ```
/// use std::time::Duration;
/// let policy = mcpmux::ReconnectPolicy::default()
///     .max_attempts(5)
///     .circuit(3, Duration::from_secs(10));
/// let server = mcpmux::Server::stdio("my-server").reconnect(policy).build();
/// assert!(server.is_ok());
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct ReconnectPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) circuit_threshold: u32,
    pub(crate) circuit_cooldown: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            circuit_threshold: 5,
            circuit_cooldown: Duration::from_secs(30),
        }
    }
}

impl ReconnectPolicy {
    /// Connect attempts per `enter()` (at least 1; default 3).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Backoff between attempts: `base` doubling up to `max` (default 100 ms to 5 s).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// Open the circuit after `threshold` consecutive failed connects, for `cooldown`
    /// (default 5 failures, 30 s).
    pub fn circuit(mut self, threshold: u32, cooldown: Duration) -> Self {
        self.circuit_threshold = threshold.max(1);
        self.circuit_cooldown = cooldown;
        self
    }

    /// No retries and no circuit: every failure goes straight to the caller.
    pub fn none() -> Self {
        ReconnectPolicy {
            max_attempts: 1,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            circuit_threshold: u32::MAX,
            circuit_cooldown: Duration::ZERO,
        }
    }

    /// The wait before retry `n` (1-based), with ±50 % jitter.
    pub(crate) fn delay(&self, n: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << n.saturating_sub(1).min(16))
            .min(self.max_delay);
        // Jitter from the wall clock's nanoseconds: enough to spread a herd of clients, with no
        // RNG dependency.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let factor = 0.5 + f64::from(nanos % 1000) / 1000.0; // 0.5 ..< 1.5
        exp.mul_f64(factor)
    }
}

/// Whether a failed connect is worth retrying (the server may come back).
pub(crate) fn retryable(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Timeout | ErrorKind::Closed | ErrorKind::Http
    )
}

/// The connection state of a server, for dashboards and `mcpmux servers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthState {
    /// No connection yet, or closed because nobody used it.
    Idle,
    /// Connected and initialized.
    Connected,
    /// The last connection died or failed; the next request reconnects.
    Disconnected,
    /// Too many consecutive failures: requests fail at once until the cooldown ends.
    CircuitOpen,
}

impl HealthState {
    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Idle => "idle",
            HealthState::Connected => "connected",
            HealthState::Disconnected => "disconnected",
            HealthState::CircuitOpen => "circuit_open",
        }
    }
}

/// A snapshot of a server's health.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Health {
    /// The state now.
    pub state: HealthState,
    /// The last failure (connect error or why a connection died), if any.
    pub last_error: Option<Error>,
    /// Connections successfully opened so far.
    pub connections: u64,
    /// Connections opened to replace one that died.
    pub restarts: u64,
    /// Failed connects since the last success.
    pub consecutive_failures: u32,
}

#[derive(Debug, Default)]
struct TrackerState {
    last_error: Option<Error>,
    connections: u64,
    restarts: u64,
    consecutive_failures: u32,
    /// The last connection died of a server-side failure.
    lost: bool,
    circuit_until: Option<Instant>,
}

/// Tracks connects and failures of one server handle.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    state: Mutex<TrackerState>,
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn connected(&self) {
        let mut s = self.lock();
        s.connections += 1;
        if s.lost || s.consecutive_failures > 0 {
            s.restarts += u64::from(s.connections > 1);
        }
        s.lost = false;
        s.consecutive_failures = 0;
        s.circuit_until = None;
    }

    pub(crate) fn connect_failed(&self, e: &Error, policy: &ReconnectPolicy) {
        let mut s = self.lock();
        s.last_error = Some(e.clone());
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        if s.consecutive_failures >= policy.circuit_threshold {
            s.circuit_until = Some(Instant::now() + policy.circuit_cooldown);
        }
    }

    pub(crate) fn connection_lost(&self, e: Error) {
        let mut s = self.lock();
        s.last_error = Some(e);
        s.lost = true;
    }

    /// `Err` while the circuit is open.
    pub(crate) fn check_circuit(&self, name: &str) -> Result<(), Error> {
        let s = self.lock();
        match s.circuit_until {
            Some(until) if Instant::now() < until => Err(Error::unavailable(format!(
                "server {name} is unavailable: {} connect attempts failed in a row (circuit open for another {:?}); last error: {}",
                s.consecutive_failures,
                until.saturating_duration_since(Instant::now()),
                s.last_error
                    .as_ref()
                    .map_or_else(|| "none".to_owned(), ToString::to_string)
            ))),
            _ => Ok(()),
        }
    }

    pub(crate) fn snapshot(&self, connected: bool) -> Health {
        let s = self.lock();
        let state = if connected {
            HealthState::Connected
        } else if s.circuit_until.is_some_and(|u| Instant::now() < u) {
            HealthState::CircuitOpen
        } else if s.lost || s.consecutive_failures > 0 {
            HealthState::Disconnected
        } else {
            HealthState::Idle
        };
        Health {
            state,
            last_error: s.last_error.clone(),
            connections: s.connections,
            restarts: s.restarts,
            consecutive_failures: s.consecutive_failures,
        }
    }
}

/// Session state the user set up, restored on every new connection and HTTP session.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    pub(crate) subscriptions: Mutex<BTreeSet<String>>,
    pub(crate) log_level: Mutex<Option<LoggingLevel>>,
}

impl SessionState {
    pub(crate) fn subscribed(&self, uri: &str, on: bool) {
        let mut subs = self
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if on {
            subs.insert(uri.to_owned());
        } else {
            subs.remove(uri);
        }
    }

    pub(crate) fn subscribed_uris(&self) -> Vec<String> {
        self.subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    pub(crate) fn log_level(&self) -> Option<LoggingLevel> {
        *self
            .log_level
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_log_level(&self, level: LoggingLevel) {
        *self
            .log_level
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(level);
    }

    /// The requests that restore this state: `(method, params)`.
    pub(crate) fn restore_requests(&self) -> Vec<(&'static str, serde_json::Value)> {
        let mut out = Vec::new();
        if let Some(level) = *self
            .log_level
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            out.push((
                mcpmux_protocol::methods::LOGGING_SET_LEVEL,
                serde_json::json!({ "level": level }),
            ));
        }
        for uri in self
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            out.push((
                mcpmux_protocol::methods::RESOURCES_SUBSCRIBE,
                serde_json::json!({ "uri": uri }),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_cap() {
        let p =
            ReconnectPolicy::default().backoff(Duration::from_millis(100), Duration::from_secs(1));
        for n in 1..=10u32 {
            let d = p.delay(n);
            let nominal =
                Duration::from_millis(100 * (1u64 << (n - 1).min(16))).min(Duration::from_secs(1));
            assert!(
                d >= nominal.mul_f64(0.5) && d < nominal.mul_f64(1.5),
                "{n}: {d:?}"
            );
        }
    }

    #[test]
    fn circuit_opens_after_threshold_and_health_reports_it() {
        let t = Tracker::default();
        let p = ReconnectPolicy::default().circuit(2, Duration::from_secs(60));
        let e = Error::timeout("initialize", Duration::from_secs(1));
        t.connect_failed(&e, &p);
        assert!(t.check_circuit("s").is_ok());
        t.connect_failed(&e, &p);
        let err = t.check_circuit("s").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(t.snapshot(false).state, HealthState::CircuitOpen);
        t.connected();
        assert!(t.check_circuit("s").is_ok());
        let h = t.snapshot(true);
        assert_eq!(
            (h.state, h.connections, h.consecutive_failures),
            (HealthState::Connected, 1, 0)
        );
    }
}

//! Transports: how messages reach a server and come back. The connection task drives exactly one.
//!
//! Each transport takes outgoing frames with `send` (never blocks, never fails: failures come
//! back as events) and yields [`Event`]s from `next_event`, which is cancel safe: the connection
//! task polls it in a `select!` next to its command channel, and all progress lives in the
//! transport's own state.

pub(crate) mod http;
pub(crate) mod process;
pub(crate) mod stdio;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{CloseReason, Error, Result};

/// Default maximum size of one incoming message.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// What every transport needs to know: the server's name (for logs) and the message size cap,
/// plus the settings of the transport itself.
#[derive(Debug, Clone)]
pub(crate) struct TransportSettings {
    pub(crate) name: Arc<str>,
    pub(crate) max_message_size: usize,
    pub(crate) kind: TransportKind,
}

/// How a server is reached.
#[derive(Debug, Clone)]
pub(crate) enum TransportKind {
    Stdio(process::StdioSettings),
    Http(http::HttpSettings),
}

/// What an outgoing frame is, so transports that care (HTTP) can treat it right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutKind {
    /// A request expecting a response with this id.
    Request {
        /// The JSON-RPC id (the connection's numbering).
        id: u64,
        /// Whether this is `initialize` (it opens the HTTP session).
        initialize: bool,
    },
    /// A notification; `initialized` marks `notifications/initialized`.
    Notification {
        /// Whether this is `notifications/initialized`.
        initialized: bool,
    },
    /// Our response to a server request.
    Response,
}

/// One outgoing JSON-RPC message, encoded as one line (ending in `\n`).
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) frame: Vec<u8>,
    pub(crate) kind: OutKind,
    /// Extra HTTP headers for this message (stateless MCP: `Mcp-Method`, `Mcp-Name`,
    /// `Mcp-Param-*`, `MCP-Protocol-Version`); ignored by stdio.
    pub(crate) headers: Vec<(String, String)>,
}

impl Outgoing {
    /// A message without extra headers.
    pub(crate) fn new(frame: Vec<u8>, kind: OutKind) -> Self {
        Outgoing {
            frame,
            kind,
            headers: Vec::new(),
        }
    }
}

impl Outgoing {
    /// The JSON body without the trailing newline.
    pub(crate) fn body(&self) -> &[u8] {
        self.frame.strip_suffix(b"\n").unwrap_or(&self.frame)
    }
}

/// What a transport reports to the connection task.
#[derive(Debug)]
pub(crate) enum Event {
    /// One incoming JSON-RPC message (or batch), as received (stdio: a slice of the buffer it
    /// was read into, shared, not copied).
    Message(bytes::Bytes),
    /// A message over the size limit was dropped; `prefix` is its start (to find its id).
    Oversized { prefix: Vec<u8>, len: usize },
    /// The transport could not deliver request `id` or its response; fail that caller only.
    RequestFailed { id: u64, error: Error },
    /// The transport is finished; every pending request fails with this reason.
    Closed(CloseReason),
    /// The transport replaced an expired session with a new one (HTTP): restore session state.
    SessionRestarted,
    /// The server has written `count` lines that are not JSON (and so not JSON-RPC) and no
    /// message yet; `first` quotes the first of them. Stdio reports this summary at the 1st,
    /// 2nd, 4th, 8th, ... such line, and never once a message has arrived: what to make of it is
    /// the handshake's call.
    StrayLines {
        /// Lines that are not JSON so far.
        count: u64,
        /// The first of them (cut to [`StrayLog::PREVIEW`] bytes).
        first: Arc<str>,
    },
}

/// Warnings about lines that are not JSON-RPC, rate-limited: the first few are logged each, then
/// one warning per interval counts the rest (a server writing `yes` to stdout would otherwise log
/// millions of lines).
#[derive(Debug, Default)]
pub(crate) struct StrayLog {
    logged: u32,
    suppressed: u64,
    since: Option<Instant>,
}

impl StrayLog {
    /// How many lines are logged each before only counts are.
    pub(crate) const EACH: u32 = 5;
    /// How often the count of the lines not logged is.
    pub(crate) const EVERY: Duration = Duration::from_secs(10);
    /// How much of a line a warning quotes.
    pub(crate) const PREVIEW: usize = 200;

    /// Records one line; `describe` words its warning when it is logged on its own.
    pub(crate) fn line(&mut self, server: &str, describe: impl FnOnce() -> String) {
        match self.tick(Instant::now()) {
            Logged::Each => tracing::warn!(server, "{}", describe()),
            Logged::Last => tracing::warn!(
                server,
                "{} (more such lines are counted, in one warning every {}s)",
                describe(),
                Self::EVERY.as_secs()
            ),
            Logged::Counted => {}
            Logged::Summary { lines, over } => tracing::warn!(
                server,
                "ignored {lines} more lines that are not JSON-RPC in the last {}s",
                over.as_secs()
            ),
        }
    }

    /// What to log for one more line at `now`.
    fn tick(&mut self, now: Instant) -> Logged {
        if self.logged < Self::EACH {
            self.logged += 1;
            if self.logged < Self::EACH {
                return Logged::Each;
            }
            self.since = Some(now);
            return Logged::Last;
        }
        self.suppressed += 1;
        let since = *self.since.get_or_insert(now);
        let over = now.saturating_duration_since(since);
        if over < Self::EVERY {
            return Logged::Counted;
        }
        let lines = std::mem::take(&mut self.suppressed);
        self.since = Some(now);
        Logged::Summary { lines, over }
    }

    /// The start of `line`, for a message.
    pub(crate) fn preview(line: &[u8]) -> String {
        let cut = line.len().min(Self::PREVIEW);
        let mut text = String::from_utf8_lossy(&line[..cut]).into_owned();
        if cut < line.len() {
            text.push('…');
        }
        text
    }
}

/// What [`StrayLog`] does with one line.
#[derive(Debug, PartialEq, Eq)]
enum Logged {
    /// Logged on its own.
    Each,
    /// Logged on its own, the last so.
    Last,
    /// Only counted.
    Counted,
    /// Counted, and the count of an interval logged.
    Summary { lines: u64, over: Duration },
}

/// The transport of one connection.
#[derive(Debug)]
pub(crate) enum Transport {
    /// A child process on stdin/stdout.
    Stdio(stdio::StdioTransport),
    /// Streamable HTTP or legacy HTTP+SSE.
    Http(http::HttpTransport),
}

impl Transport {
    /// Opens the transport: spawns the process, or prepares the HTTP client (the first message
    /// connects).
    ///
    /// # Errors
    /// A spawn failure, at once.
    pub(crate) fn open(settings: &Arc<TransportSettings>) -> Result<Transport> {
        Ok(match &settings.kind {
            TransportKind::Stdio(stdio) => {
                Transport::Stdio(stdio::StdioTransport::spawn(settings.clone(), stdio)?)
            }
            TransportKind::Http(http) => {
                Transport::Http(http::HttpTransport::new(settings.clone(), http)?)
            }
        })
    }

    /// The server process's id (stdio).
    pub(crate) fn pid(&self) -> Option<u32> {
        match self {
            Transport::Stdio(t) => Some(t.pid()),
            Transport::Http(_) => None,
        }
    }

    /// Queues a frame for sending.
    pub(crate) fn send(&mut self, out: Outgoing) {
        match self {
            Transport::Stdio(t) => t.send(out),
            Transport::Http(t) => t.send(out),
        }
    }

    /// Whether requests are held up by an OAuth login waiting for the user: their timeouts
    /// must not run out meanwhile.
    pub(crate) fn waiting_for_login(&self) -> bool {
        match self {
            Transport::Stdio(_) => false,
            Transport::Http(t) => t.waiting_for_login(),
        }
    }

    /// The caller of request `id` is gone: stop any work still tied to it.
    pub(crate) fn forget(&mut self, id: u64) {
        match self {
            Transport::Stdio(_) => {}
            Transport::Http(t) => t.forget(id),
        }
    }

    /// Bytes accepted but not yet handed to the OS; the connection stops taking commands above
    /// a high-water mark, so a stalled server applies back-pressure instead of growing memory.
    pub(crate) fn backlog(&self) -> usize {
        match self {
            Transport::Stdio(t) => t.backlog(),
            Transport::Http(_) => 0,
        }
    }

    /// An event that is already there (stdio: a message framed from an earlier read), without
    /// I/O; `None` when the next one needs [`next_event`](Self::next_event).
    pub(crate) fn buffered_event(&mut self) -> Option<Event> {
        match self {
            Transport::Stdio(t) => t.buffered_event(),
            Transport::Http(_) => None,
        }
    }

    /// The next event. Cancel safe.
    pub(crate) async fn next_event(&mut self) -> Event {
        match self {
            Transport::Stdio(t) => t.next_event().await,
            Transport::Http(t) => t.next_event().await,
        }
    }

    /// Shuts the transport down: stdio runs the process shutdown sequence, HTTP deletes the
    /// session. `graceful` is false when the server side already failed.
    /// `established`: the server spoke MCP; one that never did gets no grace period to exit on
    /// stdin EOF (stdio: SIGTERM at once).
    pub(crate) async fn shutdown(self, graceful: bool, established: bool) {
        match self {
            Transport::Stdio(t) => t.shutdown(graceful, established).await,
            Transport::Http(t) => t.shutdown(graceful).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_lines_are_logged_five_times_then_counted_per_interval() {
        let mut log = StrayLog::default();
        let t0 = Instant::now();
        let seen: Vec<Logged> = (0..5).map(|_| log.tick(t0)).collect();
        assert_eq!(
            seen,
            [
                Logged::Each,
                Logged::Each,
                Logged::Each,
                Logged::Each,
                Logged::Last
            ]
        );
        for _ in 0..1_000_000 {
            assert_eq!(log.tick(t0 + Duration::from_secs(1)), Logged::Counted);
        }
        assert_eq!(
            log.tick(t0 + StrayLog::EVERY),
            Logged::Summary {
                lines: 1_000_001,
                over: StrayLog::EVERY
            }
        );
        assert_eq!(log.tick(t0 + StrayLog::EVERY), Logged::Counted);
        assert_eq!(
            log.tick(t0 + StrayLog::EVERY * 3),
            Logged::Summary {
                lines: 2,
                over: StrayLog::EVERY * 2
            }
        );
    }

    #[test]
    fn a_preview_is_cut() {
        assert_eq!(StrayLog::preview(b"hello"), "hello");
        let long = "y".repeat(1000);
        let shown = StrayLog::preview(long.as_bytes());
        assert!(shown.ends_with('…') && shown.len() < 210, "{shown}");
    }
}

//! The stdio transport: newline-delimited JSON-RPC on a child process's stdin and stdout.
//!
//! Reads and writes advance together in one `select!` (a server blocked writing a large response
//! is still read from while we write), small frames are coalesced into shared buffers and large
//! ones queued as they are (no copy), all written with `writev`, and both directions use
//! cancel-safe operations (`read_buf`, `write_vectored`) so the state survives any cancelled poll.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use mcpmux_protocol::framing::{Frame, LineFramer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::time::Instant;

use super::process::{self, Process, ShutdownTimeouts, StdioSettings};
use super::{Event, Outgoing, StrayLog, TransportSettings};
use crate::error::{CloseReason, Result};

/// Frames at least this large are queued as encoded instead of copied into a shared chunk.
const LARGE_FRAME: usize = 8 * 1024;
/// Small frames are coalesced into chunks of about this size (the connection's outbox uses
/// the same size, so its chunks are reused here and back).
pub(crate) const COALESCE: usize = 64 * 1024;
/// Chunks handed to one `writev` (Linux allows 1,024).
const MAX_IOVECS: usize = 64;
/// At most this many written chunks of [`COALESCE`] bytes are kept for reuse (coalescing,
/// and the connection's outbox); a burst's others are given back.
const MAX_SPARES: usize = 4;
/// How long to keep reading stdout after the process exited (responses may still be in the pipe).
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(100);
/// How long to wait for the exit status and last stderr lines once stdout closed.
const SETTLE_AFTER_EOF: Duration = Duration::from_millis(250);

/// A running stdio server.
#[derive(Debug)]
pub(crate) struct StdioTransport {
    config: Arc<TransportSettings>,
    shutdown: ShutdownTimeouts,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    process: Process,
    pid: u32,
    framer: LineFramer,
    /// Frames to write, in order: small ones coalesced, large ones as encoded.
    wqueue: VecDeque<Vec<u8>>,
    /// Bytes of the front chunk already written.
    wpos: usize,
    /// Bytes queued and not yet written.
    queued: usize,
    /// Written chunks kept for the next small frames and outbox drains (no 64 KiB
    /// allocation per write batch).
    spares: Vec<Vec<u8>>,
    /// Stdout closed, or the process exited: report `Closed` once this passes.
    closing_at: Option<Instant>,
    stdout_eof: bool,
    closed_reported: bool,
    /// Whether a line that looks like JSON has arrived.
    seen_message: bool,
    /// Lines on stdout that are not JSON: their count, the first, the rate-limited warnings.
    stray_count: u64,
    first_stray: Option<Arc<str>>,
    stray_log: StrayLog,
}

impl StdioTransport {
    /// Spawns the server process.
    pub(crate) fn spawn(config: Arc<TransportSettings>, stdio: &StdioSettings) -> Result<Self> {
        let spawned = process::spawn(&config, stdio)?;
        Ok(StdioTransport {
            framer: LineFramer::new(config.max_message_size),
            config,
            shutdown: stdio.shutdown,
            stdin: Some(spawned.stdin),
            stdout: spawned.stdout,
            process: spawned.process,
            pid: spawned.pid,
            wqueue: VecDeque::new(),
            wpos: 0,
            queued: 0,
            spares: Vec::new(),
            closing_at: None,
            stdout_eof: false,
            closed_reported: false,
            seen_message: false,
            stray_count: 0,
            first_stray: None,
            stray_log: StrayLog::default(),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn send(&mut self, out: Outgoing) {
        let frame = out.frame;
        self.queued += frame.len();
        if frame.len() >= LARGE_FRAME {
            self.wqueue.push_back(frame);
            return;
        }
        if !self.append_to_last(&frame) {
            let mut chunk = self.spare_chunk();
            chunk.extend_from_slice(&frame);
            self.wqueue.push_back(chunk);
        }
    }

    /// Appends `bytes` to the last queued chunk if it has room without reallocating (a large
    /// frame is never grown) and is not full yet; `false` when it was not.
    fn append_to_last(&mut self, bytes: &[u8]) -> bool {
        match self.wqueue.back_mut() {
            Some(last) if last.capacity() - last.len() >= bytes.len() && last.len() < COALESCE => {
                last.extend_from_slice(bytes);
                true
            }
            _ => false,
        }
    }

    /// Queues `chunk`, whole lines already encoded (the connection's outbox): copied into the
    /// last queued chunk when it has room (a drain of a few requests must not queue a 64 KiB
    /// chunk of its own: a slow reader would then hold many mostly empty ones), queued as it
    /// is otherwise.
    pub(crate) fn send_chunk(&mut self, chunk: Vec<u8>) {
        self.queued += chunk.len();
        if chunk.is_empty() || self.append_to_last(&chunk) {
            self.recycle(chunk);
        } else {
            self.wqueue.push_back(chunk);
        }
    }

    /// Keeps a chunk of [`COALESCE`] bytes for reuse, up to [`MAX_SPARES`] of them.
    fn recycle(&mut self, mut chunk: Vec<u8>) {
        if chunk.capacity() == COALESCE && self.spares.len() < MAX_SPARES {
            chunk.clear();
            self.spares.push(chunk);
        }
    }

    /// An empty buffer with room for [`COALESCE`] bytes: a written chunk when one was kept.
    pub(crate) fn spare_chunk(&mut self) -> Vec<u8> {
        self.spares
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(COALESCE))
    }

    pub(crate) fn backlog(&self) -> usize {
        self.queued
    }

    /// Records `n` written bytes: drops finished chunks.
    fn advance(&mut self, mut n: usize) {
        self.queued -= n.min(self.queued);
        // Bounded by the queue's length.
        while let Some(front) = self.wqueue.front() {
            let left = front.len() - self.wpos;
            if n < left {
                self.wpos += n;
                return;
            }
            n -= left;
            self.wpos = 0;
            if let Some(chunk) = self.wqueue.pop_front() {
                self.recycle(chunk);
            }
        }
    }

    /// What a frame read from stdout is: a message, or a line that is not JSON (counted and
    /// summarised, not passed on: a server that logs to stdout).
    fn frame_event(&mut self, frame: Frame) -> Option<Event> {
        match frame {
            Frame::Line(line) if !looks_like_json(&line) => self.stray_line(&line),
            Frame::Line(line) => {
                self.seen_message = true;
                Some(Event::Message(line))
            }
            Frame::Oversized { prefix, len } => Some(Event::Oversized { prefix, len }),
        }
    }

    fn stray_line(&mut self, line: &[u8]) -> Option<Event> {
        self.stray_log.line(&self.config.name, || {
            format!(
                "ignoring a line on stdout that is not JSON-RPC: {}",
                StrayLog::preview(line)
            )
        });
        self.stray_count += 1;
        let first = self
            .first_stray
            .get_or_insert_with(|| StrayLog::preview(line).into());
        (!self.seen_message && self.stray_count.is_power_of_two()).then(|| Event::StrayLines {
            count: self.stray_count,
            first: first.clone(),
        })
    }

    /// A message already read and framed, if any, without I/O: the connection task routes a
    /// read's worth of responses in one turn of its loop.
    pub(crate) fn buffered_event(&mut self) -> Option<Event> {
        // Bounded by the buffer: each iteration consumes one frame.
        while let Some(frame) = self.framer.next_frame() {
            if let Some(event) = self.frame_event(frame) {
                return Some(event);
            }
        }
        None
    }

    pub(crate) async fn next_event(&mut self) -> Event {
        loop {
            if let Some(frame) = self.framer.next_frame() {
                match self.frame_event(frame) {
                    Some(event) => return event,
                    None => continue,
                }
            }
            if self.stdout_eof
                && let Some(frame) = self.framer.finish()
            {
                match self.frame_event(frame) {
                    Some(event) => return event,
                    None => continue,
                }
            }
            if self.closed_reported {
                return std::future::pending().await;
            }
            if let Some(at) = self.closing_at
                && (self.stdout_eof || Instant::now() >= at)
            {
                // Done reading: wait (until `at`, an absolute time, so a cancelled poll does not
                // extend it) for the exit status, then report once.
                if !self.process.has_exited() {
                    let _ = tokio::time::timeout_at(at, self.process.exited()).await;
                }
                let reason = self.close_reason().await;
                self.closed_reported = true;
                return Event::Closed(reason);
            }
            let writing = self.queued > 0 && self.stdin.is_some();
            let buf = self.framer.buffer_mut();
            if buf.capacity() - buf.len() < 8 * 1024 {
                buf.reserve(64 * 1024);
            }
            let deadline = self.closing_at;
            tokio::select! {
                read = self.stdout.read_buf(self.framer.buffer_mut()), if !self.stdout_eof => match read {
                    Ok(0) | Err(_) => {
                        self.stdout_eof = true;
                        self.closing_at.get_or_insert(Instant::now() + SETTLE_AFTER_EOF);
                    }
                    Ok(_) => {}
                },
                written = write_some(&mut self.stdin, &self.wqueue, self.wpos), if writing => match written {
                    Ok(n) => self.advance(n),
                    Err(e) => {
                        // Usually EPIPE: the server is gone. Its exit tells the full story.
                        tracing::debug!(server = %self.config.name, "write failed: {e}");
                        self.stdin = None;
                        self.closing_at.get_or_insert(Instant::now() + SETTLE_AFTER_EOF);
                    }
                },
                () = self.process.exited(), if !self.process.has_exited() && deadline.is_none() => {
                    self.closing_at = Some(Instant::now() + DRAIN_AFTER_EXIT);
                },
                () = sleep_until(deadline), if deadline.is_some() => {},
            }
        }
    }

    async fn close_reason(&mut self) -> CloseReason {
        self.process.drain_stderr(Duration::from_millis(100)).await;
        let mut reason = CloseReason::new(if self.process.has_exited() {
            "server process exited"
        } else {
            "server closed its stdout"
        });
        reason.exit_status = self.process.exit_status;
        reason.stderr_tail = self.process.stderr.snapshot();
        reason
    }

    pub(crate) async fn shutdown(mut self, graceful: bool, established: bool) {
        if graceful
            && let Some(w) = self.stdin.as_mut()
            && self.queued > 0
        {
            // Best effort: flush queued cancellations before closing stdin.
            let wpos = self.wpos;
            let queue = &self.wqueue;
            let _ = tokio::time::timeout(Duration::from_millis(100), async {
                for (i, chunk) in queue.iter().enumerate() {
                    let from = if i == 0 { wpos } else { 0 };
                    w.write_all(chunk.get(from..).unwrap_or_default()).await?;
                }
                std::io::Result::Ok(())
            })
            .await;
        }
        let mut timeouts = self.shutdown;
        if !established {
            // It never spoke MCP (a failed or abandoned start): no grace to exit on stdin EOF.
            timeouts.after_stdin_close = Duration::ZERO;
        }
        self.process.shutdown(self.stdin.take(), timeouts).await;
        tracing::debug!(server = %self.config.name, status = ?self.process.exit_status, "server process shut down");
    }
}

/// One cancel-safe `writev` call over the first chunks of `queue`, the first from `from` (no
/// bytes are written if the future is dropped before ready).
async fn write_some(
    stdin: &mut Option<ChildStdin>,
    queue: &VecDeque<Vec<u8>>,
    from: usize,
) -> std::io::Result<usize> {
    let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
    let mut count = 0;
    for (i, chunk) in queue.iter().take(MAX_IOVECS).enumerate() {
        let start = if i == 0 { from } else { 0 };
        slices[i] = IoSlice::new(chunk.get(start..).unwrap_or_default());
        count = i + 1;
    }
    match stdin.as_mut() {
        Some(w) => match w.write_vectored(&slices[..count]).await {
            Ok(0) => Err(std::io::ErrorKind::WriteZero.into()),
            other => other,
        },
        None => std::future::pending().await,
    }
}

/// Whether a line can be a JSON-RPC message (an object or a batch); anything else is a stray
/// line (a log line, a banner) that no decoder needs to see.
fn looks_like_json(line: &[u8]) -> bool {
    matches!(
        line.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

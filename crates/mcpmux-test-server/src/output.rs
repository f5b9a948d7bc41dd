//! The single output path: a channel feeding one writer task.

use serde_json::Value;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::faults;
use crate::handler::Emit;
use crate::order::MemberOrder;

/// An item for the writer task.
#[derive(Debug)]
pub(crate) enum Out {
    /// Bytes to write, newline included.
    Line(Vec<u8>),
    /// Flush and stop; anything queued after this is dropped.
    Close,
    /// Write one message in pieces, flushing each and pausing between them,
    /// with nothing else in between (fault tool `split`).
    Split {
        /// The message, newline included.
        bytes: Vec<u8>,
        /// How many pieces.
        parts: usize,
        /// Pause between pieces, in milliseconds.
        ms: u64,
    },
    /// Write these bytes, flush, then point stdout at /dev/null for good:
    /// the reader sees EOF while this process runs on (fault tool
    /// `close_stdout`). Only [`run_stdout_writer`] honours it.
    CloseStdout(Vec<u8>),
}

/// The sending side of the output channel; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Outbox(mpsc::UnboundedSender<Out>, MemberOrder);

impl Outbox {
    /// Creates the channel (messages written with their members in `order`); the receiver
    /// goes to [`run_writer`].
    pub(crate) fn channel(order: MemberOrder) -> (Self, mpsc::UnboundedReceiver<Out>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx, order), rx)
    }

    /// Serializes `msg` as one line and queues it.
    pub(crate) fn send(&self, msg: &Value) {
        if let Ok(mut bytes) = self.1.to_vec(msg) {
            bytes.push(b'\n');
            self.send_bytes(bytes);
        }
    }

    /// Queues raw bytes (the caller supplies the newlines).
    pub(crate) fn send_bytes(&self, bytes: Vec<u8>) {
        // A send error means the writer is gone (stdout closed): drop it.
        let _ = self.0.send(Out::Line(bytes));
    }

    /// Asks the writer to flush and stop.
    pub(crate) fn close(&self) {
        let _ = self.0.send(Out::Close);
    }
}

impl Emit for Outbox {
    fn message(&self, msg: &Value) {
        self.send(msg);
    }

    fn garbage(&self, count: usize) {
        self.send_bytes(faults::garbage_lines(count));
    }

    fn split(&self, bytes: Vec<u8>, parts: usize, ms: u64) -> Result<(), String> {
        self.0
            .send(Out::Split { bytes, parts, ms })
            .map_err(|_| "stdout is closed".to_owned())
    }

    fn close_output(&self, partial: Vec<u8>) -> Result<(), String> {
        self.0
            .send(Out::CloseStdout(partial))
            .map_err(|_| "stdout is closed".to_owned())
    }
}

/// Writes everything from `rx` to `writer` through a buffer, flushing when
/// the channel is momentarily empty. Returns on [`Out::Close`], when every
/// sender is gone, or on the first write error. [`Out::CloseStdout`] drops
/// the writer and discards all later output.
pub(crate) async fn run_writer<W>(
    rx: mpsc::UnboundedReceiver<Out>,
    writer: W,
) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    // Dropping the writer closes it (for pipes and in-memory streams).
    write_all_items(rx, writer, || Ok(())).await
}

/// [`run_writer`] on this process's stdout, honouring [`Out::CloseStdout`].
pub(crate) async fn run_stdout_writer(rx: mpsc::UnboundedReceiver<Out>) -> std::io::Result<()> {
    write_all_items(rx, tokio::io::stdout(), || {
        let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
        nix::unistd::dup2_stdout(&null).map_err(std::io::Error::from)
    })
    .await
}

async fn write_all_items<W, C>(
    mut rx: mpsc::UnboundedReceiver<Out>,
    writer: W,
    close_stdout: C,
) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
    C: Fn() -> std::io::Result<()>,
{
    let mut w = BufWriter::with_capacity(64 * 1024, writer);
    'outer: while let Some(mut item) = rx.recv().await {
        loop {
            match item {
                Out::Line(bytes) => w.write_all(&bytes).await?,
                Out::Close => break 'outer,
                Out::Split { bytes, parts, ms } => {
                    w.flush().await?;
                    let pieces = crate::fault_tools::pieces(&bytes, parts);
                    let last = pieces.len().saturating_sub(1);
                    for (i, piece) in pieces.into_iter().enumerate() {
                        w.write_all(piece).await?;
                        w.flush().await?;
                        if i < last {
                            tokio::time::sleep(crate::fault_tools::pause(ms)).await;
                        }
                    }
                }
                Out::CloseStdout(partial) => {
                    w.write_all(&partial).await?;
                    w.flush().await?;
                    close_stdout()?;
                    drop(w);
                    // Closed for good: swallow everything else until told to stop.
                    while let Some(item) = rx.recv().await {
                        if matches!(item, Out::Close) {
                            break;
                        }
                    }
                    return Ok(());
                }
            }
            match rx.try_recv() {
                Ok(next) => item = next,
                Err(_) => break,
            }
        }
        w.flush().await?;
    }
    w.flush().await
}

//! The single output path: a channel feeding one writer task.

use serde_json::Value;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::faults;
use crate::handler::Emit;

/// An item for the writer task.
#[derive(Debug)]
pub(crate) enum Out {
    /// Bytes to write, newline included.
    Line(Vec<u8>),
    /// Flush and stop; anything queued after this is dropped.
    Close,
}

/// The sending side of the output channel; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Outbox(mpsc::UnboundedSender<Out>);

impl Outbox {
    /// Creates the channel; the receiver goes to [`run_writer`].
    pub(crate) fn channel() -> (Self, mpsc::UnboundedReceiver<Out>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }

    /// Serializes `msg` as one line and queues it.
    pub(crate) fn send(&self, msg: &Value) {
        if let Ok(mut bytes) = serde_json::to_vec(msg) {
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
}

/// Writes everything from `rx` to `writer` through a buffer, flushing when
/// the channel is momentarily empty. Returns on [`Out::Close`], when every
/// sender is gone, or on the first write error.
pub(crate) async fn run_writer<W>(
    mut rx: mpsc::UnboundedReceiver<Out>,
    writer: W,
) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut w = BufWriter::with_capacity(64 * 1024, writer);
    'outer: while let Some(mut item) = rx.recv().await {
        loop {
            match item {
                Out::Line(bytes) => w.write_all(&bytes).await?,
                Out::Close => break 'outer,
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

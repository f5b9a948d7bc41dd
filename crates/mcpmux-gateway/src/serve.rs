//! The stdio serving loop: lines in (each handled by [`crate::incoming`]), one writer task for
//! the lines out.

use std::io;

use mcpmux_protocol::framing::{Frame, LineFramer};
use mcpmux_protocol::jsonrpc::INVALID_REQUEST;
use mcpmux_protocol::{ErrorObject, scan_id};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::Gateway;
use crate::incoming::Client;
use crate::message;
use crate::session::Outbox;

/// The longest line read from the client (64 MiB, as the client side accepts).
const MAX_LINE: usize = mcpmux::DEFAULT_MAX_MESSAGE_SIZE;

/// Aborts every request of the client when serving ends (or its future is dropped).
struct CancelOnDrop<'a>(&'a Client);

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        self.0.inflight.cancel_all();
    }
}

impl Gateway {
    /// Serves MCP on this process's stdin and stdout until stdin closes (then it waits for the
    /// requests in flight and returns).
    ///
    /// # Errors
    /// Reading stdin or writing stdout failed.
    pub async fn serve_stdio(&self) -> io::Result<()> {
        self.serve(tokio::io::stdin(), tokio::io::stdout()).await
    }

    /// Serves MCP over `reader` (newline-delimited JSON-RPC from the client) and `writer` (one
    /// line per response) until `reader` ends; then waits for the requests in flight, flushes
    /// and returns.
    ///
    /// # Errors
    /// Reading or writing failed (a closed writer ends serving at once).
    ///
    /// # Cancel safety
    /// Dropping the future aborts every request in flight (cancelling its upstream call).
    pub async fn serve<R, W>(&self, mut reader: R, writer: W) -> io::Result<()>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (outbox, rx) = Outbox::new();
        let client = Client::new(self, outbox, None);
        let _cancel = CancelOnDrop(&client);
        let mut writing = tokio::spawn(write_lines(writer, rx));
        let mut framer = LineFramer::new(MAX_LINE);
        loop {
            tokio::select! {
                read = reader.read_buf(framer.buffer_mut()) => {
                    let n = read?;
                    while let Some(frame) = framer.next_frame() {
                        self.frame(frame, &client);
                    }
                    if n == 0 {
                        if let Some(frame) = framer.finish() {
                            self.frame(frame, &client);
                        }
                        break;
                    }
                }
                written = &mut writing => {
                    // The writer only stops when writing failed: nobody reads the answers.
                    return match written {
                        Ok(Err(e)) => Err(e),
                        _ => Err(io::Error::other("the writer task ended")),
                    };
                }
            }
        }
        // The client is done sending; answer what it asked.
        client.session.close();
        client.inflight.idle().await;
        drop(_cancel);
        drop(client);
        match writing.await {
            Ok(result) => result,
            Err(e) => Err(io::Error::other(e)),
        }
    }

    fn frame(&self, frame: Frame, client: &Client) {
        match frame {
            Frame::Line(line) => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    return;
                }
                client.accept(self, message::parse(&line), &client.session.outbox);
            }
            Frame::Oversized { prefix, len } => {
                let id = scan_id(&prefix);
                let error = ErrorObject::new(
                    INVALID_REQUEST,
                    format!("message too large: {len} bytes (the limit is {MAX_LINE})"),
                );
                client
                    .session
                    .outbox
                    .send(message::response(id.as_ref(), Err(error)));
            }
        }
    }
}

/// The one writer: whole lines, flushed whenever the queue is empty.
async fn write_lines<W: AsyncWrite + Unpin>(
    writer: W,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) -> io::Result<()> {
    let mut out = BufWriter::new(writer);
    while let Some(line) = rx.recv().await {
        out.write_all(&line).await?;
        while let Ok(more) = rx.try_recv() {
            out.write_all(&more).await?;
        }
        out.flush().await?;
    }
    out.flush().await?;
    out.shutdown().await
}

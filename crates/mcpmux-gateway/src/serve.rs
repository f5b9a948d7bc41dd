//! The serving loop: lines in, one task per request, one writer task for the response lines,
//! `notifications/cancelled` aborting the request it names.

use std::collections::HashMap;
use std::io;

use mcpmux_protocol::framing::{Frame, LineFramer};
use mcpmux_protocol::jsonrpc::INVALID_REQUEST;
use mcpmux_protocol::{ErrorObject, RequestId, scan_id};
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

use crate::Gateway;
use crate::message::{self, Line, Message};
use crate::session::{Ctx, Downstream, Outbox};

/// The longest line read from the client (64 MiB, as the client side accepts).
const MAX_LINE: usize = mcpmux::DEFAULT_MAX_MESSAGE_SIZE;

/// The requests running, by their id, to cancel them.
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<()>,
    by_request: HashMap<RequestId, AbortHandle>,
    by_task: HashMap<tokio::task::Id, RequestId>,
}

impl InFlight {
    fn cancel(&mut self, id: &RequestId) {
        if let Some(handle) = self.by_request.remove(id) {
            tracing::debug!(%id, "request cancelled by the client");
            self.by_task.remove(&handle.id());
            handle.abort();
        }
    }

    fn finished(&mut self, task: tokio::task::Id) {
        if let Some(id) = self.by_task.remove(&task) {
            // A newer request with the same id may have replaced it.
            if self.by_request.get(&id).is_some_and(|h| h.id() == task) {
                self.by_request.remove(&id);
            }
        }
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
        let session = self.open_session(outbox);
        let mut writing = tokio::spawn(write_lines(writer, rx));
        let mut framer = LineFramer::new(MAX_LINE);
        let mut inflight = InFlight::default();
        loop {
            tokio::select! {
                read = reader.read_buf(framer.buffer_mut()) => {
                    let n = read?;
                    while let Some(frame) = framer.next_frame() {
                        self.frame(frame, &session, &mut inflight);
                    }
                    if n == 0 {
                        if let Some(frame) = framer.finish() {
                            self.frame(frame, &session, &mut inflight);
                        }
                        break;
                    }
                }
                Some(done) = inflight.tasks.join_next_with_id(), if !inflight.tasks.is_empty() => {
                    match done {
                        Ok((task, ())) => inflight.finished(task),
                        Err(e) => inflight.finished(e.id()),
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
        session.close();
        while inflight.tasks.join_next().await.is_some() {}
        drop(session);
        match writing.await {
            Ok(result) => result,
            Err(e) => Err(io::Error::other(e)),
        }
    }

    fn frame(&self, frame: Frame, session: &Arc<Downstream>, inflight: &mut InFlight) {
        match frame {
            Frame::Line(line) => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    return;
                }
                self.line(&line, session, inflight);
            }
            Frame::Oversized { prefix, len } => {
                let id = scan_id(&prefix);
                let error = ErrorObject::new(
                    INVALID_REQUEST,
                    format!("message too large: {len} bytes (the limit is {MAX_LINE})"),
                );
                session
                    .outbox
                    .send(message::response(id.as_ref(), Err(error)));
            }
        }
    }

    fn line(&self, line: &[u8], session: &Arc<Downstream>, inflight: &mut InFlight) {
        match message::parse(line) {
            Line::Single(Message::Request { id, method, params }) => {
                let gateway = self.clone();
                let ctx = Ctx::new(session.clone(), session.outbox.clone(), Some(id.clone()));
                let key = id.clone();
                let handle = inflight.tasks.spawn(async move {
                    let result = crate::dispatch::request(&gateway, &ctx, &method, params).await;
                    ctx.related.send(message::response(Some(&id), result));
                });
                inflight.by_task.insert(handle.id(), key.clone());
                if let Some(old) = inflight.by_request.insert(key, handle) {
                    inflight.by_task.remove(&old.id());
                }
            }
            Line::Single(Message::Notification { method, params }) => {
                notification(&method, &params, inflight);
            }
            Line::Single(Message::Response { id, result }) => {
                session.answer(&id, result);
            }
            Line::Single(Message::Invalid { id, error }) => {
                session
                    .outbox
                    .send(message::response(id.as_ref(), Err(error)));
            }
            Line::Batch(messages) => self.batch(messages, session, inflight),
        }
    }

    /// A batch: notifications now, the requests together in one task, their answers as one
    /// array line (none if it held only notifications).
    fn batch(&self, messages: Vec<Message>, session: &Arc<Downstream>, inflight: &mut InFlight) {
        let mut errors = Vec::new();
        let mut requests = Vec::new();
        for m in messages {
            match m {
                Message::Request { id, method, params } => requests.push((id, method, params)),
                Message::Notification { method, params } => {
                    notification(&method, &params, inflight);
                }
                Message::Response { id, result } => {
                    session.answer(&id, result);
                }
                Message::Invalid { id, error } => {
                    errors.push(message::response(id.as_ref(), Err(error)))
                }
            }
        }
        if requests.is_empty() && errors.is_empty() {
            return;
        }
        let gateway = self.clone();
        let ctx = Ctx::new(session.clone(), session.outbox.clone(), None);
        inflight.tasks.spawn(async move {
            let answers =
                futures_util::future::join_all(requests.into_iter().map(|(id, method, params)| {
                    let gateway = gateway.clone();
                    let ctx = Ctx {
                        id: Some(id.clone()),
                        ..ctx.clone()
                    };
                    async move {
                        let result =
                            crate::dispatch::request(&gateway, &ctx, &method, params).await;
                        message::response(Some(&id), result)
                    }
                }))
                .await;
            ctx.related
                .send(join_array(errors.into_iter().chain(answers)));
        });
    }
}

/// A notification from the client: `notifications/cancelled` aborts its request; the others
/// (`notifications/initialized`, ...) need nothing.
fn notification(method: &str, params: &Value, inflight: &mut InFlight) {
    if method == "notifications/cancelled" {
        let id = params
            .get("requestId")
            .and_then(|v| serde_json::from_value::<RequestId>(v.clone()).ok());
        if let Some(id) = id {
            inflight.cancel(&id);
        }
    }
}

/// Response lines joined into one JSON array line.
fn join_array(lines: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = vec![b'['];
    for (i, mut line) in lines.filter(|l| !l.is_empty()).enumerate() {
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&line);
    }
    out.extend_from_slice(b"]\n");
    out
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

//! The stdio transport: newline-delimited JSON-RPC on a reader / writer
//! pair, one writer task for all output.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio::task::JoinSet;

use crate::handler::{Accepted, Handler, Sink, Transport};
use crate::jsonrpc::{PARSE_ERROR, RpcError, error_response};
use crate::output::{Outbox, run_stdout_writer, run_writer};
use crate::stats::Stats;
use crate::{Options, faults};

/// How long in-flight requests may still finish after stdin closes before
/// they are aborted.
const EOF_GRACE: Duration = Duration::from_millis(100);

/// Handles one input line (a message or a batch).
fn handle_line(
    handler: &Arc<Handler>,
    out: &Outbox,
    sink: &Sink,
    line: &[u8],
    tasks: &mut JoinSet<()>,
) {
    let line = line.trim_ascii();
    if line.is_empty() {
        return;
    }
    let msg: Value = match serde_json::from_slice(line) {
        Ok(msg) => msg,
        Err(err) => {
            out.send(&error_response(
                Value::Null,
                RpcError::new(PARSE_ERROR, format!("parse error: {err}")),
            ));
            return;
        }
    };
    let reply_out = out.clone();
    let reply = Box::new(move |reply: Value| reply_out.send(&reply));
    if let Accepted::Invalid(error) = handler.accept(msg, sink, reply, tasks) {
        out.send(&error);
    }
}

/// Serves MCP over newline-delimited JSON-RPC on `reader` / `writer`.
///
/// Reads one message (or batch) per line; runs every request in its own
/// tokio task; writes all output through one buffered writer task. Applies
/// the startup [`Options`] (garbage lines, grandchild, SIGTERM handling) first.
///
/// When `reader` reaches EOF, requests still in flight get a short grace
/// period (100 ms), the rest are aborted, pending output is flushed and the
/// function returns `Ok(())` — unless [`Options::ignore_stdin_eof`] is set,
/// in which case it keeps serving in-flight requests and never returns
/// (except on a write error). Returns `Err` on a read or write error.
///
/// The `crash` tool ends the whole process with `std::process::exit`.
pub async fn serve<R, W>(reader: R, writer: W, opts: Options) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out, rx) = Outbox::channel(opts.member_order);
    serve_on(reader, out, tokio::spawn(run_writer(rx, writer)), opts).await
}

/// [`serve`] with the output channel and its writer task already set up.
async fn serve_on<R>(
    reader: R,
    out: Outbox,
    mut writer_task: tokio::task::JoinHandle<std::io::Result<()>>,
    opts: Options,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
{
    if opts.ignore_sigterm {
        faults::ignore_sigterm()?;
    }
    if opts.garbage_at_start > 0 {
        out.send_bytes(faults::garbage_lines(opts.garbage_at_start));
    }
    if opts.grandchild {
        let pid = faults::spawn_grandchild()?;
        eprintln!("mcpmux-test-server: grandchild pid {pid}");
    }
    let ignore_stdin_eof = opts.ignore_stdin_eof;
    let handler = Handler::new(opts, Arc::new(Stats::default()), Transport::Stdio);
    let sink: Sink = Arc::new(out.clone());

    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = tokio::select! {
            read = reader.read_until(b'\n', &mut line) => read?,
            // The writer only stops early on a write error (stdout closed).
            written = &mut writer_task => return writer_outcome(written),
        };
        if read == 0 {
            break;
        }
        handle_line(&handler, &out, &sink, &line, &mut tasks);
        while tasks.try_join_next().is_some() {}
    }

    if ignore_stdin_eof {
        // Keep running (and answering in-flight requests) until killed.
        let written = (&mut writer_task).await;
        drop(tasks);
        return writer_outcome(written);
    }
    let _ = tokio::time::timeout(EOF_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.shutdown().await;
    out.close();
    drop((handler, sink));
    writer_outcome(writer_task.await)
}

fn writer_outcome(
    joined: Result<std::io::Result<()>, tokio::task::JoinError>,
) -> std::io::Result<()> {
    joined.map_err(std::io::Error::other)?
}

/// Serves MCP on this process's stdin / stdout (see [`serve`]).
///
/// Note that tokio's stdin reader cannot be interrupted: after this returns,
/// end the process (e.g. `std::process::exit`) rather than waiting for the
/// runtime to shut down.
pub async fn serve_stdio(opts: Options) -> std::io::Result<()> {
    let (out, rx) = Outbox::channel(opts.member_order);
    // The real stdout: `close_stdout` points fd 1 at /dev/null.
    let writer = tokio::spawn(run_stdout_writer(rx));
    serve_on(tokio::io::stdin(), out, writer, opts).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// Runs `serve` on in-memory pipes, sends `input`, closes the input and
    /// returns all output lines, parsed.
    async fn run(input: &str, opts: Options) -> Vec<Value> {
        raw_lines(input, opts)
            .await
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn ping_and_echo_in_memory() {
        let out = run(
            concat!(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
                "\n",
                r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#,
                "\n",
            ),
            Options::default(),
        )
        .await;
        assert_eq!(out.len(), 2);
        let by_id = |id: i64| out.iter().find(|m| m["id"] == id).unwrap().clone();
        assert_eq!(by_id(1)["result"], json!({}));
        assert_eq!(by_id(2)["result"]["content"][0]["text"], "hi");
    }

    /// The raw output lines of `serve` for `input`.
    async fn raw_lines(input: &str, opts: Options) -> Vec<String> {
        let (mut client_w, server_r) = tokio::io::duplex(1 << 20);
        let (server_w, client_r) = tokio::io::duplex(1 << 20);
        let server = tokio::spawn(serve(server_r, server_w, opts));
        client_w.write_all(input.as_bytes()).await.unwrap();
        drop(client_w);
        let mut lines = BufReader::new(client_r).lines();
        let mut out = Vec::new();
        while let Some(line) = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap()
        {
            out.push(line);
        }
        server.await.unwrap().unwrap();
        out
    }

    #[tokio::test]
    async fn member_order_changes_the_written_order_only() {
        let input = concat!(
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#,
            "\n",
        );
        let sorted = raw_lines(input, Options::default()).await;
        let unusual = raw_lines(
            input,
            Options {
                member_order: crate::MemberOrder::Unusual,
                ..Options::default()
            },
        )
        .await;
        // serde_json's order (sorted, or as inserted where its `preserve_order` is on): the
        // same message, written otherwise.
        assert_eq!(sorted.len(), 1);
        assert_ne!(sorted, unusual);
        assert_eq!(
            serde_json::from_str::<Value>(&sorted[0]).unwrap(),
            serde_json::from_str::<Value>(&unusual[0]).unwrap()
        );
        assert_eq!(
            unusual,
            [r#"{"id":2,"result":{"content":[{"text":"hi","type":"text"}]},"jsonrpc":"2.0"}"#]
        );
    }
}

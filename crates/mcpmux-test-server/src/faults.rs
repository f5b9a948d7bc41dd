//! Fault injection: garbage output, grandchildren, crashes, ignored signals,
//! stderr floods.

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The garbage line patterns, cycled through: plain text, a truncated
/// JSON-RPC object, truncated JSON, and valid JSON that is not JSON-RPC.
const GARBAGE: &[&str] = &[
    "this is not json (mcpmux-test-server garbage)",
    r#"{"jsonrpc":"2.0","id":"#,
    "[1,2",
    r#"{"foo":1}"#,
];

/// The `i`-th garbage line (no newline).
pub(crate) fn garbage_line(i: usize) -> &'static str {
    GARBAGE[i % GARBAGE.len()]
}

/// `count` garbage lines (newline included), ready to write to stdout.
pub(crate) fn garbage_lines(count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        out.extend_from_slice(garbage_line(i).as_bytes());
        out.push(b'\n');
    }
    out
}

/// Spawns `sleep 3600` as a child of this process (same process group, no
/// new session), with stdin/stdout/stderr on /dev/null, and reaps it in the
/// background when it dies. Returns its pid.
pub(crate) fn spawn_grandchild() -> std::io::Result<u32> {
    let mut child = Command::new("sleep")
        .arg("3600")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(false)
        .spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("grandchild has no pid"))?;
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(pid)
}

/// Installs a SIGTERM handler that ignores the signal (notes it on stderr).
///
/// A caught signal is reset to its default action in exec'd children, so
/// grandchildren still die from SIGTERM.
pub(crate) fn ignore_sigterm() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sig = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        while sig.recv().await.is_some() {
            eprintln!("mcpmux-test-server: ignoring SIGTERM");
        }
    });
    Ok(())
}

/// Exits the process at once with `code`, flushing nothing.
pub(crate) fn crash(code: i32) -> ! {
    std::process::exit(code)
}

/// Size of the writes [`flood_stderr`] makes.
const FLOOD_CHUNK: usize = 64 * 1024;

/// Writes `lines` lines of `bytes` characters each to stderr, in writes of
/// about 64 KiB: memory stays small even for one line of 100s of MB.
pub(crate) async fn flood_stderr(lines: usize, bytes: usize) -> std::io::Result<()> {
    let mut err = tokio::io::stderr();
    let mut buf = Vec::with_capacity(FLOOD_CHUNK + 1);
    for _ in 0..lines {
        let mut left = bytes;
        while left > 0 {
            let n = left.min(FLOOD_CHUNK - buf.len()); // buf.len() < FLOOD_CHUNK here
            buf.resize(buf.len() + n, b'e');
            left -= n;
            if buf.len() >= FLOOD_CHUNK {
                err.write_all(&buf).await?;
                buf.clear();
            }
        }
        buf.push(b'\n');
        if buf.len() >= FLOOD_CHUNK {
            err.write_all(&buf).await?;
            buf.clear();
        }
    }
    err.write_all(&buf).await?;
    err.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_json_rpc() {
        let text = String::from_utf8(garbage_lines(8)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8);
        for line in lines {
            let is_rpc = serde_json::from_str::<serde_json::Value>(line)
                .map(|v| v.get("jsonrpc").is_some())
                .unwrap_or(false);
            assert!(!is_rpc, "{line}");
        }
    }
}

//! The raw limit on stdio: a minimal pipelined JSON-RPC driver.
//!
//! Every request of a run is serialized once, before any run, into one buffer with sequential
//! ids. A concurrent run hands the whole buffer to one writer thread (one `write_all`) while this
//! thread reads response lines into one reused buffer and finds each id with a byte scan: no MCP
//! layer, no JSON parse, no per-call allocation. A sequential run writes one request and reads
//! until its response. Blocking I/O on the pipes, no async runtime.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Driver, Outcome};
use crate::spec::{Mode, Target, WorkerSpec};

/// The longest response line accepted (a 1 MB echo is about 1 MB).
const MAX_LINE: u64 = 64 * 1024 * 1024;
/// Lines that are not responses (notifications) tolerated per expected response, plus slack.
const EXTRA_LINES: usize = 64;

pub(crate) struct RawStdio {
    child: Child,
    stdin: Option<ChildStdin>,
    reader: BufReader<ChildStdout>,
    line: Vec<u8>,
    /// Every request, ids 1..=n, newline-terminated, back to back.
    requests: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is the request with id `i + 1`.
    offsets: Vec<usize>,
    /// Which ids of the current run have been answered (index = id).
    seen: Vec<bool>,
}

/// Finds the numeric `"id":` of a JSON-RPC message line with a byte scan (the first `"id":`
/// key; the echo payload is plain ASCII and any quote in it would be escaped).
pub(crate) fn scan_id(line: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(line, b"\"id\":")? + 5;
    let rest = line.get(at..)?;
    let start = rest.iter().position(|b| *b != b' ')?;
    let mut id: u64 = 0;
    let mut digits = 0;
    for &b in rest.get(start..)?.iter().take(20) {
        if !b.is_ascii_digit() {
            break;
        }
        id = id.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some(id)
}

pub(crate) fn connect(spec: &WorkerSpec) -> Result<Box<dyn Driver>, String> {
    let Target::Stdio { command, args } = &spec.target else {
        return Err("raw stdio driver needs a stdio target".into());
    };
    let mut child = Command::new(command)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn {command}: {e}"))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("no pipes to the server".into());
    };
    let mut driver = RawStdio {
        child,
        stdin: Some(stdin),
        reader: BufReader::with_capacity(64 * 1024, stdout),
        line: Vec::with_capacity(64 * 1024),
        requests: Vec::new(),
        offsets: Vec::new(),
        seen: vec![false; spec.calls + 1],
    };
    if let Err(e) = driver.handshake() {
        Box::new(driver).close();
        return Err(e);
    }
    driver.serialize_requests(spec)?;
    Ok(Box::new(driver))
}

impl RawStdio {
    fn handshake(&mut self) -> Result<(), String> {
        let init = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "mcpmux-bench-raw", "version": "0"},
            },
        });
        let mut frame = serde_json::to_vec(&init).map_err(|e| e.to_string())?;
        frame.push(b'\n');
        frame
            .extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        stdin
            .write_all(&frame)
            .map_err(|e| format!("write initialize: {e}"))?;
        for _ in 0..EXTRA_LINES {
            self.read_line()?;
            if scan_id(&self.line) == Some(0) {
                return Ok(());
            }
        }
        Err("no initialize response".into())
    }

    fn serialize_requests(&mut self, spec: &WorkerSpec) -> Result<(), String> {
        let params = json!({"name": spec.call.tool, "arguments": spec.call.arguments()});
        let params = serde_json::to_vec(&params).map_err(|e| e.to_string())?;
        let one = params.len() + 80;
        self.requests = Vec::with_capacity(one.saturating_mul(spec.calls));
        self.offsets = Vec::with_capacity(spec.calls + 1);
        self.offsets.push(0);
        for id in 1..=spec.calls {
            self.requests
                .extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
            self.requests.extend_from_slice(id.to_string().as_bytes());
            self.requests
                .extend_from_slice(b",\"method\":\"tools/call\",\"params\":");
            self.requests.extend_from_slice(&params);
            self.requests.extend_from_slice(b"}\n");
            self.offsets.push(self.requests.len());
        }
        Ok(())
    }

    /// Reads one line into `self.line` (cleared first).
    fn read_line(&mut self) -> Result<(), String> {
        self.line.clear();
        let n = (&mut self.reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut self.line)
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("the server closed its stdout".into());
        }
        if self.line.last() != Some(&b'\n') {
            return Err(format!("a response line over {MAX_LINE} bytes"));
        }
        Ok(())
    }

    fn run_concurrent(&mut self, calls: usize, deadline: Instant, out: &mut Outcome) {
        let Some(stdin) = self.stdin.as_mut() else {
            out.fail("stdin closed");
            return;
        };
        let end = self.offsets.get(calls).copied().unwrap_or(0);
        let data = &self.requests[..end];
        if let Some(seen) = self.seen.get_mut(..=calls) {
            seen.fill(false);
        }
        let reader = &mut self.reader;
        let line = &mut self.line;
        let seen = &mut self.seen;
        let write_result = std::thread::scope(|scope| {
            let writer = scope.spawn(move || stdin.write_all(data));
            let mut received = 0usize;
            for n in 0..calls.saturating_mul(2) + EXTRA_LINES {
                if received == calls {
                    break;
                }
                if n % 256 == 255 && Instant::now() > deadline {
                    out.fail("run timed out");
                    break;
                }
                line.clear();
                match (&mut *reader).take(MAX_LINE).read_until(b'\n', line) {
                    Ok(0) => {
                        out.fail("the server closed its stdout");
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        out.fail(format!("read: {e}"));
                        break;
                    }
                }
                if let Some(id) = scan_id(line)
                    && let Some(slot) = usize::try_from(id).ok().and_then(|i| seen.get_mut(i))
                    && id > 0
                    && !*slot
                {
                    *slot = true;
                    received += 1;
                }
            }
            out.ok += received as u64;
            out.errors += (calls - received) as u64;
            writer.join()
        });
        match write_result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => out.fail(format!("write: {e}")),
            Err(_) => out.fail("writer thread panicked"),
        }
    }

    fn run_sequential(&mut self, calls: usize, deadline: Instant, out: &mut Outcome) {
        out.latencies.reserve(calls);
        for id in 1..=calls {
            if Instant::now() > deadline {
                out.fail("run timed out");
                break;
            }
            let t = Instant::now();
            let (Some(&from), Some(&to)) = (self.offsets.get(id - 1), self.offsets.get(id)) else {
                out.fail("no such request");
                break;
            };
            let Some(stdin) = self.stdin.as_mut() else {
                out.fail("stdin closed");
                break;
            };
            if let Err(e) = stdin.write_all(&self.requests[from..to]) {
                out.fail(format!("write: {e}"));
                break;
            }
            let mut answered = false;
            for _ in 0..EXTRA_LINES {
                if let Err(e) = self.read_line() {
                    out.fail(e);
                    return;
                }
                if scan_id(&self.line) == Some(id as u64) {
                    answered = true;
                    break;
                }
            }
            if !answered {
                out.fail(format!("no response to request {id}"));
                return;
            }
            out.ok += 1;
            out.latencies
                .push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
        }
    }
}

impl Driver for RawStdio {
    fn run(&mut self, mode: Mode, calls: usize, deadline: Instant) -> Outcome {
        let calls = calls.min(self.offsets.len().saturating_sub(1));
        let mut out = Outcome::default();
        let start = Instant::now();
        match mode {
            Mode::Concurrent => self.run_concurrent(calls, deadline, &mut out),
            Mode::Sequential => self.run_sequential(calls, deadline, &mut out),
        }
        out.wall = start.elapsed();
        out
    }

    fn close(mut self: Box<Self>) {
        // Closing stdin asks the server to exit; wait (bounded), then kill, and always reap.
        drop(self.stdin.take());
        for _ in 0..300 {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::scan_id;

    #[test]
    fn finds_the_id() {
        assert_eq!(
            scan_id(br#"{"jsonrpc":"2.0","id":42,"result":{}}"#),
            Some(42)
        );
        assert_eq!(scan_id(br#"{"id": 7}"#), Some(7));
        assert_eq!(scan_id(br#"{"method":"x"}"#), None);
        assert_eq!(scan_id(br#"{"id":"s"}"#), None);
        assert_eq!(scan_id(br#"{"id":99999999999999999999999}"#), None);
    }
}

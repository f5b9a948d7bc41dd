//! The process side of the stdio transport: spawn in a process group, capture stderr, shut down.
//!
//! The child is spawned without a shell, as the leader of a new process group, with a filtered
//! environment. A waiter task owns the child and reaps it; the connection task signals the whole
//! group by its id. [`GroupKiller`] is the synchronous fallback: if the connection task is dropped
//! without finishing its shutdown (its runtime shut down), its `Drop` sends SIGKILL to the group.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mcpmux_protocol::framing::{Frame, LineFramer};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use process_wrap::tokio::{CommandWrap, KillOnDrop, ProcessGroup};
use tokio::io::AsyncReadExt;
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::TransportSettings;
use crate::error::{Error, Result};

/// Environment variables a stdio server inherits by default; everything else must be set
/// explicitly with `ServerBuilder::env` or allowed with `ServerBuilder::inherit_env`.
pub const INHERITED_ENV: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR",
    "TZ",
];

/// How to start a stdio server: program, arguments, environment and working directory.
#[derive(Debug, Clone)]
pub(crate) struct StdioSettings {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    /// Variables to set (`Some`) or remove (`None`), applied after the inherited ones.
    pub(crate) env: Vec<(OsString, Option<OsString>)>,
    pub(crate) inherit_all_env: bool,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) shutdown: ShutdownTimeouts,
    /// Longest stderr line kept (longer ones are cut).
    pub(crate) stderr_line_max: usize,
    /// How many of the last stderr lines are kept for error messages.
    pub(crate) stderr_tail_lines: usize,
}

/// Timeouts of the stdio shutdown sequence.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShutdownTimeouts {
    /// How long to wait for the process to exit after closing its stdin.
    pub(crate) after_stdin_close: Duration,
    /// How long to wait after SIGTERM before SIGKILL.
    pub(crate) after_sigterm: Duration,
}

/// A spawned server process, split into the parts the connection task drives.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub(crate) stdin: ChildStdin,
    pub(crate) stdout: ChildStdout,
    pub(crate) pid: u32,
    pub(crate) process: Process,
}

/// The process's lifecycle: its exit (from the waiter task), its group, its stderr.
#[derive(Debug)]
pub(crate) struct Process {
    /// The waiter's report; `None` once received.
    exit: Option<oneshot::Receiver<io::Result<ExitStatus>>>,
    pub(crate) exit_status: Option<ExitStatus>,
    pub(crate) group: GroupKiller,
    pub(crate) stderr: StderrTail,
    stderr_task: Option<JoinHandle<()>>,
    /// Boxed: cold, and kept out of the transport's size.
    watchdog: Option<Box<Watchdog>>,
}

/// Kills the server's process group when this process dies, even by SIGKILL, when nothing in
/// it can run any more.
///
/// A tiny `/bin/sh` in a process group of its own (so a terminal's Ctrl-C does not reach it),
/// ignoring INT, TERM, HUP and QUIT, blocked reading a pipe whose only write end this process
/// holds (close-on-exec, so no server inherits it). Nothing is ever written: when this process
/// dies the kernel closes the write end, the read returns, and the watchdog sends SIGKILL to
/// the server's group. `PR_SET_PDEATHSIG` would not do: it fires when the spawning *thread*
/// exits, and tokio's blocking threads retire. A normal shutdown kills and reaps the watchdog
/// itself after the server, so it never outlives the connection either.
#[derive(Debug)]
struct Watchdog {
    child: tokio::process::Child,
    /// The write end of its stdin: held, never written.
    _pipe: Option<ChildStdin>,
}

/// The watchdog's script; `$1` is the process group to kill. (`kill -9 -PGID`: dash, Debian's
/// `/bin/sh`, rejects `--` there.)
const WATCHDOG_SCRIPT: &str =
    "trap '' INT TERM HUP QUIT; read -r _; kill -9 \"-$1\" 2>/dev/null; exit 0";

impl Watchdog {
    fn spawn(pgid: Pid) -> io::Result<Watchdog> {
        let mut child = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("mcpmux-watchdog")
            .arg(pgid.as_raw().to_string())
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        let pipe = child.stdin.take();
        Ok(Watchdog { child, _pipe: pipe })
    }

    /// Kills and reaps the watchdog (the server is gone already).
    async fn stop(mut self: Box<Self>) {
        let _ = self.child.start_kill();
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!("the server's watchdog could not be reaped");
        }
    }
}

/// Sends SIGKILL to a process group on drop unless disarmed.
#[derive(Debug)]
pub(crate) struct GroupKiller {
    pgid: Pid,
    armed: bool,
}

impl GroupKiller {
    pub(crate) fn signal(&self, sig: Signal) {
        if let Err(e) = killpg(self.pgid, sig)
            && e != nix::errno::Errno::ESRCH
        {
            tracing::debug!(pgid = self.pgid.as_raw(), ?sig, "killpg failed: {e}");
        }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if self.armed {
            // The connection task was dropped mid-way (e.g. its runtime shut down): never leave
            // the server running. Synchronous, works on any thread.
            self.signal(Signal::SIGKILL);
        }
    }
}

/// The last lines the server wrote to stderr, shared with the stderr reader task.
#[derive(Debug, Clone, Default)]
pub(crate) struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl StderrTail {
    fn push(&self, line: String, keep: usize) {
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() == keep {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub(crate) fn snapshot(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().cloned().collect()
    }
}

/// Spawns the configured server. Must be called inside a tokio runtime.
pub(crate) fn spawn(config: &TransportSettings, stdio: &StdioSettings) -> Result<Spawned> {
    let program_display = stdio.program.to_string_lossy().into_owned();
    let mut cmd = CommandWrap::with_new(&stdio.program, |c| {
        c.args(&stdio.args);
        if !stdio.inherit_all_env {
            c.env_clear();
            for key in INHERITED_ENV {
                if let Some(v) = std::env::var_os(key) {
                    c.env(key, v);
                }
            }
        }
        for (k, v) in &stdio.env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(dir) = &stdio.cwd {
            c.current_dir(dir);
        }
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    });
    cmd.wrap(ProcessGroup::leader()).wrap(KillOnDrop);
    let mut child = cmd.spawn().map_err(|e| Error::spawn(&program_display, e))?;
    let missing = || Error::spawn(&program_display, io::Error::other("child pipe missing"));
    let stdin = child.stdin().take().ok_or_else(missing)?;
    let stdout = child.stdout().take().ok_or_else(missing)?;
    let stderr = child.stderr().take().ok_or_else(missing)?;
    let pid = child.id().ok_or_else(missing)?;
    let pgid = Pid::from_raw(i32::try_from(pid).map_err(|_| missing())?);
    let group = GroupKiller { pgid, armed: true };
    let watchdog = match Watchdog::spawn(pgid) {
        Ok(w) => Some(Box::new(w)),
        Err(e) => {
            tracing::warn!(server = %config.name, "no watchdog for the server's process group ({e}): it would outlive this process if it were killed");
            None
        }
    };

    let (exit_tx, exit) = oneshot::channel();
    tokio::spawn(async move {
        let status = child.wait().await;
        let _ = exit_tx.send(status);
    });
    let tail = StderrTail::default();
    let stderr_task = tokio::spawn(read_stderr(
        stderr,
        tail.clone(),
        config.name.clone(),
        stdio.stderr_line_max,
        stdio.stderr_tail_lines,
    ));
    tracing::debug!(server = %config.name, pid, "spawned server process");
    Ok(Spawned {
        stdin,
        stdout,
        pid,
        process: Process {
            exit: Some(exit),
            exit_status: None,
            group,
            stderr: tail,
            stderr_task: Some(stderr_task),
            watchdog,
        },
    })
}

/// Reads stderr line by line (each line capped), logs it, and keeps the last lines. It always
/// drains the pipe, so a chatty server never blocks on a full stderr pipe.
async fn read_stderr(
    mut stderr: ChildStderr,
    tail: StderrTail,
    name: Arc<str>,
    line_max: usize,
    keep: usize,
) {
    let mut framer = LineFramer::new(line_max);
    loop {
        let buf = framer.buffer_mut();
        buf.reserve(8192);
        let eof = match stderr.read_buf(buf).await {
            Ok(0) | Err(_) => true,
            Ok(_) => false,
        };
        let mut frames = Vec::new();
        while let Some(f) = framer.next_frame() {
            frames.push(f);
        }
        if eof {
            frames.extend(framer.finish());
        }
        for f in frames {
            let line = match f {
                Frame::Line(l) => String::from_utf8_lossy(&l).into_owned(),
                Frame::Oversized { prefix, len } => {
                    let cut = prefix.len().min(line_max);
                    format!(
                        "{}… ({len} bytes, truncated)",
                        String::from_utf8_lossy(&prefix[..cut])
                    )
                }
            };
            tracing::info!(target: "mcpmux::server_stderr", server = %name, "{line}");
            if keep > 0 {
                tail.push(line, keep);
            }
        }
        if eof {
            return;
        }
    }
}

impl Process {
    /// Whether the waiter has reported the exit (or is gone).
    pub(crate) fn has_exited(&self) -> bool {
        self.exit.is_none()
    }

    /// Resolves when the process exits (never, if that was already reported). Cancel safe.
    pub(crate) async fn exited(&mut self) {
        let Some(rx) = self.exit.as_mut() else {
            return std::future::pending().await;
        };
        let report = rx.await;
        self.exit = None;
        match report {
            Ok(Ok(status)) => self.exit_status = Some(status),
            Ok(Err(e)) => tracing::warn!("waiting for the server process failed: {e}"),
            Err(_) => tracing::debug!("the process waiter ended without a report"),
        }
    }

    /// Waits up to `limit` for the process to exit; returns its status if known.
    pub(crate) async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        if !self.has_exited() {
            let _ = tokio::time::timeout(limit, self.exited()).await;
        }
        self.exit_status
    }

    /// Gives the stderr reader a moment to collect the last lines of a dying process.
    pub(crate) async fn drain_stderr(&mut self, limit: Duration) {
        if let Some(task) = self.stderr_task.as_mut()
            && tokio::time::timeout(limit, task).await.is_ok()
        {
            // Finished: a JoinHandle must not be polled again.
            self.stderr_task = None;
        }
    }

    /// The MCP stdio shutdown: close stdin, wait, SIGTERM the group, wait, SIGKILL, reap.
    /// Afterwards the rest of the group (grandchildren) is killed too.
    pub(crate) async fn shutdown(&mut self, stdin: Option<ChildStdin>, t: ShutdownTimeouts) {
        drop(stdin);
        self.wait_exit(t.after_stdin_close).await;
        if !self.has_exited() {
            tracing::debug!("server did not exit after stdin closed; sending SIGTERM");
            self.group.signal(Signal::SIGTERM);
            self.wait_exit(t.after_sigterm).await;
        }
        if !self.has_exited() {
            tracing::debug!("server did not exit after SIGTERM; sending SIGKILL");
            self.group.signal(Signal::SIGKILL);
            self.wait_exit(Duration::from_secs(10)).await;
            if !self.has_exited() {
                tracing::error!("server process could not be reaped after SIGKILL");
            }
        }
        // Grandchildren that outlived the leader are still in its group.
        self.group.signal(Signal::SIGKILL);
        self.group.disarm();
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.stop().await;
        }
        self.drain_stderr(Duration::from_millis(200)).await;
        if let Some(task) = self.stderr_task.take() {
            task.abort();
        }
    }
}

//! SIGINT and SIGTERM: the command stops its calls, shuts its servers down within
//! [`SHUTDOWN_LIMIT`] and exits 130 (SIGINT) or 143 (SIGTERM) — `call`, `batch` and `bench`
//! with their own handling, the other server commands through `main::interruptible`. A second
//! signal while shutting down exits at once (the library's per-server watchdog then kills each
//! server's process group; `bench` kills its workers' groups first).

use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::exit::{Code, Failure};

/// How long the shutdown after a signal may take before the command exits anyway.
pub const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);

/// The SIGINT and SIGTERM streams, installed before any server starts.
#[derive(Debug)]
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Installs the handlers (from then on the signals no longer kill the process).
    ///
    /// # Errors
    /// Exit 1 if the handlers cannot be installed.
    pub fn install() -> Result<Signals, Failure> {
        let install = |kind: SignalKind| {
            signal(kind).map_err(|e| {
                Failure::new(
                    Code::Failed,
                    anyhow::Error::new(e).context("cannot install the signal handlers"),
                )
            })
        };
        Ok(Signals {
            interrupt: install(SignalKind::interrupt())?,
            terminate: install(SignalKind::terminate())?,
        })
    }

    /// Waits for the next SIGINT (exit code 130) or SIGTERM (143).
    pub async fn recv(&mut self) -> Code {
        tokio::select! {
            Some(()) = self.interrupt.recv() => Code::Interrupted,
            Some(()) = self.terminate.recv() => Code::Terminated,
            else => std::future::pending().await,
        }
    }

    /// Reports the signal `code` on stderr, and from now on exits at once on the next one.
    pub fn shutting_down(self, code: Code) {
        self.shutting_down_then(code, || {});
    }

    /// [`shutting_down`](Self::shutting_down), running `last` just before the exit on the next
    /// signal (to kill what no watchdog covers).
    pub fn shutting_down_then(mut self, code: Code, last: impl FnOnce() + Send + 'static) {
        crate::exit::warn(&format!(
            "{}: shutting down the servers (again to exit at once)",
            name(code)
        ));
        tokio::spawn(async move {
            let code = self.recv().await;
            crate::exit::warn(&format!("{}: exiting now", name(code)));
            last();
            std::process::exit(i32::from(code as u8));
        });
    }
}

/// The signal behind an exit code.
pub fn name(code: Code) -> &'static str {
    if code == Code::Terminated {
        "SIGTERM"
    } else {
        "SIGINT"
    }
}

/// Waits until this process has no child process left (every server shut down and reaped),
/// at most `limit`.
pub async fn wait_for_children(limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while has_children() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a process (running or not yet reaped) has this process as its parent.
fn has_children() -> bool {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|entry| {
        let pid = entry.file_name();
        let Some(pid) = pid
            .to_str()
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        else {
            return false;
        };
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            // The parent is the second field after the command name's closing parenthesis.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok())
                == Some(me)
        })
    })
}

//! Checking, through `/proc`, that a child process was reaped: neither running nor a zombie.

use std::io;
#[cfg(any(test, feature = "test-server"))]
use std::time::{Duration, Instant};

/// What `/proc/<pid>` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcState {
    /// No such process: it exited and was reaped.
    Gone,
    /// It exited but nobody waited for it (state `Z`).
    Zombie,
    /// It is running (or sleeping, stopped, ...).
    Alive,
}

/// Identifies one process across pid reuse: its pid and its start time (in clock ticks since
/// boot, field 22 of `/proc/<pid>/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcId {
    /// The process id.
    pub pid: u32,
    /// Its start time, if it could be read while the process ran.
    start_time: Option<u64>,
}

impl ProcId {
    /// Records the process `pid` as it is now (call while it is known to run).
    pub fn capture(pid: u32) -> Self {
        let start_time = read_stat(pid).ok().flatten().map(|s| s.start_time);
        ProcId { pid, start_time }
    }

    /// The process's state now. A different process that reuses the pid counts as
    /// [`ProcState::Gone`].
    pub fn state(&self) -> io::Result<ProcState> {
        match read_stat(self.pid)? {
            None => Ok(ProcState::Gone),
            Some(stat) if self.start_time.is_some_and(|t| t != stat.start_time) => {
                Ok(ProcState::Gone)
            }
            Some(stat) if stat.state == 'Z' => Ok(ProcState::Zombie),
            Some(_) => Ok(ProcState::Alive),
        }
    }

    /// Polls [`state`](Self::state) until the process is gone or `limit` has passed; returns the
    /// last state seen. (The demo's check; `call` only looks once.)
    #[cfg(feature = "test-server")]
    pub async fn wait_gone(&self, limit: Duration) -> io::Result<ProcState> {
        let deadline = Instant::now() + limit;
        loop {
            let state = self.state()?;
            if state == ProcState::Gone || Instant::now() >= deadline {
                return Ok(state);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The fields of `/proc/<pid>/stat` this module reads.
struct Stat {
    state: char,
    start_time: u64,
}

/// Reads `/proc/<pid>/stat`; `None` if there is no such process.
fn read_stat(pid: u32) -> io::Result<Option<Stat>> {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => parse_stat(&text).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected /proc/{pid}/stat: {text:?}"),
            )
        }),
        // ESRCH: the process vanished between opening and reading.
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(3) => Ok(None),
        Err(e) if !std::path::Path::new("/proc/self/stat").exists() => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("cannot check processes: /proc is not available ({e})"),
        )),
        Err(e) => Err(e),
    }
}

/// Parses `pid (comm) S ppid ... starttime ...`; `comm` may contain spaces and parentheses, so
/// the fields start after the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3) come fields 4..; starttime is field 22.
    let start_time = fields.nth(22 - 4)?.parse().ok()?;
    Some(Stat { state, start_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let line = "123 (a) b (c)) Z 1 123 123 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!((stat.state, stat.start_time), ('Z', 98765));
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_gone() {
        let me = ProcId::capture(std::process::id());
        assert!(me.start_time.is_some());
        assert_eq!(me.state().unwrap(), ProcState::Alive);

        let mut child = std::process::Command::new("true").spawn().unwrap();
        let id = ProcId::capture(child.id());
        child.wait().unwrap();
        assert_eq!(id.state().unwrap(), ProcState::Gone);
    }

    #[test]
    fn an_unreaped_child_is_a_zombie() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let id = ProcId::capture(child.id());
        let deadline = Instant::now() + Duration::from_secs(5);
        while id.state().unwrap() != ProcState::Zombie {
            assert!(Instant::now() < deadline, "child never became a zombie");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.wait().unwrap();
        assert_eq!(id.state().unwrap(), ProcState::Gone);
    }
}

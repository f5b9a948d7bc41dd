//! Helpers shared by the integration tests: the test server binary, process checks, bounds.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mcpmux::{Server, ServerBuilder};

/// Path of the `mcpmux-test-server` binary, built on first use if a plain `cargo test -p mcpmux`
/// did not build it.
pub fn test_server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target profile dir");
        let bin = dir.join("mcpmux-test-server");
        if !bin.exists() {
            let status = std::process::Command::new(env!("CARGO"))
                .args([
                    "build",
                    "-p",
                    "mcpmux-test-server",
                    "--bin",
                    "mcpmux-test-server",
                ])
                .status()
                .expect("run cargo build for the test server");
            assert!(status.success(), "cargo build -p mcpmux-test-server failed");
        }
        assert!(
            bin.exists(),
            "test server binary missing at {}",
            bin.display()
        );
        bin
    })
    .clone()
}

/// A builder for the test server with short shutdown timeouts.
pub fn test_server() -> ServerBuilder {
    Server::stdio(test_server_bin())
        .name("test")
        .shutdown_timeouts(Duration::from_millis(500), Duration::from_millis(500))
}

/// The state letter from /proc/PID/stat, or None if the process no longer exists (reaped).
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// Whether the process exists and is not a zombie.
pub fn is_running(pid: u32) -> bool {
    matches!(proc_state(pid), Some(s) if s != 'Z' && s != 'X')
}

/// Polls until `pid` no longer exists at all (killed and reaped), up to `limit`.
pub async fn wait_reaped(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if proc_state(pid).is_none() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proc_state(pid).is_none()
}

/// Polls until `pid` is not running (gone, or a zombie), up to `limit`. For processes that are
/// not our children (grandchildren), which we cannot reap.
pub async fn wait_not_running(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !is_running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    !is_running(pid)
}

/// Bounds a test step so a hang fails instead of blocking the suite.
pub async fn bounded<F: std::future::Future>(what: &str, limit: Duration, f: F) -> F::Output {
    match tokio::time::timeout(limit, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// The direct children of this process that are still alive (not zombies).
pub fn live_children() -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some(close) = stat.rfind(')') else {
                continue;
            };
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(me) && fields[0] != "Z" {
                out.push(pid);
            }
        }
    }
    out
}

/// Whether this test runs in a process of its own (cargo-nextest), so process-wide checks see
/// only its own children.
pub fn own_process() -> bool {
    std::env::var("NEXTEST_EXECUTION_MODE").as_deref() == Ok("process-per-test")
}

/// Under nextest: waits up to 3 s for every child process of this test to be gone.
/// (Under `cargo test`, tests share a process and each test checks its own pids instead.)
pub async fn assert_no_children_left() {
    if !own_process() {
        return;
    }
    for _ in 0..300 {
        if live_children().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("child processes left: {:?}", live_children());
}

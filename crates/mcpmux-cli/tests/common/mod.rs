//! Helpers the gateway's test files share.
//!
//! Every test binary that declares `mod common;` compiles all of this module but uses only some
//! of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Live (not zombie) processes whose `/proc/PID/<file>` (`cmdline`, `environ`) `matches`: the
/// processes a test started and marked, found in /proc (also in another process tree).
pub fn live_processes(file: &str, matches: impl Fn(&[u8]) -> bool) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true);
        if !zombie
            && let Ok(content) = std::fs::read(format!("/proc/{pid}/{file}"))
            && matches(&content)
        {
            out.push(pid);
        }
    }
    out
}

/// Live (not zombie) processes whose environment holds `name=value`: the processes a test
/// started and marked, found in /proc.
pub fn processes_with(name: &str, value: &str) -> Vec<u32> {
    let needle = format!("{name}={value}");
    live_processes("environ", |env| {
        env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes())
    })
}

/// Live (not zombie) processes whose `/proc/PID/<file>` (`cmdline`, `environ`) contains
/// `marker` (to find what a test started, in another process tree).
pub fn processes_whose(file: &str, marker: &str) -> Vec<u32> {
    live_processes(file, |content| {
        String::from_utf8_lossy(content).contains(marker)
    })
}

/// Starts `mcpmux test-server --http 127.0.0.1:0 EXTRA...` (stdin closed, stdout piped, stderr
/// discarded) and reads its first line, `listening on URL`: the child, for the caller to kill
/// and reap, and the base URL without a trailing `/`. Panics (after killing and reaping the
/// child) if that line does not come.
pub fn start_http_test_server<S: AsRef<OsStr>>(extra: &[S]) -> (Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_mcpmux"))
        .args(["test-server", "--http", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcpmux test-server --http");
    let mut line = String::new();
    let read = match server.stdout.take() {
        Some(stdout) => BufReader::new(stdout).read_line(&mut line).ok(),
        None => None,
    };
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .map(|url| url.trim_end_matches('/').to_owned());
    match (read, base) {
        (Some(_), Some(base)) => (server, base),
        _ => {
            let _ = server.kill();
            let _ = server.wait();
            panic!("mcpmux test-server --http: unexpected first line: {line:?}");
        }
    }
}

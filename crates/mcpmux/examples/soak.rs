//! Soak test: at least 1,000,000 tool calls through one stdio connection, with the client's
//! resident memory (RSS) taken after a 10,000-call warm-up and at the end. "Flat" means the end
//! is within 10 % of the warm-up figure; the exit status is 1 otherwise. Run it through
//! `scripts/soak.sh` (release build); by hand:
//!
//! ```text
//! cargo build --release -p mcpmux-test-server
//! cargo run --release -p mcpmux --example soak -- target/release/mcpmux-test-server [CALLS] [CONCURRENCY]
//! ```
//!
//! `CONCURRENCY` workers (default 64) make calls back to back on the one connection; each call
//! is an `echo` whose answer is checked. Besides the CALLS answered calls, one extra call in 100
//! is dropped by its caller 50 µs in (a cancelled request: removed from the connection, and
//! `notifications/cancelled` sent if it had gone out), so the cancellation path is soaked too.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mcpmux::{Guard, Server};
use serde_json::json;

const WARM_UP: u64 = 10_000;
const CHECKPOINTS: u64 = 10;

fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kib(pid: &str) -> u64 {
    status_kib(pid, "VmRSS:")
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[derive(Default)]
struct Counts {
    answered: AtomicU64,
    dropped: AtomicU64,
}

/// Calls number `from..to` (answered calls; every 99th number also makes one dropped call),
/// spread over `workers` tasks.
async fn run(guard: &Guard, from: u64, to: u64, workers: usize, counts: &Arc<Counts>) {
    let next = Arc::new(AtomicU64::new(from));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (g, next, counts) = (guard.clone(), next.clone(), counts.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= to {
                    return;
                }
                if i % 99 == 98 {
                    let dropped = tokio::time::timeout(
                        Duration::from_micros(50),
                        g.call_tool("echo", json!({"text": "dropped"})),
                    )
                    .await;
                    if dropped.is_err() {
                        counts.dropped.fetch_add(1, Ordering::Relaxed);
                    } else {
                        counts.answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let text = i.to_string();
                let r = g
                    .call_tool("echo", json!({ "text": text }))
                    .await
                    .unwrap_or_else(|e| panic!("call {i} failed: {e}"));
                assert_eq!(r.text(), text, "call {i} got another call's answer");
                counts.answered.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("a soak worker panicked");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .ok_or("usage: soak <path to mcpmux-test-server> [CALLS] [CONCURRENCY]")?;
    let calls: u64 = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let workers: usize = args.next().map_or(Ok(64), |s| s.parse())?;
    if calls <= WARM_UP || workers == 0 {
        return Err(format!("CALLS must be over {WARM_UP} and CONCURRENCY at least 1").into());
    }

    let server = Server::stdio(&bin).name("soak").build()?;
    let guard = server.enter().await?;
    let server_pid = guard.process_id().map(|p| p.to_string());
    let counts = Arc::new(Counts::default());
    let started = Instant::now();

    run(&guard, 0, WARM_UP, workers, &counts).await;
    let warm = rss_kib("self");
    let warm_server = server_pid.as_deref().map_or(0, rss_kib);
    println!(
        "warm-up: {WARM_UP} calls, client RSS {}, server RSS {}",
        mib(warm),
        mib(warm_server)
    );

    let step = (calls - WARM_UP).div_ceil(CHECKPOINTS);
    let mut from = WARM_UP;
    while from < calls {
        let to = (from + step).min(calls);
        let t = Instant::now();
        run(&guard, from, to, workers, &counts).await;
        println!(
            "{to:>10} calls  {:>8.0} calls/s  client RSS {}",
            (to - from) as f64 / t.elapsed().as_secs_f64(),
            mib(rss_kib("self"))
        );
        from = to;
    }
    let took = started.elapsed();
    let end = rss_kib("self");
    let end_server = server_pid.as_deref().map_or(0, rss_kib);
    let answered = counts.answered.load(Ordering::Relaxed);
    let dropped = counts.dropped.load(Ordering::Relaxed);
    drop(guard);
    server.close().await;

    let growth = (end as f64 - warm as f64) / warm as f64 * 100.0;
    let flat = end as f64 <= warm as f64 * 1.10;
    println!(
        "done: {answered} answered + {dropped} dropped calls on one connection in {:.1} s \
         ({:.0} calls/s), {workers} workers",
        took.as_secs_f64(),
        (answered + dropped) as f64 / took.as_secs_f64()
    );
    println!(
        "client RSS: warm-up {}, end {} ({growth:+.1} %), peak {}; server RSS: warm-up {}, end {}",
        mib(warm),
        mib(end),
        mib(status_kib("self", "VmHWM:")),
        mib(warm_server),
        mib(end_server)
    );
    println!(
        "{}",
        if flat {
            "FLAT: the end is within 10 % of the warm-up"
        } else {
            "NOT FLAT: the end is more than 10 % above the warm-up"
        }
    );
    if !flat {
        std::process::exit(1);
    }
    Ok(())
}

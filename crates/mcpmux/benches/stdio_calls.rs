//! Calls per second on one stdio connection to the Rust test server.
//!
//! Run: `cargo bench -p mcpmux --bench stdio_calls` (builds the test server first).

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

fn test_server_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile dir")
        .to_path_buf();
    let bin = dir.join("mcpmux-test-server");
    if !bin.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "mcpmux-test-server"])
            .status()
            .expect("cargo build");
        assert!(status.success());
    }
    bin
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = mcpmux::Server::stdio(test_server_bin())
        .build()
        .expect("server");
    let guard = rt.block_on(server.enter()).expect("enter");

    let mut group = c.benchmark_group("stdio");
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential_echo", |b| {
        b.to_async(&rt).iter(|| async {
            guard
                .call_tool("echo", json!({"text": "hello"}))
                .await
                .expect("echo")
        })
    });
    for n in [100u64, 1000] {
        group.throughput(Throughput::Elements(n));
        group.bench_function(format!("concurrent_echo_{n}"), |b| {
            b.to_async(&rt).iter(|| {
                let guard = guard.clone();
                async move {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..n {
                        let g = guard.clone();
                        set.spawn(
                            async move { g.call_tool("echo", json!({"text": "hello"})).await },
                        );
                    }
                    while let Some(r) = set.join_next().await {
                        r.expect("join").expect("echo");
                    }
                }
            })
        });
    }
    group.finish();
    drop(guard);
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Why `tools/call` lines are written by `mcpmux_protocol::write` and not `serde_json`: both
//! encode the same request, with a 100 B, 10 KB and 1 MB text argument.
//!
//! Run: `cargo bench -p mcpmux-protocol --bench encode`. Results are in BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcpmux_protocol::{CallToolParams, RequestId, encode_request, write::encode_tool_call};
use serde_json::json;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    for (label, size) in [("100B", 100), ("10KB", 10_000), ("1MB", 1_000_000)] {
        // Text with an escape every 80 bytes, like log lines or source code.
        let text: String =
            "lorem ipsum dolor sit amet, consectetur adipiscing elit; sed do eiusmod tempor\n"
                .repeat(size / 40 + 1)[..size]
                .to_owned();
        let args = json!({ "text": text });
        let map = args.as_object().cloned();
        let mut g = c.benchmark_group(format!("encode_tool_call_{label}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function("write::encode_tool_call (ours)", |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(128);
                encode_tool_call(&mut out, 7, "echo", black_box(map.as_ref()), None);
                out
            })
        });
        let params = CallToolParams {
            name: "echo".into(),
            arguments: map.clone(),
            meta: None,
            task: None,
        };
        g.bench_function("serde_json::to_writer", |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(128);
                let _ = encode_request(
                    &mut out,
                    &RequestId::Number(7),
                    "tools/call",
                    Some(black_box(&params)),
                );
                out
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

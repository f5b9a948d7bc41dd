//! Why the decoder is a plain envelope struct with `RawValue` fields: it is compared here with
//! the two obvious alternatives on a typical tool-call response.
//!
//! Run: `cargo bench -p mcpmux-protocol --bench decode`. Results are in BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use serde_json::Value;
use std::hint::black_box;

const RESPONSE: &[u8] = br#"{"jsonrpc":"2.0","id":12345,"result":{"content":[{"type":"text","text":"The quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps over the lazy dog."}],"structuredContent":{"sum":42,"items":[1,2,3,4,5,6,7,8]},"isError":false}}"#;

/// The obvious alternative: an untagged enum of message shapes, each owning a `Value`.
#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Untagged {
    Request {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    Response {
        id: Value,
        result: Value,
    },
    Error {
        id: Value,
        error: Value,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_response");
    g.bench_function("envelope_rawvalue (ours)", |b| {
        b.iter(|| mcpmux_protocol::decode(black_box(RESPONSE)).is_ok())
    });
    g.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(RESPONSE)).is_ok())
    });
    g.bench_function("untagged_enum", |b| {
        b.iter(|| serde_json::from_slice::<Untagged>(black_box(RESPONSE)).is_ok())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

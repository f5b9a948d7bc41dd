//! The JSON-RPC decoder and the id scanner on arbitrary bytes: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpmux_protocol::{Decoded, Incoming, decode, scan_id};

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = decode(data) {
        let msgs = match decoded {
            Decoded::Single(m) => vec![m],
            Decoded::Batch(v) => v,
        };
        for m in msgs {
            if let Incoming::Response { result: Ok(raw), .. } = m {
                // A raw result must itself be valid JSON.
                assert!(serde_json::from_str::<serde_json::Value>(raw.get()).is_ok());
            }
        }
    }
    let _ = scan_id(data);
});

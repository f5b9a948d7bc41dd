//! The JSON-RPC decoder, the response fast path and the id scanner on arbitrary bytes: never a
//! panic, the fast path never disagrees with the decoder, and the common-shape `tools/call`
//! result reader never disagrees with serde.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpmux_protocol::{CallToolResult, Decoded, Incoming, decode, scan_id};

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
    // The shape-only fast path agrees with the decoder wherever both accept the message.
    if let Some((id, range)) = mcpmux_protocol::jsonrpc::fast_response(data)
        && let Ok(Decoded::Single(Incoming::Response { id: full, result: Ok(raw) })) = decode(data)
    {
        assert_eq!(full.as_u64(), Some(id));
        assert_eq!(&data[range], raw.get().as_bytes());
    }
    // What the common-shape result reader accepts, serde reads to the same value.
    if let Some(fast) = CallToolResult::parse_common(data) {
        assert_eq!(serde_json::from_slice::<CallToolResult>(data).ok(), Some(fast));
    }
});

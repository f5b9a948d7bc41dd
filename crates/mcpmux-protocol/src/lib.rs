/*!
MCP (Model Context Protocol) and JSON-RPC 2.0 message types for mcpmux, with no I/O.

This crate is the protocol layer of mcpmux: serde types for the messages a client sends and
receives, the decoder that turns bytes into messages, and the newline framer of the stdio
transport. It knows nothing about processes, sockets or tasks; the `mcpmux` crate drives it.

# Brief overview

- [`decode`] parses one incoming message (or batch) in a single pass into a borrowed
  [`Incoming`]; results stay raw ([`serde_json::value::RawValue`]) until their owner parses them.
- [`encode_request`], [`encode_notification`] and [`encode_response`] write one compact JSON line.
- [`write::encode_tool_call`] writes a `tools/call` line with a faster string escaper
  (byte-identical to serde_json's output).
- [`framing::LineFramer`] splits a byte stream into lines with a hard size cap.
- [`sse::SseParser`] parses Server-Sent Events with a hard cap on event size.
- [`types`] holds the MCP payloads ([`InitializeResult`], [`Tool`], [`CallToolResult`],
  [`Content`], notifications); each keeps unknown fields so extensions survive a round trip.
- [`ProtocolVersion`] lists the versions negotiated through `initialize`.

# Example

```
use mcpmux_protocol::{decode, encode_request, CallToolResult, Decoded, Incoming, RequestId};

let mut line = Vec::new();
let params = serde_json::json!({"name": "echo", "arguments": {"text": "hi"}});
encode_request(&mut line, &RequestId::Number(1), "tools/call", Some(&params)).unwrap();
assert!(line.ends_with(b"\n"));

let reply = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}"#;
let Decoded::Single(Incoming::Response { id, result: Ok(raw) }) = decode(reply).unwrap() else {
    panic!("not a response");
};
assert_eq!(id.as_u64(), Some(1));
let result: CallToolResult = serde_json::from_str(raw.get()).unwrap();
assert_eq!(result.text(), "hi");
```
*/
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(unused_must_use)]

pub mod framing;
pub mod jsonrpc;
pub mod sse;
pub mod stateless;
pub mod types;
mod version;
pub mod write;

pub use jsonrpc::{
    DecodeError, Decoded, ErrorObject, Incoming, RequestId, decode, encode_notification,
    encode_request, encode_response, scan_id,
};
pub use types::*;
pub use version::ProtocolVersion;

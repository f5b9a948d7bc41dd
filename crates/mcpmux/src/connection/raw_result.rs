//! A response's result as it travels from the connection task to its caller: the received
//! frame and the result's place in it, parsed once by the caller.

use mcpmux_protocol::{CallToolResult, Decoded, Incoming, decode};
use serde_json::value::RawValue;

use crate::error::{Error, Result};

/// Results up to this size are tried with [`CallToolResult::parse_common`] first; larger ones
/// go to serde at once (the scan and the UTF-8 check are then the whole cost, and serde_json's
/// scan is a little tighter: +2.4 % instructions at 10 KB texts without this bound).
const FAST_PARSE_MAX: usize = 4 * 1024;

/// A response's raw `result`: the received frame itself and where the result lies in it, so
/// that routing a response to its caller copies nothing (a 1 MB result used to be copied once
/// more here); or, from a batch, a copy.
#[derive(Debug)]
pub(crate) enum RawResult {
    /// `frame[range]` is the result.
    Frame {
        frame: bytes::Bytes,
        range: std::ops::Range<usize>,
        /// Whether the decoder validated the message. If not (routed by its shape alone,
        /// `jsonrpc::fast_response`), a range that does not parse makes the parser decode the
        /// whole frame, so shape routing never changes what a valid message means.
        checked: bool,
    },
    /// A result copied out of a batch.
    Owned(Box<RawValue>),
}

impl RawResult {
    /// Parses the result as `T`.
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        match self {
            RawResult::Frame {
                frame,
                range,
                checked,
            } => {
                let first = serde_json::from_slice(frame.get(range.clone()).unwrap_or_default());
                match first {
                    Err(_) if !checked => match decoded_result(frame) {
                        Some(raw) => serde_json::from_str(raw.get()),
                        None => first,
                    },
                    other => other,
                }
            }
            RawResult::Owned(raw) => serde_json::from_str(raw.get()),
        }
    }

    /// Parses a `tools/call` result: a small one of the common shape without serde
    /// ([`CallToolResult::parse_common`], which reads exactly what serde would), anything else
    /// as [`parse`](Self::parse) does.
    pub(crate) fn parse_tool_result(&self) -> serde_json::Result<CallToolResult> {
        if let RawResult::Frame { frame, range, .. } = self
            && range.len() <= FAST_PARSE_MAX
            && let Some(result) = frame
                .get(range.clone())
                .and_then(CallToolResult::parse_common)
        {
            return Ok(result);
        }
        self.parse()
    }

    /// As an owned `RawValue` (one copy for a frame).
    pub(crate) fn into_raw_value(self) -> Result<Box<RawValue>> {
        match self {
            RawResult::Owned(raw) => Ok(raw),
            RawResult::Frame { .. } => {
                let raw: Box<RawValue> = self
                    .parse()
                    .map_err(|e| Error::protocol_from("a malformed result", e))?;
                Ok(raw)
            }
        }
    }
}

/// The result of `frame` by the full decoder, if it is one successful response.
fn decoded_result(frame: &[u8]) -> Option<Box<RawValue>> {
    match decode(frame) {
        Ok(Decoded::Single(Incoming::Response {
            result: Ok(raw), ..
        })) => Some(raw.to_owned()),
        _ => None,
    }
}

/// The range of `part` within `whole`, when `part` is a subslice of it.
pub(crate) fn span_of(whole: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

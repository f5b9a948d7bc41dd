//! A JSON writer for [`serde_json::Value`] trees and the `tools/call` request line.
//!
//! Why not `serde_json::to_writer`: its string escaper tests every byte against a table, one at
//! a time, and is the largest client cost when tool arguments are large (a 1 MB text argument:
//! ~40 % of mcpmux's CPU per call, see BENCHMARKS.md). [`write_str`] tests eight bytes at a
//! time for one that needs escaping (a word-at-a-time test, no `unsafe`), and writes exactly the
//! bytes serde_json writes: `cargo bench -p mcpmux-protocol --bench encode` measures both, and
//! the tests below check byte equality with serde_json. Numbers are written by serde_json
//! itself.

use serde_json::{Map, Value};

/// `\u00XX` escapes are needed below this byte.
const CONTROL: u64 = 0x2020_2020_2020_2020;
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;
const QUOTES: u64 = 0x2222_2222_2222_2222;
const BACKSLASHES: u64 = 0x5c5c_5c5c_5c5c_5c5c;

/// The high bit of each byte of `w` (little-endian) that may be `"`, `\` or below 0x20: none
/// set if no byte is, and the lowest set bit marks the first such byte exactly (the borrow
/// behind a false positive only runs upward).
#[inline]
pub(crate) fn escape_mask(w: u64) -> u64 {
    let quote = w ^ QUOTES;
    let backslash = w ^ BACKSLASHES;
    let zero_quote = quote.wrapping_sub(ONES) & !quote;
    let zero_backslash = backslash.wrapping_sub(ONES) & !backslash;
    let control = w.wrapping_sub(CONTROL) & !w;
    (zero_quote | zero_backslash | control) & HIGH
}

/// The escape of byte `b`, if it needs one (serde_json's choices: short escapes for `\b \t \n
/// \f \r " \`, `\u00XX` for the other control characters; nothing else is escaped).
#[inline]
fn escape_of(b: u8) -> Option<&'static [u8]> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Every `\u00XX` escape, built at compile time (32 × 6 bytes).
    const UNICODE: [[u8; 6]; 32] = {
        let mut table = [[0u8; 6]; 32];
        let mut i = 0;
        while i < 32 {
            table[i] = [b'\\', b'u', b'0', b'0', HEX[i >> 4], HEX[i & 0xf]];
            i += 1;
        }
        table
    };
    Some(match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        0x08 => b"\\b",
        0x09 => b"\\t",
        0x0a => b"\\n",
        0x0c => b"\\f",
        0x0d => b"\\r",
        0..=0x1f => &UNICODE[b as usize],
        _ => return None,
    })
}

/// Appends `s` as a JSON string (quoted and escaped), byte for byte as serde_json writes it.
///
/// ```
/// let mut out = Vec::new();
/// mcpmux_protocol::write::write_str(&mut out, "a \"quoted\"\nline");
/// assert_eq!(out, serde_json::to_vec("a \"quoted\"\nline").unwrap());
/// ```
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // The common case is no escapes at all: room for the string, its quotes and what follows.
    out.reserve(bytes.len() + 16);
    out.push(b'"');
    let mut run = 0; // start of the bytes not yet copied
    // Bounded by the string: each iteration moves past one byte that needs escaping.
    while let Some(at) = first_escape(bytes, run) {
        match bytes.get(at).copied().map(escape_of) {
            Some(Some(esc)) => {
                out.extend_from_slice(&bytes[run..at]);
                out.extend_from_slice(esc);
            }
            // Not reached (the mask's lowest bit is exact, and within the string); copying the
            // byte as it is stays correct.
            Some(None) => out.extend_from_slice(&bytes[run..=at]),
            None => break,
        }
        run = at + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// The index of the first byte at or after `from` that needs escaping: eight bytes at a time,
/// the last partial word padded with spaces (which need none), so a string of any length costs
/// one word test per eight bytes and no test per byte. The lowest bit of [`escape_mask`] is
/// exact, so the index is too.
#[inline]
fn first_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let mut words = rest.chunks_exact(8);
    let mut at = from;
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let mask = escape_mask(u64::from_le_bytes(w));
        if mask != 0 {
            return Some(at + (mask.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = words.remainder();
    if tail.is_empty() {
        return None;
    }
    let mut w = [b' '; 8];
    w[..tail.len()].copy_from_slice(tail);
    let mask = escape_mask(u64::from_le_bytes(w));
    (mask != 0).then(|| at + (mask.trailing_zeros() / 8) as usize)
}

/// Appends `value` as compact JSON, byte for byte as `serde_json::to_writer` writes it.
///
/// ```
/// let v = serde_json::json!({"text": "hi\tthere", "n": [1, 2.5, null, true]});
/// let mut out = Vec::new();
/// mcpmux_protocol::write::write_value(&mut out, &v);
/// assert_eq!(out, serde_json::to_vec(&v).unwrap());
/// ```
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // serde_json's own number formatting (integers, floats, arbitrary precision alike);
        // writing a `Number` into a `Vec` cannot fail.
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

/// Appends `map` as a compact JSON object, byte for byte as serde_json writes it.
pub fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>) {
    out.push(b'{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_value(out, v);
    }
    out.push(b'}');
}

/// Room [`write_str`] asks for: the string, its quotes and its reserve's slack.
fn size_hint_str(s: &str) -> usize {
    s.len() + 18
}

/// About the bytes [`write_value`] writes for `value` (exact when nothing needs escaping, bar
/// numbers), so the line is allocated once.
fn size_hint(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 24,
        Value::String(s) => size_hint_str(s),
        Value::Array(items) => 2 + items.iter().map(|v| size_hint(v) + 1).sum::<usize>(),
        Value::Object(map) => size_hint_object(map),
    }
}

fn size_hint_object(map: &Map<String, Value>) -> usize {
    2 + map
        .iter()
        .map(|(k, v)| size_hint_str(k) + 2 + size_hint(v))
        .sum::<usize>()
}

/// Appends a `tools/call` request line: the same bytes as [`crate::encode_request`] with
/// [`crate::CallToolParams`] `{name, arguments, _meta}` (no `task`), written by [`write_value`].
///
/// ```
/// use mcpmux_protocol::{CallToolParams, RequestId, encode_request};
/// let args = serde_json::json!({"text": "hi"});
/// let mut fast = Vec::new();
/// mcpmux_protocol::write::encode_tool_call(&mut fast, 7, "echo", args.as_object(), None);
/// let params = CallToolParams {
///     name: "echo".into(),
///     arguments: args.as_object().cloned(),
///     meta: None,
///     task: None,
/// };
/// let mut slow = Vec::new();
/// encode_request(&mut slow, &RequestId::Number(7), "tools/call", Some(&params)).unwrap();
/// assert_eq!(fast, slow);
/// ```
pub fn encode_tool_call(
    out: &mut Vec<u8>,
    id: i64,
    name: &str,
    arguments: Option<&Map<String, Value>>,
    meta: Option<&Map<String, Value>>,
) {
    // One allocation for the whole line in the common case (escapes aside).
    out.reserve(
        96 + size_hint_str(name)
            + arguments.map_or(0, size_hint_object)
            + meta.map_or(0, size_hint_object),
    );
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    // serde_json formats integers in place (no `String` per call); a `Vec` write cannot fail.
    let _ = serde_json::to_writer(&mut *out, &id);
    out.extend_from_slice(b",\"method\":\"tools/call\",\"params\":{\"name\":");
    write_str(out, name);
    if let Some(arguments) = arguments {
        out.extend_from_slice(b",\"arguments\":");
        write_object(out, arguments);
    }
    if let Some(meta) = meta {
        out.extend_from_slice(b",\"_meta\":");
        write_object(out, meta);
    }
    out.extend_from_slice(b"}}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same_as_serde(v: &Value) {
        let mut ours = Vec::new();
        write_value(&mut ours, v);
        let theirs = serde_json::to_vec(v).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn every_byte_value_in_every_position_escapes_like_serde_json() {
        // Each ASCII byte (and a multi-byte char) at each offset of a word, and at the ends.
        for b in 0u8..0x80 {
            for pad in 0..17 {
                let mut s = "x".repeat(pad);
                s.push(b as char);
                s.push_str(&"y".repeat(17 - pad));
                same_as_serde(&Value::String(s.clone()));
                same_as_serde(&Value::String(s[..=pad].to_owned()));
            }
        }
        same_as_serde(&json!("é ünïcødé ✓ 𝄞 \u{7f} \u{2028}"));
        same_as_serde(&json!(""));
    }

    #[test]
    fn pseudo_random_strings_and_trees_match_serde_json() {
        // A fixed xorshift sequence: reproducible, no extra dependency.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: Vec<char> = "ab\"\\\n\t\r\u{1}\u{1f} é✓/{}".chars().collect();
        for _ in 0..2_000 {
            let len = (next() % 40) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let tree = json!({
                s.clone(): [s.clone(), next() as i64, (next() % 1000) as f64 / 7.0, null, false],
                "nested": {"k": {"deeper": [s]}},
                "n": -(next() as i64 >> 3), "big": u64::MAX, "f": 1e300, "neg0": -0.0,
            });
            same_as_serde(&tree);
        }
    }

    #[test]
    fn a_tool_call_line_matches_encode_request() {
        let args = json!({"text": "a\"b\\c\nd", "n": 1});
        let meta = json!({"progressToken": "t-1"});
        for (a, m) in [
            (None, None),
            (args.as_object(), None),
            (args.as_object(), meta.as_object()),
        ] {
            let mut fast = Vec::new();
            encode_tool_call(&mut fast, 42, "to\"ol", a, m);
            let params = crate::CallToolParams {
                name: "to\"ol".into(),
                arguments: a.cloned(),
                meta: m.cloned(),
                task: None,
            };
            let mut slow = Vec::new();
            crate::encode_request(
                &mut slow,
                &crate::RequestId::Number(42),
                "tools/call",
                Some(&params),
            )
            .unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(slow).unwrap()
            );
        }
    }
}

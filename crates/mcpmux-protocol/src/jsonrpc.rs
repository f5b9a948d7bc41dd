//! JSON-RPC 2.0 envelopes: ids, error objects, and the decoder for incoming messages.
//!
//! # One parse per message
//!
//! [`decode`] parses a message exactly once into a borrowed [`Incoming`]: the method name borrows
//! from the input and `params` / `result` stay as [`RawValue`] slices of it, so the connection task
//! routes a response without building a `serde_json::Value` tree, and the caller that owns the
//! request parses only its own result, into its own type. An untagged enum or `#[serde(flatten)]`
//! would buffer the whole message into an intermediate tree first and cannot hold a `RawValue`;
//! the envelope here is a plain struct with optional fields, classified after the parse.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// The JSON-RPC version string every message carries.
pub const JSONRPC_VERSION: &str = "2.0";

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist or is not available.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i64 = -32603;

/// A JSON-RPC request id: a number or a string (`null` ids are not valid for requests).
///
/// ```
/// use mcpmux_protocol::RequestId;
/// let id: RequestId = serde_json::from_str("7").unwrap();
/// assert_eq!(id, RequestId::Number(7));
/// assert_eq!(serde_json::to_string(&RequestId::from("a")).unwrap(), "\"a\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestId {
    /// A numeric id.
    Number(i64),
    /// A string id.
    String(String),
}

impl RequestId {
    /// The id as a non-negative number, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            RequestId::Number(n) => u64::try_from(*n).ok(),
            RequestId::String(_) => None,
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.to_owned())
    }
}

impl From<String> for RequestId {
    fn from(s: String) -> Self {
        RequestId::String(s)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Number(n) => s.serialize_i64(*n),
            RequestId::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = RequestId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON-RPC id (integer or string)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RequestId, E> {
                Ok(RequestId::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RequestId, E> {
                i64::try_from(v)
                    .map(RequestId::Number)
                    .map_err(|_| E::custom("id out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RequestId, E> {
                Ok(RequestId::String(v.to_owned()))
            }
        }
        d.deserialize_any(IdVisitor)
    }
}

/// A JSON-RPC error object, as found in an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code (negative numbers in -32768..-32000 are reserved by JSON-RPC).
    pub code: i64,
    /// A short description.
    pub message: String,
    /// Additional information, if the peer sent any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl ErrorObject {
    /// A new error object without data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)?;
        if let Some(data) = &self.data {
            write!(f, ": {data}")?;
        }
        Ok(())
    }
}

/// The envelope every message is parsed into: one pass, no intermediate tree.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    id: Option<RequestId>,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// One incoming JSON-RPC message, borrowing from the bytes it was decoded from.
#[derive(Debug, Clone)]
pub enum Incoming<'a> {
    /// A request from the peer, which expects a response with the same id.
    Request {
        /// The request id.
        id: RequestId,
        /// The method name.
        method: Cow<'a, str>,
        /// The raw parameters, if any.
        params: Option<&'a RawValue>,
    },
    /// A notification from the peer (no response expected).
    Notification {
        /// The method name.
        method: Cow<'a, str>,
        /// The raw parameters, if any.
        params: Option<&'a RawValue>,
    },
    /// A response to one of our requests.
    Response {
        /// The id of the request this answers.
        id: RequestId,
        /// The raw result, or the error the peer returned.
        result: Result<&'a RawValue, ErrorObject>,
    },
    /// An error response whose id is `null` (the peer could not read one of our messages).
    OrphanError(ErrorObject),
}

/// What one line (or HTTP body) held: a single message or a batch.
#[derive(Debug, Clone)]
pub enum Decoded<'a> {
    /// A single message.
    Single(Incoming<'a>),
    /// A JSON-RPC batch (a JSON array of messages, allowed in 2025-03-26).
    Batch(Vec<Incoming<'a>>),
}

/// Why a message could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not valid JSON, or not a JSON object/array of the expected shape.
    #[error("invalid JSON-RPC message: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON, but not a request, notification or response.
    #[error("not a JSON-RPC message: {0}")]
    Shape(&'static str),
}

fn classify(env: Envelope<'_>) -> Result<Incoming<'_>, DecodeError> {
    match (env.method, env.id) {
        (Some(method), Some(id)) => Ok(Incoming::Request {
            id,
            method,
            params: env.params,
        }),
        (Some(method), None) => Ok(Incoming::Notification {
            method,
            params: env.params,
        }),
        (None, Some(id)) => match (env.result, env.error) {
            (_, Some(err)) => Ok(Incoming::Response {
                id,
                result: Err(err),
            }),
            (Some(result), None) => Ok(Incoming::Response {
                id,
                result: Ok(result),
            }),
            (None, None) => Err(DecodeError::Shape("response without result or error")),
        },
        (None, None) => match env.error {
            Some(err) => Ok(Incoming::OrphanError(err)),
            None => Err(DecodeError::Shape("message without method or id")),
        },
    }
}

/// Decodes one message or batch from `bytes`, parsing it exactly once.
///
/// # Errors
/// [`DecodeError`] when the bytes are not JSON or not JSON-RPC. In a batch, the whole batch fails
/// if one element is not a JSON-RPC message.
///
/// # Examples
/// ```
/// use mcpmux_protocol::{decode, Decoded, Incoming, RequestId};
/// let line = br#"{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}"#;
/// match decode(line).unwrap() {
///     Decoded::Single(Incoming::Response { id, result }) => {
///         assert_eq!(id, RequestId::Number(3));
///         assert_eq!(result.unwrap().get(), r#"{"tools":[]}"#);
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let envs: Vec<Envelope<'_>> = serde_json::from_slice(bytes)?;
        if envs.is_empty() {
            return Err(DecodeError::Shape("empty batch"));
        }
        let msgs = envs
            .into_iter()
            .map(classify)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Decoded::Batch(msgs))
    } else {
        let env: Envelope<'_> = serde_json::from_slice(bytes)?;
        Ok(Decoded::Single(classify(env)?))
    }
}

#[derive(Serialize)]
struct OutRequest<'a, P: Serialize + ?Sized> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a P>,
}

#[derive(Serialize)]
struct OutNotification<'a, P: Serialize + ?Sized> {
    jsonrpc: &'static str,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a P>,
}

#[derive(Serialize)]
struct OutResponse<'a, R: Serialize + ?Sized> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorObject>,
}

/// Appends a request to `out` as one line of compact JSON (ending in `\n`).
///
/// Compact JSON never contains a raw newline, so the line is a valid stdio frame.
///
/// # Errors
/// When `params` cannot be serialized (for example a map with non-string keys).
///
/// ```
/// use mcpmux_protocol::{encode_request, RequestId};
/// let mut buf = Vec::new();
/// encode_request(&mut buf, &RequestId::Number(1), "ping", None::<&()>).unwrap();
/// assert_eq!(buf, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
/// ```
pub fn encode_request<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: &RequestId,
    method: &str,
    params: Option<&P>,
) -> Result<(), serde_json::Error> {
    let msg = OutRequest {
        jsonrpc: JSONRPC_VERSION,
        id,
        method,
        params,
    };
    serde_json::to_writer(&mut *out, &msg)?;
    out.push(b'\n');
    Ok(())
}

/// Appends a notification to `out` as one line of compact JSON (ending in `\n`).
///
/// # Errors
/// When `params` cannot be serialized.
pub fn encode_notification<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    method: &str,
    params: Option<&P>,
) -> Result<(), serde_json::Error> {
    let msg = OutNotification {
        jsonrpc: JSONRPC_VERSION,
        method,
        params,
    };
    serde_json::to_writer(&mut *out, &msg)?;
    out.push(b'\n');
    Ok(())
}

/// Appends a response (a result, or an error) to `out` as one line of compact JSON.
///
/// # Errors
/// When `result` cannot be serialized.
pub fn encode_response<R: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: &RequestId,
    result: Result<&R, &ErrorObject>,
) -> Result<(), serde_json::Error> {
    let (result, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    let msg = OutResponse {
        jsonrpc: JSONRPC_VERSION,
        id,
        result,
        error,
    };
    serde_json::to_writer(&mut *out, &msg)?;
    out.push(b'\n');
    Ok(())
}

/// Finds the top-level `"id"` of a JSON object from a possibly truncated prefix of it.
///
/// Used when a message is too large to keep: the id usually comes before the large `result`, so
/// the request it answers can still be failed with a clear error. Returns `None` when the prefix
/// ends before a top-level `"id"` appears, or when the bytes do not look like an object.
///
/// ```
/// use mcpmux_protocol::{scan_id, RequestId};
/// assert_eq!(scan_id(br#"{"jsonrpc":"2.0","id":42,"result":{"content":[{"te"#), Some(RequestId::Number(42)));
/// assert_eq!(scan_id(br#"{"result":{"id":1},"id":"x""#), Some(RequestId::from("x")));
/// assert_eq!(scan_id(br#"{"result":{"id":1},"i"#), None);
/// ```
pub fn scan_id(prefix: &[u8]) -> Option<RequestId> {
    let mut depth = 0usize;
    let mut i = 0usize;
    let n = prefix.len();
    // Whether the next string at depth 1 is an object key.
    let mut expect_key = false;
    while i < n {
        let b = prefix[i];
        match b {
            b'{' => {
                depth += 1;
                expect_key = depth == 1;
                i += 1;
            }
            b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            b',' => {
                expect_key = depth == 1;
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                let end = string_end(prefix, start)?;
                let is_id_key = expect_key && depth == 1 && &prefix[start..end] == b"id";
                expect_key = false;
                i = end + 1;
                if is_id_key {
                    return parse_id_value(&prefix[i..]);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Index of the closing quote of a JSON string whose contents start at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn parse_id_value(rest: &[u8]) -> Option<RequestId> {
    let rest = trim_start(rest);
    let rest = trim_start(rest.strip_prefix(b":")?);
    if rest.first() == Some(&b'"') {
        let end = string_end(rest, 1)?;
        let s: String = serde_json::from_slice(&rest[..=end]).ok()?;
        return Some(RequestId::String(s));
    }
    let len = rest
        .iter()
        .position(|b| !(b.is_ascii_digit() || *b == b'-'))?;
    std::str::from_utf8(&rest[..len])
        .ok()?
        .parse::<i64>()
        .ok()
        .map(RequestId::Number)
}

fn trim_start(b: &[u8]) -> &[u8] {
    let k = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[k..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(bytes: &[u8]) -> Incoming<'_> {
        match decode(bytes).unwrap() {
            Decoded::Single(m) => m,
            Decoded::Batch(_) => panic!("batch"),
        }
    }

    #[test]
    fn classifies_each_kind() {
        assert!(matches!(
            single(br#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#),
            Incoming::Request { id: RequestId::String(_), ref method, params: None } if method == "ping"
        ));
        assert!(matches!(
            single(
                br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#
            ),
            Incoming::Notification {
                params: Some(_),
                ..
            }
        ));
        assert!(matches!(
            single(br#"{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"nope"}}"#),
            Incoming::Response {
                result: Err(ErrorObject { code: -32601, .. }),
                ..
            }
        ));
        assert!(matches!(
            single(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}"#),
            Incoming::OrphanError(_)
        ));
    }

    #[test]
    fn method_with_escape_is_owned() {
        let m = single(br#"{"id":1,"method":"a\/b"}"#);
        assert!(matches!(m, Incoming::Request { ref method, .. } if method == "a/b"));
    }

    #[test]
    fn batch_decodes_every_element() {
        let b = br#" [{"id":1,"result":{}},{"method":"x"}]"#;
        match decode(b).unwrap() {
            Decoded::Batch(v) => assert_eq!(v.len(), 2),
            Decoded::Single(_) => panic!("not a batch"),
        }
        assert!(decode(b"[]").is_err());
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for g in [
            &b"not json"[..],
            b"{",
            b"{\"jsonrpc\":\"2.0\",\"id\":",
            b"[1,2",
            b"{\"foo\":1}",
            b"42",
            b"\"s\"",
            b"{\"id\":1.5,\"result\":{}}",
            b"{\"id\":1}",
            b"",
        ] {
            assert!(decode(g).is_err(), "{:?}", String::from_utf8_lossy(g));
        }
    }

    #[test]
    fn encodes_compact_single_lines() {
        let mut buf = Vec::new();
        let params = serde_json::json!({"text": "a\nb"});
        encode_request(&mut buf, &RequestId::Number(5), "tools/call", Some(&params)).unwrap();
        encode_notification(&mut buf, "notifications/initialized", None::<&()>).unwrap();
        encode_response(&mut buf, &RequestId::from("s"), Ok(&serde_json::json!({}))).unwrap();
        encode_response::<()>(
            &mut buf,
            &RequestId::Number(1),
            Err(&ErrorObject::new(METHOD_NOT_FOUND, "no")),
        )
        .unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"text":"a\nb"}}"#
        );
        assert_eq!(
            lines[1],
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
        );
        assert_eq!(lines[2], r#"{"jsonrpc":"2.0","id":"s","result":{}}"#);
        assert_eq!(
            lines[3],
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#
        );
    }

    #[test]
    fn scan_id_handles_nesting_and_strings() {
        assert_eq!(scan_id(br#"{"id" : -3}"#), Some(RequestId::Number(-3)));
        assert_eq!(
            scan_id(br#"{"a":"\"id\":9","b":[{"id":8}],"id":7}"#),
            Some(RequestId::Number(7))
        );
        assert_eq!(scan_id(br#"{"id":"a\"b"}"#), Some(RequestId::from("a\"b")));
        assert_eq!(scan_id(br#"{"id":"unterminated"#), None);
        assert_eq!(scan_id(b"}}}"), None);
        assert_eq!(scan_id(b""), None);
    }
}

/// The common shapes of a successful response, recognised without parsing the result: a
/// compact object whose members are `"jsonrpc":"2.0"`, a non-negative integer `"id"` and
/// `"result"`, with `result` last (`{"jsonrpc":"2.0","id":N,"result":…}`, as rmcp and the
/// Python SDK write it, or `{"id":N,"jsonrpc":"2.0","result":…}`, sorted keys) or first
/// (`{"result":…,"jsonrpc":"2.0","id":N}`, the TypeScript SDK's order). Returns the id and the
/// byte range of the result, or `None` for anything else (then use [`decode`]).
///
/// The result is **not** validated here: whoever parses it does, once, so a message is parsed
/// once instead of twice. For a valid message the id and range are exactly what [`decode`]
/// finds, except when the object has members beyond these three: then the range takes them in
/// and fails to parse as one value, and the parser must fall back to [`decode`] on the frame.
///
/// ```
/// use mcpmux_protocol::jsonrpc::fast_response;
/// let frame = br#"{"jsonrpc":"2.0","id":42,"result":{"content":[]}}"#;
/// let (id, range) = fast_response(frame).unwrap();
/// assert_eq!((id, &frame[range]), (42, &br#"{"content":[]}"#[..]));
/// let frame = br#"{"result":{"content":[]},"jsonrpc":"2.0","id":7}"#;
/// assert_eq!(fast_response(frame).map(|(id, r)| (id, &frame[r])), Some((7, &br#"{"content":[]}"#[..])));
/// assert_eq!(fast_response(br#"{"jsonrpc":"2.0","method":"ping","id":1}"#), None);
/// ```
pub fn fast_response(frame: &[u8]) -> Option<(u64, std::ops::Range<usize>)> {
    const JSONRPC: &[u8] = br#""jsonrpc":"2.0""#;
    const ID: &[u8] = br#""id":"#;
    const RESULT: &[u8] = br#""result":"#;
    let mut end = frame.len();
    while end > 0 && frame[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let body = frame[..end].strip_prefix(b"{")?.strip_suffix(b"}")?;
    let base = 1; // offset of `body` in `frame`
    if body.starts_with(RESULT) {
        // `result` first: the members after it are read from the end.
        let (id, tail) = if let Some(head) = body.strip_suffix(JSONRPC) {
            let head = head.strip_suffix(b",")?;
            let (head, id) = split_id_suffix(head)?;
            (id, head.strip_suffix(ID)?.strip_suffix(b",")?)
        } else {
            let (head, id) = split_id_suffix(body)?;
            let head = head.strip_suffix(ID)?.strip_suffix(b",")?;
            (id, head.strip_suffix(JSONRPC)?.strip_suffix(b",")?)
        };
        let start = base + RESULT.len();
        let stop = base + tail.len();
        return (stop > start && !frame[start].is_ascii_whitespace()).then_some((id, start..stop));
    }
    // `result` last, after `jsonrpc` and `id` in either order.
    let (id, after) = if let Some(rest) = body.strip_prefix(JSONRPC) {
        let rest = rest.strip_prefix(b",")?.strip_prefix(ID)?;
        let (id, rest) = split_id_prefix(rest)?;
        (id, rest.strip_prefix(b",")?)
    } else {
        let rest = body.strip_prefix(ID)?;
        let (id, rest) = split_id_prefix(rest)?;
        (
            id,
            rest.strip_prefix(b",")?
                .strip_prefix(JSONRPC)?
                .strip_prefix(b",")?,
        )
    };
    let result = after.strip_prefix(RESULT)?;
    let start = end - 1 - result.len();
    let stop = end - 1;
    (stop > start && !frame[start].is_ascii_whitespace()).then_some((id, start..stop))
}

/// A JSON non-negative integer at the start of `s` (no leading zeros, fits `u64`), and the rest.
fn split_id_prefix(s: &[u8]) -> Option<(u64, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    Some((parse_id_digits(&s[..digits])?, &s[digits..]))
}

/// The same at the end of `s`: the part before, and the integer.
fn split_id_suffix(s: &[u8]) -> Option<(&[u8], u64)> {
    let digits = s.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let at = s.len() - digits;
    Some((&s[..at], parse_id_digits(&s[at..])?))
}

fn parse_id_digits(d: &[u8]) -> Option<u64> {
    if d.is_empty() || d.len() > 20 || (d.len() > 1 && d[0] == b'0') {
        return None;
    }
    std::str::from_utf8(d).ok()?.parse().ok()
}

#[cfg(test)]
mod fast_response_tests {
    use super::*;

    /// Where both paths accept a message, they agree on the id and the result.
    fn agrees(frame: &[u8]) {
        let fast = fast_response(frame);
        if let Ok(Decoded::Single(Incoming::Response {
            id,
            result: Ok(raw),
        })) = decode(frame)
            && let Some((fid, range)) = &fast
        {
            assert_eq!(
                id.as_u64(),
                Some(*fid),
                "{}",
                String::from_utf8_lossy(frame)
            );
            assert_eq!(&frame[range.clone()], raw.get().as_bytes());
        }
    }

    #[test]
    fn the_common_shape_is_recognised_and_others_are_not() {
        let ok: &[&[u8]] = &[
            br#"{"jsonrpc":"2.0","id":0,"result":{}}"#,
            br#"{"jsonrpc":"2.0","id":18446744073709551615,"result":{"a":[1,"}"]}}"#,
            br#"{"jsonrpc":"2.0","id":7,"result":null}  "#,
            b"{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"x\"}\r",
            br#"{"id":7,"jsonrpc":"2.0","result":{"a":1}}"#,
            br#"{"result":{"a":"}"},"jsonrpc":"2.0","id":7}"#,
            br#"{"result":[1,{"id":2}],"id":7,"jsonrpc":"2.0"}"#,
            br#"{"result":"\",\"id\":9","jsonrpc":"2.0","id":7}"#,
        ];
        for f in ok {
            assert!(fast_response(f).is_some(), "{}", String::from_utf8_lossy(f));
            agrees(f);
        }
        let not: &[&[u8]] = &[
            br#"{"jsonrpc":"2.0","id":07,"result":{}}"#,
            br#"{"jsonrpc":"2.0","id":-1,"result":{}}"#,
            br#"{"jsonrpc":"2.0","id":"7","result":{}}"#,
            br#"{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"x"}}"#,
            br#"{"jsonrpc":"2.0","id":7,"result":}"#,
            br#"{"jsonrpc":"2.0","id":7,"result": {}}"#,
            br#"{"jsonrpc":"2.0","id":99999999999999999999,"result":{}}"#,
            br#"{"jsonrpc":"2.0","id":7,"method":"x"}"#,
            br#"{"result":{},"jsonrpc":"2.0","id":"7"}"#,
            br#"{"result":{},"jsonrpc":"2.0"}"#,
            br#"{"result": {},"jsonrpc":"2.0","id":7}"#,
            br#"{"method":"x","jsonrpc":"2.0","id":7}"#,
            br#"{"jsonrpc":"2.0","id":7"#,
            b"",
        ];
        for f in not {
            assert_eq!(fast_response(f), None, "{}", String::from_utf8_lossy(f));
        }
    }

    #[test]
    fn a_truncated_result_is_left_for_its_owner_to_reject() {
        // Recognised by shape; the owner's parse of the range fails (not JSON).
        for f in [
            &br#"{"jsonrpc":"2.0","id":3,"result":{"a":}"#[..],
            br#"{"jsonrpc":"2.0","id":3,"result":{}"#,
            br#"{"jsonrpc":"2.0","id":3,"result":{},"id":4}"#,
        ] {
            let (id, range) = fast_response(f).unwrap();
            assert_eq!(id, 3);
            assert!(serde_json::from_slice::<serde_json::Value>(&f[range]).is_err());
        }
    }
}

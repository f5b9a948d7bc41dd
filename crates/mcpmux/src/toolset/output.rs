//! [`ToolOutput`]: a tool result turned into what an agent needs — text, JSON, bytes with a MIME
//! type, resource links.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::protocol::ResourceLink;
use crate::{CallToolResult, Content};

/// One part of a tool's output.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Part {
    /// A text block.
    Text(String),
    /// The result's `structuredContent`.
    Json(Value),
    /// An image block, decoded.
    Image {
        /// E.g. `image/png`.
        mime_type: String,
        /// The bytes.
        data: Vec<u8>,
    },
    /// An audio block, decoded.
    Audio {
        /// E.g. `audio/wav`.
        mime_type: String,
        /// The bytes.
        data: Vec<u8>,
    },
    /// An embedded resource: its text, or its decoded bytes.
    Resource {
        /// The resource URI.
        uri: String,
        /// Its MIME type, if given.
        mime_type: Option<String>,
        /// Text contents.
        text: Option<String>,
        /// Binary contents, decoded.
        data: Option<Vec<u8>>,
    },
    /// A link to a resource the agent may read (`resources/read`).
    ResourceLink {
        /// The resource URI.
        uri: String,
        /// Its name.
        name: String,
        /// Its MIME type, if given.
        mime_type: Option<String>,
        /// Its description, if given.
        description: Option<String>,
    },
    /// A block of a type this version does not know, as JSON.
    Other(Value),
}

/// A tool result, converted: its parts in order (content blocks, then the structured content)
/// and whether the tool reported an error.
///
/// ```
/// use mcpmux::{CallToolResult, Part, ToolOutput};
/// let result: CallToolResult = serde_json::from_value(serde_json::json!({
///     "content": [
///         {"type": "text", "text": "3"},
///         {"type": "image", "data": "aGk=", "mimeType": "image/png"}
///     ],
///     "structuredContent": {"sum": 3}
/// })).unwrap();
/// let out = ToolOutput::from_result(&result)?;
/// assert_eq!(out.parts[0], Part::Text("3".into()));
/// assert_eq!(out.parts[1], Part::Image { mime_type: "image/png".into(), data: b"hi".to_vec() });
/// assert_eq!(out.parts[2], Part::Json(serde_json::json!({"sum": 3})));
/// assert_eq!(out.text(), "3\n[image image/png, 2 bytes]");
/// # Ok::<(), mcpmux::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ToolOutput {
    /// Whether the tool reported an error (`isError`).
    pub is_error: bool,
    /// The parts.
    pub parts: Vec<Part>,
}

impl ToolOutput {
    /// Converts a result, decoding base64 data.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) if a block's base64 data is invalid.
    pub fn from_result(result: &CallToolResult) -> Result<ToolOutput> {
        let mut parts = Vec::with_capacity(result.content.len() + 1);
        for block in &result.content {
            parts.push(match block {
                Content::Text(t) => Part::Text(t.text.clone()),
                Content::Image(m) => Part::Image {
                    mime_type: m.mime_type.clone(),
                    data: decode(&m.data, "image")?,
                },
                Content::Audio(m) => Part::Audio {
                    mime_type: m.mime_type.clone(),
                    data: decode(&m.data, "audio")?,
                },
                Content::Resource(r) => {
                    let r = &r.resource;
                    Part::Resource {
                        uri: r.uri.clone(),
                        mime_type: r.mime_type.clone(),
                        text: r.text.clone(),
                        data: match &r.blob {
                            Some(b) => Some(decode(b, "resource blob")?),
                            None => None,
                        },
                    }
                }
                Content::ResourceLink(l) => link(l),
                other => Part::Other(serde_json::to_value(other).unwrap_or(Value::Null)),
            });
        }
        if let Some(s) = &result.structured_content {
            parts.push(Part::Json(s.clone()));
        }
        Ok(ToolOutput {
            is_error: result.is_error(),
            parts,
        })
    }

    /// A text for a model: the text parts joined by newlines; without any, the JSON part; plus a
    /// one-line note for each other part (`[image image/png, 1234 bytes]`).
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        let mut lines: Vec<String> = Vec::new();
        if texts.is_empty() {
            lines.extend(self.parts.iter().find_map(|p| match p {
                Part::Json(v) => serde_json::to_string(v).ok(),
                _ => None,
            }));
        } else {
            lines.push(texts.join("\n"));
        }
        for p in &self.parts {
            match p {
                Part::Image { mime_type, data } => {
                    lines.push(format!("[image {mime_type}, {} bytes]", data.len()));
                }
                Part::Audio { mime_type, data } => {
                    lines.push(format!("[audio {mime_type}, {} bytes]", data.len()));
                }
                Part::Resource { uri, text, .. } => match text {
                    Some(t) => lines.push(t.clone()),
                    None => lines.push(format!("[resource {uri}]")),
                },
                Part::ResourceLink { uri, name, .. } => {
                    lines.push(format!("[resource link {name}: {uri}]"));
                }
                _ => {}
            }
        }
        lines.join("\n")
    }
}

fn link(l: &ResourceLink) -> Part {
    Part::ResourceLink {
        uri: l.uri.clone(),
        name: l.name.clone(),
        mime_type: l.mime_type.clone(),
        description: l
            .extra
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

fn decode(data: &str, what: &str) -> Result<Vec<u8>> {
    base64_decode(data)
        .ok_or_else(|| Error::protocol(format!("the {what} data is not valid base64")))
}

/// Decodes standard base64 (padding optional; ASCII whitespace ignored).
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let body = clean
        .strip_suffix(b"==")
        .or_else(|| clean.strip_suffix(b"="))
        .unwrap_or(&clean);
    if body.len() % 4 == 1 || (clean.len() != body.len() && !clean.len().is_multiple_of(4)) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_round_numbers() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVs\nbG8h").unwrap(), b"hello!");
        assert_eq!(base64_decode("AAEC/w==").unwrap(), [0, 1, 2, 255]);
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("aGk*").is_none());
        assert!(base64_decode("aG=").is_none());
    }

    #[test]
    fn every_block_kind_converts() {
        let r: CallToolResult = serde_json::from_value(json!({
            "content": [
                {"type": "audio", "data": "AAE=", "mimeType": "audio/wav"},
                {"type": "resource", "resource": {"uri": "file:///a.txt", "mimeType": "text/plain", "text": "A"}},
                {"type": "resource", "resource": {"uri": "file:///b.bin", "blob": "/w=="}},
                {"type": "resource_link", "uri": "file:///c", "name": "c", "description": "the c"},
                {"type": "hologram", "x": 1}
            ],
            "isError": true
        }))
        .unwrap();
        let out = ToolOutput::from_result(&r).unwrap();
        assert!(out.is_error);
        assert_eq!(
            out.parts,
            [
                Part::Audio {
                    mime_type: "audio/wav".into(),
                    data: vec![0, 1]
                },
                Part::Resource {
                    uri: "file:///a.txt".into(),
                    mime_type: Some("text/plain".into()),
                    text: Some("A".into()),
                    data: None
                },
                Part::Resource {
                    uri: "file:///b.bin".into(),
                    mime_type: None,
                    text: None,
                    data: Some(vec![255])
                },
                Part::ResourceLink {
                    uri: "file:///c".into(),
                    name: "c".into(),
                    mime_type: None,
                    description: Some("the c".into())
                },
                Part::Other(json!({"type": "hologram", "x": 1})),
            ]
        );
        assert_eq!(
            out.text(),
            "[audio audio/wav, 2 bytes]\nA\n[resource file:///b.bin]\n[resource link c: file:///c]"
        );
    }

    #[test]
    fn structured_content_is_the_text_without_text_blocks() {
        let r: CallToolResult =
            serde_json::from_value(json!({"content": [], "structuredContent": {"a": [1]}}))
                .unwrap();
        let out = ToolOutput::from_result(&r).unwrap();
        assert_eq!(out.parts, [Part::Json(json!({"a": [1]}))]);
        assert_eq!(out.text(), r#"{"a":[1]}"#);
    }

    #[test]
    fn bad_base64_is_a_protocol_error() {
        let r: CallToolResult = serde_json::from_value(
            json!({"content": [{"type": "image", "data": "!!", "mimeType": "image/png"}]}),
        )
        .unwrap();
        let e = ToolOutput::from_result(&r).unwrap_err();
        assert!(e.is_protocol(), "{e}");
    }
}

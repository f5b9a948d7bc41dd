//! Printing tool results for people (text) and for scripts (JSON).

use std::io::{self, Write};

use mcpmux::protocol::{EmbeddedResource, MediaContent, ResourceLink};
use mcpmux::{CallToolResult, Content};
use serde::Serialize;

/// Writes a tool result for people: each text block on its own line; the `structuredContent` as
/// pretty JSON when there is no text block; other blocks as one summary line each.
pub fn write_result(out: &mut impl Write, result: &CallToolResult) -> io::Result<()> {
    let mut has_text = false;
    for block in &result.content {
        match block {
            Content::Text(t) => {
                has_text = true;
                out.write_all(t.text.as_bytes())?;
                if !t.text.ends_with('\n') {
                    out.write_all(b"\n")?;
                }
            }
            other => writeln!(out, "{}", summary(other))?,
        }
    }
    if !has_text && let Some(structured) = &result.structured_content {
        serde_json::to_writer_pretty(&mut *out, structured)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Writes `value` as one line of compact JSON.
pub fn write_json(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// One line describing a non-text content block, e.g. `[image image/png, 1234 bytes base64]`.
fn summary(block: &Content) -> String {
    match block {
        Content::Text(t) => format!("[text, {} bytes]", t.text.len()),
        Content::Image(m) => media("image", m),
        Content::Audio(m) => media("audio", m),
        Content::Resource(r) => resource(r),
        Content::ResourceLink(l) => link(l),
        other => format!("[{} content]", one_line(other.type_name())),
    }
}

fn media(kind: &str, m: &MediaContent) -> String {
    format!(
        "[{kind} {}, {} bytes base64]",
        one_line(&m.mime_type),
        m.data.len()
    )
}

fn resource(r: &EmbeddedResource) -> String {
    let r = &r.resource;
    let mut s = format!("[resource {}", one_line(&r.uri));
    if let Some(mime) = &r.mime_type {
        s.push(' ');
        s.push_str(&one_line(mime));
    }
    if let Some(text) = &r.text {
        s.push_str(&format!(", {} bytes text", text.len()));
    } else if let Some(blob) = &r.blob {
        s.push_str(&format!(", {} bytes base64", blob.len()));
    }
    s.push(']');
    s
}

fn link(l: &ResourceLink) -> String {
    let mut s = format!(
        "[resource link {} ({})",
        one_line(&l.uri),
        one_line(&l.name)
    );
    if let Some(mime) = &l.mime_type {
        s.push(' ');
        s.push_str(&one_line(mime));
    }
    s.push(']');
    s
}

/// A server-supplied string made safe for a one-line summary: control characters escaped.
fn one_line(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.escape_debug().to_string()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(result: serde_json::Value) -> String {
        let result: CallToolResult = serde_json::from_value(result).unwrap();
        let mut out = Vec::new();
        write_result(&mut out, &result).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_blocks_one_per_line() {
        let out = render(json!({"content": [
            {"type": "text", "text": "one"},
            {"type": "text", "text": "two\n"},
        ]}));
        assert_eq!(out, "one\ntwo\n");
    }

    #[test]
    fn structured_content_only_without_text() {
        let out = render(json!({"content": [], "structuredContent": {"sum": 3}}));
        assert_eq!(out, "{\n  \"sum\": 3\n}\n");
        let out = render(json!({
            "content": [{"type": "text", "text": "3"}],
            "structuredContent": {"sum": 3}
        }));
        assert_eq!(out, "3\n");
    }

    #[test]
    fn other_blocks_are_summarized() {
        let out = render(json!({"content": [
            {"type": "image", "data": "aGVsbG8=", "mimeType": "image/png"},
            {"type": "audio", "data": "AAAA", "mimeType": "audio/wav"},
            {"type": "resource", "resource": {
                "uri": "file:///a.txt", "mimeType": "text/plain", "text": "hello"
            }},
            {"type": "resource", "resource": {"uri": "file:///b.bin", "blob": "AAAA"}},
            {"type": "resource_link", "uri": "file:///c", "name": "c", "mimeType": "text/x\nevil"},
            {"type": "hologram", "x": 1},
        ]}));
        assert_eq!(
            out,
            "[image image/png, 8 bytes base64]\n\
             [audio audio/wav, 4 bytes base64]\n\
             [resource file:///a.txt text/plain, 5 bytes text]\n\
             [resource file:///b.bin, 4 bytes base64]\n\
             [resource link file:///c (c) text/x\\nevil]\n\
             [hologram content]\n"
        );
    }

    #[test]
    fn json_is_one_line() {
        let mut out = Vec::new();
        write_json(&mut out, &json!({"a": [1, 2]})).unwrap();
        assert_eq!(out, b"{\"a\":[1,2]}\n");
    }
}

//! Printing tool results for people (text) and for scripts (JSON).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use mcpmux::protocol::{EmbeddedResource, MediaContent, ResourceLink};
use mcpmux::{CallToolResult, Content};
use serde::Serialize;

/// Writes a tool result for people: each text block on its own line; the `structuredContent` as
/// pretty JSON when there is no text block; other blocks as one summary line each.
pub fn write_result(out: &mut impl Write, result: &CallToolResult) -> io::Result<()> {
    write_result_saved(out, result, &[])
}

/// [`write_result`], naming the file each block was saved to (`saved[i]` for block `i`).
pub fn write_result_saved(
    out: &mut impl Write,
    result: &CallToolResult,
    saved: &[Option<PathBuf>],
) -> io::Result<()> {
    let mut has_text = false;
    for (i, block) in result.content.iter().enumerate() {
        match block {
            Content::Text(t) => {
                has_text = true;
                out.write_all(t.text.as_bytes())?;
                if !t.text.ends_with('\n') {
                    out.write_all(b"\n")?;
                }
            }
            other => match saved.get(i).and_then(Option::as_ref) {
                Some(path) => {
                    let line = summary(other);
                    let line = line.strip_suffix(']').unwrap_or(&line);
                    writeln!(out, "{line}, saved to {}]", path.display())?;
                }
                None => writeln!(out, "{}", summary(other))?,
            },
        }
    }
    if !has_text && let Some(structured) = &result.structured_content {
        serde_json::to_writer_pretty(&mut *out, structured)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Saves each image and audio block of `result` (and each binary embedded resource) to `dir` as
/// `TOOL-N.EXT`; returns, per content block, the file it was saved to.
pub fn save_media(
    dir: &Path,
    tool: &str,
    result: &CallToolResult,
) -> io::Result<Vec<Option<PathBuf>>> {
    let output = mcpmux::ToolOutput::from_result(result)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let stem: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut saved = Vec::with_capacity(result.content.len());
    for (i, part) in output.parts.iter().take(result.content.len()).enumerate() {
        let (mime, data) = match part {
            mcpmux::Part::Image { mime_type, data } | mcpmux::Part::Audio { mime_type, data } => {
                (mime_type.as_str(), data)
            }
            mcpmux::Part::Resource {
                mime_type,
                data: Some(data),
                ..
            } => (mime_type.as_deref().unwrap_or(""), data),
            _ => {
                saved.push(None);
                continue;
            }
        };
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{stem}-{i}.{}", extension(mime)));
        std::fs::write(&path, data)?;
        saved.push(Some(path));
    }
    Ok(saved)
}

/// A file extension for a MIME type.
pub fn extension(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or("").trim() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/ogg" => "ogg",
        "application/pdf" => "pdf",
        "application/json" => "json",
        "text/plain" => "txt",
        _ => "bin",
    }
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

/// Merges per-server list results into `(server, item)` rows; a server whose listing failed is
/// warned about (`what`: "prompts", "resources") and makes the outcome [`Code::Failed`](crate::exit::Code::Failed).
pub fn merge_lists<T>(
    lists: Vec<(String, Result<Vec<T>, mcpmux::Error>)>,
    what: &str,
) -> (Vec<(String, T)>, crate::exit::Code) {
    let mut code = crate::exit::Code::Success;
    let mut rows = Vec::new();
    for (server, list) in lists {
        match list {
            Ok(list) => rows.extend(list.into_iter().map(|item| (server.clone(), item))),
            Err(e) => {
                crate::exit::warn(&format!(
                    "server `{server}`: cannot list {what}: {}",
                    crate::exit::chain(&anyhow::Error::new(e))
                ));
                code = crate::exit::Code::Failed;
            }
        }
    }
    (rows, code)
}

/// Each row as its JSON object with a `server` field added.
pub fn rows_json<T: Serialize>(rows: &[(String, T)]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|(server, item)| {
            let mut v = serde_json::to_value(item).unwrap_or_else(|_| serde_json::json!({}));
            if let serde_json::Value::Object(m) = &mut v {
                m.insert("server".into(), serde_json::json!(server));
            }
            v
        })
        .collect()
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
    fn media_is_saved_and_named() {
        let dir = std::env::temp_dir().join(format!("mcpmux-media-{}", std::process::id()));
        let result: CallToolResult = serde_json::from_value(json!({"content": [
            {"type": "text", "text": "here"},
            {"type": "image", "data": "aGVsbG8=", "mimeType": "image/png"},
            {"type": "audio", "data": "AAE=", "mimeType": "audio/wav"},
        ]}))
        .unwrap();
        let saved = save_media(&dir, "a.b/c", &result).unwrap();
        assert_eq!(saved[0], None);
        let image = saved[1].clone().unwrap();
        assert_eq!(image, dir.join("a_b_c-1.png"));
        assert_eq!(std::fs::read(&image).unwrap(), b"hello");
        assert_eq!(std::fs::read(saved[2].clone().unwrap()).unwrap(), [0, 1]);
        let mut out = Vec::new();
        write_result_saved(&mut out, &result, &saved).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains(&format!(
                "[image image/png, 8 bytes base64, saved to {}]",
                image.display()
            )),
            "{out}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn json_is_one_line() {
        let mut out = Vec::new();
        write_json(&mut out, &json!({"a": [1, 2]})).unwrap();
        assert_eq!(out, b"{\"a\":[1,2]}\n");
    }
}

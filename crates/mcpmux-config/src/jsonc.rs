//! JSONC (JSON with comments and trailing commas, as VS Code, Zed and Gemini CLI write it) to
//! plain JSON, keeping every line and column where it was so parse errors point at the source.

/// Replaces `//` and `/* */` comments and trailing commas with spaces (newlines are kept), and
/// drops a leading byte-order mark. Strings are left alone. An unterminated block comment runs to
/// the end, like an unterminated string: the JSON parser then reports the error.
pub(crate) fn strip(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    // The position in `out` of the last comma outside strings not yet followed by a value.
    let mut pending_comma: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                pending_comma = None;
                let start = i;
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                let end = i.min(bytes.len());
                out.extend_from_slice(&bytes[start..end]);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out.push(blank(bytes[i]));
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                out.extend_from_slice(b"  ");
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    out.push(blank(bytes[i]));
                    i += 1;
                }
                if i < bytes.len() {
                    out.extend_from_slice(b"  ");
                    i += 2;
                }
                continue;
            }
            b',' => pending_comma = Some(out.len()),
            b'}' | b']' => {
                if let Some(at) = pending_comma.take() {
                    out[at] = b' ';
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => pending_comma = None,
        }
        out.push(b);
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII bytes, and multi-byte sequences were copied whole
    // (or blanked byte by byte inside comments, where every byte becomes a space).
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A byte of a comment, blanked: newlines stay so line numbers do not move.
fn blank(b: u8) -> u8 {
    if b == b'\n' || b == b'\r' { b } else { b' ' }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> serde_json::Value {
        serde_json::from_str(&strip(s)).unwrap()
    }

    #[test]
    fn comments_and_trailing_commas_go() {
        let v = parse(
            "\u{feff}{\n  // a comment\n  \"a\": [1, 2,], /* block\n comment */ \"b\": {\"c\": \"//not a comment\",},\n}",
        );
        assert_eq!(
            v,
            serde_json::json!({"a": [1, 2], "b": {"c": "//not a comment"}})
        );
    }

    #[test]
    fn positions_are_kept() {
        let s = "{\n // x\n \"a\": 1,\n \"b\": oops\n}";
        let e = serde_json::from_str::<serde_json::Value>(&strip(s)).unwrap_err();
        assert_eq!((e.line(), e.column()), (4, 7));
    }

    #[test]
    fn escaped_quotes_and_slashes_in_strings() {
        let v = parse(r#"{"a": "say \"hi\" // there", "b": "/* no */"}"#);
        assert_eq!(v["a"], "say \"hi\" // there");
        assert_eq!(v["b"], "/* no */");
    }

    #[test]
    fn non_ascii_survives_in_strings_and_comments() {
        let v = parse("{\"a\": \"héllo\" /* ünïcode */}");
        assert_eq!(v["a"], "héllo");
    }
}

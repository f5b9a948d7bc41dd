//! Single-pass deserializers for [`CallToolResult`] and [`Content`], the payload of every tool
//! call.
//!
//! Derived code would buffer both: `#[serde(flatten)]` (for the unknown fields) first parses
//! the whole object into serde's private `Content` tree and then deserializes from that, and a
//! content block was read into a JSON map and converted again to learn its `type`. Here fields
//! go straight to their place; a `text` block is built directly whatever its member order (`type`
//! first, as SDKs write it, is the fastest), anything else takes the general path through a map.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::{CallToolResult, Content, JsonObject, TextContent};

/// A string (an object key, a content block's `type`), borrowed from the input when it has no
/// escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string (an object key or a content block's type)")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for CallToolResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ResultVisitor;
        impl<'de> Visitor<'de> for ResultVisitor {
            type Value = CallToolResult;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tools/call result object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CallToolResult, A::Error> {
                let mut out = CallToolResult::default();
                // Bounded by the input: each iteration consumes one entry.
                while let Some(Key(key)) = map.next_key()? {
                    match key.as_ref() {
                        "content" => out.content = map.next_value()?,
                        "structuredContent" => out.structured_content = map.next_value()?,
                        "isError" => out.is_error = map.next_value()?,
                        "_meta" => out.meta = map.next_value()?,
                        _ => {
                            let value: Value = map.next_value()?;
                            out.extra.insert(key.into_owned(), value);
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(ResultVisitor)
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = Content;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a content block object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Content, A::Error> {
                // Borrowed when it can be: no allocation for the common tags.
                let mut tag: Option<Cow<'de, str>> = None;
                let mut text: Option<Value> = None;
                let mut rest = JsonObject::new();
                // Bounded by the input: each iteration consumes one entry.
                while let Some(Key(key)) = map.next_key()? {
                    match key.as_ref() {
                        "type" if tag.is_none() => {
                            let Key(t) = map.next_value::<Key<'de>>()?;
                            if t == "text" && text.is_none() {
                                // `type` first, as SDKs write it: read the rest directly.
                                return text_block(map, rest);
                            }
                            tag = Some(t);
                        }
                        "text" if text.is_none() => text = Some(map.next_value()?),
                        _ => {
                            let value: Value = map.next_value()?;
                            rest.insert(key.into_owned(), value);
                        }
                    }
                }
                match (tag, text) {
                    (Some(t), Some(Value::String(text))) if t == "text" => {
                        Ok(Content::Text(TextContent { text, extra: rest }))
                    }
                    (tag, text) => {
                        if let Some(t) = tag {
                            rest.insert("type".to_owned(), Value::String(t.into_owned()));
                        }
                        if let Some(t) = text {
                            rest.insert("text".to_owned(), t);
                        }
                        Content::from_object(rest).map_err(de::Error::custom)
                    }
                }
            }
        }
        d.deserialize_map(ContentVisitor)
    }
}

/// The fields after `"type": "text"` (`extra`: those before it), read directly into a
/// [`TextContent`].
fn text_block<'de, A: MapAccess<'de>>(
    mut map: A,
    mut extra: JsonObject,
) -> Result<Content, A::Error> {
    let mut text: Option<String> = None;
    // Bounded by the input: each iteration consumes one entry.
    while let Some(Key(key)) = map.next_key()? {
        match key.as_ref() {
            "text" => {
                if text.is_some() {
                    return Err(de::Error::duplicate_field("text"));
                }
                text = Some(map.next_value()?);
            }
            // A repeated `type` would be a conflicting tag: refuse it like the map path does.
            "type" => return Err(de::Error::duplicate_field("type")),
            _ => {
                let value: Value = map.next_value()?;
                extra.insert(key.into_owned(), value);
            }
        }
    }
    let text = text.ok_or_else(|| de::Error::missing_field("text"))?;
    Ok(Content::Text(TextContent { text, extra }))
}

/// The bytes of a JSON text being read by [`CallToolResult::parse_common`].
struct Scan<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    /// Skips JSON whitespace (the four characters serde_json skips).
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte, consumed.
    #[inline]
    fn next(&mut self) -> Option<u8> {
        let b = *self.s.get(self.i)?;
        self.i += 1;
        Some(b)
    }

    /// Consumes `b` if it comes next.
    #[inline]
    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// A string without escapes or control characters, as the bytes between its quotes (not
    /// yet checked to be UTF-8); `None` for anything else.
    #[inline]
    fn plain_str(&mut self) -> Option<&'a [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        let rest = self.s.get(start..)?;
        // Eight bytes at a time up to the first quote, backslash or control character.
        let mut n = 0;
        for chunk in rest.chunks_exact(8) {
            let Ok(word) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            let mask = crate::write::escape_mask(u64::from_le_bytes(word));
            if mask != 0 {
                n += mask.trailing_zeros() as usize / 8;
                break;
            }
            n += 8;
        }
        // Bounded by the input.
        loop {
            match *rest.get(n)? {
                b'"' => {
                    self.i = start + n + 1;
                    return Some(&rest[..n]);
                }
                b'\\' | 0..0x20 => return None,
                _ => n += 1,
            }
        }
    }

    /// A key and its colon.
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.ws();
        let key = self.plain_str()?;
        self.ws();
        self.eat(b':').then_some(())?;
        self.ws();
        Some(key)
    }

    /// `,` (more follows: true) or `close` (false), after optional whitespace.
    #[inline]
    fn more(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.next()? {
            b',' => Some(true),
            b if b == close => Some(false),
            _ => None,
        }
    }

    /// `true`, `false` or `null` (`None`).
    fn boolean_or_null(&mut self) -> Option<Option<bool>> {
        let rest = self.s.get(self.i..)?;
        let (value, len) = if rest.starts_with(b"true") {
            (Some(true), 4)
        } else if rest.starts_with(b"false") {
            (Some(false), 5)
        } else if rest.starts_with(b"null") {
            (None, 4)
        } else {
            return None;
        };
        self.i += len;
        Some(value)
    }

    /// `[` text blocks `]`.
    fn content(&mut self) -> Option<Vec<Content>> {
        self.eat(b'[').then_some(())?;
        self.ws();
        if self.eat(b']') {
            return Some(Vec::new());
        }
        // Room for the one block nearly every result has (pushing into an empty `Vec` would
        // allocate room for four).
        let mut blocks = Vec::with_capacity(1);
        // Bounded by the input: each iteration consumes one block.
        loop {
            self.ws();
            blocks.push(self.text_block()?);
            if !self.more(b']')? {
                return Some(blocks);
            }
        }
    }

    /// `{"type":"text","text":…}`, its two members in either order and nothing else.
    fn text_block(&mut self) -> Option<Content> {
        self.eat(b'{').then_some(())?;
        let mut typed = false;
        let mut text = None;
        for last in [false, true] {
            match self.key()? {
                b"type" if !typed => {
                    if self.plain_str()? != b"text" {
                        return None;
                    }
                    typed = true;
                }
                b"text" if text.is_none() => {
                    text = Some(std::str::from_utf8(self.plain_str()?).ok()?.to_owned());
                }
                _ => return None,
            }
            if self.more(b'}')? == last {
                return None;
            }
        }
        Some(Content::Text(TextContent {
            text: text?,
            extra: JsonObject::new(),
        }))
    }
}

impl CallToolResult {
    /// Reads a `tools/call` result of the common shape without serde: an object with only
    /// `content` (text blocks of exactly `type` and `text`, strings without escapes) and
    /// `isError` (a boolean or `null`), each at most once, in any order and spacing.
    /// `None` for anything else; the caller then uses the full deserializer, which gives the
    /// same value wherever this gives one (tested, and checked by the `decode` fuzz target).
    ///
    /// ```
    /// use mcpmux_protocol::CallToolResult;
    /// let r = CallToolResult::parse_common(br#"{"content":[{"text":"hi","type":"text"}],"isError":false}"#);
    /// assert_eq!(r.as_ref().and_then(|r| r.content[0].as_text()), Some("hi"));
    /// assert!(CallToolResult::parse_common(br#"{"content":[],"structuredContent":{}}"#).is_none());
    /// ```
    pub fn parse_common(json: &[u8]) -> Option<CallToolResult> {
        let mut p = Scan { s: json, i: 0 };
        p.ws();
        p.eat(b'{').then_some(())?;
        let mut out = CallToolResult::default();
        let (mut content, mut is_error) = (false, false);
        p.ws();
        if !p.eat(b'}') {
            // Bounded by the input: each iteration consumes one member (and a repeated
            // member ends it).
            loop {
                match p.key()? {
                    b"content" if !content => {
                        content = true;
                        out.content = p.content()?;
                    }
                    b"isError" if !is_error => {
                        is_error = true;
                        out.is_error = p.boolean_or_null()?;
                    }
                    _ => return None,
                }
                if !p.more(b'}')? {
                    break;
                }
            }
        }
        p.ws();
        (p.i == json.len()).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every result `parse_common` reads, serde reads to the same value.
    fn agrees(raw: &[u8]) -> bool {
        let fast = CallToolResult::parse_common(raw);
        if let Some(fast) = &fast {
            let full: CallToolResult = serde_json::from_slice(raw)
                .unwrap_or_else(|e| panic!("fast path read what serde refuses ({e}): {raw:?}"));
            assert_eq!(&full, fast, "{}", String::from_utf8_lossy(raw));
        }
        fast.is_some()
    }

    #[test]
    fn the_common_shape_is_read_without_serde_and_as_serde_reads_it() {
        for raw in [
            r#"{"content":[{"type":"text","text":"hi"}]}"#,
            r#"{"content":[{"text":"hi","type":"text"}],"isError":false}"#,
            r#"{"isError":true,"content":[{"type":"text","text":"é ☃ 🦀"},{"text":"","type":"text"}]}"#,
            r#" { "content" : [ { "type" : "text" , "text" : "a" } ] , "isError" : null } "#,
            "{\n\t\"content\":[]\r}",
            r#"{}"#,
            r#"{"content":[]}"#,
        ] {
            assert!(agrees(raw.as_bytes()), "not read: {raw}");
        }
        // Long text: the eight-byte scan and its tail.
        for n in 0..40 {
            let raw = format!(
                r#"{{"content":[{{"type":"text","text":"{}"}}]}}"#,
                "x".repeat(n)
            );
            assert!(agrees(raw.as_bytes()));
        }
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for raw in [
            // Escapes, control characters, invalid UTF-8, other blocks and members.
            &br#"{"content":[{"type":"text","text":"a\nb"}]}"#[..],
            b"{\"content\":[{\"type\":\"text\",\"text\":\"a\x01b\"}]}",
            b"{\"content\":[{\"type\":\"text\",\"text\":\"a\xffb\"}]}",
            br#"{"content":[{"type":"text","text":"a","annotations":{}}]}"#,
            br#"{"content":[{"type":"image","data":"","mimeType":"image/png"}]}"#,
            br#"{"content":[{"type":"text"}]}"#,
            br#"{"content":[{"text":"a"}]}"#,
            br#"{"content":[{"type":"text","type":"text","text":"a"}]}"#,
            br#"{"content":[{"type":"text","text":"a","text":"b"}]}"#,
            br#"{"content":[],"content":[]}"#,
            br#"{"content":[],"structuredContent":{"a":1}}"#,
            br#"{"content":[],"_meta":{}}"#,
            br#"{"content":[],"isError":0}"#,
            br#"{"content":[],"isError":truex}"#,
            br#"{"content":[],"isError":false,"isError":true}"#,
            br#"{"content":null}"#,
            br#"{"content":[],}"#,
            br#"{"content":[,]}"#,
            br#"{"content":[{"type":"text","text":"a"},]}"#,
            br#"{"content":[]} x"#,
            br#"{"content":[]"#,
            br#"{"con\u0074ent":[]}"#,
            br#"[]"#,
            b"",
        ] {
            assert!(!agrees(raw), "read: {}", String::from_utf8_lossy(raw));
        }
        // Every prefix of a good result is refused (and never panics).
        let good = br#"{"isError":false,"content":[{"type":"text","text":"hello, world"}]}"#;
        for end in 0..good.len() {
            assert!(!agrees(&good[..end]));
        }
        // Every byte value at every position: whatever is read, serde reads the same.
        for at in 0..good.len() {
            for b in 0..=255u8 {
                let mut raw = good.to_vec();
                raw[at] = b;
                agrees(&raw);
            }
        }
    }

    #[test]
    fn text_blocks_parse_with_type_first_or_last() {
        for raw in [
            r#"{"type":"text","text":"hi","annotations":{"priority":1}}"#,
            r#"{"text":"hi","annotations":{"priority":1},"type":"text"}"#,
        ] {
            let c: Content = serde_json::from_str(raw).unwrap();
            let Content::Text(t) = &c else {
                panic!("not text: {c:?}")
            };
            assert_eq!(t.text, "hi");
            assert_eq!(t.extra["annotations"]["priority"], 1);
        }
    }

    #[test]
    fn other_blocks_and_odd_ones() {
        let img: Content = serde_json::from_value(
            json!({"type": "image", "data": "AA==", "mimeType": "image/png"}),
        )
        .unwrap();
        assert_eq!(img.type_name(), "image");
        let odd: Content = serde_json::from_str(r#"{"type":"hologram","x":1}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&odd).unwrap(),
            json!({"type": "hologram", "x": 1})
        );
        assert!(serde_json::from_str::<Content>(r#"{"type":"text"}"#).is_err());
        assert!(serde_json::from_str::<Content>(r#"{"text":"x"}"#).is_err());
        assert!(
            serde_json::from_str::<Content>(r#"{"type":"text","text":"a","text":"b"}"#).is_err()
        );
        assert!(serde_json::from_str::<Content>(r#"{"type":"text","text":1}"#).is_err());
        assert!(serde_json::from_str::<Content>(r#"[1]"#).is_err());
        assert!(serde_json::from_str::<Content>(r#"{"type":1,"text":"x"}"#).is_err());
        assert!(serde_json::from_str::<Content>(r#"{"text":"x","type":null}"#).is_err());
        // Escaped keys are read too.
        let c: Content = serde_json::from_str(r#"{"type":"text","te\u0078t":"hi"}"#).unwrap();
        assert_eq!(c.as_text(), Some("hi"));
    }

    #[test]
    fn a_result_keeps_every_field() {
        let raw = json!({
            "content": [{"type": "text", "text": "a"}, {"type": "resource_link", "uri": "file:///x", "name": "x"}],
            "structuredContent": {"n": 1},
            "isError": false,
            "_meta": {"m": true},
            "futureField": [1, 2]
        });
        let r: CallToolResult = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(r.content.len(), 2);
        assert_eq!(r.structured_content, Some(json!({"n": 1})));
        assert_eq!(r.is_error, Some(false));
        assert_eq!(r.meta.as_ref().unwrap()["m"], true);
        assert_eq!(r.extra["futureField"], json!([1, 2]));
        assert_eq!(serde_json::to_value(&r).unwrap(), raw);
        let empty: CallToolResult = serde_json::from_str(r#"{"structuredContent":null}"#).unwrap();
        assert_eq!(empty, CallToolResult::default());
        assert!(serde_json::from_str::<CallToolResult>(r#"{"content":null}"#).is_err());
        assert!(serde_json::from_str::<CallToolResult>(r#"{"isError":"yes"}"#).is_err());
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

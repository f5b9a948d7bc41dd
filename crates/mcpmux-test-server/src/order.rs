//! The member order of the JSON objects the server writes ([`MemberOrder`]).
//!
//! serde_json keeps an object's members sorted by key — unless its `preserve_order` feature is
//! on in the build (a workspace build is: rig-core turns it on), and then in the order they
//! were inserted. Either way SDKs write those orders too. [`MemberOrder::Unusual`] writes the same values with the members in another order, so a
//! client's fast paths cannot depend on the key order of this server.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// The order of the members of every JSON object the server writes on stdio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MemberOrder {
    /// serde_json's order: sorted by key (`{"id":…,"jsonrpc":"2.0","result":…}`, a text block
    /// as `{"text":…,"type":"text"}`), or the insertion order in a build with serde_json's
    /// `preserve_order` (`{"jsonrpc":"2.0","id":…,"result":…}`, `{"type":"text","text":…}`).
    #[default]
    Sorted,
    /// An order no SDK writes: a message's `id` first and `jsonrpc` last, its other members
    /// (`result`, `error`, `method`, `params`) between them in reverse key order:
    /// `{"id":N,"result":…,"jsonrpc":"2.0"}`, which no shape-based routing of the usual orders
    /// (`result` first or last) recognises. Every object inside in reverse key order, with a
    /// `type` member last: a result as `{"structuredContent":…,"isError":…,"content":…}`, a
    /// text block as `{"text":…,"type":"text"}`.
    Unusual,
}

impl MemberOrder {
    /// `msg` as one JSON text (no newline) with its members in this order.
    pub fn to_vec(self, msg: &Value) -> serde_json::Result<Vec<u8>> {
        match self {
            MemberOrder::Sorted => serde_json::to_vec(msg),
            MemberOrder::Unusual => serde_json::to_vec(&Unusual {
                value: msg,
                top: true,
            }),
        }
    }
}

/// A value written in [`MemberOrder::Unusual`]; `top`: the message itself.
struct Unusual<'a> {
    value: &'a Value,
    top: bool,
}

/// Where key `k` goes: lower first; ties in reverse key order.
fn rank(k: &str, top: bool) -> u8 {
    match (top, k) {
        (true, "id") => 0,
        (true, "jsonrpc") => 2,
        (false, "type") => 2,
        _ => 1,
    }
}

impl Serialize for Unusual<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(map) => {
                let mut members: Vec<(&String, &Value)> = map.iter().collect();
                members.sort_by(|a, b| {
                    rank(a.0, self.top)
                        .cmp(&rank(b.0, self.top))
                        .then_with(|| b.0.cmp(a.0))
                });
                let mut out = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    out.serialize_entry(
                        k,
                        &Unusual {
                            value: v,
                            top: false,
                        },
                    )?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    out.serialize_element(&Unusual {
                        value: v,
                        top: false,
                    })?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(order: MemberOrder, v: &Value) -> String {
        String::from_utf8(order.to_vec(v).unwrap()).unwrap()
    }

    #[test]
    fn sorted_is_serde_json() {
        let v = json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "a"}]}});
        // Sorted by key, or in insertion order where serde_json's `preserve_order` is on.
        assert_eq!(text(MemberOrder::Sorted, &v), v.to_string());
        assert!(
            [
                r#"{"id":1,"jsonrpc":"2.0","result":{"content":[{"text":"a","type":"text"}]}}"#,
                r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a"}]}}"#,
            ]
            .contains(&text(MemberOrder::Sorted, &v).as_str())
        );
    }

    #[test]
    fn unusual_puts_the_result_between_id_and_jsonrpc() {
        let v = json!({
            "jsonrpc": "2.0",
            "id": 7,
            "result": {
                "content": [{"type": "text", "text": "hi", "annotations": {"a": 1, "b": 2}}],
                "isError": false,
                "structuredContent": {"x": [1, {"k": "v", "j": null}]}
            }
        });
        let out = text(MemberOrder::Unusual, &v);
        assert_eq!(
            out,
            concat!(
                r#"{"id":7,"result":{"structuredContent":{"x":[1,{"k":"v","j":null}]},"#,
                r#""isError":false,"content":[{"text":"hi","annotations":{"b":2,"a":1},"type":"text"}]},"#,
                r#""jsonrpc":"2.0"}"#
            )
        );
        // The same value, only the order differs.
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn unusual_orders_errors_and_notifications_too() {
        let e = json!({"jsonrpc": "2.0", "id": "a", "error": {"code": -1, "message": "m"}});
        assert_eq!(
            text(MemberOrder::Unusual, &e),
            r#"{"id":"a","error":{"message":"m","code":-1},"jsonrpc":"2.0"}"#
        );
        let n = json!({"jsonrpc": "2.0", "method": "m", "params": {}});
        assert_eq!(
            text(MemberOrder::Unusual, &n),
            r#"{"params":{},"method":"m","jsonrpc":"2.0"}"#
        );
        assert_eq!(text(MemberOrder::Unusual, &json!([1, "x"])), r#"[1,"x"]"#);
    }
}

//! `KEY=VALUE` arguments typed by a tool's input schema.

use serde_json::{Map, Value};

/// The JSON types a property of `schema` accepts (`$ref`s into `$defs`/`definitions`, `anyOf`,
/// `oneOf` and type lists followed); empty when the schema says nothing.
fn types_of(schema: &Value, root: &Value, depth: usize) -> Vec<String> {
    if depth > 16 {
        return Vec::new();
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str)
        && let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p))
    {
        return types_of(target, root, depth + 1);
    }
    let mut out: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = schema.get(key) {
            for alt in alts {
                out.extend(types_of(alt, root, depth + 1));
            }
        }
    }
    if out.is_empty() {
        // An untyped enum (or const) of strings is a string.
        let strings = match (schema.get("enum"), schema.get("const")) {
            (Some(Value::Array(vs)), _) => !vs.is_empty() && vs.iter().all(Value::is_string),
            (_, Some(c)) => c.is_string(),
            _ => false,
        };
        if strings {
            out.push("string".into());
        }
    }
    out
}

/// The value of `key=raw` for a tool whose input schema is `schema`.
///
/// # Errors
/// A sentence naming the key and the expected type.
pub fn value(schema: &Value, key: &str, raw: &str) -> Result<Value, String> {
    let property = schema.get("properties").and_then(|p| p.get(key));
    let types = property.map(|p| types_of(p, schema, 0)).unwrap_or_default();
    if types.is_empty() || (types.len() == 1 && types[0] == "string") {
        return Ok(Value::String(raw.to_owned()));
    }
    let parsed: Option<Value> = serde_json::from_str(raw).ok();
    if let Some(v) = &parsed {
        let ok = types.iter().any(|t| match t.as_str() {
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            "null" => v.is_null(),
            _ => false,
        });
        if ok {
            return Ok(v.clone());
        }
    }
    if types.iter().any(|t| t == "string") {
        return Ok(Value::String(raw.to_owned()));
    }
    let expected: Vec<String> = types
        .iter()
        .map(|t| match t.as_str() {
            "integer" => "an integer".to_owned(),
            "number" => "a number".to_owned(),
            "boolean" => "true or false".to_owned(),
            "object" => "a JSON object".to_owned(),
            "array" => "a JSON array".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    Err(format!(
        "argument `{key}`: expected {}, got `{raw}`",
        expected.join(" or ")
    ))
}

/// Adds `pairs` to `arguments`, typed by `schema` (a pair replaces a same-named `--args` key).
///
/// # Errors
/// As [`value`].
pub fn apply(
    arguments: &mut Map<String, Value>,
    pairs: &[(String, String)],
    schema: &Value,
) -> Result<(), String> {
    for (k, raw) in pairs {
        arguments.insert(k.clone(), value(schema, k, raw)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "$defs": {"Level": {"type": "integer"}},
            "properties": {
                "text": {"type": "string"},
                "n": {"type": "integer"},
                "x": {"type": "number"},
                "flag": {"type": "boolean"},
                "obj": {"type": "object"},
                "list": {"type": "array", "items": {"type": "string"}},
                "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                "either": {"type": ["integer", "string"]},
                "level": {"$ref": "#/$defs/Level"},
                "color": {"enum": ["red", "green"]},
                "free": {}
            }
        })
    }

    #[test]
    fn values_are_typed_by_the_schema() {
        let s = schema();
        let v = |k: &str, raw: &str| value(&s, k, raw);
        assert_eq!(v("text", "42"), Ok(json!("42")));
        assert_eq!(v("n", "42"), Ok(json!(42)));
        assert_eq!(v("x", "1.5"), Ok(json!(1.5)));
        assert_eq!(v("x", "2"), Ok(json!(2)));
        assert_eq!(v("flag", "true"), Ok(json!(true)));
        assert_eq!(v("obj", r#"{"a":1}"#), Ok(json!({"a": 1})));
        assert_eq!(v("list", r#"["a","b"]"#), Ok(json!(["a", "b"])));
        assert_eq!(v("maybe", "null"), Ok(json!(null)));
        assert_eq!(v("maybe", "7"), Ok(json!(7)));
        assert_eq!(v("either", "7"), Ok(json!(7)));
        assert_eq!(v("either", "seven"), Ok(json!("seven")));
        assert_eq!(v("level", "3"), Ok(json!(3)));
        assert_eq!(v("color", "red"), Ok(json!("red")));
        assert_eq!(v("free", "12"), Ok(json!("12")));
        assert_eq!(v("unknown", "true"), Ok(json!("true")));
    }

    #[test]
    fn wrong_values_name_the_key_and_type() {
        let s = schema();
        assert_eq!(
            value(&s, "n", "abc"),
            Err("argument `n`: expected an integer, got `abc`".into())
        );
        assert_eq!(
            value(&s, "n", "1.5"),
            Err("argument `n`: expected an integer, got `1.5`".into())
        );
        assert!(value(&s, "flag", "yes").is_err_and(|e| e.contains("true or false")));
        assert!(value(&s, "obj", "[1]").is_err_and(|e| e.contains("a JSON object")));
    }

    #[test]
    fn pairs_override_args() {
        let mut args = Map::new();
        args.insert("n".into(), json!(1));
        apply(
            &mut args,
            &[("n".into(), "2".into()), ("text".into(), "hi".into())],
            &schema(),
        )
        .unwrap();
        assert_eq!(Value::Object(args), json!({"n": 2, "text": "hi"}));
    }
}

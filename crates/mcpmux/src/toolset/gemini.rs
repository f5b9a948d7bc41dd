//! JSON Schema → the OpenAPI 3.0 subset Gemini function declarations accept.
//!
//! Gemini's `Schema` knows `type`, `format`, `title`, `description`, `nullable`, `enum`,
//! `properties`, `required`, `items`, `anyOf`, `minItems`/`maxItems`, `minLength`/`maxLength`,
//! `pattern`, `minimum`/`maximum`, `minProperties`/`maxProperties`, `default`, `example` and
//! `propertyOrdering`. So: `$ref`s into `$defs`/`definitions` are inlined (a recursive one becomes
//! a plain `object`), `oneOf` becomes `anyOf`, a `null` alternative or type becomes
//! `nullable: true`, `const` becomes a one-value `enum`, single-schema `allOf`s are merged, and
//! every other keyword (`$schema`, `additionalProperties`, ...) is dropped.

use serde_json::{Map, Value, json};

/// How deep `$ref`s are followed before giving up.
const MAX_DEPTH: usize = 32;

/// Keywords copied as they are.
const KEPT: &[&str] = &[
    "title",
    "description",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "minProperties",
    "maxProperties",
    "default",
    "example",
    "nullable",
    "propertyOrdering",
];

/// Formats Gemini accepts, by type.
fn format_allowed(ty: Option<&str>, format: &str) -> bool {
    matches!(
        (ty, format),
        (Some("string"), "enum" | "date-time")
            | (Some("number"), "float" | "double")
            | (Some("integer"), "int32" | "int64")
    )
}

/// Converts a tool's input schema.
pub(crate) fn convert(schema: &Value) -> Value {
    let mut stack = Vec::new();
    node(schema, schema, &mut stack)
}

fn node(v: &Value, root: &Value, stack: &mut Vec<String>) -> Value {
    let Value::Object(src) = v else {
        // `true` / `false` schemas: anything goes.
        return json!({});
    };
    if let Some(Value::String(r)) = src.get("$ref") {
        let mut resolved = if stack.contains(r) || stack.len() >= MAX_DEPTH {
            json!({"type": "object"})
        } else if let Some(target) = lookup(root, r) {
            stack.push(r.clone());
            let out = node(target, root, stack);
            stack.pop();
            out
        } else {
            json!({})
        };
        // Sibling keywords (a description next to the $ref) win.
        let mut rest = src.clone();
        rest.remove("$ref");
        if let (Value::Object(target), Value::Object(siblings)) =
            (&mut resolved, node(&Value::Object(rest), root, stack))
        {
            for (k, val) in siblings {
                target.insert(k, val);
            }
        }
        return resolved;
    }
    let mut out = Map::new();
    // type, possibly a list with "null".
    let mut nullable = false;
    let mut any_of: Vec<Value> = Vec::new();
    match src.get("type") {
        Some(Value::String(t)) if t == "null" => nullable = true,
        Some(Value::String(t)) => {
            out.insert("type".into(), json!(t));
        }
        Some(Value::Array(types)) => {
            let real: Vec<&Value> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .collect();
            nullable = real.len() < types.len();
            match real.as_slice() {
                [one] => {
                    out.insert("type".into(), (*one).clone());
                }
                many => any_of.extend(many.iter().map(|t| json!({"type": t}))),
            }
        }
        _ => {}
    }
    for key in KEPT {
        if let Some(val) = src.get(*key) {
            out.insert((*key).into(), val.clone());
        }
    }
    if let Some(Value::String(f)) = src.get("format")
        && format_allowed(out.get("type").and_then(Value::as_str), f)
    {
        out.insert("format".into(), json!(f));
    }
    if let Some(c) = src.get("const") {
        out.insert("enum".into(), json!([c]));
    }
    if let Some(Value::Array(e)) = src.get("enum") {
        out.insert("enum".into(), Value::Array(e.clone()));
    }
    // Gemini's enum is for strings only (and needs the type said).
    if let Some(Value::Array(e)) = out.get("enum") {
        if !e.iter().all(Value::is_string) {
            out.remove("enum");
        } else if !out.contains_key("type") {
            out.insert("type".into(), json!("string"));
        }
    }
    if let Some(Value::Object(props)) = src.get("properties") {
        let converted: Map<String, Value> = props
            .iter()
            .map(|(k, s)| (k.clone(), node(s, root, stack)))
            .collect();
        if let Some(Value::Array(req)) = src.get("required") {
            let req: Vec<Value> = req
                .iter()
                .filter(|r| r.as_str().is_some_and(|r| converted.contains_key(r)))
                .cloned()
                .collect();
            if !req.is_empty() {
                out.insert("required".into(), Value::Array(req));
            }
        }
        if !converted.is_empty() {
            out.insert("properties".into(), Value::Object(converted));
        }
    }
    match src.get("items") {
        Some(Value::Array(tuple)) => {
            if let Some(first) = tuple.first() {
                out.insert("items".into(), node(first, root, stack));
            }
        }
        Some(items) => {
            out.insert("items".into(), node(items, root, stack));
        }
        None => {}
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = src.get(key) {
            for alt in alts {
                if alt.get("type").and_then(Value::as_str) == Some("null")
                    && alt.as_object().is_some_and(|o| o.len() == 1)
                {
                    nullable = true;
                } else {
                    any_of.push(node(alt, root, stack));
                }
            }
        }
    }
    if let Some(Value::Array(all)) = src.get("allOf") {
        for part in all {
            if let Value::Object(part) = node(part, root, stack) {
                merge(&mut out, part);
            }
        }
    }
    match any_of.len() {
        0 => {}
        1 => {
            if let Some(Value::Object(only)) = any_of.pop() {
                merge(&mut out, only);
            }
        }
        _ => {
            out.insert("anyOf".into(), Value::Array(any_of));
        }
    }
    if nullable {
        out.insert("nullable".into(), json!(true));
    }
    Value::Object(out)
}

/// Merges `from` into `into`: properties and required lists are unioned, other keys kept from
/// `into` when both have them.
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (k.as_str(), into.get_mut(&k), v) {
            ("properties", Some(Value::Object(a)), Value::Object(b)) => {
                for (pk, pv) in b {
                    a.entry(pk).or_insert(pv);
                }
            }
            ("required", Some(Value::Array(a)), Value::Array(b)) => {
                for r in b {
                    if !a.contains(&r) {
                        a.push(r);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Resolves a local JSON pointer `#/...`.
fn lookup<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

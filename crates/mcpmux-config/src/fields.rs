//! Typed access to the fields of one server entry, with errors that name the field.

use serde_json::{Map, Value};

use crate::error::{ConfigError, Result};
use crate::vars::Expander;

/// One server entry's fields, and the expander for its values.
pub(crate) struct Fields<'e, 'x> {
    pub(crate) map: &'e Map<String, Value>,
    pub(crate) vars: Expander<'x>,
}

/// "a number", "an array", ... for error messages.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(what: &str, got: &Value) -> ConfigError {
    ConfigError::new(format!("expected {what}, got {}", json_type(got)))
}

impl<'e> Fields<'e, '_> {
    /// Whether the field is present (and not `null`).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// A string field, unexpanded.
    pub(crate) fn raw_str(&self, key: &str) -> Result<Option<&'e str>> {
        let map: &'e Map<String, Value> = self.map;
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(expected("a string", other).in_field(key)),
        }
    }

    /// A string field, expanded.
    pub(crate) fn string(&mut self, key: &str) -> Result<Option<String>> {
        let Some(raw) = self.raw_str(key)? else {
            return Ok(None);
        };
        self.vars.expand(raw).map(Some).map_err(|e| e.in_field(key))
    }

    /// A list of strings (numbers and booleans are taken as their text), each expanded.
    pub(crate) fn strings(&mut self, key: &str, expand: bool) -> Result<Vec<String>> {
        let items = match self.map.get(key) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(expected("an array of strings", other).in_field(key)),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = format!("{key}[{i}]");
            let text = scalar(item).ok_or_else(|| expected("a string", item).in_field(&field))?;
            out.push(if expand {
                self.vars.expand(&text).map_err(|e| e.in_field(&field))?
            } else {
                text
            });
        }
        Ok(out)
    }

    /// A map of strings (scalars taken as text; `null` kept as `None`); values expanded, keys
    /// never.
    pub(crate) fn string_map(
        &mut self,
        key: &str,
        expand: bool,
    ) -> Result<Vec<(String, Option<String>)>> {
        let map = match self.map.get(key) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Object(map)) => map,
            Some(other) => return Err(expected("an object", other).in_field(key)),
        };
        let mut out = Vec::with_capacity(map.len());
        for (name, value) in map {
            let field = format!("{key}.{name}");
            let value = match value {
                Value::Null => None,
                v => {
                    let text = scalar(v).ok_or_else(|| expected("a string", v).in_field(&field))?;
                    Some(if expand {
                        self.vars.expand(&text).map_err(|e| e.in_field(&field))?
                    } else {
                        text
                    })
                }
            };
            out.push((name.clone(), value));
        }
        Ok(out)
    }

    /// A non-negative number.
    pub(crate) fn number(&self, key: &str) -> Result<Option<f64>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if x >= 0.0 && x.is_finite() => Ok(Some(x)),
                _ => Err(
                    ConfigError::new(format!("expected a positive number, got {n}")).in_field(key),
                ),
            },
            Some(other) => Err(expected("a number", other).in_field(key)),
        }
    }
}

/// A scalar as text: strings as they are, numbers and booleans printed.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

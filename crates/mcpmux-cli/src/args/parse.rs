//! Value parsers for the command line: they validate, and do no I/O.

use std::time::Duration;

use serde_json::{Map, Value};

/// Parses `--timeout`: a positive, finite number of seconds.
pub fn timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if secs.is_nan() || secs <= 0.0 {
        return Err("the timeout must be more than 0 seconds".to_owned());
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}` seconds: {e}"))
}

/// Parses a number of seconds that may be 0 (`--startup-wait`).
pub fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if secs.is_nan() || secs < 0.0 {
        return Err("the number of seconds may not be negative".to_owned());
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}` seconds: {e}"))
}

/// Parses `--args`: a JSON object.
pub fn json_object(s: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "expected a JSON object such as '{{\"text\":\"hi\"}}', got {}",
            json_type(&other)
        )),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

/// Parses `--header 'Name: value'`.
pub fn header(s: &str) -> Result<(String, String), String> {
    let Some((name, value)) = s.split_once(':') else {
        return Err("expected 'Name: value'".to_owned());
    };
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("`{name}` is not a valid header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// Parses `--env KEY=VALUE` (an environment variable for an ad-hoc stdio server).
pub fn env_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.contains('\0') && !v.contains('\0') => {
            Ok((k.to_owned(), v.to_owned()))
        }
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// Parses a `KEY=VALUE` argument (the value is typed later, by the tool's schema).
pub fn pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!(
            "`{s}` is not KEY=VALUE (a stdio server's command goes after `--`)"
        )),
    }
}

/// The JSON type of a value, with an article, for error messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_parses_fractions_and_rejects_nonsense() {
        assert_eq!(timeout("1.5"), Ok(Duration::from_millis(1500)));
        assert!(timeout("0").is_err());
        assert!(timeout("-1").is_err());
        assert!(timeout("NaN").is_err());
        assert!(timeout("inf").is_err());
        assert!(timeout("abc").is_err());
    }

    #[test]
    fn args_must_be_an_object() {
        assert!(json_object(r#"{"a":1}"#).is_ok());
        assert!(json_object("[1]").is_err_and(|e| e.contains("an array")));
        assert!(json_object("nope").is_err_and(|e| e.contains("not valid JSON")));
    }

    #[test]
    fn headers_and_pairs() {
        assert_eq!(header("X-Key: a: b"), Ok(("X-Key".into(), "a: b".into())));
        assert!(header("nocolon").is_err());
        assert!(header(": v").is_err());
        assert_eq!(pair("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(pair("a="), Ok(("a".into(), String::new())));
        assert!(pair("=x").is_err());
        assert!(pair("server").is_err());
    }
}

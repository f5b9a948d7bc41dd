//! `envFile`: `KEY=value` lines, as VS Code and Cursor read them.

use crate::error::{ConfigError, Result};

/// Parses a dotenv file: `KEY=value` per line, `#` comments, blank lines, an optional `export `,
/// and values in single quotes (literal) or double quotes (`\n` escapes).
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(ConfigError::new(format!(
                "line {}: expected KEY=value",
                n + 1
            )));
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(ConfigError::new(format!(
                "line {}: bad name `{key}`",
                n + 1
            )));
        }
        let value = value.trim();
        let value = if let Some(v) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            v.to_owned()
        } else if let Some(v) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            v.replace("\\n", "\n").replace("\\\"", "\"")
        } else {
            // An unquoted value ends at a ` #` comment.
            value
                .split(" #")
                .next()
                .unwrap_or(value)
                .trim_end()
                .to_owned()
        };
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dotenv_lines() {
        let v = super::parse("# c\nA=1\nexport B='x y'\nC=\"l1\\nl2\"\nD=v # note\n\n").unwrap();
        assert_eq!(
            v,
            [("A", "1"), ("B", "x y"), ("C", "l1\nl2"), ("D", "v")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert!(super::parse("novalue").is_err());
    }
}

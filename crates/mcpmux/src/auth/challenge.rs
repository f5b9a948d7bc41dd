//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1).

/// What a 401 or 403 told us: the parameters of its `Bearer` (or `DPoP`) challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// `resource_metadata`: where the protected-resource metadata is (RFC 9728).
    pub(crate) resource_metadata: Option<String>,
    /// `scope`: the scopes the resource wants, space separated.
    pub(crate) scope: Option<String>,
    /// `error`: `invalid_token`, `insufficient_scope`, ...
    pub(crate) error: Option<String>,
    /// `error_description`, for messages.
    pub(crate) error_description: Option<String>,
    /// Whether the response carried a `Bearer` (or `DPoP`) challenge at all.
    pub(crate) bearer: bool,
}

impl Challenge {
    /// The scopes of `scope`, in order, without duplicates.
    pub(crate) fn scopes(&self) -> Vec<String> {
        split_scopes(self.scope.as_deref().unwrap_or(""))
    }

    /// Whether this is a step-up challenge (RFC 6750 `insufficient_scope`).
    pub(crate) fn insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// Splits a space-separated scope string, dropping empty parts and duplicates.
pub(crate) fn split_scopes(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split_ascii_whitespace() {
        if !out.iter().any(|p| p == part) {
            out.push(part.to_owned());
        }
    }
    out
}

/// Parses every `WWW-Authenticate` value of a response into the first `Bearer` or `DPoP`
/// challenge (the parameters of others are ignored). Lenient: a malformed header yields what
/// could be read, never an error.
pub(crate) fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Challenge {
    for value in values {
        for (scheme, params) in challenges(value) {
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop") {
                let mut c = Challenge {
                    bearer: true,
                    ..Challenge::default()
                };
                for (name, v) in params {
                    let slot = match name.to_ascii_lowercase().as_str() {
                        "resource_metadata" => &mut c.resource_metadata,
                        "scope" => &mut c.scope,
                        "error" => &mut c.error,
                        "error_description" => &mut c.error_description,
                        _ => continue,
                    };
                    slot.get_or_insert(v);
                }
                return c;
            }
        }
    }
    Challenge::default()
}

/// Splits one header value into challenges: `(scheme, [(name, value)])`.
fn challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = value.trim_start();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let (token, after) = take_token(rest);
        if token.is_empty() {
            // Not a token: skip one character so the loop always advances.
            let mut chars = rest.chars();
            chars.next();
            rest = chars.as_str();
            continue;
        }
        let after_ws = after.trim_start_matches([' ', '\t']);
        if let Some(v) = after_ws.strip_prefix('=')
            && !v.starts_with('=')
            && let Some((_, params)) = out.last_mut()
        {
            // name=value of the current challenge
            let (val, r) = take_value(v.trim_start_matches([' ', '\t']));
            params.push((token.to_owned(), val));
            rest = r;
        } else if after_ws.starts_with('=') {
            // A token68 (or `name=` with no challenge open): skip it.
            rest = after_ws.trim_start_matches('=');
        } else {
            out.push((token.to_owned(), Vec::new()));
            rest = after;
        }
    }
    out
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c)
}

fn take_token(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !is_tchar(c)).unwrap_or(s.len());
    s.split_at(end)
}

/// A token or a quoted string (with `\` escapes); returns the value and the rest.
fn take_value(s: &str) -> (String, &str) {
    if let Some(q) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = q.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return (out, &q[i + 1..]),
                '\\' => {
                    if let Some((_, e)) = chars.next() {
                        out.push(e);
                    }
                }
                c => out.push(c),
            }
        }
        (out, "") // unterminated: take what there is
    } else {
        let (t, r) = take_token(s);
        (t.to_owned(), r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bearer_parameters() {
        let c = parse([
            r#"Bearer resource_metadata="http://h/.well-known/oauth-protected-resource/mcp", scope="a b", error="insufficient_scope", error_description="needs \"b\"""#,
        ]);
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("http://h/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(c.scopes(), ["a", "b"]);
        assert!(c.insufficient_scope());
        assert_eq!(c.error_description.as_deref(), Some(r#"needs "b""#));
    }

    #[test]
    fn skips_other_schemes_and_token68() {
        let c = parse([r#"Basic realm="x", Negotiate abc==, Bearer scope=read"#]);
        assert_eq!(c.scope.as_deref(), Some("read"));
        let c = parse(["Basic realm=\"x\"", "bearer error=invalid_token"]);
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
    }

    #[test]
    fn survives_garbage() {
        for v in [
            "",
            "=",
            "Bearer",
            "Bearer scope=\"unterminated",
            "Bearer ,,, =x",
            "\u{e9}\u{e9} Bearer scope=x",
        ] {
            let _ = parse([v]);
        }
        assert_eq!(parse(["\u{e9} Bearer scope=x"]).scope.as_deref(), Some("x"));
        assert_eq!(
            parse(["Bearer"]),
            Challenge {
                bearer: true,
                ..Challenge::default()
            }
        );
        assert!(!parse(["Basic realm=x"]).bearer);
    }

    #[test]
    fn scopes_are_deduplicated() {
        assert_eq!(split_scopes(" a  b a "), ["a", "b"]);
    }
}

//! HTTP failures worded for a person: an HTML page by its title (never pasted whole), a hint on
//! 404 about the usual MCP paths, and a TLS handshake with a plain-HTTP port named as such.

use reqwest::StatusCode;

use crate::error::{Error, chain};

/// How much of a body that is not HTML an error message quotes.
const BODY_PREVIEW: usize = 300;
/// How much of a page's title an error message quotes.
const TITLE_MAX: usize = 120;

/// The hint for a URL that is not an MCP endpoint.
pub(super) const PATH_HINT: &str = "is this the server's MCP endpoint? Streamable HTTP servers \
     usually serve it at /mcp, legacy SSE servers at /sse";

/// Whether a body is an HTML page (by its content type or its first bytes).
fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if content_type.is_some_and(|t| t.to_ascii_lowercase().contains("html")) {
        return true;
    }
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let head = &body[start..body.len().min(start + 16)];
    let head = head.to_ascii_lowercase();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

/// The text of an HTML page's `<title>`, whitespace collapsed and cut short.
fn html_title(body: &[u8]) -> Option<String> {
    // The title is in the head: the first 64 KiB are plenty.
    let body = &body[..body.len().min(64 * 1024)];
    let lower = body.to_ascii_lowercase();
    let open = find(&lower, b"<title")?;
    let start = open + find(lower.get(open..)?, b">")? + 1;
    let len = find(lower.get(start..)?, b"</title")?;
    let raw = String::from_utf8_lossy(body.get(start..start + len)?);
    let title = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'");
    if title.is_empty() {
        return None;
    }
    Some(cut(&title, TITLE_MAX))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A response body in a few words: an HTML page by its title, an empty body as such, anything
/// else its start.
pub(super) fn describe_body(content_type: Option<&str>, body: &[u8]) -> String {
    if is_html(content_type, body) {
        return match html_title(body) {
            Some(title) => format!("an HTML page titled {title:?}"),
            None => "an HTML page".to_owned(),
        };
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "an empty body".to_owned();
    }
    format!("{:?}", cut(text, BODY_PREVIEW))
}

/// Whether a body is neither JSON nor empty: not an MCP answer at all (an HTML page, text).
pub(super) fn is_not_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| !matches!(b, b'{' | b'['))
}

/// The error for a refused request: its status, the body in a few words, and on 404 (or an
/// HTML page, which MCP servers do not send) where MCP endpoints usually are.
pub(super) fn status_error(
    what: &str,
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) -> Error {
    let mut message = format!("{what} {status}");
    if !body.iter().all(u8::is_ascii_whitespace) {
        message.push_str(" with ");
        message.push_str(&describe_body(content_type, body));
    }
    if status == StatusCode::NOT_FOUND || is_html(content_type, body) {
        message.push_str("; ");
        message.push_str(PATH_HINT);
    }
    Error::http(message, Some(status.as_u16()), None)
}

/// A request that got no answer, worded: a TLS handshake with a port that speaks plain HTTP
/// (rustls: "received corrupt message of type InvalidContentType") is named as such.
pub(super) fn send_error(what: &str, e: reqwest::Error) -> Error {
    let status = e.status().map(|s| s.as_u16());
    let detail = chain(&e);
    let url = e.url().filter(|u| u.scheme() == "https");
    if let Some(url) = url
        && is_plain_http_port(&detail)
    {
        let mut plain = url.clone();
        let _ = plain.set_scheme("http");
        let cause = innermost(&e);
        // No source: its chain would only repeat the TLS failure the message already names.
        return Error::http(
            format!(
                "{what}: the server does not speak TLS on this port: try {plain} (the TLS \
                 handshake with {url} failed: {cause})"
            ),
            status,
            None,
        );
    }
    if url.is_some() && is_untrusted_certificate(&detail) {
        return Error::http(
            format!(
                "{what}: the server's TLS certificate was not accepted: {}; if a private or test \
                 CA signed it, trust that CA (`ca_cert_pem`, mcpmux --ca-cert FILE, or \
                 SSL_CERT_FILE)",
                innermost(&e)
            ),
            status,
            Some(Box::new(e)),
        );
    }
    // The whole chain in the message: reqwest's own text ("error sending request for url …")
    // does not say whether the connect timed out, was refused or the connection was reset.
    Error::http(format!("{what}: {detail}"), status, Some(Box::new(e)))
}

/// The last error of a source chain.
fn innermost<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> &'a (dyn std::error::Error + 'static) {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause
}

/// Whether a TLS failure is the certificate check (rustls: "invalid peer certificate: …",
/// e.g. `UnknownIssuer`, a name mismatch, expiry).
fn is_untrusted_certificate(detail: &str) -> bool {
    detail.contains("invalid peer certificate")
}

/// Whether a TLS failure reads like the peer answered in plain HTTP.
fn is_plain_http_port(detail: &str) -> bool {
    [
        "InvalidContentType",
        "wrong version number",
        "corrupt message",
    ]
    .iter()
    .any(|s| detail.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_failures_are_recognised() {
        assert!(is_untrusted_certificate(
            "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer"
        ));
        assert!(!is_untrusted_certificate(
            "received corrupt message of type InvalidContentType"
        ));
    }

    #[test]
    fn an_html_page_is_described_by_its_title() {
        let page =
            b"\n<!DOCTYPE html>\n<html><head><TITLE>\n Welcome to\n nginx! &amp; co</TITLE></head>\
            <body>lots</body></html>";
        assert_eq!(
            describe_body(None, page),
            "an HTML page titled \"Welcome to nginx! & co\""
        );
        assert_eq!(
            describe_body(Some("text/html; charset=utf-8"), b"<p>no title</p>"),
            "an HTML page"
        );
        assert_eq!(describe_body(None, b"  \n"), "an empty body");
        let long = "x".repeat(1000);
        let shown = describe_body(Some("text/plain"), long.as_bytes());
        assert!(shown.len() < 320 && shown.ends_with("…\""), "{shown}");
        assert!(is_not_json(page) && !is_not_json(b" {\"a\":1}") && !is_not_json(b""));
    }

    #[test]
    fn a_404_hints_at_the_usual_paths() {
        let e = status_error(
            "the server answered",
            StatusCode::NOT_FOUND,
            Some("text/html"),
            b"<html><title>Not Found</title></html>",
        );
        let shown = e.to_string();
        assert!(
            shown.contains("404 Not Found with an HTML page titled \"Not Found\"")
                && shown.contains("/mcp")
                && shown.contains("/sse"),
            "{shown}"
        );
        assert_eq!(e.http_status(), Some(404));
        let e = status_error(
            "the server answered",
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            b"busy",
        );
        assert!(!e.to_string().contains("/mcp"), "{e}");
    }
}

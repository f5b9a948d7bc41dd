//! `--http-oauth-ttl SECONDS`: the server is an OAuth-protected resource with a minimal
//! authorization server of its own on the same origin, for tests and benchmarks of the client's
//! OAuth at scale (the interop tests use the Python SDK's authorization server).
//!
//! - `/.well-known/oauth-protected-resource/mcp` and `/.well-known/oauth-authorization-server`
//!   (issuer: the origin the request came to; PKCE S256; registration; public clients).
//! - `POST /register` (any client), `GET /authorize` (approves at once: 302 to the redirect URI
//!   with `code`, `state` and `iss`), `POST /token` (`authorization_code` with the PKCE check,
//!   `refresh_token` with rotation: a refresh token works once).
//! - `/mcp`, `/sse` and the legacy message path want `Authorization: Bearer <token>` that is
//!   known and not expired (tokens live SECONDS); else 401 with a `resource_metadata` challenge.
//! - `GET /oauth/counters`: registrations, authorizations, code exchanges, refreshes, rejected
//!   refreshes, rejected requests; `POST /oauth/expire`: every access token expires now.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use super::App;
use crate::handler::lock;

/// The authorization server's state.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    tokens: Mutex<Tokens>,
    next: AtomicU64,
    registrations: AtomicU64,
    authorizations: AtomicU64,
    code_exchanges: AtomicU64,
    refreshes: AtomicU64,
    rejected_refreshes: AtomicU64,
    rejected_requests: AtomicU64,
}

#[derive(Debug, Default)]
struct Tokens {
    access: HashMap<String, Instant>,
    refresh: HashSet<String>,
    /// code → PKCE challenge
    codes: HashMap<String, String>,
}

impl OAuth {
    fn id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn issue(&self, ttl: Duration) -> serde_json::Value {
        let access = self.id("at");
        let refresh = self.id("rt");
        let mut t = lock(&self.tokens);
        t.access.insert(access.clone(), Instant::now() + ttl);
        t.refresh.insert(refresh.clone());
        serde_json::json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl.as_secs(),
            "refresh_token": refresh,
            "scope": "mcp",
        })
    }
}

/// The server's origin as the client addressed it: `https` when it serves TLS; the authority
/// of the request target (HTTP/2's `:authority`) or else the `Host` header (HTTP/1.1).
fn origin(app: &App, uri: &Uri, headers: &HeaderMap) -> String {
    let host = uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
        .unwrap_or("127.0.0.1");
    let scheme = if app.opts.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// Decodes `application/x-www-form-urlencoded` (a body or a query).
fn form(s: &str) -> HashMap<String, String> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

pub(crate) async fn resource_metadata(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let o = origin(&app, &uri, &headers);
    json(
        StatusCode::OK,
        serde_json::json!({
            "resource": format!("{o}/mcp"),
            "authorization_servers": [o],
            "scopes_supported": ["mcp"],
        }),
    )
}

pub(crate) async fn server_metadata(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let o = origin(&app, &uri, &headers);
    json(
        StatusCode::OK,
        serde_json::json!({
            "issuer": o,
            "authorization_endpoint": format!("{o}/authorize"),
            "token_endpoint": format!("{o}/token"),
            "registration_endpoint": format!("{o}/register"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "authorization_response_iss_parameter_supported": true,
        }),
    )
}

pub(crate) async fn register(State(app): State<Arc<App>>) -> Response {
    let oauth = &app.oauth;
    oauth.registrations.fetch_add(1, Ordering::Relaxed);
    json(
        StatusCode::CREATED,
        serde_json::json!({"client_id": oauth.id("client"), "token_endpoint_auth_method": "none"}),
    )
}

pub(crate) async fn authorize(State(app): State<Arc<App>>, request: Request) -> Response {
    let q = form(request.uri().query().unwrap_or(""));
    let (Some(redirect), Some(challenge)) = (q.get("redirect_uri"), q.get("code_challenge")) else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "invalid_request"}),
        );
    };
    app.oauth.authorizations.fetch_add(1, Ordering::Relaxed);
    let code = app.oauth.id("code");
    lock(&app.oauth.tokens)
        .codes
        .insert(code.clone(), challenge.clone());
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let location = format!(
        "{redirect}{sep}code={}&state={}&iss={}",
        enc(&code),
        enc(q.get("state").map(String::as_str).unwrap_or("")),
        enc(&origin(&app, request.uri(), request.headers()))
    );
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

pub(crate) async fn token(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let f = form(&String::from_utf8_lossy(&body));
    let oauth = &app.oauth;
    let ttl = Duration::from_secs(app.opts.oauth_ttl.unwrap_or(3600));
    let refused = |error: &str| json(StatusCode::BAD_REQUEST, serde_json::json!({"error": error}));
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let challenge = f
                .get("code")
                .and_then(|c| lock(&oauth.tokens).codes.remove(c));
            let verifier = f.get("code_verifier").map(String::as_str).unwrap_or("");
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if challenge.as_deref() != Some(computed.as_str()) {
                return refused("invalid_grant");
            }
            oauth.code_exchanges.fetch_add(1, Ordering::Relaxed);
            json(StatusCode::OK, oauth.issue(ttl))
        }
        Some("refresh_token") => {
            let known = f
                .get("refresh_token")
                .is_some_and(|r| lock(&oauth.tokens).refresh.remove(r));
            if !known {
                oauth.rejected_refreshes.fetch_add(1, Ordering::Relaxed);
                return refused("invalid_grant");
            }
            oauth.refreshes.fetch_add(1, Ordering::Relaxed);
            json(StatusCode::OK, oauth.issue(ttl))
        }
        _ => refused("unsupported_grant_type"),
    }
}

pub(crate) async fn counters(State(app): State<Arc<App>>) -> Response {
    let o = &app.oauth;
    let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
    json(
        StatusCode::OK,
        serde_json::json!({
            "registrations": n(&o.registrations),
            "authorizations": n(&o.authorizations),
            "code_exchanges": n(&o.code_exchanges),
            "refreshes": n(&o.refreshes),
            "rejected_refreshes": n(&o.rejected_refreshes),
            "rejected_requests": n(&o.rejected_requests),
        }),
    )
}

pub(crate) async fn expire(State(app): State<Arc<App>>) -> Response {
    let now = Instant::now();
    for at in lock(&app.oauth.tokens).access.values_mut() {
        *at = now;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The bearer check in front of the MCP routes.
pub(crate) async fn require_token(
    State(app): State<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = token.is_some_and(|t| {
        lock(&app.oauth.tokens)
            .access
            .get(t)
            .is_some_and(|until| Instant::now() < *until)
    });
    if valid {
        return next.run(request).await;
    }
    app.oauth.rejected_requests.fetch_add(1, Ordering::Relaxed);
    let challenge = format!(
        "Bearer error=\"invalid_token\", resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
        origin(&app, request.uri(), request.headers())
    );
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let f = form("a=1+2&b=%2Fx%3D&c&bad=%zz&end=%4");
        assert_eq!(f["a"], "1 2");
        assert_eq!(f["b"], "/x=");
        assert_eq!(f["c"], "");
        assert_eq!(f["bad"], "%zz");
        assert_eq!(f["end"], "%4");
    }
}

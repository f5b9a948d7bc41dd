//! Who may talk to the gateway: the `Host` a request names (DNS rebinding protection), the
//! `Origin` a browser sends, and the bearer token. Checked before any route.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::App;
use super::reply;

/// The host names of the loopback addresses.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// What the gateway lets in.
#[derive(Debug)]
pub(crate) struct Guard {
    /// The hosts a request may name (any port); empty: any.
    hosts: Vec<String>,
    /// Origins allowed besides the loopback ones.
    origins: Vec<String>,
    /// SHA-256 of the bearer token, compared in constant time.
    token: Option<[u8; 32]>,
}

impl Guard {
    /// The rules for a listener on `addr`.
    pub(crate) fn new(addr: SocketAddr, opts: &super::HttpOptions) -> Guard {
        let mut hosts = opts.allowed_hosts.clone();
        if addr.ip().is_loopback() || !hosts.is_empty() {
            hosts.extend(LOOPBACK_NAMES.iter().map(|h| (*h).to_owned()));
        }
        Guard {
            hosts,
            origins: opts.allowed_origins.clone(),
            token: opts.token.as_deref().map(digest),
        }
    }

    /// Checks one request's headers: the error response if it may not pass.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), Response> {
        if !self.hosts.is_empty() {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            match host.map(host_name) {
                Some(name) if self.hosts.contains(&name) => {}
                _ => {
                    return Err(reply::error(
                        StatusCode::FORBIDDEN,
                        "forbidden: the Host header names a host this server does not serve",
                    ));
                }
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let allowed = origin.to_str().ok().is_some_and(|o| self.origin_allowed(o));
            if !allowed {
                return Err(reply::error(
                    StatusCode::FORBIDDEN,
                    "forbidden: requests from this Origin are not allowed",
                ));
            }
        }
        if let Some(expected) = &self.token {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(bearer);
            let ok = presented.is_some_and(|t| bool::from(digest(t).ct_eq(expected)));
            if !ok {
                let mut response = reply::error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized: a bearer token is required",
                );
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
                return Err(response);
            }
        }
        Ok(())
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.origins.contains(&origin) {
            return true;
        }
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        (scheme == "http" || scheme == "https")
            && LOOPBACK_NAMES.contains(&host_name(rest).as_str())
    }
}

/// The host name of a `Host` header value (or of an origin's authority): without the port,
/// lowercase; an IPv6 address keeps its brackets.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if host.starts_with('[') {
        match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    name.to_ascii_lowercase()
}

/// The token of an `Authorization: Bearer <token>` value.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The middleware: every request passes the guard first.
pub(crate) async fn layer(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    match app.guard.check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(response) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                k.clone(),
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    fn loopback(opts: super::super::HttpOptions) -> Guard {
        Guard::new(SocketAddr::from(([127, 0, 0, 1], 8080)), &opts)
    }

    fn status(guard: &Guard, pairs: &[(header::HeaderName, &str)]) -> Option<StatusCode> {
        guard.check(&headers(pairs)).err().map(|r| r.status())
    }

    #[test]
    fn loopback_hosts_pass_and_others_are_forbidden() {
        let g = loopback(super::super::HttpOptions::new());
        for ok in [
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:9",
            "LOCALHOST",
            "127.0.0.1",
        ] {
            assert_eq!(status(&g, &[(header::HOST, ok)]), None, "{ok}");
        }
        for bad in [
            "evil.example.com",
            "evil.example.com:8080",
            "localhost.evil:80",
            "[::2]:1",
        ] {
            assert_eq!(
                status(&g, &[(header::HOST, bad)]),
                Some(StatusCode::FORBIDDEN),
                "{bad}"
            );
        }
        assert_eq!(
            status(&g, &[]),
            Some(StatusCode::FORBIDDEN),
            "no Host at all"
        );
        let any = Guard::new(
            SocketAddr::from(([0, 0, 0, 0], 1)),
            &super::super::HttpOptions::new(),
        );
        assert_eq!(status(&any, &[(header::HOST, "gw.example:1")]), None);
        let named = loopback(super::super::HttpOptions::new().allow_host("GW.example"));
        assert_eq!(status(&named, &[(header::HOST, "gw.example:1")]), None);
    }

    #[test]
    fn origins_other_than_loopback_and_the_allowed_ones_are_forbidden() {
        let g = loopback(super::super::HttpOptions::new().allow_origin("https://app.example/"));
        let host = (header::HOST, "localhost:1");
        for ok in [
            "http://localhost:3000",
            "https://127.0.0.1",
            "http://[::1]:5",
            "https://app.example",
        ] {
            assert_eq!(
                status(&g, &[host.clone(), (header::ORIGIN, ok)]),
                None,
                "{ok}"
            );
        }
        for bad in [
            "http://evil.example.com",
            "null",
            "https://app.example:444",
            "localhost",
        ] {
            assert_eq!(
                status(&g, &[host.clone(), (header::ORIGIN, bad)]),
                Some(StatusCode::FORBIDDEN),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_bearer_token_is_required_when_set() {
        let g = loopback(super::super::HttpOptions::new().bearer_token("t0ken"));
        let host = (header::HOST, "localhost:1");
        let denied = g.check(&headers(std::slice::from_ref(&host))).err();
        assert_eq!(
            denied.as_ref().map(Response::status),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            denied
                .as_ref()
                .and_then(|r| r.headers().get(header::WWW_AUTHENTICATE))
                .map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
        for bad in ["Bearer t0ke", "Bearer t0ken2", "Basic t0ken", "t0ken"] {
            assert_eq!(
                status(&g, &[host.clone(), (header::AUTHORIZATION, bad)]),
                Some(StatusCode::UNAUTHORIZED),
                "{bad}"
            );
        }
        assert_eq!(
            status(&g, &[host.clone(), (header::AUTHORIZATION, "Bearer t0ken")]),
            None
        );
        assert_eq!(
            status(&g, &[host, (header::AUTHORIZATION, "bearer  t0ken ")]),
            None
        );
    }
}

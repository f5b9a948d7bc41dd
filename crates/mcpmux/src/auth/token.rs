//! Token endpoint requests (RFC 6749 §3.2, §4.1.3, §4.4, §6): the grant's parameters, the
//! client's authentication (`none`, `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt`), the RFC 8707 `resource`, and the answer read into [`Tokens`].
//!
//! Hand-written rather than the `oauth2` crate's typed client: the parts MCP needs (a client
//! authentication method chosen at run time from a registration, `resource` on every grant,
//! JWT client assertions, errors read without ever echoing a token) are a form POST and a JSON
//! answer, and that crate pins another reqwest major version.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;

use super::discovery::read_limited;
use super::jwt::{DpopKey, SigningKey};
use super::store::{Registration, Tokens, now};
use crate::error::Error;

const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the token endpoint answered with an error.
#[derive(Debug)]
pub(crate) enum TokenFailure {
    /// An OAuth error answer (`invalid_grant`, `invalid_client`, ...).
    Refused {
        error: String,
        description: Option<String>,
        status: u16,
    },
    /// Anything else (unreachable, not JSON, ...).
    Failed(Error),
}

impl TokenFailure {
    pub(crate) fn into_error(self, what: &str) -> Error {
        match self {
            TokenFailure::Refused {
                error,
                description,
                status,
            } => {
                let mut m = format!("{what}: the authorization server answered {status} {error}");
                if let Some(d) = description.filter(|d| !d.is_empty()) {
                    m.push_str(&format!(" ({})", truncate(&d, 300)));
                }
                Error::auth_status(m, status)
            }
            TokenFailure::Failed(e) => Error::auth(format!("{what}: {e}")),
        }
    }

    pub(crate) fn is_invalid_grant(&self) -> bool {
        matches!(self, TokenFailure::Refused { error, .. } if error == "invalid_grant")
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// One token request.
#[derive(Debug)]
pub(crate) struct TokenRequest<'a> {
    pub(crate) endpoint: &'a Url,
    /// The issuer (the audience of a client assertion).
    pub(crate) issuer: &'a str,
    pub(crate) client: &'a Registration,
    pub(crate) signing_key: Option<&'a SigningKey>,
    /// The grant's own parameters (`grant_type` first).
    pub(crate) params: Vec<(&'static str, String)>,
    /// RFC 8707 `resource`, unless the server's authorization server rejects it.
    pub(crate) resource: Option<&'a str>,
    /// The DPoP key to prove possession of (RFC 9449 §5): the token comes back bound to it.
    pub(crate) dpop: Option<&'a DpopKey>,
}

impl TokenRequest<'_> {
    /// Sends the request; on success the tokens for `resource` (the refresh token of `previous`
    /// kept when the answer has none).
    pub(crate) async fn send(
        self,
        http: &reqwest::Client,
        resource: &str,
        requested_scopes: &[String],
        previous_refresh: Option<&str>,
    ) -> std::result::Result<Tokens, TokenFailure> {
        let (status, bytes) = self.post(http).await?;
        if !status.is_success() {
            return Err(refusal(status, &bytes, self.endpoint));
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|e| {
            // Never quote the body: it may hold a token.
            TokenFailure::Failed(Error::auth(format!(
                "the token endpoint {} answered with no usable token ({e})",
                self.endpoint
            )))
        })?;
        let lifetime = answer.expires_in.as_ref().and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
        let scopes = match &answer.scope {
            Some(s) => super::challenge::split_scopes(s),
            None => requested_scopes.to_vec(),
        };
        let is_dpop = answer
            .token_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("dpop"));
        Ok(Tokens {
            issuer: self.issuer.to_owned(),
            resource: resource.to_owned(),
            client_id: self.client.client_id.clone(),
            access_token: answer.access_token,
            token_type: answer.token_type.unwrap_or_else(|| "Bearer".to_owned()),
            refresh_token: answer
                .refresh_token
                .or_else(|| previous_refresh.map(str::to_owned)),
            expires_at: lifetime.map(|l| now().saturating_add(l)),
            lifetime,
            scopes,
            dpop_key: self.dpop.filter(|_| is_dpop).map(DpopKey::to_stored),
        })
    }

    /// Sends the form with the client's authentication; the status and body.
    pub(crate) async fn post(
        &self,
        http: &reqwest::Client,
    ) -> std::result::Result<(reqwest::StatusCode, Vec<u8>), TokenFailure> {
        let mut nonce: Option<String> = None;
        loop {
            let retried = nonce.is_some();
            let resp = self
                .request(http, nonce.as_deref())?
                .send()
                .await
                .map_err(|e| {
                    TokenFailure::Failed(Error::auth(format!(
                        "the token request to {} failed: {}",
                        self.endpoint,
                        crate::error::chain(&e)
                    )))
                })?;
            let status = resp.status();
            let server_nonce = resp
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = read_limited(resp, 256 * 1024)
                .await
                .map_err(TokenFailure::Failed)?;
            // RFC 9449 §8: a server that wants a nonce says so once; send it back.
            if self.dpop.is_some()
                && !retried
                && status == reqwest::StatusCode::BAD_REQUEST
                && let Some(n) = server_nonce
                && serde_json::from_slice::<ErrorAnswer>(&bytes)
                    .is_ok_and(|e| e.error == "use_dpop_nonce")
            {
                nonce = Some(n);
                continue;
            }
            return Ok((status, bytes));
        }
    }

    /// The request: the form with the client's authentication, and a DPoP proof.
    fn request(
        &self,
        http: &reqwest::Client,
        nonce: Option<&str>,
    ) -> std::result::Result<reqwest::RequestBuilder, TokenFailure> {
        let mut form = self.params.clone();
        if let Some(r) = self.resource {
            form.push(("resource", r.to_owned()));
        }
        let mut req = http
            .post(self.endpoint.clone())
            .header(ACCEPT, "application/json")
            .timeout(TOKEN_TIMEOUT);
        if let Some(key) = self.dpop {
            let proof = key
                .proof("POST", self.endpoint, None, nonce)
                .map_err(TokenFailure::Failed)?;
            req = req.header("DPoP", proof);
        }
        match self.client.auth_method.as_str() {
            "client_secret_basic" => {
                let secret = self.client.client_secret.as_deref().unwrap_or("");
                // RFC 6749 §2.3.1: both parts form-encoded before base64.
                let pair = format!(
                    "{}:{}",
                    form_encode(&self.client.client_id),
                    form_encode(secret)
                );
                let mut v = reqwest::header::HeaderValue::from_str(&format!(
                    "Basic {}",
                    STANDARD.encode(pair)
                ))
                .map_err(|_| {
                    TokenFailure::Failed(Error::auth(
                        "the client credentials are not a valid header value",
                    ))
                })?;
                v.set_sensitive(true);
                req = req.header(AUTHORIZATION, v);
            }
            "client_secret_post" => {
                form.push(("client_id", self.client.client_id.clone()));
                form.push((
                    "client_secret",
                    self.client.client_secret.clone().unwrap_or_default(),
                ));
            }
            "private_key_jwt" => {
                let key = self.signing_key.ok_or_else(|| {
                    TokenFailure::Failed(Error::auth(
                        "private_key_jwt client authentication needs a private key",
                    ))
                })?;
                let assertion =
                    super::jwt::client_assertion(key, &self.client.client_id, self.issuer)
                        .map_err(TokenFailure::Failed)?;
                form.push(("client_id", self.client.client_id.clone()));
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                form.push(("client_assertion", assertion));
            }
            _ => form.push(("client_id", self.client.client_id.clone())),
        }
        Ok(req
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode_form(&form)))
    }
}

/// An error answer of the token (or revocation) endpoint.
fn refusal(status: reqwest::StatusCode, bytes: &[u8], endpoint: &Url) -> TokenFailure {
    match serde_json::from_slice::<ErrorAnswer>(bytes) {
        Ok(e) => TokenFailure::Refused {
            error: e.error,
            description: e.error_description,
            status: status.as_u16(),
        },
        Err(_) => TokenFailure::Failed(Error::auth_status(
            format!("the endpoint {endpoint} answered {status}"),
            status.as_u16(),
        )),
    }
}

/// Revokes `token` (RFC 7009) with the client's authentication.
pub(crate) async fn revoke(
    http: &reqwest::Client,
    request: TokenRequest<'_>,
) -> std::result::Result<(), TokenFailure> {
    let endpoint = request.endpoint;
    let (status, bytes) = request.post(http).await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(refusal(status, &bytes, endpoint))
    }
}

/// `application/x-www-form-urlencoded` of one value.
pub(crate) fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A whole form body.
pub(crate) fn encode_form(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            encode_form(&[("grant_type", "refresh_token".into()), ("x", "1 2".into())]),
            "grant_type=refresh_token&x=1+2"
        );
    }

    #[test]
    fn refused_errors_name_the_oauth_error_only() {
        let e = TokenFailure::Refused {
            error: "invalid_grant".into(),
            description: Some("expired".into()),
            status: 400,
        };
        assert!(e.is_invalid_grant());
        let e = e.into_error("refreshing failed");
        assert!(e.is_auth());
        assert_eq!(e.http_status(), Some(400));
        assert!(e.to_string().contains("invalid_grant (expired)"), "{e}");
    }
}

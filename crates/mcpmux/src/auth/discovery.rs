//! Finding the authorization server of a protected MCP server: protected-resource metadata
//! (RFC 9728), authorization-server metadata (RFC 8414, OpenID Connect discovery), and the
//! 2025-03-26 fallbacks, in the order the MCP specification gives.

use std::time::Duration;

use reqwest::Url;
use reqwest::header::ACCEPT;
use serde::Deserialize;

use super::challenge::Challenge;
use crate::error::{Error, Result};

/// How long one metadata request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest metadata document read.
const MAX_METADATA: usize = 1024 * 1024;

/// Protected-resource metadata (RFC 9728 §2), the fields we use.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResourceMetadata {
    pub(crate) resource: Option<String>,
    #[serde(default)]
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
}

/// Authorization-server metadata (RFC 8414 §2), the fields we use.
#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct ServerMetadata {
    pub(crate) issuer: Option<String>,
    pub(crate) authorization_endpoint: Option<String>,
    pub(crate) token_endpoint: Option<String>,
    pub(crate) registration_endpoint: Option<String>,
    pub(crate) revocation_endpoint: Option<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
    pub(crate) code_challenge_methods_supported: Option<Vec<String>>,
    pub(crate) token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) client_id_metadata_document_supported: bool,
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: bool,
    pub(crate) dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// Where to authorize for one protected resource.
#[derive(Debug, Clone)]
pub(crate) struct Discovered {
    /// The RFC 8707 `resource` value: the metadata's `resource`, else the server URL.
    pub(crate) resource: String,
    /// The protected-resource metadata, when the server has any.
    pub(crate) resource_metadata: Option<ResourceMetadata>,
    /// The issuer identifier: from the resource metadata, else the server's origin (2025-03-26).
    pub(crate) issuer: String,
    /// The authorization server's metadata; `None` when it has none and the 2025-03-26 default
    /// endpoints are used.
    pub(crate) metadata: Option<ServerMetadata>,
    pub(crate) authorization_endpoint: Url,
    pub(crate) token_endpoint: Url,
    pub(crate) registration_endpoint: Option<Url>,
    pub(crate) revocation_endpoint: Option<Url>,
}

impl Discovered {
    /// Whether the authorization server says it supports `what` in `list` (absent = unknown).
    pub(crate) fn auth_methods(&self) -> Option<&[String]> {
        self.metadata
            .as_ref()
            .and_then(|m| m.token_endpoint_auth_methods_supported.as_deref())
    }

    /// Whether tokens are to be DPoP-bound: the authorization server signs DPoP proofs with
    /// ES256 (RFC 9449 §5.1), the algorithm mcpmux's proofs use.
    pub(crate) fn dpop(&self) -> bool {
        self.metadata
            .as_ref()
            .and_then(|m| m.dpop_signing_alg_values_supported.as_deref())
            .is_some_and(|algs| algs.iter().any(|a| a == "ES256"))
    }

    /// The scopes the authorization server lists, if it does.
    pub(crate) fn server_scopes(&self) -> &[String] {
        self.metadata
            .as_ref()
            .and_then(|m| m.scopes_supported.as_deref())
            .unwrap_or(&[])
    }
}

/// Runs discovery for `server` after a challenge.
pub(crate) async fn discover(
    client: &reqwest::Client,
    server: &Url,
    challenge: &Challenge,
) -> Result<Discovered> {
    let prm = fetch_resource_metadata(client, server, challenge).await?;
    let (resource, issuer) = match &prm {
        Some(m) => {
            let resource = match &m.resource {
                Some(r) => {
                    check_resource(r, server)?;
                    r.clone()
                }
                None => canonical_resource(server),
            };
            let Some(issuer) = m.authorization_servers.first() else {
                return Err(Error::auth(format!(
                    "the protected-resource metadata of {server} names no authorization server"
                )));
            };
            (resource, issuer.clone())
        }
        // 2025-03-26: no resource metadata; the server's origin is the authorization server.
        None => (
            canonical_resource(server),
            server.origin().ascii_serialization(),
        ),
    };
    let issuer_url = Url::parse(&issuer).map_err(|e| {
        Error::auth(format!(
            "the authorization server {issuer:?} of {server} is not a URL: {e}"
        ))
    })?;
    if !matches!(issuer_url.scheme(), "http" | "https") {
        return Err(Error::auth(format!(
            "the authorization server {issuer} of {server} is not an http(s) URL"
        )));
    }
    // The issuer must match where its metadata was found when the resource named it; the
    // 2025-03-26 servers (no resource metadata) publish their own at their root, as they are.
    let metadata = fetch_server_metadata(client, &issuer, &issuer_url, prm.is_some()).await?;
    let endpoint = |field: Option<&String>, name: &str, default: &str| -> Result<Option<Url>> {
        match field {
            Some(u) => Url::parse(u).map(Some).map_err(|e| {
                Error::auth(format!(
                    "the {name} {u:?} of authorization server {issuer} is not a URL: {e}"
                ))
            }),
            None if metadata.is_none() && !default.is_empty() => Ok(issuer_url.join(default).ok()),
            None => Ok(None),
        }
    };
    let m = metadata.clone().unwrap_or_default();
    let authorization_endpoint = endpoint(
        m.authorization_endpoint.as_ref(),
        "authorization endpoint",
        "/authorize",
    )?;
    let token_endpoint = endpoint(m.token_endpoint.as_ref(), "token endpoint", "/token")?
        .ok_or_else(|| {
            Error::auth(format!(
                "the metadata of authorization server {issuer} has no token_endpoint"
            ))
        })?;
    let registration_endpoint = endpoint(
        m.registration_endpoint.as_ref(),
        "registration endpoint",
        "/register",
    )?;
    let revocation_endpoint = endpoint(m.revocation_endpoint.as_ref(), "revocation endpoint", "")?;
    // Without an authorization endpoint only machine-to-machine grants work; the login says so.
    let authorization_endpoint = authorization_endpoint.unwrap_or_else(|| token_endpoint.clone());
    Ok(Discovered {
        resource,
        resource_metadata: prm,
        issuer,
        metadata,
        authorization_endpoint,
        token_endpoint,
        registration_endpoint,
        revocation_endpoint,
    })
}

/// The server URL as an RFC 8707 resource: without fragment.
pub(crate) fn canonical_resource(server: &Url) -> String {
    let mut u = server.clone();
    u.set_fragment(None);
    u.to_string()
}

/// The resource metadata must describe this server: the same origin, and a path that is the
/// server's path or one of its parents.
fn check_resource(resource: &str, server: &Url) -> Result<()> {
    let ok = Url::parse(resource).is_ok_and(|r| {
        let same_origin = r.scheme() == server.scheme()
            && r.host_str() == server.host_str()
            && r.port_or_known_default() == server.port_or_known_default();
        let parent = r.path().trim_end_matches('/');
        let path = server.path().trim_end_matches('/');
        same_origin
            && (path == parent
                || path
                    .strip_prefix(parent)
                    .is_some_and(|rest| rest.starts_with('/')))
    });
    if ok {
        Ok(())
    } else {
        Err(Error::auth(format!(
            "the protected-resource metadata of {server} is for another resource, {resource}: not authorizing (a misconfigured or malicious server)"
        )))
    }
}

/// The protected-resource metadata URLs to try, in order: the challenge's `resource_metadata`,
/// the path-based well-known URL, the root one.
fn resource_metadata_urls(server: &Url, challenge: &Challenge) -> Vec<Url> {
    let mut urls = Vec::new();
    if let Some(u) = challenge
        .resource_metadata
        .as_deref()
        .and_then(|u| server.join(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
    {
        urls.push(u);
    }
    let path = server.path().trim_end_matches('/');
    let mut base = server.clone();
    base.set_query(None);
    base.set_fragment(None);
    if !path.is_empty() {
        base.set_path(&format!("/.well-known/oauth-protected-resource{path}"));
        urls.push(base.clone());
    }
    base.set_path("/.well-known/oauth-protected-resource");
    urls.push(base);
    urls.dedup();
    urls
}

/// The authorization-server metadata URLs for an issuer, in the specification's order.
fn server_metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut base = issuer.clone();
    base.set_query(None);
    base.set_fragment(None);
    let paths = if path.is_empty() {
        vec![
            "/.well-known/oauth-authorization-server".to_owned(),
            "/.well-known/openid-configuration".to_owned(),
        ]
    } else {
        vec![
            format!("/.well-known/oauth-authorization-server{path}"),
            format!("/.well-known/openid-configuration{path}"),
            format!("{path}/.well-known/openid-configuration"),
        ]
    };
    paths
        .into_iter()
        .map(|p| {
            let mut u = base.clone();
            u.set_path(&p);
            u
        })
        .collect()
}

async fn fetch_resource_metadata(
    client: &reqwest::Client,
    server: &Url,
    challenge: &Challenge,
) -> Result<Option<ResourceMetadata>> {
    for url in resource_metadata_urls(server, challenge) {
        if let Some(m) = fetch_json::<ResourceMetadata>(client, &url).await? {
            tracing::debug!(%url, "protected-resource metadata found");
            return Ok(Some(m));
        }
    }
    Ok(None)
}

async fn fetch_server_metadata(
    client: &reqwest::Client,
    issuer: &str,
    issuer_url: &Url,
    check_issuer: bool,
) -> Result<Option<ServerMetadata>> {
    for url in server_metadata_urls(issuer_url) {
        if let Some(m) = fetch_json::<ServerMetadata>(client, &url).await? {
            if !check_issuer {
                return Ok(Some(m));
            }
            // RFC 8414 §3.3: the issuer must be the one the URL was built from.
            let same = m.issuer.as_deref().is_some_and(|i| {
                i == issuer || i.trim_end_matches('/') == issuer.trim_end_matches('/')
            });
            if !same {
                return Err(Error::auth(format!(
                    "the authorization-server metadata at {url} names issuer {:?}, not {issuer}: not using it (a misconfigured or impersonated authorization server)",
                    m.issuer.as_deref().unwrap_or("(none)")
                )));
            }
            tracing::debug!(%url, "authorization-server metadata found");
            return Ok(Some(m));
        }
    }
    tracing::debug!(%issuer, "no authorization-server metadata: using the default endpoints");
    Ok(None)
}

/// GETs `url` as JSON: `None` for a 4xx answer or a body that is not the expected JSON object
/// (try the next location), an error when the server cannot be reached or fails (5xx).
async fn fetch_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &Url,
) -> Result<Option<T>> {
    let resp = client
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            Error::auth(format!(
                "fetching {url} failed: {}",
                crate::error::chain(&e)
            ))
        })?;
    let status = resp.status();
    if status.is_client_error() {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(Error::auth_status(
            format!("fetching {url} failed: {status}"),
            status.as_u16(),
        ));
    }
    let body = read_limited(resp, MAX_METADATA).await?;
    Ok(serde_json::from_slice(&body).ok())
}

/// Reads a body up to `limit` bytes.
pub(crate) async fn read_limited(resp: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let url = resp.url().clone();
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Error::auth(format!("reading {url} failed: {}", crate::error::chain(&e)))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(Error::auth(format!(
                "{url} answered with more than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn resource_metadata_order() {
        let c = Challenge {
            resource_metadata: Some("http://h:1/custom/m.json".into()),
            ..Challenge::default()
        };
        let got: Vec<String> = resource_metadata_urls(&url("http://h:1/mcp?x=1"), &c)
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "http://h:1/custom/m.json",
                "http://h:1/.well-known/oauth-protected-resource/mcp",
                "http://h:1/.well-known/oauth-protected-resource"
            ]
        );
        let got = resource_metadata_urls(&url("http://h/"), &Challenge::default());
        assert_eq!(got, [url("http://h/.well-known/oauth-protected-resource")]);
    }

    #[test]
    fn server_metadata_order() {
        let got: Vec<String> = server_metadata_urls(&url("https://as/tenant1"))
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "https://as/.well-known/oauth-authorization-server/tenant1",
                "https://as/.well-known/openid-configuration/tenant1",
                "https://as/tenant1/.well-known/openid-configuration"
            ]
        );
        let got: Vec<String> = server_metadata_urls(&url("https://as"))
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "https://as/.well-known/oauth-authorization-server",
                "https://as/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn resources_must_cover_the_server() {
        let server = url("http://h:1/mcp");
        for ok in [
            "http://h:1/mcp",
            "http://h:1",
            "http://h:1/",
            "http://h:1/mcp/",
        ] {
            assert!(check_resource(ok, &server).is_ok(), "{ok}");
        }
        for bad in [
            "https://evil.example.com/mcp",
            "http://h:2/mcp",
            "https://h:1/mcp",
            "http://h:1/mc",
            "http://h:1/mcp/sub",
            "not a url",
        ] {
            let e = check_resource(bad, &server).err();
            assert!(e.is_some_and(|e| e.is_auth()), "{bad}");
        }
    }
}

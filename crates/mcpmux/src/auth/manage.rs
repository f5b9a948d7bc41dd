//! Logging in, out and looking at what is stored, outside a connection (`mcpmux auth`).

use std::sync::Arc;

use reqwest::Url;
use serde::Serialize;

use super::authorizer::Authorizer;
use super::config::OAuthConfig;
use super::store::{TokenStore, Tokens};
use crate::error::{Error, Result};

/// What the token store holds for one server — never a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthStatus {
    /// The server URL.
    pub server: String,
    /// The authorization server's issuer identifier.
    pub issuer: String,
    /// The protected resource the tokens are for.
    pub resource: String,
    /// The client id they were issued to.
    pub client_id: String,
    /// The scopes granted (or requested).
    pub scopes: Vec<String>,
    /// When the access token expires, in seconds since the Unix epoch, if known.
    pub expires_at: Option<u64>,
    /// Whether there is a refresh token.
    pub refreshable: bool,
}

impl AuthStatus {
    pub(crate) fn new(server: &str, t: &Tokens) -> Self {
        AuthStatus {
            server: server.to_owned(),
            issuer: t.issuer.clone(),
            resource: t.resource.clone(),
            client_id: t.client_id.clone(),
            scopes: t.scopes.clone(),
            expires_at: t.expires_at,
            refreshable: t.refresh_token.is_some(),
        }
    }
}

fn parse(url: &str) -> Result<Url> {
    Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| Error::invalid(format!("{url:?} is not an http(s) URL")))
}

fn authorizer(url: &str, name: &str, config: OAuthConfig) -> Result<Authorizer> {
    let url = parse(url)?;
    let client = crate::http_client::default_client(&Default::default())?;
    Ok(Authorizer::new(config, url, Arc::from(name), client))
}

/// Logs in to the server at `url` now — discovery, the client's registration, the login —
/// and stores the tokens, whatever is stored already. Through the default HTTP client (the
/// platform's roots); [`Server::login`](crate::Server::login) goes through a built server's
/// own (its CA certificates, HTTP/2 setting).
///
/// # Errors
/// [`ErrorKind::Auth`](crate::ErrorKind::Auth) when discovery or the login fails.
pub async fn login(url: &str, name: &str, config: OAuthConfig) -> Result<AuthStatus> {
    let a = authorizer(url, name, config)?;
    let tokens = a.login_now().await.map_err(|e| e.for_server(name))?;
    Ok(AuthStatus::new(url, &tokens))
}

/// Revokes (where the authorization server offers revocation) and forgets the tokens of the
/// server at `url`; what was forgotten, `None` when nothing was stored.
///
/// # Errors
/// When the store cannot be read or written.
pub async fn logout(url: &str, name: &str, config: OAuthConfig) -> Result<Option<AuthStatus>> {
    let a = authorizer(url, name, config)?;
    let tokens = a.logout().await?;
    Ok(tokens.map(|t| AuthStatus::new(url, &t)))
}

/// What `store` holds for the server at `url`.
///
/// ```
/// use mcpmux::auth::{MemoryTokenStore, status};
/// let store = MemoryTokenStore::new();
/// assert_eq!(status("https://mcp.example.com/mcp", &store).unwrap(), None);
/// ```
///
/// # Errors
/// When the store cannot be read.
pub fn status(url: &str, store: &dyn TokenStore) -> Result<Option<AuthStatus>> {
    let url = parse(url)?;
    let doc = store.load()?;
    Ok(doc
        .servers
        .get(url.as_str())
        .and_then(|e| doc.tokens_for(&e.issuer, &e.resource))
        .map(|t| AuthStatus::new(url.as_str(), t)))
}

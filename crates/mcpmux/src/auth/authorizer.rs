//! The per-server authorizer: the current token, one login or refresh at a time for every
//! request in flight, discovery and registration on a challenge, and the token store.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;

use super::challenge::Challenge;
use super::config::{Assertion, Grant, OAuthConfig};
use super::discovery::{Discovered, discover, read_limited};
use super::jwt::DpopKey;
use super::pkce::{Pkce, random_token};
use super::store::now;
use super::store::{AuthDocument, Registration, ServerEntry, Tokens};
use super::token::{TokenFailure, TokenRequest};
use crate::error::{Error, Result, seconds};

/// The token in use and the number of the login or refresh that produced it.
#[derive(Debug, Clone)]
pub(crate) struct Credential {
    pub(crate) header: HeaderValue,
    pub(crate) generation: u64,
    /// For a DPoP-bound token: the key and the token, to sign a proof for each request.
    pub(crate) dpop: Option<Arc<Bound>>,
}

/// A DPoP-bound access token and its key.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) key: DpopKey,
    pub(crate) token: String,
}

/// What a request has spent on re-authorizing, to bound it.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Attempts {
    unauthorized: u32,
    step_ups: u32,
}

/// The JWT bearer grant type (RFC 7523).
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A 401 is answered by at most this many new tokens per request.
const MAX_UNAUTHORIZED: u32 = 2;
/// How long a refresh waits for another process's lock on the store.
const STORE_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Current {
    tokens: Option<Tokens>,
    header: Option<HeaderValue>,
    generation: u64,
    /// Every scope asked for so far (a step-up asks for the union).
    scopes: Vec<String>,
    dpop: Option<Arc<Bound>>,
}

/// One server's authorization state, shared by all its connections.
#[derive(Debug)]
pub(crate) struct Authorizer {
    config: OAuthConfig,
    server: Url,
    name: Arc<str>,
    http: reqwest::Client,
    current: Mutex<Current>,
    /// Held during a login or refresh: one at a time, the others wait and reuse its result.
    flight: tokio::sync::Mutex<()>,
    /// The resource server's latest DPoP nonce (RFC 9449 §9).
    dpop_nonce: Mutex<Option<String>>,
    /// Time spent waiting for the user at the authorization page, which no request timeout
    /// and no connect timeout counts.
    user_wait: Mutex<UserWait>,
}

/// Time spent in logins, waiting for the user.
#[derive(Debug, Default)]
struct UserWait {
    /// Since when a login has been waiting, if one is.
    since: Option<std::time::Instant>,
    /// The waits that ended.
    total: Duration,
}

/// Marks a login as waiting for the user while it lives (dropped when the wait ends, also by
/// cancellation).
struct WaitingForUser<'a>(&'a Mutex<UserWait>);

impl<'a> WaitingForUser<'a> {
    fn start(wait: &'a Mutex<UserWait>) -> Self {
        wait.lock().unwrap_or_else(PoisonError::into_inner).since = Some(std::time::Instant::now());
        WaitingForUser(wait)
    }
}

impl Drop for WaitingForUser<'_> {
    fn drop(&mut self) {
        let mut w = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(since) = w.since.take() {
            w.total += since.elapsed();
        }
    }
}

impl Authorizer {
    /// Loads the stored tokens of `server` (if the store knows it) so the first request carries
    /// them.
    pub(crate) fn new(
        config: OAuthConfig,
        server: Url,
        name: Arc<str>,
        http: reqwest::Client,
    ) -> Self {
        let mut current = Current::default();
        match config.store.load() {
            Ok(doc) => {
                if let Some(t) = doc
                    .servers
                    .get(server.as_str())
                    .and_then(|e| doc.tokens_for(&e.issuer, &e.resource))
                {
                    current.scopes = t.scopes.clone();
                    current.header = header_for(t);
                    current.dpop = bound(t);
                    current.tokens = Some(t.clone());
                    current.generation = 1;
                }
            }
            Err(e) => tracing::warn!(server = %name, "{e}"),
        }
        Authorizer {
            config,
            server,
            name,
            http,
            current: Mutex::new(current),
            flight: tokio::sync::Mutex::new(()),
            dpop_nonce: Mutex::new(None),
            user_wait: Mutex::new(UserWait::default()),
        }
    }

    /// Whether a login is waiting for the user now.
    pub(crate) fn waiting_for_user(&self) -> bool {
        self.user_wait
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .since
            .is_some()
    }

    /// All the time logins have waited for the user, the current wait included.
    pub(crate) fn user_wait_total(&self) -> Duration {
        let w = self
            .user_wait
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        w.total + w.since.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// The resource server's DPoP nonce to put in the next proof.
    pub(crate) fn dpop_nonce(&self) -> Option<String> {
        self.dpop_nonce
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Remembers a `DPoP-Nonce` the resource server sent.
    pub(crate) fn set_dpop_nonce(&self, nonce: &str) {
        *self
            .dpop_nonce
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(nonce.to_owned());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token in hand, without refreshing or logging in (for a session's DELETE).
    pub(crate) fn current_header(&self) -> Option<HeaderValue> {
        self.lock().header.clone()
    }

    fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The credential for the next request: the current token, refreshed first when it is
    /// within min(60 s, 10 % of its lifetime) of expiry. `None` before any login.
    pub(crate) async fn credential(&self) -> Option<Credential> {
        let (due, generation) = {
            let c = self.lock();
            let header = c.header.clone()?;
            let Some(t) = &c.tokens else {
                return Some(Credential {
                    header,
                    generation: c.generation,
                    dpop: c.dpop.clone(),
                });
            };
            if !refresh_due(t) || t.refresh_token.is_none() {
                return Some(Credential {
                    header,
                    generation: c.generation,
                    dpop: c.dpop.clone(),
                });
            }
            (true, c.generation)
        };
        if due {
            let _flight = self.flight.lock().await;
            if self.generation() == generation
                && let Err(e) = self.refresh().await
            {
                // The old token may still work until it expires; a 401 starts a login.
                tracing::warn!(server = %self.name, "refreshing the token ahead of expiry failed: {e}");
            }
        }
        let c = self.lock();
        c.header.clone().map(|header| Credential {
            header,
            generation: c.generation,
            dpop: c.dpop.clone(),
        })
    }

    /// Answers a 401 or 403 to a request sent with credential `used` (`None`: without one):
    /// `Ok(())` when the request should be sent again (with the new credential), an error when
    /// it should fail.
    pub(crate) async fn challenged(
        &self,
        status: u16,
        challenge: &Challenge,
        used: Option<u64>,
        attempts: &mut Attempts,
    ) -> Result<()> {
        let step_up = status == 403;
        if step_up && !challenge.insufficient_scope() {
            return Err(Error::auth_status(
                format!(
                    "the server refused the request (403{})",
                    describe(challenge)
                ),
                403,
            ));
        }
        if step_up {
            if attempts.step_ups >= self.config.max_step_ups {
                return Err(Error::auth_status(
                    format!(
                        "the server still wants more scope after {} re-authorizations (insufficient_scope, needs {:?}): giving up",
                        attempts.step_ups,
                        challenge.scope.as_deref().unwrap_or("")
                    ),
                    403,
                ));
            }
            attempts.step_ups += 1;
        } else {
            if attempts.unauthorized >= MAX_UNAUTHORIZED {
                return Err(Error::auth_status(
                    format!(
                        "the server rejected the new token too{}",
                        describe(challenge)
                    ),
                    401,
                ));
            }
            attempts.unauthorized += 1;
        }
        let _flight = self.flight.lock().await;
        if used.unwrap_or(0) != self.generation() {
            return Ok(()); // another request already obtained a new token: retry with it
        }
        if step_up {
            let scopes = {
                let c = self.lock();
                union(&c.scopes, &challenge.scopes())
            };
            return self.login(challenge, Some(scopes)).await;
        }
        let refreshable = self
            .lock()
            .tokens
            .as_ref()
            .is_some_and(|t| t.refresh_token.is_some());
        if refreshable {
            match self.refresh().await {
                Ok(()) => return Ok(()),
                Err(e) => tracing::info!(server = %self.name, "{e}; logging in again"),
            }
        }
        self.login(challenge, None).await
    }

    /// Refreshes the current token, under the store's lock: if another process refreshed
    /// meanwhile, its tokens are adopted instead (a rotating refresh token is spent once).
    async fn refresh(&self) -> Result<()> {
        let Some(tokens) = self.lock().tokens.clone() else {
            return Err(Error::auth("no token to refresh"));
        };
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Err(Error::auth("the token has no refresh token"));
        };
        let _store_lock = self.store_lock().await?;
        let mut doc = self.config.store.load()?;
        if let Some(stored) = doc.tokens_for(&tokens.issuer, &tokens.resource)
            && stored.access_token != tokens.access_token
            && !refresh_due(stored)
        {
            tracing::debug!(server = %self.name, "another process refreshed the token: using it");
            let stored = stored.clone();
            self.install(stored);
            return Ok(());
        }
        let discovered = self.discover(&Challenge::default()).await?;
        if discovered.issuer != tokens.issuer {
            return Err(Error::auth("the authorization server changed"));
        }
        let Some(client) = doc
            .registrations
            .get(&tokens.issuer)
            .cloned()
            .or_else(|| self.configured_client(&discovered, None))
        else {
            return Err(Error::auth("no client registration to refresh with"));
        };
        // A DPoP-bound token is refreshed with the key it is bound to.
        let dpop = tokens
            .dpop_key
            .as_deref()
            .map(DpopKey::from_stored)
            .transpose()?;
        let fresh = self
            .grant(
                &discovered,
                &client,
                vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", refresh_token.clone()),
                ],
                &tokens.scopes,
                dpop.as_ref(),
                Some(&refresh_token),
            )
            .await;
        let fresh = match fresh {
            Ok(t) => t,
            Err(f) if f.is_invalid_grant() => {
                // Forget the dead refresh token so nobody spends it again: in the store, and
                // in hand (a 401 after a failed refresh ahead of expiry must log in, not send
                // the same refresh token a second time).
                doc.tokens
                    .remove(&AuthDocument::key(&tokens.issuer, &tokens.resource));
                let _ = self.config.store.save(&doc);
                {
                    let mut c = self.lock();
                    if let Some(t) = c.tokens.as_mut()
                        && t.refresh_token.as_deref() == Some(refresh_token.as_str())
                    {
                        t.refresh_token = None;
                    }
                }
                return Err(f.into_error("the refresh token was rejected"));
            }
            Err(f) => return Err(f.into_error("refreshing the token failed")),
        };
        self.save(&mut doc, &fresh);
        tracing::info!(server = %self.name, "token refreshed");
        self.install(fresh);
        Ok(())
    }

    async fn store_lock(&self) -> Result<super::store::StoreLock> {
        let store = self.config.store.clone();
        let locked = tokio::time::timeout(
            STORE_LOCK_TIMEOUT,
            tokio::task::spawn_blocking(move || store.lock()),
        )
        .await;
        match locked {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(Error::auth(format!("locking the token store failed: {e}"))),
            Err(_) => Err(Error::auth(format!(
                "the token store stayed locked by another process for {}",
                seconds(STORE_LOCK_TIMEOUT)
            ))),
        }
    }

    fn install(&self, tokens: Tokens) {
        let mut c = self.lock();
        c.scopes = union(&c.scopes, &tokens.scopes);
        c.header = header_for(&tokens);
        c.dpop = bound(&tokens);
        c.tokens = Some(tokens);
        c.generation += 1;
    }

    fn save(&self, doc: &mut AuthDocument, tokens: &Tokens) {
        doc.tokens.insert(
            AuthDocument::key(&tokens.issuer, &tokens.resource),
            tokens.clone(),
        );
        doc.servers.insert(
            self.server.to_string(),
            ServerEntry {
                issuer: tokens.issuer.clone(),
                resource: tokens.resource.clone(),
            },
        );
        if let Err(e) = self.config.store.save(doc) {
            tracing::warn!(server = %self.name, "{e}");
        }
    }

    async fn discover(&self, challenge: &Challenge) -> Result<Discovered> {
        discover(&self.http, &self.server, challenge).await
    }

    /// Obtains new tokens from scratch: discovery, the client's identity, the grant.
    async fn login(&self, challenge: &Challenge, step_up: Option<Vec<String>>) -> Result<()> {
        let discovered = self.discover(challenge).await?;
        if discovered.resource_metadata.is_none()
            && discovered.metadata.is_none()
            && !challenge.bearer
        {
            // No OAuth anywhere: the server wants some other credential.
            return Err(Error::auth(format!(
                "server `{}` refused the request as unauthorized and offers no OAuth (no Bearer challenge, no authorization metadata): it needs other credentials, such as a token or an API key header",
                self.name
            )));
        }
        let scopes = self.choose_scopes(challenge, &discovered, step_up);
        if self.config.grant == Grant::AuthorizationCode && !self.config.allow_login {
            return Err(Error::auth(format!(
                "server `{}` needs an OAuth login (authorization server {}), and this run may not start one",
                self.name, discovered.issuer
            )));
        }
        let _store_lock = self.store_lock().await?;
        let mut doc = self.config.store.load()?;
        let tokens = match self.config.grant {
            Grant::ClientCredentials => self.client_credentials(&discovered, &doc, &scopes).await?,
            Grant::JwtBearer => self.jwt_bearer(&discovered, &doc, &scopes).await?,
            Grant::AuthorizationCode => {
                self.authorization_code(&discovered, &mut doc, &scopes)
                    .await?
            }
        };
        self.save(&mut doc, &tokens);
        tracing::info!(server = %self.name, issuer = %discovered.issuer, "authorized");
        self.install(tokens);
        Ok(())
    }

    fn choose_scopes(
        &self,
        challenge: &Challenge,
        discovered: &Discovered,
        step_up: Option<Vec<String>>,
    ) -> Vec<String> {
        let mut scopes = if let Some(s) = step_up {
            s
        } else if let Some(s) = &self.config.scopes {
            s.clone()
        } else if !challenge.scopes().is_empty() {
            challenge.scopes()
        } else {
            discovered
                .resource_metadata
                .as_ref()
                .and_then(|m| m.scopes_supported.clone())
                .unwrap_or_default()
        };
        if self.config.grant == Grant::AuthorizationCode
            && discovered
                .server_scopes()
                .iter()
                .any(|s| s == "offline_access")
            && !scopes.iter().any(|s| s == "offline_access")
        {
            scopes.push("offline_access".to_owned());
        }
        scopes
    }

    /// The configured client (a client id, or a client metadata document URL the server
    /// accepts), if any.
    fn configured_client(
        &self,
        d: &Discovered,
        redirect_uri: Option<&str>,
    ) -> Option<Registration> {
        if let Some(id) = &self.config.client_id {
            let method = if self.config.signing_key.is_some() {
                "private_key_jwt".to_owned()
            } else {
                secret_method(self.config.client_secret.is_some(), d.auth_methods())
            };
            return Some(Registration {
                issuer: d.issuer.clone(),
                client_id: id.clone(),
                client_secret: self.config.client_secret.clone(),
                auth_method: method,
                redirect_uri: redirect_uri.map(str::to_owned),
                dynamic: false,
            });
        }
        let cimd = d
            .metadata
            .as_ref()
            .is_some_and(|m| m.client_id_metadata_document_supported);
        match &self.config.client_metadata_url {
            Some(url) if cimd => Some(Registration {
                issuer: d.issuer.clone(),
                client_id: url.clone(),
                client_secret: None,
                auth_method: "none".to_owned(),
                redirect_uri: redirect_uri.map(str::to_owned),
                dynamic: false,
            }),
            _ => None,
        }
    }

    /// The client for this login: configured, else the stored registration with this issuer
    /// (when its redirect URI is still the one in use), else a new dynamic registration.
    async fn client(
        &self,
        d: &Discovered,
        doc: &mut AuthDocument,
        redirect_uri: Option<&str>,
        scopes: &[String],
    ) -> Result<Registration> {
        if let Some(c) = self.configured_client(d, redirect_uri) {
            return Ok(c);
        }
        if let Some(r) = doc.registrations.get(&d.issuer) {
            if redirect_uri.is_none() || r.redirect_uri.as_deref() == redirect_uri {
                return Ok(r.clone());
            }
            tracing::warn!(
                server = %self.name,
                "the login callback moved from {} to {}: registering the client again",
                r.redirect_uri.as_deref().unwrap_or("(none)"),
                redirect_uri.unwrap_or("(none)")
            );
        }
        let Some(endpoint) = &d.registration_endpoint else {
            return Err(Error::auth(format!(
                "authorization server {} offers no dynamic client registration: configure a client id (and secret) for server `{}`",
                d.issuer, self.name
            )));
        };
        let reg = self.register(d, endpoint, redirect_uri, scopes).await?;
        doc.registrations.insert(d.issuer.clone(), reg.clone());
        if let Err(e) = self.config.store.save(doc) {
            tracing::warn!(server = %self.name, "{e}");
        }
        Ok(reg)
    }

    /// Dynamic client registration (RFC 7591).
    async fn register(
        &self,
        d: &Discovered,
        endpoint: &Url,
        redirect_uri: Option<&str>,
        scopes: &[String],
    ) -> Result<Registration> {
        let grant_types: &[&str] = match self.config.grant {
            Grant::AuthorizationCode => &["authorization_code", "refresh_token"],
            Grant::ClientCredentials => &["client_credentials"],
            Grant::JwtBearer => &["urn:ietf:params:oauth:grant-type:jwt-bearer"],
        };
        let mut body = serde_json::json!({
            "client_name": self.config.client_name,
            "grant_types": grant_types,
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        });
        if let Some(uri) = redirect_uri {
            body["redirect_uris"] = serde_json::json!([uri]);
            body["response_types"] = serde_json::json!(["code"]);
        }
        if !scopes.is_empty() {
            body["scope"] = scopes.join(" ").into();
        }
        let resp = self
            .http
            .post(endpoint.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .timeout(Duration::from_secs(30))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| {
                Error::auth(format!(
                    "registering with {} failed: {}",
                    d.issuer,
                    crate::error::chain(&e)
                ))
            })?;
        let status = resp.status();
        let bytes = read_limited(resp, 256 * 1024).await?;
        #[derive(Deserialize)]
        struct Answer {
            client_id: String,
            #[serde(default)]
            client_secret: Option<String>,
            #[serde(default)]
            token_endpoint_auth_method: Option<String>,
        }
        if !status.is_success() {
            let detail = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| {
                    let e = v.get("error")?.as_str()?.to_owned();
                    let d = v
                        .get("error_description")
                        .and_then(|d| d.as_str())
                        .unwrap_or("");
                    Some(format!(" {e} {d}"))
                })
                .unwrap_or_default();
            return Err(Error::auth_status(
                format!(
                    "client registration with {} was refused: {status}{detail}",
                    d.issuer
                ),
                status.as_u16(),
            ));
        }
        let answer: Answer = serde_json::from_slice(&bytes).map_err(|e| {
            Error::auth(format!(
                "the client registration answer of {} is not usable: {e}",
                d.issuer
            ))
        })?;
        let method = answer
            .token_endpoint_auth_method
            .unwrap_or_else(|| secret_method(answer.client_secret.is_some(), d.auth_methods()));
        tracing::info!(server = %self.name, issuer = %d.issuer, "registered a client");
        Ok(Registration {
            issuer: d.issuer.clone(),
            client_id: answer.client_id,
            client_secret: answer.client_secret,
            auth_method: method,
            redirect_uri: redirect_uri.map(str::to_owned),
            dynamic: true,
        })
    }

    async fn client_credentials(
        &self,
        d: &Discovered,
        doc: &AuthDocument,
        scopes: &[String],
    ) -> Result<Tokens> {
        let client = self.machine_client(
            d,
            doc,
            "the client credentials grant needs a client id (and a secret or private key)",
        )?;
        let dpop = d.dpop().then(DpopKey::generate).transpose()?;
        let params = with_scope(
            vec![("grant_type", "client_credentials".to_owned())],
            scopes,
        );
        self.grant(d, &client, params, scopes, dpop.as_ref(), None)
            .await
            .map_err(|f| f.into_error("the client credentials grant failed"))
    }

    /// A grant at the authorization server's token endpoint, for this server's resource (RFC
    /// 8707 `resource` unless turned off), with the client's authentication and, when given, a
    /// DPoP proof; the refresh token `previous_refresh` is kept when the answer has none.
    async fn grant(
        &self,
        d: &Discovered,
        client: &Registration,
        params: Vec<(&'static str, String)>,
        scopes: &[String],
        dpop: Option<&DpopKey>,
        previous_refresh: Option<&str>,
    ) -> std::result::Result<Tokens, TokenFailure> {
        TokenRequest {
            endpoint: &d.token_endpoint,
            issuer: &d.issuer,
            client,
            signing_key: self.config.signing_key.as_ref(),
            params,
            resource: self
                .config
                .resource_parameter
                .then_some(d.resource.as_str()),
            dpop,
        }
        .send(&self.http, &d.resource, scopes, previous_refresh)
        .await
    }

    /// The client of a grant without a user (client credentials, JWT bearer): configured, else
    /// the stored registration with this issuer; `missing` says what is needed otherwise.
    fn machine_client(
        &self,
        d: &Discovered,
        doc: &AuthDocument,
        missing: &str,
    ) -> Result<Registration> {
        self.configured_client(d, None)
            .or_else(|| doc.registrations.get(&d.issuer).cloned())
            .ok_or_else(|| Error::auth(format!("{missing} for server `{}`", self.name)))
    }

    /// The JWT bearer grant (RFC 7523 §2.1) with the configured assertion, or with an
    /// identity assertion grant exchanged for the user's ID token at the identity provider.
    async fn jwt_bearer(
        &self,
        d: &Discovered,
        doc: &AuthDocument,
        scopes: &[String],
    ) -> Result<Tokens> {
        let client = self.machine_client(d, doc, "the JWT bearer grant needs a client id")?;
        let assertion = match &self.config.assertion {
            Some(Assertion::Fixed(jwt)) => jwt.clone(),
            Some(Assertion::TokenExchange {
                endpoint,
                id_token,
                client_id,
                client_secret,
            }) => {
                self.identity_assertion(
                    d,
                    endpoint,
                    id_token,
                    client_id,
                    client_secret.clone(),
                    scopes,
                )
                .await?
            }
            None => return Err(Error::auth("the JWT bearer grant has no assertion")),
        };
        let params = vec![
            ("grant_type", JWT_BEARER.to_owned()),
            ("assertion", assertion),
        ];
        let dpop = d.dpop().then(DpopKey::generate).transpose()?;
        self.grant(
            d,
            &client,
            with_scope(params, scopes),
            scopes,
            dpop.as_ref(),
            None,
        )
        .await
        .map_err(|f| f.into_error("the JWT bearer grant failed"))
    }

    /// Token exchange (RFC 8693) at the identity provider: the user's ID token for an
    /// identity assertion grant (ID-JAG) whose audience is this server's authorization server.
    async fn identity_assertion(
        &self,
        d: &Discovered,
        endpoint: &str,
        id_token: &str,
        client_id: &str,
        client_secret: Option<String>,
        scopes: &[String],
    ) -> Result<String> {
        let endpoint = Url::parse(endpoint).map_err(|e| {
            Error::invalid(format!(
                "the identity provider's token endpoint {endpoint:?} is not a URL: {e}"
            ))
        })?;
        let idp_client = Registration {
            issuer: endpoint.origin().ascii_serialization(),
            client_id: client_id.to_owned(),
            auth_method: if client_secret.is_some() {
                "client_secret_basic".to_owned()
            } else {
                "none".to_owned()
            },
            client_secret,
            redirect_uri: None,
            dynamic: false,
        };
        let params = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange".to_owned(),
            ),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:id-jag".to_owned(),
            ),
            ("audience", d.issuer.clone()),
            ("subject_token", id_token.to_owned()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token".to_owned(),
            ),
        ];
        let params = with_scope(params, scopes);
        let answer = TokenRequest {
            endpoint: &endpoint,
            issuer: &idp_client.issuer,
            client: &idp_client,
            signing_key: None,
            params,
            // The identity provider must know which resource the grant is for.
            resource: Some(d.resource.as_str()),
            dpop: None,
        }
        .send(&self.http, &d.resource, scopes, None)
        .await
        .map_err(|f| f.into_error("the token exchange at the identity provider failed"))?;
        Ok(answer.access_token)
    }

    async fn authorization_code(
        &self,
        d: &Discovered,
        doc: &mut AuthDocument,
        scopes: &[String],
    ) -> Result<Tokens> {
        if let Some(m) = &d.metadata {
            let s256 = m
                .code_challenge_methods_supported
                .as_ref()
                .is_some_and(|l| l.iter().any(|x| x == "S256"));
            if !s256 {
                return Err(Error::auth(format!(
                    "authorization server {} does not advertise PKCE with S256 (code_challenge_methods_supported): refusing to log in without it",
                    d.issuer
                )));
            }
        }
        // An authorization server may hold a dynamic client to the scopes it registered with
        // (the Python SDK's does): a step-up to a scope outside them is refused with
        // `invalid_scope`. Then the client registers again, asking for the scopes it now
        // needs, and logs in once more — once.
        let mut reregistered = false;
        let (client, redirect_uri, pkce, state, callback) = loop {
            let previous = doc
                .registrations
                .get(&d.issuer)
                .and_then(|r| r.redirect_uri.clone());
            let pending = self.config.flow.prepare(previous.as_deref()).await?;
            let redirect_uri = pending.redirect_uri().to_owned();
            // A registration made just now already asked for these scopes.
            let registered_before = doc.registrations.contains_key(&d.issuer);
            let client = self.client(d, doc, Some(&redirect_uri), scopes).await?;
            let pkce = Pkce::new();
            let state = random_token(24);
            let mut url = d.authorization_endpoint.clone();
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("response_type", "code");
                q.append_pair("client_id", &client.client_id);
                q.append_pair("redirect_uri", &redirect_uri);
                q.append_pair("state", &state);
                q.append_pair("code_challenge", &pkce.challenge);
                q.append_pair("code_challenge_method", "S256");
                if !scopes.is_empty() {
                    q.append_pair("scope", &scopes.join(" "));
                }
                if self.config.resource_parameter {
                    q.append_pair("resource", &d.resource);
                }
            }
            tracing::info!(server = %self.name, issuer = %d.issuer, "waiting for the OAuth login");
            let timeout = self.config.login_timeout;
            let waiting = WaitingForUser::start(&self.user_wait);
            let callback = tokio::time::timeout(timeout, pending.complete(url))
                .await
                .map_err(|_| {
                    Error::auth(format!(
                        "the login at {} did not complete within {}",
                        d.issuer,
                        seconds(timeout)
                    ))
                })??;
            drop(waiting);
            if !reregistered
                && registered_before
                && client.dynamic
                && !scopes.is_empty()
                && callback.error.as_deref() == Some("invalid_scope")
                && callback.state.as_deref() == Some(state.as_str())
            {
                tracing::warn!(
                    server = %self.name,
                    issuer = %d.issuer,
                    "the authorization server refused scopes {:?} for the registered client: registering again with them",
                    scopes.join(" ")
                );
                doc.registrations.remove(&d.issuer);
                reregistered = true;
                continue;
            }
            break (client, redirect_uri, pkce, state, callback);
        };
        if let Some(error) = &callback.error {
            let mut m = format!(
                "the authorization server {} refused the login: {error}",
                d.issuer
            );
            if let Some(desc) = callback
                .error_description
                .as_deref()
                .filter(|s| !s.is_empty())
            {
                m.push_str(&format!(" ({desc})"));
            }
            return Err(Error::auth(m));
        }
        if callback.state.as_deref() != Some(state.as_str()) {
            return Err(Error::auth(
                "the login answer carries another state than the request: refusing it (a forged or stale redirect)",
            ));
        }
        // RFC 9207: an `iss` must be the issuer, by simple string comparison; a server that
        // advertises the parameter must send it.
        let issuer = d
            .metadata
            .as_ref()
            .and_then(|m| m.issuer.clone())
            .unwrap_or_else(|| d.issuer.clone());
        match &callback.iss {
            Some(iss) if *iss != issuer => {
                return Err(Error::auth(format!(
                    "the login answer names issuer {iss:?}, not {issuer:?}: refusing it (a mix-up attack or a misconfigured server)"
                )));
            }
            None if d
                .metadata
                .as_ref()
                .is_some_and(|m| m.authorization_response_iss_parameter_supported) =>
            {
                return Err(Error::auth(format!(
                    "authorization server {issuer} advertises the iss parameter but its login answer has none: refusing it"
                )));
            }
            _ => {}
        }
        let Some(code) = callback.code else {
            return Err(Error::auth("the login answer has no authorization code"));
        };
        let dpop = d.dpop().then(DpopKey::generate).transpose()?;
        self.grant(
            d,
            &client,
            vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", pkce.verifier),
            ],
            scopes,
            dpop.as_ref(),
            None,
        )
        .await
        .map_err(|f| f.into_error("exchanging the authorization code failed"))
    }

    /// Revokes the stored tokens (refresh token first) where the authorization server has a
    /// revocation endpoint, then forgets them and the server's entry. The registration stays,
    /// so the next login does not register again. Returns the tokens that were forgotten.
    pub(crate) async fn logout(&self) -> Result<Option<Tokens>> {
        let _flight = self.flight.lock().await;
        let _store_lock = self.store_lock().await?;
        let mut doc = self.config.store.load()?;
        let Some(entry) = doc.servers.get(self.server.as_str()).cloned() else {
            return Ok(None);
        };
        let tokens = doc.tokens_for(&entry.issuer, &entry.resource).cloned();
        if let Some(t) = &tokens {
            match self.discover(&Challenge::default()).await {
                Ok(d) if d.issuer == t.issuer => {
                    if let (Some(endpoint), Some(client)) = (
                        &d.revocation_endpoint,
                        doc.registrations
                            .get(&t.issuer)
                            .cloned()
                            .or_else(|| self.configured_client(&d, None)),
                    ) {
                        let mut pairs = Vec::new();
                        if let Some(r) = &t.refresh_token {
                            pairs.push((r.clone(), "refresh_token"));
                        }
                        pairs.push((t.access_token.clone(), "access_token"));
                        for (token, hint) in pairs {
                            let request = TokenRequest {
                                endpoint,
                                issuer: &d.issuer,
                                client: &client,
                                signing_key: self.config.signing_key.as_ref(),
                                params: revocation_params(&client, token, hint),
                                resource: None,
                                dpop: None,
                            };
                            if let Err(f) = super::token::revoke(&self.http, request).await {
                                let e = f.into_error("revoking the token failed");
                                tracing::warn!(server = %self.name, "{e}");
                            }
                        }
                    }
                }
                Ok(_) => {
                    tracing::warn!(server = %self.name, "the authorization server changed: forgetting the tokens without revoking them")
                }
                Err(e) => {
                    tracing::warn!(server = %self.name, "{e}: forgetting the tokens without revoking them")
                }
            }
        }
        doc.tokens
            .remove(&AuthDocument::key(&entry.issuer, &entry.resource));
        doc.servers.remove(self.server.as_str());
        self.config.store.save(&doc)?;
        let mut c = self.lock();
        c.tokens = None;
        c.header = None;
        c.dpop = None;
        c.generation += 1;
        Ok(tokens)
    }

    /// Discovery and a login now, whatever the current token (`mcpmux auth login`).
    pub(crate) async fn login_now(&self) -> Result<Tokens> {
        let _flight = self.flight.lock().await;
        self.login(&Challenge::default(), None).await?;
        self.lock()
            .tokens
            .clone()
            .ok_or_else(|| Error::auth("the login produced no token"))
    }
}

/// A grant's parameters with `scope` added when there are scopes.
fn with_scope(
    mut params: Vec<(&'static str, String)>,
    scopes: &[String],
) -> Vec<(&'static str, String)> {
    if !scopes.is_empty() {
        params.push(("scope", scopes.join(" ")));
    }
    params
}

/// The form of a revocation request (RFC 7009 §2.1). A public client also sends an empty
/// `client_secret`: the Python SDK's revocation endpoint (behind most FastMCP servers) refuses a
/// form without the field, whatever the client's authentication method; others ignore it.
fn revocation_params(
    client: &Registration,
    token: String,
    hint: &str,
) -> Vec<(&'static str, String)> {
    let mut params = vec![("token", token), ("token_type_hint", hint.to_owned())];
    if client.auth_method == "none" {
        params.push(("client_secret", String::new()));
    }
    params
}

/// The client authentication for a client with (or without) a secret, from what the
/// authorization server supports: HTTP Basic unless it supports only the form.
fn secret_method(has_secret: bool, supported: Option<&[String]>) -> String {
    if !has_secret {
        return "none".to_owned();
    }
    let supports = |m: &str| supported.is_none_or(|l| l.iter().any(|x| x == m));
    if supports("client_secret_basic") {
        "client_secret_basic".to_owned()
    } else if supports("client_secret_post") {
        "client_secret_post".to_owned()
    } else {
        "client_secret_basic".to_owned()
    }
}

fn describe(c: &Challenge) -> String {
    match (&c.error, &c.error_description) {
        (Some(e), Some(d)) => format!(": {e}, {d}"),
        (Some(e), None) => format!(": {e}"),
        (None, Some(d)) => format!(": {d}"),
        (None, None) => String::new(),
    }
}

fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for s in b {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Whether the token is within min(60 s, 10 % of its lifetime) of expiry.
fn refresh_due(t: &Tokens) -> bool {
    let Some(at) = t.expires_at else {
        return false;
    };
    let ahead = t.lifetime.map_or(60, |l| (l / 10).min(60));
    now().saturating_add(ahead) >= at
}

/// `Authorization: Bearer <token>`, or `DPoP <token>` for a DPoP-bound one (RFC 9449 §7.1).
fn header_for(t: &Tokens) -> Option<HeaderValue> {
    let scheme = if t.dpop_key.is_some() {
        "DPoP"
    } else {
        "Bearer"
    };
    let mut v = HeaderValue::from_str(&format!("{scheme} {}", t.access_token)).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// The key of a DPoP-bound token, ready to sign proofs.
fn bound(t: &Tokens) -> Option<Arc<Bound>> {
    let stored = t.dpop_key.as_deref()?;
    match DpopKey::from_stored(stored) {
        Ok(key) => Some(Arc::new(Bound {
            key,
            token: t.access_token.clone(),
        })),
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::challenge::split_scopes;

    fn tokens(expires_in: Option<u64>, lifetime: Option<u64>) -> Tokens {
        Tokens {
            issuer: "i".into(),
            resource: "r".into(),
            client_id: "c".into(),
            access_token: "a".into(),
            token_type: "Bearer".into(),
            refresh_token: None,
            expires_at: expires_in.map(|e| now() + e),
            lifetime,
            scopes: vec![],
            dpop_key: None,
        }
    }

    #[test]
    fn refresh_ahead_of_expiry() {
        assert!(!refresh_due(&tokens(None, None)));
        assert!(!refresh_due(&tokens(Some(3600), Some(3600))));
        assert!(refresh_due(&tokens(Some(59), Some(3600))));
        // 10 % of a short lifetime: 100 s -> 10 s ahead
        assert!(!refresh_due(&tokens(Some(20), Some(100))));
        assert!(refresh_due(&tokens(Some(9), Some(100))));
    }

    #[test]
    fn secret_methods() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(secret_method(false, None), "none");
        assert_eq!(secret_method(true, None), "client_secret_basic");
        assert_eq!(
            secret_method(true, Some(&l(&["client_secret_post"]))),
            "client_secret_post"
        );
        assert_eq!(
            secret_method(
                true,
                Some(&l(&["client_secret_post", "client_secret_basic"]))
            ),
            "client_secret_basic"
        );
    }

    #[test]
    fn unions_keep_order() {
        let v = |s: &str| split_scopes(s);
        assert_eq!(union(&v("a b"), &v("b c")), v("a b c"));
    }
}

//! [`OAuthConfig`]: how a server's OAuth login is done.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::jwt::SigningKey;
use super::login::{BrowserLogin, LoginFlow};
use super::store::{FileTokenStore, MemoryTokenStore, TokenStore};

/// Default bound of one login (the user at the authorization page).
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// Which grant obtains tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    /// Authorization code with PKCE: a user logs in.
    AuthorizationCode,
    /// Client credentials: the client itself is the principal (machine to machine).
    ClientCredentials,
    /// A JWT bearer assertion (RFC 7523 §2.1): a workload identity, or an identity assertion
    /// grant obtained from the enterprise's identity provider.
    JwtBearer,
}

/// Where a JWT bearer grant's assertion comes from.
#[derive(Clone)]
pub(crate) enum Assertion {
    /// A JWT given as it is (a workload identity token).
    Fixed(String),
    /// An Identity Assertion JWT Authorization Grant (ID-JAG) from the identity provider's token
    /// endpoint, by token exchange (RFC 8693) of the user's ID token (enterprise-managed
    /// authorization).
    TokenExchange {
        endpoint: String,
        id_token: String,
        client_id: String,
        client_secret: Option<String>,
    },
}

/// How mcpmux obtains and keeps OAuth tokens for one server (MCP authorization, OAuth 2.1):
/// set with [`ServerBuilder::oauth`](crate::ServerBuilder::oauth).
///
/// On a 401 the client discovers the authorization server (protected-resource metadata,
/// authorization-server metadata, the 2025-03-26 fallbacks), identifies itself (configured
/// credentials, a client metadata document URL, or dynamic registration), logs in (authorization
/// code + PKCE through the [`LoginFlow`], or client credentials), and retries; tokens are
/// refreshed ahead of expiry, once for all the calls in flight, and kept in the
/// [`TokenStore`].
///
/// ```
/// use mcpmux::auth::OAuthConfig;
/// let oauth = OAuthConfig::new()
///     .client_id("my-client")
///     .scopes(["files:read"])
///     .client_name("my agent");
/// let server = mcpmux::Server::http("https://mcp.example.com/mcp").oauth(oauth).build();
/// assert!(server.is_ok());
/// ```
#[derive(Clone)]
pub struct OAuthConfig {
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) client_metadata_url: Option<String>,
    pub(crate) client_name: String,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) resource_parameter: bool,
    pub(crate) grant: Grant,
    pub(crate) signing_key: Option<SigningKey>,
    pub(crate) assertion: Option<Assertion>,
    pub(crate) flow: Arc<dyn LoginFlow>,
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) login_timeout: Duration,
    pub(crate) allow_login: bool,
    pub(crate) max_step_ups: u32,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("client_metadata_url", &self.client_metadata_url)
            .field("scopes", &self.scopes)
            .field("resource_parameter", &self.resource_parameter)
            .field("grant", &self.grant)
            .field("flow", &self.flow)
            .field("store", &self.store)
            .field("login_timeout", &self.login_timeout)
            .field("allow_login", &self.allow_login)
            .finish_non_exhaustive()
    }
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl OAuthConfig {
    /// Authorization code + PKCE through the system browser ([`BrowserLogin`]), tokens in the
    /// [`FileTokenStore`] at its default path (in memory when there is no home folder).
    pub fn new() -> Self {
        let store: Arc<dyn TokenStore> = match FileTokenStore::default_path() {
            Some(p) => Arc::new(FileTokenStore::new(p)),
            None => Arc::new(MemoryTokenStore::new()),
        };
        OAuthConfig {
            client_id: None,
            client_secret: None,
            client_metadata_url: None,
            client_name: "mcpmux".to_owned(),
            scopes: None,
            resource_parameter: true,
            grant: Grant::AuthorizationCode,
            signing_key: None,
            assertion: None,
            flow: Arc::new(BrowserLogin::new()),
            store,
            login_timeout: DEFAULT_LOGIN_TIMEOUT,
            allow_login: true,
            max_step_ups: 2,
        }
    }

    /// A pre-registered client id (used before any other way of identifying the client).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The pre-registered client's secret (a confidential client; sent as the authorization
    /// server prefers: HTTP Basic, else in the form).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// An https URL of this client's metadata document, used as the client id with
    /// authorization servers that support Client ID Metadata Documents (instead of registering).
    pub fn client_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.client_metadata_url = Some(url.into());
        self
    }

    /// The `client_name` sent in dynamic registration (default `mcpmux`).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// The scopes to ask for, instead of the server's (its `WWW-Authenticate` scope, else its
    /// metadata's `scopes_supported`).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Whether to send the RFC 8707 `resource` parameter (default true). Turn it off only for
    /// an authorization server that rejects it (some versions of Entra ID do).
    pub fn resource_parameter(mut self, send: bool) -> Self {
        self.resource_parameter = send;
        self
    }

    /// Machine to machine: the client credentials grant (with the configured client id and
    /// secret, or a [private key](Self::private_key_jwt)) instead of a user login.
    pub fn client_credentials(mut self) -> Self {
        self.grant = Grant::ClientCredentials;
        self
    }

    /// Authenticates the client with a JWT signed by this PEM private key (`private_key_jwt`,
    /// RFC 7523); `algorithm` is `ES256`, `RS256`, `EdDSA`, ...
    pub fn private_key_jwt(mut self, pem: impl Into<String>, algorithm: impl Into<String>) -> Self {
        self.signing_key = Some(SigningKey {
            pem: pem.into(),
            algorithm: algorithm.into(),
        });
        self
    }

    /// Workload identity: the JWT bearer grant (RFC 7523) with this assertion (a JWT the
    /// workload's platform issued, its audience the authorization server), and the configured
    /// client id.
    pub fn jwt_bearer(mut self, assertion: impl Into<String>) -> Self {
        self.grant = Grant::JwtBearer;
        self.assertion = Some(Assertion::Fixed(assertion.into()));
        self
    }

    /// Enterprise-managed authorization: the user's ID token from the enterprise identity
    /// provider is exchanged there (RFC 8693, at `idp_token_endpoint`, as client
    /// `idp_client_id`) for an identity assertion grant for this server's authorization server,
    /// which the JWT bearer grant turns into an access token (with the configured client id and
    /// secret). No browser.
    pub fn enterprise_managed(
        mut self,
        idp_token_endpoint: impl Into<String>,
        id_token: impl Into<String>,
        idp_client_id: impl Into<String>,
    ) -> Self {
        self.grant = Grant::JwtBearer;
        self.assertion = Some(Assertion::TokenExchange {
            endpoint: idp_token_endpoint.into(),
            id_token: id_token.into(),
            client_id: idp_client_id.into(),
            client_secret: None,
        });
        self
    }

    /// How the user logs in (default [`BrowserLogin`]).
    pub fn login(mut self, flow: impl LoginFlow) -> Self {
        self.flow = Arc::new(flow);
        self
    }

    /// Where registrations and tokens are kept (default [`FileTokenStore`]).
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// The same store as another config or handle uses.
    pub fn shared_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = store;
        self
    }

    /// The store in use.
    pub fn token_store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    /// How long one login may wait for the user (default 5 minutes). This time does not count
    /// against the connect timeout.
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.login_timeout = timeout;
        self
    }

    /// Whether a login may be started when the stored tokens are missing or rejected (default
    /// true). Off, such a request fails with [`ErrorKind::Auth`](crate::ErrorKind::Auth): for
    /// runs without a person (a refresh still happens).
    pub fn allow_login(mut self, allow: bool) -> Self {
        self.allow_login = allow;
        self
    }

    /// How often one request may re-authorize for more scope after a 403 `insufficient_scope`
    /// (default 2).
    pub fn max_step_ups(mut self, n: u32) -> Self {
        self.max_step_ups = n;
        self
    }
}

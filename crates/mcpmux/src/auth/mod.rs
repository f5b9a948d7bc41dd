//! OAuth 2.1 for remote MCP servers (the MCP authorization specification).
//!
//! Configure a server with [`ServerBuilder::oauth`](crate::ServerBuilder::oauth) and an
//! [`OAuthConfig`]; requests then carry the server's access token. On a `401` the client
//! discovers the authorization server — the `WWW-Authenticate` challenge, protected-resource
//! metadata (RFC 9728), authorization-server metadata (RFC 8414 / OpenID discovery), the
//! 2025-03-26 fallbacks — checks that the metadata describes this server and its issuer,
//! identifies itself (configured credentials, a Client ID Metadata Document URL, or dynamic
//! registration, RFC 7591), logs in (authorization code with PKCE S256 through a
//! [`LoginFlow`], checking `state` and the RFC 9207 `iss`; or client credentials), and sends
//! the request again. A `403 insufficient_scope` re-authorizes with the union of the scopes, a
//! bounded number of times.
//!
//! Tokens are refreshed ahead of expiry (min(60 s, 10 % of their lifetime)) and on a `401`,
//! once for every request in flight, under a lock on the [`TokenStore`] so that two processes
//! never both spend a rotating refresh token. They are sent only in the `Authorization` header
//! of requests to the server's own origin, never logged, and never part of an error message.
//! [`Server::login`](crate::Server::login) and [`Server::logout`](crate::Server::logout) log in
//! or out ahead of any request (what `mcpmux auth` does).
//!
//! ```no_run
//! # async fn f() -> mcpmux::Result<()> {
//! use mcpmux::auth::{BrowserLogin, OAuthConfig};
//! let server = mcpmux::Server::http("https://mcp.example.com/mcp")
//!     .oauth(OAuthConfig::new().login(BrowserLogin::new().show_url(|url| {
//!         eprintln!("log in at {url}");
//!     })))
//!     .build()?;
//! let tools = server.list_tools().await?; // logs in on the first 401
//! # let _ = tools; Ok(()) }
//! ```

mod authorizer;
pub(crate) mod challenge;
mod config;
mod discovery;
mod jwt;
mod login;
mod manage;
mod pkce;
mod store;
mod token;

pub(crate) use authorizer::{Attempts, Authorizer};
pub use config::{DEFAULT_LOGIN_TIMEOUT, OAuthConfig};
pub use login::{
    BrowserLogin, Callback, HeadlessLogin, LoginFlow, LoginFuture, PendingLogin, ShowUrl,
};
pub use manage::{AuthStatus, login, logout, status};
pub use store::{
    AuthDocument, FileTokenStore, MemoryTokenStore, Registration, ServerEntry, StoreLock,
    TOKEN_STORE_ENV, TokenStore, Tokens,
};

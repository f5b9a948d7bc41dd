//! How a user authorizes: the [`LoginFlow`] trait, the default [`BrowserLogin`] (a loopback
//! listener on 127.0.0.1 and the system browser) and [`HeadlessLogin`] (follows the
//! authorization server's redirect itself, for servers that approve without a person).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::error::{Error, Result};

/// A boxed future of a login step.
pub type LoginFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// What the authorization server sent to the redirect URI.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` echoed back.
    pub state: Option<String>,
    /// The issuer (RFC 9207), when the server sends it.
    pub iss: Option<String>,
    /// An OAuth error (`access_denied`, ...).
    pub error: Option<String>,
    /// The error's description.
    pub error_description: Option<String>,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("code", &self.code.as_ref().map(|_| "…"))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Callback {
    /// Reads the callback's query parameters from the URL the browser was sent to.
    ///
    /// ```
    /// use mcpmux::auth::Callback;
    /// let url = "http://127.0.0.1:1/callback?code=abc&state=xyz".parse().unwrap();
    /// let c = Callback::from_url(&url);
    /// assert_eq!(c.code.as_deref(), Some("abc"));
    /// assert_eq!(c.state.as_deref(), Some("xyz"));
    /// ```
    pub fn from_url(url: &Url) -> Self {
        let mut c = Callback::default();
        for (k, v) in url.query_pairs() {
            let slot = match k.as_ref() {
                "code" => &mut c.code,
                "state" => &mut c.state,
                "iss" => &mut c.iss,
                "error" => &mut c.error,
                "error_description" => &mut c.error_description,
                _ => continue,
            };
            slot.get_or_insert_with(|| v.into_owned());
        }
        c
    }
}

/// How the user is sent to the authorization page and how its answer comes back.
///
/// A login is prepared first (the redirect URI must be known to register the client), then
/// completed with the authorization URL.
pub trait LoginFlow: Send + Sync + fmt::Debug + 'static {
    /// Prepares one login. `previous` is the redirect URI of the stored registration: reusing
    /// it exactly (its loopback port) avoids a new registration, since authorization servers
    /// match redirect URIs exactly.
    fn prepare<'a>(&'a self, previous: Option<&'a str>) -> LoginFuture<'a, Box<dyn PendingLogin>>;
}

/// One prepared login.
pub trait PendingLogin: Send + fmt::Debug {
    /// Where the authorization server must send the answer.
    fn redirect_uri(&self) -> &str;
    /// Sends the user to `authorization_url` and waits for the answer.
    fn complete(self: Box<Self>, authorization_url: Url) -> LoginFuture<'static, Callback>;
}

/// A callback told the URL to show the user, e.g. to print it.
pub type ShowUrl = Arc<dyn Fn(&str) + Send + Sync>;

/// The default flow: a listener on 127.0.0.1 (the registration's port again when there is one,
/// else the configured port, else an ephemeral one) as the redirect URI, and the system browser
/// (`$BROWSER` honoured) opened on the authorization page; the URL is also handed to
/// [`show_url`](Self::show_url) so that it can be opened by hand.
///
/// ```
/// let flow = mcpmux::auth::BrowserLogin::new()
///     .callback_port(8976)
///     .show_url(|url| eprintln!("open {url}"));
/// # let _ = flow;
/// ```
#[derive(Clone, Default)]
pub struct BrowserLogin {
    port: Option<u16>,
    open_browser: bool,
    show: Option<ShowUrl>,
}

impl fmt::Debug for BrowserLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserLogin")
            .field("port", &self.port)
            .field("open_browser", &self.open_browser)
            .finish_non_exhaustive()
    }
}

impl BrowserLogin {
    /// Opens the browser, listens on an ephemeral port.
    pub fn new() -> Self {
        BrowserLogin {
            port: None,
            open_browser: true,
            show: None,
        }
    }

    /// The loopback port for the redirect URI when no registration has one (a host config's
    /// fixed callback port).
    pub fn callback_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Whether to start the browser (default true); without it the URL is only shown.
    pub fn open_browser(mut self, open: bool) -> Self {
        self.open_browser = open;
        self
    }

    /// Called with the authorization URL before waiting (to print it).
    pub fn show_url(mut self, show: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.show = Some(Arc::new(show));
        self
    }
}

const CALLBACK_PATH: &str = "/callback";

impl LoginFlow for BrowserLogin {
    fn prepare<'a>(&'a self, previous: Option<&'a str>) -> LoginFuture<'a, Box<dyn PendingLogin>> {
        Box::pin(async move {
            let previous_port = previous
                .and_then(|p| Url::parse(p).ok())
                .filter(|u| u.host_str() == Some("127.0.0.1") && u.path() == CALLBACK_PATH)
                .and_then(|u| u.port());
            let mut listener = None;
            for port in [previous_port, self.port].into_iter().flatten() {
                match TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => {
                        listener = Some(l);
                        break;
                    }
                    Err(e) => tracing::warn!(
                        port,
                        "the login callback port is taken ({e}); a new port means a new client registration"
                    ),
                }
            }
            let listener = match listener {
                Some(l) => l,
                None => TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
                    Error::auth(format!(
                        "could not listen on 127.0.0.1 for the login callback: {e}"
                    ))
                })?,
            };
            let port = listener
                .local_addr()
                .map_err(|e| Error::auth(format!("the login listener has no address: {e}")))?
                .port();
            Ok(Box::new(PendingBrowser {
                listener,
                redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
                open_browser: self.open_browser,
                show: self.show.clone(),
            }) as Box<dyn PendingLogin>)
        })
    }
}

struct PendingBrowser {
    listener: TcpListener,
    redirect_uri: String,
    open_browser: bool,
    show: Option<ShowUrl>,
}

impl fmt::Debug for PendingBrowser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingBrowser")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl PendingLogin for PendingBrowser {
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    fn complete(self: Box<Self>, authorization_url: Url) -> LoginFuture<'static, Callback> {
        Box::pin(async move {
            let url = authorization_url.to_string();
            if let Some(show) = &self.show {
                show(&url);
            }
            if self.open_browser {
                let opened = tokio::task::spawn_blocking(move || webbrowser::open(&url)).await;
                match opened {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!("could not open a browser ({e}); open the URL by hand")
                    }
                    Err(e) => {
                        tracing::warn!("could not open a browser ({e}); open the URL by hand")
                    }
                }
            }
            loop {
                let (mut stream, _) =
                    self.listener.accept().await.map_err(|e| {
                        Error::auth(format!("the login callback listener failed: {e}"))
                    })?;
                let Ok(Ok(target)) =
                    tokio::time::timeout(Duration::from_secs(10), read_request_target(&mut stream))
                        .await
                else {
                    continue;
                };
                let Ok(url) = Url::parse("http://127.0.0.1/").and_then(|b| b.join(&target)) else {
                    let _ = respond(&mut stream, 400, "Bad request").await;
                    continue;
                };
                if url.path() != CALLBACK_PATH {
                    let _ = respond(&mut stream, 404, "Not found").await;
                    continue;
                }
                let callback = Callback::from_url(&url);
                if callback.code.is_none() && callback.error.is_none() {
                    let _ =
                        respond(&mut stream, 400, "No authorization code in this request.").await;
                    continue;
                }
                let page = if callback.error.is_some() {
                    "Authorization failed. You can close this window and return to the terminal."
                } else {
                    "Authorization complete. You can close this window and return to the terminal."
                };
                let _ = respond(&mut stream, 200, page).await;
                return Ok(callback);
            }
        })
    }
}

/// Reads an HTTP request head (at most 16 KiB) and returns its request target.
async fn read_request_target(stream: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > 16 * 1024 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Ok(target.to_owned()),
        _ => Err(std::io::Error::other("not a GET request")),
    }
}

async fn respond(
    stream: &mut tokio::net::TcpStream,
    status: u16,
    text: &str,
) -> std::io::Result<()> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mcpmux</title></head><body><p>{text}</p></body></html>"
    );
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

/// Follows the authorization server's redirects itself (no browser, no person) and reads the
/// answer from the redirect to the redirect URI: for authorization servers that approve at once
/// (test servers, the conformance suite's), and for tests.
///
/// ```
/// let flow = mcpmux::auth::HeadlessLogin::new();
/// # let _ = flow;
/// ```
#[derive(Debug, Clone)]
pub struct HeadlessLogin {
    redirect_uri: String,
}

impl Default for HeadlessLogin {
    fn default() -> Self {
        Self::new()
    }
}

impl HeadlessLogin {
    /// Registers `http://127.0.0.1/callback` as the redirect URI (nothing listens there: the
    /// redirect is read, never followed).
    pub fn new() -> Self {
        HeadlessLogin {
            redirect_uri: format!("http://127.0.0.1{CALLBACK_PATH}"),
        }
    }

    /// Another redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = uri.into();
        self
    }
}

/// Most redirects followed before the one to the redirect URI.
const MAX_REDIRECTS: usize = 10;

impl LoginFlow for HeadlessLogin {
    fn prepare<'a>(&'a self, _previous: Option<&'a str>) -> LoginFuture<'a, Box<dyn PendingLogin>> {
        let uri = self.redirect_uri.clone();
        Box::pin(async move {
            Ok(Box::new(PendingHeadless { redirect_uri: uri }) as Box<dyn PendingLogin>)
        })
    }
}

#[derive(Debug)]
struct PendingHeadless {
    redirect_uri: String,
}

impl PendingLogin for PendingHeadless {
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    fn complete(self: Box<Self>, authorization_url: Url) -> LoginFuture<'static, Callback> {
        Box::pin(async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| Error::auth(format!("could not build the login client: {e}")))?;
            let target = Url::parse(&self.redirect_uri).map_err(|e| {
                Error::invalid(format!(
                    "the redirect URI {:?} is not a URL: {e}",
                    self.redirect_uri
                ))
            })?;
            let mut url = authorization_url;
            for _ in 0..MAX_REDIRECTS {
                let resp = client.get(url.clone()).send().await.map_err(|e| {
                    Error::auth(format!(
                        "the authorization request failed: {}",
                        crate::error::chain(&e)
                    ))
                })?;
                let status = resp.status();
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| url.join(l).ok());
                let Some(next) = location.filter(|_| status.is_redirection()) else {
                    return Err(Error::auth_status(
                        format!(
                            "the authorization server answered {status} without redirecting back: a headless login needs a server that approves without a person"
                        ),
                        status.as_u16(),
                    ));
                };
                if next.origin() == target.origin() && next.path() == target.path() {
                    return Ok(Callback::from_url(&next));
                }
                url = next;
            }
            Err(Error::auth(format!(
                "the authorization server redirected more than {MAX_REDIRECTS} times"
            )))
        })
    }
}

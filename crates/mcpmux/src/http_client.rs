//! The HTTP client every HTTP request of the library goes through by default (the transports,
//! OAuth discovery and token requests): rustls, no `Referer`, and the same-origin redirect rule
//! that keeps configured headers and tokens on the origin they were configured for.

use std::time::Duration;

use crate::error::{Error, Result};

/// What a server's settings change in the default client.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientOptions {
    /// `danger_accept_invalid_certs`.
    pub(crate) accept_invalid_certs: bool,
    /// CA certificates trusted besides the platform's roots (`ca_cert_pem`).
    pub(crate) extra_roots: Vec<reqwest::Certificate>,
    /// HTTP/2 without negotiation: h2c on `http://`, only `h2` offered in ALPN on `https://`.
    pub(crate) http2_prior_knowledge: bool,
}

/// Builds the default client: rustls with the `ring` provider (no C toolchain needed), no
/// `Referer`, and redirects followed only within the configured origin ([`redirect_policy`]).
///
/// Certificates are checked against the platform's roots (rustls-platform-verifier; on Linux
/// and the BSDs that is rustls-native-certs, which reads `SSL_CERT_FILE` and `SSL_CERT_DIR`
/// instead of the system store when they are set) plus `options.extra_roots`. HTTP/2 is used
/// when the server offers `h2` in ALPN; plain `http://` stays HTTP/1.1 unless
/// `options.http2_prior_knowledge`.
pub(crate) fn default_client(options: &ClientOptions) -> Result<reqwest::Client> {
    // Installs `ring` as the process default only if no provider was chosen yet.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .http2_initial_connection_window_size(H2_CONNECTION_WINDOW)
        .danger_accept_invalid_certs(options.accept_invalid_certs)
        .redirect(redirect_policy())
        .referer(false);
    if !options.extra_roots.is_empty() {
        builder = builder.tls_certs_merge(options.extra_roots.iter().cloned());
    }
    if options.http2_prior_knowledge {
        builder = builder.http2_prior_knowledge();
    }
    builder
        .build()
        .map_err(|e| Error::invalid_input("could not build the HTTP client", e))
}

/// HTTP/2's connection receive window, 16 MiB (hyper's default: 5 MiB).
///
/// h2 lets a connection hold unread small DATA frames worth at most half of this window
/// (256 bytes charged per frame, less its payload) and closes the connection past it (GOAWAY
/// ENHANCE_YOUR_CALM `too_many_data_frames`). Each SSE answer is one or two small frames (a
/// priming event, the response), and every call of a handle shares one connection: with 5 MiB,
/// 10,000 answers arriving faster than they were read closed the connection. The window is only
/// what a server may send before its data is read; it allocates nothing.
const H2_CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;

/// The CA certificates in a PEM bundle, for [`ClientOptions::extra_roots`].
///
/// # Errors
/// A bundle with no `CERTIFICATE` block, or one that does not parse.
pub(crate) fn parse_ca_pem(pem: &[u8]) -> Result<Vec<reqwest::Certificate>> {
    let certs = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| Error::invalid_input("the CA certificate is not valid PEM", e))?;
    if certs.is_empty() {
        return Err(Error::invalid(
            "no CA certificate found (expected PEM `BEGIN CERTIFICATE` blocks)",
        ));
    }
    Ok(certs)
}

/// Most redirects one request follows.
const MAX_REDIRECTS: usize = 10;

/// Configured headers and tokens reach only the origin (scheme, host, port) they were
/// configured for: a redirect within that origin is followed with them; a redirect anywhere
/// else — another host or port, https to http, and also the http to https upgrade, which reqwest
/// would follow without the bearer token but with every other header — is refused with an error
/// naming the target, before anything is sent there. Use the final URL in the configuration.
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        if same_origin(first, attempt.url()) {
            return attempt.follow();
        }
        let error = CrossOriginRedirect {
            from: origin(first),
            to: attempt.url().to_string(),
            upgrade: first.scheme() == "http"
                && attempt.url().scheme() == "https"
                && first.host_str() == attempt.url().host_str(),
        };
        attempt.error(error)
    })
}

/// Scheme, host and port (the known default when none is written).
pub(crate) fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn origin(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}

/// A redirect to another origin, refused.
#[derive(Debug)]
struct CrossOriginRedirect {
    from: String,
    to: String,
    upgrade: bool,
}

impl std::fmt::Display for CrossOriginRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refused a redirect from {} to another origin, {}: configured headers and tokens are sent only to the origin they were configured for",
            self.from, self.to
        )?;
        if self.upgrade {
            f.write_str(" (the server upgrades to https: configure the https URL)")?;
        }
        Ok(())
    }
}

impl std::error::Error for CrossOriginRedirect {}

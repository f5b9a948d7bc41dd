//! HTTP options (command-line flags `--http*`).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::Options;

/// Options of the HTTP transports.
///
/// Derives [`clap::Args`] (all flags start with `--http`, plus
/// `--allow-remote`), so a binary can embed them with `#[command(flatten)]`
/// next to [`Options`]; [`HttpOptions::server`] is not a flag: set it from
/// the flattened [`Options`]. [`HttpOptions::default()`] is the plain
/// stateful server answering with SSE streams with event ids.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct HttpOptions {
    /// The protocol-level options shared with stdio. Used on HTTP:
    /// `page_size`, `cancel_log`, `ignore_cancellations`, `delay_initialize_ms`,
    /// `never_initialize`, `fault_tools` (`split` and `close_stdout` answer `isError` there),
    /// `grandchild` and `ignore_sigterm` (applied when the server starts);
    /// `garbage_at_start` and `ignore_stdin_eof` have no meaning there.
    #[arg(skip)]
    pub server: Options,

    /// Serve MCP over HTTP on this address instead of stdio (e.g.
    /// `127.0.0.1:0`). Read by [`crate::run_http`] only.
    #[arg(
        long = "http",
        value_name = "ADDR",
        help = "Serve MCP over HTTP on this address (e.g. 127.0.0.1:0) instead of stdio; \
                prints `listening on http://ADDR` once bound"
    )]
    pub listen: Option<SocketAddr>,

    /// Allow `--http` on a non-loopback address.
    #[arg(long, requires = "listen")]
    pub allow_remote: bool,

    /// Streamable HTTP: answer requests with one `application/json` body
    /// instead of a `text/event-stream`.
    #[arg(long = "http-json-response")]
    pub json_response: bool,

    /// Streamable HTTP without sessions: no `Mcp-Session-Id`; GET and DELETE
    /// on `/mcp` answer 405.
    #[arg(long = "http-stateless")]
    pub stateless: bool,

    /// Forget a session once it has received N POSTs (its initialize POST
    /// included): later requests carrying its id get 404.
    #[arg(long = "http-expire-session-after", value_name = "N")]
    pub expire_session_after: Option<u64>,

    /// SSE events carry `id:` fields (`<stream>-<n>`), every SSE stream
    /// starts with a priming event (an id and an empty `data:`), and
    /// streams can be resumed with GET + `Last-Event-ID`. On by default;
    /// `--http-no-event-ids` turns it off.
    #[arg(
        long = "http-no-event-ids",
        action = clap::ArgAction::SetFalse,
        help = "SSE events without `id:` fields and without priming events: nothing is resumable"
    )]
    pub event_ids: bool,

    /// Every SSE response stream starts with a priming event (`id:`,
    /// `retry: N`, empty `data:`) and is then closed at once; the response
    /// is delivered on the GET that resumes the stream with `Last-Event-ID`.
    /// Implies event ids.
    #[arg(long = "http-priming-retry-ms", value_name = "MS")]
    pub priming_retry_ms: Option<u64>,

    /// Keep each request's SSE stream open this long after its response
    /// before ending it (a server slow to end its streams; the spec asks
    /// for the end right after the response).
    #[arg(long = "http-end-stream-after-ms", value_name = "MS")]
    pub end_stream_after_ms: Option<u64>,

    /// OAuth: the MCP routes want a bearer token from the server's own minimal authorization
    /// server (metadata, registration, authorize, token with refresh), valid this many seconds.
    #[arg(
        long = "http-oauth-ttl",
        value_name = "SECONDS",
        help = "Protect the MCP routes with OAuth: a built-in authorization server on the same \
                origin issues tokens valid SECONDS (counters at /oauth/counters)"
    )]
    pub oauth_ttl: Option<u64>,

    /// HTTPS: the server's certificate chain (PEM, leaf first). With
    /// [`HttpOptions::tls_key`], the server speaks TLS only, offering ALPN
    /// `h2` and `http/1.1`.
    #[arg(
        long = "tls-cert",
        value_name = "FILE",
        requires_all = ["listen", "tls_key"],
        help = "Serve HTTPS with this certificate chain (PEM, leaf first; needs --tls-key), \
                offering ALPN h2 and http/1.1; prints `listening on https://ADDR`"
    )]
    pub tls_cert: Option<PathBuf>,

    /// HTTPS: the private key of [`HttpOptions::tls_cert`] (PEM: PKCS#8,
    /// PKCS#1 or SEC1).
    #[arg(
        long = "tls-key",
        value_name = "FILE",
        requires = "tls_cert",
        help = "The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1)"
    )]
    pub tls_key: Option<PathBuf>,

    /// Answer the first N POSTs (any endpoint) with 503.
    #[arg(long = "http-fail-first-posts", value_name = "N", default_value_t = 0)]
    pub fail_first_posts: u64,

    /// Serve only the legacy HTTP+SSE transport: `GET /mcp` (like `GET
    /// /sse`) opens the endpoint stream, `POST /mcp` and `DELETE /mcp`
    /// answer 405.
    #[arg(long = "http-legacy-only")]
    pub legacy_only: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            server: Options::default(),
            listen: None,
            allow_remote: false,
            json_response: false,
            stateless: false,
            expire_session_after: None,
            event_ids: true,
            priming_retry_ms: None,
            end_stream_after_ms: None,
            oauth_ttl: None,
            fail_first_posts: 0,
            legacy_only: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl HttpOptions {
    /// Whether SSE events carry ids (and streams are resumable).
    pub(crate) fn resumable(&self) -> bool {
        self.event_ids || self.priming_retry_ms.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        options: Options,
        #[command(flatten)]
        http: HttpOptions,
    }

    #[test]
    fn member_order_parses_and_http_refuses_the_unusual_one() {
        let cli = Cli::try_parse_from(["x", "--member-order", "unusual"]).unwrap();
        assert_eq!(cli.options.member_order, crate::MemberOrder::Unusual);
        assert!(Cli::try_parse_from(["x", "--member-order", "shuffled"]).is_err());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let refused = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let opts = HttpOptions {
                server: cli.options,
                ..HttpOptions::default()
            };
            crate::start_http_on(listener, opts).await.err()
        });
        assert_eq!(
            refused.map(|e| e.kind()),
            Some(std::io::ErrorKind::InvalidInput)
        );
    }

    #[test]
    fn no_flags_is_the_default() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.http, HttpOptions::default());
        assert!(cli.http.event_ids);
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "x",
            "--page-size",
            "3",
            "--http",
            "127.0.0.1:0",
            "--http-json-response",
            "--http-stateless",
            "--http-expire-session-after",
            "4",
            "--http-no-event-ids",
            "--http-priming-retry-ms",
            "500",
            "--http-end-stream-after-ms",
            "40",
            "--http-fail-first-posts",
            "2",
            "--http-legacy-only",
        ])
        .unwrap();
        assert_eq!(cli.options.page_size, 3);
        let h = cli.http;
        assert_eq!(h.listen, Some("127.0.0.1:0".parse().unwrap()));
        assert!(h.json_response && h.stateless && h.legacy_only && !h.event_ids);
        assert_eq!(h.expire_session_after, Some(4));
        assert_eq!(h.priming_retry_ms, Some(500));
        assert_eq!(h.end_stream_after_ms, Some(40));
        assert_eq!(h.fail_first_posts, 2);
        assert!(h.resumable());
        assert!(Cli::try_parse_from(["x", "--allow-remote"]).is_err());
    }

    #[test]
    fn tls_flags_come_together() {
        let cli = Cli::try_parse_from([
            "x",
            "--http",
            "127.0.0.1:0",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ])
        .unwrap();
        assert_eq!(cli.http.tls_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(cli.http.tls_key, Some(PathBuf::from("k.pem")));
        for alone in [
            &["x", "--http", "127.0.0.1:0", "--tls-cert", "c.pem"][..],
            &["x", "--http", "127.0.0.1:0", "--tls-key", "k.pem"][..],
            &["x", "--tls-cert", "c.pem", "--tls-key", "k.pem"][..],
        ] {
            assert!(Cli::try_parse_from(alone).is_err(), "{alone:?}");
        }
    }
}

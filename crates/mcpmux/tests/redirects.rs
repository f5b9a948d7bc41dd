//! Configured headers and tokens reach only the origin they were configured for: a redirect
//! to another origin (host, port, or scheme, the http → https upgrade included) is refused
//! before anything is sent there; a redirect within the origin is followed with them; no
//! request carries a `Referer`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcpmux::{HttpMode, ReconnectPolicy, Server, ServerBuilder};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// The request heads a listener received, lowercased.
type Seen = Arc<Mutex<Vec<String>>>;

/// A listener on `ip` that records every request and answers it with `answer(n)` (n counts
/// requests from 0). Runs until the test ends.
async fn listener(
    ip: &str,
    answer: impl Fn(usize) -> String + Send + Sync + 'static,
) -> (u16, Seen) {
    let l = TcpListener::bind((ip, 0))
        .await
        .expect("bind a loopback port");
    let port = l.local_addr().expect("local address").port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = l.accept().await {
            let Some(head) = common::read_http_request(&mut stream).await else {
                continue;
            };
            let n = {
                let mut log = log.lock().unwrap();
                log.push(head);
                log.len() - 1
            };
            let _ = stream.write_all(answer(n).as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (port, seen)
}

fn redirect_to(location: &str) -> String {
    format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
}

const REFUSED: &str =
    "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

fn client(url: &str, secret: fn(ServerBuilder) -> ServerBuilder) -> Server {
    secret(
        Server::http(url)
            .http_mode(HttpMode::Streamable)
            .reconnect(ReconnectPolicy::none())
            .initialize_timeout(Duration::from_secs(10)),
    )
    .build()
    .expect("a valid URL")
}

/// The error and its causes, as one line.
fn chain(e: &mcpmux::Error) -> String {
    let mut out = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

fn with_header(b: ServerBuilder) -> ServerBuilder {
    b.header("x-api-key", "SECRET-KEY-123")
}

fn with_bearer(b: ServerBuilder) -> ServerBuilder {
    b.bearer_token("SECRET-TOKEN-456")
}

#[tokio::test]
async fn a_redirect_to_another_host_is_refused_before_anything_reaches_it() {
    for secret in [with_header, with_bearer] {
        let (target_port, target_seen) = listener("127.0.0.2", |_| REFUSED.to_owned()).await;
        let location = format!("http://127.0.0.2:{target_port}/mcp");
        let (port, seen) = listener("127.0.0.1", move |_| redirect_to(&location)).await;
        let server = client(&format!("http://127.0.0.1:{port}/mcp"), secret);
        let err = tokio::time::timeout(Duration::from_secs(15), server.enter())
            .await
            .expect("enter() ends within its deadline")
            .expect_err("a cross-origin redirect must not be followed");
        let text = chain(&err);
        assert!(
            text.contains("refused a redirect")
                && text.contains(&format!("127.0.0.2:{target_port}")),
            "the error names the target: {text}"
        );
        assert!(!text.contains("SECRET"), "no secret in the error: {text}");
        // The discover probe and the initialize fallback: each refused at the redirect.
        assert!(!seen.lock().unwrap().is_empty(), "the origin was asked");
        assert!(
            target_seen.lock().unwrap().is_empty(),
            "nothing reached the other host: {:?}",
            target_seen.lock().unwrap()
        );
    }
}

#[tokio::test]
async fn a_redirect_to_another_port_of_the_same_host_is_refused() {
    let (target_port, target_seen) = listener("127.0.0.1", |_| REFUSED.to_owned()).await;
    let location = format!("http://127.0.0.1:{target_port}/mcp");
    let (port, _) = listener("127.0.0.1", move |_| redirect_to(&location)).await;
    let server = client(&format!("http://127.0.0.1:{port}/mcp"), with_header);
    let err = server
        .enter()
        .await
        .expect_err("another port is another origin");
    assert!(
        chain(&err).contains("refused a redirect"),
        "{}",
        chain(&err)
    );
    assert!(target_seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_upgrade_to_https_is_refused_with_a_hint() {
    let (port, seen) = listener("127.0.0.1", |_| String::new()).await;
    drop(seen);
    // The origin itself redirects to https on the same host: refused, with a hint.
    let (redirecting, _) = listener("127.0.0.1", move |_| {
        redirect_to(&format!("https://127.0.0.1:{port}/mcp"))
    })
    .await;
    let server = client(&format!("http://127.0.0.1:{redirecting}/mcp"), with_bearer);
    let err = server
        .enter()
        .await
        .expect_err("the upgrade is not followed");
    let text = chain(&err);
    assert!(text.contains("configure the https URL"), "{text}");
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_with_the_headers_and_no_referer() {
    let (port, seen) = listener("127.0.0.1", |n| {
        if n == 0 {
            redirect_to("/moved-here")
        } else {
            REFUSED.to_owned()
        }
    })
    .await;
    let server = client(&format!("http://127.0.0.1:{port}/mcp"), |b| {
        with_bearer(with_header(b))
    });
    // The target answers 500: the connect fails, after the redirect was followed.
    let _ = server.enter().await.expect_err("the test target refuses");
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 2, "the redirect was followed: {seen:?}");
    let followed = &seen[1];
    assert!(followed.starts_with("post /moved-here "), "{followed}");
    assert!(followed.contains("x-api-key: secret-key-123"), "{followed}");
    assert!(
        followed.contains("authorization: bearer secret-token-456"),
        "{followed}"
    );
    assert!(!followed.contains("referer:"), "no Referer: {followed}");
}

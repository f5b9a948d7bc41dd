//! HTTPS (`--tls-cert` / `--tls-key`, ALPN h2 and http/1.1) and prior-knowledge h2c on the plain
//! listener, checked with reqwest on 127.0.0.1; every wait is bounded by [`TIMEOUT`].

use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mcpmux_test_server::test_certs::{TestCertFiles, TestCerts};
use mcpmux_test_server::{HttpOptions, HttpServer, start_http};
use reqwest::Version;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Fresh certificates in a fresh folder (removed by the caller).
fn certs(tag: &str) -> (std::path::PathBuf, TestCertFiles) {
    let dir = std::env::temp_dir().join(format!(
        "mcpmux-test-server-tls-it-{tag}-{}",
        std::process::id()
    ));
    let files = TestCerts::generate().unwrap().write_to(&dir).unwrap();
    (dir, files)
}

fn builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(TIMEOUT)
}

fn trusting(files: &TestCertFiles) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&files.ca).unwrap()).unwrap();
    builder().tls_certs_only([ca])
}

/// POSTs `initialize`; returns the answer's HTTP version and its JSON-RPC result.
async fn initialize(client: &reqwest::Client, url: &str) -> reqwest::Result<(Version, Value)> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "tls-test", "version": "0"}}});
    let response = client
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?
        .error_for_status()?;
    let version = response.version();
    let text = response.text().await?;
    // SSE: the `data:` line carrying the answer.
    let data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .find(|d| !d.is_empty())
        .unwrap_or(&text);
    Ok((version, serde_json::from_str(data).unwrap()))
}

async fn versions(client: &reqwest::Client, server: &HttpServer) -> Value {
    client
        .get(format!("{}/http-versions", server.url_base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn tls_options(files: &TestCertFiles) -> HttpOptions {
    HttpOptions {
        tls_cert: Some(files.cert.clone()),
        tls_key: Some(files.key.clone()),
        ..HttpOptions::default()
    }
}

#[tokio::test]
async fn https_negotiates_h2_and_h1_by_alpn_and_needs_the_ca() {
    let (dir, files) = certs("alpn");
    let server = start_http(tls_options(&files)).await.unwrap();
    assert!(
        server.url_mcp.starts_with("https://127.0.0.1:"),
        "{}",
        server.url_mcp
    );

    // Without the CA: a certificate error, and the server saw no request.
    let err = within(
        "untrusted",
        initialize(&builder().build().unwrap(), &server.url_mcp),
    )
    .await
    .unwrap_err();
    let chain = format!("{err:?}");
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");
    assert_eq!(server.stats.get(&server.stats.posts), 0);

    // With it: HTTP/2 by ALPN.
    let h2 = trusting(&files).build().unwrap();
    let (version, answer) = within("h2", initialize(&h2, &server.url_mcp))
        .await
        .unwrap();
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(answer["result"]["serverInfo"]["name"], "mcpmux-test-server");
    assert_eq!(
        versions(&h2, &server).await,
        json!({"http1": 0, "http2": 1})
    );

    // A client offering only http/1.1 gets it.
    let h1 = trusting(&files).http1_only().build().unwrap();
    let (version, _) = within("h1", initialize(&h1, &server.url_mcp))
        .await
        .unwrap();
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(
        versions(&h1, &server).await,
        json!({"http1": 1, "http2": 1})
    );

    server.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn plain_listener_speaks_h1_and_prior_knowledge_h2c() {
    let server = start_http(HttpOptions::default()).await.unwrap();
    let h1 = builder().build().unwrap();
    let (version, _) = within("h1", initialize(&h1, &server.url_mcp))
        .await
        .unwrap();
    assert_eq!(version, Version::HTTP_11);
    let h2c = builder().http2_prior_knowledge().build().unwrap();
    let (version, answer) = within("h2c", initialize(&h2c, &server.url_mcp))
        .await
        .unwrap();
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(answer["result"]["serverInfo"]["name"], "mcpmux-test-server");
    assert_eq!(server.stats.http1_requests.load(Ordering::SeqCst), 1);
    assert_eq!(server.stats.http2_requests.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn binary_prints_https_and_names_a_bad_key() {
    let (dir, files) = certs("bin");
    let bin = env!("CARGO_BIN_EXE_mcpmux-test-server");
    let mut child = tokio::process::Command::new(bin)
        .args(["--http", "127.0.0.1:0", "--tls-cert"])
        .arg(&files.cert)
        .arg("--tls-key")
        .arg(&files.key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = within("listening line", BufReader::new(stdout).lines().next_line())
        .await
        .unwrap()
        .unwrap();
    let base = line.strip_prefix("listening on ").unwrap_or(&line);
    assert!(base.starts_with("https://127.0.0.1:"), "{line}");
    let client = trusting(&files).build().unwrap();
    let (version, _) = within("h2", initialize(&client, &format!("{base}/mcp")))
        .await
        .unwrap();
    assert_eq!(version, Version::HTTP_2);
    child.start_kill().unwrap();
    within("exit", child.wait()).await.unwrap();

    // The certificate given as the key: a clear error naming the file, exit 1, nothing on stdout.
    let out = within(
        "bad key",
        tokio::process::Command::new(bin)
            .args(["--http", "127.0.0.1:0", "--tls-cert"])
            .arg(&files.cert)
            .arg("--tls-key")
            .arg(&files.ca)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ca.pem") && stderr.contains("no private key"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

//! OAuth at scale against the test server's own authorization server (`--http-oauth-ttl`): the
//! token expires under 10,000 calls in flight, and exactly one refresh request is sent; every call
//! proceeds with the new token. (The interop tests use the Python SDK's authorization server.)

mod common;

use std::time::Duration;

use common::*;
use mcpmux::Server;
use mcpmux::auth::{HeadlessLogin, MemoryTokenStore, OAuthConfig};
use mcpmux_test_server::{HttpOptions, start_http};
use serde_json::{Value, json};

async fn counters(base: &str) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .get(format!("{base}/oauth/counters"))
        .send()
        .await
        .expect("GET /oauth/counters")
        .bytes()
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .expect("counters JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_calls_over_an_expiry_send_one_refresh() {
    let http = start_http(HttpOptions {
        oauth_ttl: Some(3600),
        ..HttpOptions::default()
    })
    .await
    .expect("start the HTTP test server");
    let url = http.url_mcp.clone();
    let base = url.trim_end_matches("/mcp").to_owned();
    bounded("10k calls over an expiry", Duration::from_secs(90), async {
        // 10,000 calls in flight in the library; at most 2,000 HTTP requests at once, since the
        // server lives in this process too and two sockets per request would pass its 20,000
        // descriptors.
        let server = Server::http(&url)
            .request_timeout(Duration::from_secs(60))
            .max_concurrent_requests(2_000)
            .oauth(
                OAuthConfig::new()
                    .login(HeadlessLogin::new())
                    .store(MemoryTokenStore::new()),
            )
            .build()
            .expect("build");
        let guard = server.enter().await.expect("connect and log in");
        let c = counters(&base).await;
        assert_eq!(c["registrations"], 1, "{c}");
        assert_eq!(c["authorizations"], 1, "{c}");
        assert_eq!(c["code_exchanges"], 1, "{c}");

        // Every access token expires now; the client still believes it has an hour.
        let _ = reqwest::Client::new()
            .post(format!("{base}/oauth/expire"))
            .send()
            .await
            .expect("POST /oauth/expire");
        let calls = (0..10_000).map(|i| {
            let guard = guard.clone();
            async move {
                let text = format!("call {i}");
                let r = guard
                    .call_tool("echo", json!({ "text": text }))
                    .await
                    .unwrap_or_else(|e| panic!("call {i}: {e}"));
                assert_eq!(r.text(), text);
            }
        });
        futures_util::future::join_all(calls).await;
        let c = counters(&base).await;
        assert_eq!(c["refreshes"], 1, "one refresh for all the calls: {c}");
        assert_eq!(c["rejected_refreshes"], 0, "{c}");
        assert_eq!(c["authorizations"], 1, "no new login: {c}");
        assert!(
            c["rejected_requests"].as_u64().unwrap_or(0) >= 1,
            "the expired token was refused: {c}"
        );
        drop(guard);
        server.close().await;
    })
    .await;
    http.shutdown().await;
}

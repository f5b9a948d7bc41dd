//! The raw limit on Streamable HTTP: the simplest concurrent POST driver.
//!
//! One `initialize` to open the session, then each call is one POST of a body serialized before
//! any run (sequential ids), from a task per call on a pooled `reqwest` client with no
//! concurrency cap; the response body (JSON or an SSE stream) is read whole and its id found
//! with a byte scan. No MCP layer, no JSON parse.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::json;

use super::Driver;
use super::raw_stdio::scan_id;
use super::rust_async::{AsyncDriver, Caller, runtime};
use crate::spec::{Target, WorkerSpec};

const SESSION: &str = "mcp-session-id";
const VERSION: &str = "2025-11-25";

#[derive(Clone)]
struct RawHttpCaller {
    client: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
    /// Request bodies, index `i` has id `i + 1`.
    bodies: Arc<Vec<Bytes>>,
}

impl Caller for RawHttpCaller {
    fn call(&self, i: usize) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let body = self.bodies.get(i).cloned();
        let request = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone());
        async move {
            let body = body.ok_or("no such request")?;
            let response = request.body(body).send().await.map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("HTTP {}", response.status()));
            }
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            match scan_id(&bytes) {
                Some(id) if id == i as u64 + 1 => Ok(()),
                _ => Err("response without the request's id".into()),
            }
        }
    }
}

pub(crate) fn connect(spec: &WorkerSpec) -> Result<Box<dyn Driver>, String> {
    let Target::Http { url, .. } = &spec.target else {
        return Err("raw HTTP driver needs an HTTP target".into());
    };
    let url = reqwest::Url::parse(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    let rt = runtime()?;
    let client = super::http_client(&spec.target)?;
    let mut headers = HeaderMap::new();
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let session = rt.block_on(handshake(&client, &url, &mut headers))?;
    let params = json!({"name": spec.call.tool, "arguments": spec.call.arguments()});
    let params = serde_json::to_string(&params).map_err(|e| e.to_string())?;
    let bodies = (1..=spec.calls)
        .map(|id| {
            Bytes::from(format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{params}}}"#
            ))
        })
        .collect();
    let caller = RawHttpCaller {
        client: client.clone(),
        url: url.clone(),
        headers: headers.clone(),
        bodies: Arc::new(bodies),
    };
    Ok(Box::new(AsyncDriver {
        rt,
        caller,
        closer: Some(Box::new(move || {
            Box::pin(async move {
                if session.is_some() {
                    let _ = client.delete(url).headers(headers).send().await;
                }
            })
        })),
    }))
}

/// `initialize` + `notifications/initialized`; adds the session and version headers.
async fn handshake(
    client: &reqwest::Client,
    url: &reqwest::Url,
    headers: &mut HeaderMap,
) -> Result<Option<String>, String> {
    let init = json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcpmux-bench-raw", "version": "0"},
        },
    });
    let response = client
        .post(url.clone())
        .headers(headers.clone())
        .body(init.to_string())
        .send()
        .await
        .map_err(|e| format!("initialize: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("initialize: HTTP {}", response.status()));
    }
    let session = response
        .headers()
        .get(SESSION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("initialize body: {e}"))?;
    if scan_id(&body) != Some(0) {
        return Err("initialize: no response".into());
    }
    if let Some(s) = &session {
        let value = HeaderValue::from_str(s).map_err(|e| format!("session id: {e}"))?;
        headers.insert(SESSION, value);
    }
    headers.insert("mcp-protocol-version", HeaderValue::from_static(VERSION));
    let response = client
        .post(url.clone())
        .headers(headers.clone())
        .body(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .send()
        .await
        .map_err(|e| format!("initialized: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("initialized: HTTP {}", response.status()));
    }
    Ok(session)
}

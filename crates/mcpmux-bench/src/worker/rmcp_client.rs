//! rmcp 3.11.0 (the official Rust SDK) as a worker: `().serve(transport)`, then
//! `Peer::call_tool` from a task per call.
//!
//! Library defaults, except one: the Streamable HTTP transport's cap of 16 POSTs in flight is
//! lifted (`max_concurrent_requests`), so every client is measured uncapped.
//!
//! Two HTTP rows: `rmcp` keeps rmcp's own `reqwest` client, which disables idle-connection
//! pooling (`pool_max_idle_per_host(0)`: a new TCP connection per POST); `rmcp-pooled` passes
//! `StreamableHttpClientTransport::with_client` a `reqwest` client with reqwest's defaults
//! (keep-alive, pooled connections), as a careful user would configure it.

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::service::{Peer, RoleClient};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ServiceExt, service::RunningService};

use super::Driver;
use super::rust_async::{AsyncDriver, Caller, runtime};
use crate::spec::{Target, WorkerSpec};

/// rmcp's HTTP concurrency cap, lifted far above any workload here.
const HTTP_MAX_IN_FLIGHT: usize = 1 << 20;

#[derive(Clone)]
struct RmcpCaller {
    peer: Peer<RoleClient>,
    tool: Cow<'static, str>,
    args: Arc<JsonObject>,
}

impl Caller for RmcpCaller {
    fn call(&self, _i: usize) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let peer = self.peer.clone();
        let params =
            CallToolRequestParams::new(self.tool.clone()).with_arguments((*self.args).clone());
        async move {
            match peer.call_tool(params).await {
                Ok(r) if r.is_error == Some(true) => Err("isError: true".to_owned()),
                Ok(_) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

/// Which `reqwest` client the Streamable HTTP transport gets (stdio ignores it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpClient {
    /// rmcp's default client (`from_config`): no idle connections kept.
    Default,
    /// A client with reqwest's defaults: connections kept alive and reused.
    Pooled,
}

pub(crate) fn connect(spec: &WorkerSpec, http: HttpClient) -> Result<Box<dyn Driver>, String> {
    let rt = runtime()?;
    let service: RunningService<RoleClient, ()> = rt.block_on(async {
        match &spec.target {
            Target::Stdio { command, args } => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(args);
                let transport =
                    TokioChildProcess::new(cmd).map_err(|e| format!("rmcp spawn: {e}"))?;
                ().serve(transport)
                    .await
                    .map_err(|e| format!("rmcp initialize: {e}"))
            }
            Target::Http {
                url,
                ca_cert,
                http2_prior_knowledge,
            } => {
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .max_concurrent_requests(HTTP_MAX_IN_FLIGHT);
                let transport = match http {
                    HttpClient::Default if ca_cert.is_none() && !http2_prior_knowledge => {
                        StreamableHttpClientTransport::from_config(config)
                    }
                    HttpClient::Default => {
                        // A reqwest client trusting the cell's CA / speaking h2c, otherwise like
                        // rmcp's default one (no idle pooling).
                        let client = super::http_client_builder(&spec.target)?
                            .pool_max_idle_per_host(0)
                            .build()
                            .map_err(|e| format!("HTTP client: {e}"))?;
                        StreamableHttpClientTransport::with_client(client, config)
                    }
                    HttpClient::Pooled => {
                        // rmcp given a reqwest client with its defaults (keep-alive pooling).
                        let client = super::http_client_builder(&spec.target)?
                            .build()
                            .map_err(|e| format!("HTTP client: {e}"))?;
                        StreamableHttpClientTransport::with_client(client, config)
                    }
                };
                ().serve(transport)
                    .await
                    .map_err(|e| format!("rmcp initialize: {e}"))
            }
        }
    })?;
    let caller = RmcpCaller {
        peer: service.peer().clone(),
        tool: Cow::Owned(spec.call.tool.clone()),
        args: Arc::new(spec.call.arguments()),
    };
    Ok(Box::new(AsyncDriver {
        rt,
        caller,
        closer: Some(Box::new(move || {
            Box::pin(async move {
                let _ = service.cancel().await;
            })
        })),
    }))
}

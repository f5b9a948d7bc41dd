//! mcpmux as a worker: one `Server` handle, one `Guard`, `call_tool` from a task per call.
//! Library defaults throughout (structured-output validation on, no concurrency cap).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Driver;
use super::rust_async::{AsyncDriver, Caller, runtime};
use crate::spec::{Target, WorkerSpec};

#[derive(Clone)]
struct McpmuxCaller {
    guard: mcpmux::Guard,
    tool: Arc<str>,
    args: Arc<Map<String, Value>>,
}

impl Caller for McpmuxCaller {
    fn call(&self, _i: usize) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let this = self.clone();
        async move {
            let args = Value::Object((*this.args).clone());
            match this.guard.call_tool(&this.tool, args).await {
                Ok(r) if r.is_error() => Err(format!("isError: {}", r.text())),
                Ok(_) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

pub(crate) fn connect(spec: &WorkerSpec) -> Result<Box<dyn Driver>, String> {
    let rt = runtime()?;
    let builder = match &spec.target {
        Target::Stdio { command, args } => mcpmux::Server::stdio(command).args(args),
        Target::Http {
            url,
            ca_cert,
            http2_prior_knowledge,
        } => {
            let mut b = mcpmux::Server::http(url).http2_prior_knowledge(*http2_prior_knowledge);
            if let Some(ca) = ca_cert {
                b = b.ca_cert_file(ca);
            }
            spec.headers
                .iter()
                .fold(b, |b, (name, value)| b.header(name, value))
        }
    };
    let builder = match &spec.protocol_version {
        None => builder,
        Some(v) => builder.protocol_version(
            mcpmux::ProtocolVersion::parse(v)
                .ok_or_else(|| format!("unknown protocol version {v:?}"))?,
        ),
    };
    let server = builder.build().map_err(|e| e.to_string())?;
    let guard = rt
        .block_on(server.enter())
        .map_err(|e| format!("mcpmux enter: {e}"))?;
    let caller = McpmuxCaller {
        guard,
        tool: spec.call.tool.as_str().into(),
        args: Arc::new(spec.call.arguments()),
    };
    Ok(Box::new(AsyncDriver {
        rt,
        caller,
        closer: Some(Box::new(move || {
            Box::pin(async move {
                // The caller (and its guard) is dropped with the driver; close waits for the
                // server process to be reaped.
                server.close().await;
            })
        })),
    }))
}

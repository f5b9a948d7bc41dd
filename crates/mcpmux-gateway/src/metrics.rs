//! What the gateway counts, in Prometheus' text format: forwarded tool calls, their errors and
//! latency, per upstream server and tool (the upstream's own tool name). Served on `/metrics`
//! by the HTTP transport; [`Gateway::metrics_text`](crate::Gateway::metrics_text) renders it.

use std::future::IntoFuture;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing::Instrument as _;

/// The labels of a forwarded call.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Call {
    server: String,
    tool: String,
}

/// One forwarded tool's series: handles on the registry's counters and histogram.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    calls: Counter,
    errors: Counter,
    latency: Histogram,
    server: String,
    tool: String,
}

/// The gateway's metrics.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    calls: Family<Call, Counter>,
    errors: Family<Call, Counter>,
    latency: Family<Call, Histogram>,
}

/// The latency buckets: 1 ms to about 33 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::default();
        let calls = Family::<Call, Counter>::default();
        let errors = Family::<Call, Counter>::default();
        let latency =
            Family::<Call, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "mcpmux_gateway_tool_calls",
            "Tool calls forwarded to an upstream server",
            calls.clone(),
        );
        registry.register(
            "mcpmux_gateway_tool_call_errors",
            "Forwarded tool calls that failed or answered isError",
            errors.clone(),
        );
        registry.register(
            "mcpmux_gateway_tool_call_seconds",
            "Latency of forwarded tool calls",
            latency.clone(),
        );
        Metrics {
            registry,
            calls,
            errors,
            latency,
        }
    }

    /// The series of `server`'s tool `tool` (created, at 0, if new): what
    /// [`forwarded`](Self::forwarded) counts a call of it in. Looked up once per offered tool
    /// (a call then takes no lock and hashes no label).
    pub(crate) fn series(&self, server: &str, tool: &str) -> Series {
        let labels = Call {
            server: server.to_owned(),
            tool: tool.to_owned(),
        };
        Series {
            calls: self.calls.get_or_create(&labels).clone(),
            // The error series exists (at 0) from the first call on.
            errors: self.errors.get_or_create(&labels).clone(),
            latency: self.latency.get_or_create(&labels).clone(),
            server: labels.server,
            tool: labels.tool,
        }
    }

    /// Runs one forwarded call in a `tracing` span (`tools/call`), counting it, its latency and
    /// whether it failed (an error, or a result with `isError`) in `series`. A call dropped
    /// before it ends (cancelled) is counted as a call only.
    pub(crate) async fn forwarded<F>(
        series: &Series,
        call: F,
    ) -> mcpmux::Result<mcpmux_protocol::CallToolResult>
    where
        F: IntoFuture<Output = mcpmux::Result<mcpmux_protocol::CallToolResult>>,
    {
        series.calls.inc();
        let started = Instant::now();
        let span = tracing::info_span!(
            "tools/call",
            server = series.server.as_str(),
            tool = series.tool.as_str()
        );
        let result = call.into_future().instrument(span).await;
        series.latency.observe(started.elapsed().as_secs_f64());
        if result.as_ref().map_or(true, |r| r.is_error == Some(true)) {
            series.errors.inc();
        }
        result
    }

    /// The metrics in the text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_errors_and_latency_are_counted_per_server_and_tool() {
        let metrics = Metrics::new();
        let ok = mcpmux_protocol::CallToolResult {
            content: Vec::new(),
            structured_content: None,
            is_error: None,
            meta: None,
            extra: serde_json::Map::new(),
        };
        let mut failed = ok.clone();
        failed.is_error = Some(true);
        let echo = metrics.series("one", "echo");
        assert!(
            Metrics::forwarded(&echo, async { Ok(ok.clone()) })
                .await
                .is_ok()
        );
        // A second lookup finds the same series.
        assert!(
            Metrics::forwarded(&metrics.series("one", "echo"), async { Ok(failed) })
                .await
                .is_ok()
        );
        let text = metrics.render();
        assert!(
            text.contains(r#"mcpmux_gateway_tool_calls_total{server="one",tool="echo"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcpmux_gateway_tool_call_errors_total{server="one",tool="echo"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcpmux_gateway_tool_call_seconds_count{server="one",tool="echo"} 2"#),
            "{text}"
        );
        assert!(
            Metrics::forwarded(&metrics.series("two", "add"), async { Ok(ok) })
                .await
                .is_ok()
        );
        let text = metrics.render();
        assert!(
            text.contains(r#"mcpmux_gateway_tool_call_errors_total{server="two",tool="add"} 0"#),
            "{text}"
        );
    }
}

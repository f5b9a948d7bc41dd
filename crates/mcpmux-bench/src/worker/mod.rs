//! The worker side: one client in one process, driven by the line protocol of [`crate::spec`].
//!
//! [`worker_main`] is the entry point of `mcpmux-bench worker SPEC` (and of any binary that
//! embeds the harness, such as a `mcpmux bench` subcommand). It connects the client named in the
//! spec, warms up, and runs the workload once per `go` line.

mod raw_http;
mod raw_stdio;
mod rust_async;

mod mcpmux_client;
#[cfg(feature = "rmcp")]
mod rmcp_client;

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::spec::{LINE_PREFIX, Mode, RunSample, WorkerSpec, quantile};

/// The most control lines a worker reads (bounds its loop; far above any real run count).
const MAX_CONTROL_LINES: usize = 100_000;

/// What one run of a driver produced, before CPU time and percentiles are added.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    pub(crate) wall: Duration,
    /// Sequential runs: each call's latency in nanoseconds.
    pub(crate) latencies: Vec<u64>,
    pub(crate) first_error: Option<String>,
}

impl Outcome {
    pub(crate) fn fail(&mut self, error: impl Into<String>) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error.into());
        }
    }
}

/// One connected client.
pub(crate) trait Driver {
    /// Issues `calls` calls in `mode` once and waits for all of them (or `deadline`).
    fn run(&mut self, mode: Mode, calls: usize, deadline: Instant) -> Outcome;
    /// Closes the connection (a stdio server is shut down and reaped).
    fn close(self: Box<Self>);
}

/// The Rust clients this binary can run as workers.
pub const RUST_CLIENTS: &[&str] = &[
    "raw",
    "mcpmux",
    #[cfg(feature = "rmcp")]
    "rmcp",
    #[cfg(feature = "rmcp")]
    "rmcp-pooled",
];

fn connect(spec: &WorkerSpec) -> Result<Box<dyn Driver>, String> {
    if spec.protocol_version.is_some() && spec.client != "mcpmux" {
        return Err(format!(
            "the {} worker cannot pin a protocol version (only mcpmux can)",
            spec.client
        ));
    }
    if !spec.headers.is_empty() && spec.client != "mcpmux" {
        return Err(format!(
            "the {} worker sends no extra HTTP headers (only mcpmux does)",
            spec.client
        ));
    }
    match spec.client.as_str() {
        "raw" => match &spec.target {
            crate::spec::Target::Stdio { .. } => raw_stdio::connect(spec),
            crate::spec::Target::Http { .. } => raw_http::connect(spec),
        },
        "mcpmux" => mcpmux_client::connect(spec),
        #[cfg(feature = "rmcp")]
        "rmcp" => rmcp_client::connect(spec, rmcp_client::HttpClient::Default),
        #[cfg(feature = "rmcp")]
        "rmcp-pooled" => rmcp_client::connect(spec, rmcp_client::HttpClient::Pooled),
        other => Err(format!(
            "unknown client {other:?} (this worker runs: {})",
            RUST_CLIENTS.join(", ")
        )),
    }
}

/// A reqwest client builder for an HTTP target: its `ca_cert` trusted besides the system's
/// roots, HTTP/2 with prior knowledge when asked for (otherwise HTTP/2 only where TLS's ALPN
/// offers it). A plain builder for any other target.
///
/// # Errors
/// A CA file that cannot be read or holds no certificate.
pub(crate) fn http_client_builder(
    target: &crate::spec::Target,
) -> Result<reqwest::ClientBuilder, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder();
    if let crate::spec::Target::Http {
        ca_cert,
        http2_prior_knowledge,
        ..
    } = target
    {
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).map_err(|e| format!("CA certificate {path}: {e}"))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("CA certificate {path}: {e}"))?;
            if certs.is_empty() {
                return Err(format!("CA certificate {path}: no certificate"));
            }
            builder = builder.tls_certs_merge(certs);
        }
        if *http2_prior_knowledge {
            builder = builder.http2_prior_knowledge();
        }
    }
    Ok(builder)
}

/// [`http_client_builder`], built.
///
/// # Errors
/// See [`http_client_builder`]; reqwest's build error.
pub(crate) fn http_client(target: &crate::spec::Target) -> Result<reqwest::Client, String> {
    http_client_builder(target)?
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// This process's CPU time (user + system, every thread) in nanoseconds.
pub fn cpu_time_ns() -> u64 {
    use nix::sys::resource::{UsageWho, getrusage};
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let ns = |t: nix::sys::time::TimeVal| {
                (t.tv_sec() as u64).saturating_mul(1_000_000_000)
                    + (t.tv_usec() as u64).saturating_mul(1_000)
            };
            ns(u.user_time()) + ns(u.system_time())
        }
        Err(_) => 0,
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{LINE_PREFIX}{line}");
    let _ = out.flush();
}

/// Runs one worker: parses `spec_json` (a [`WorkerSpec`]), connects, warms up, prints
/// `@bench ready`, then runs once per `go` line on stdin until `exit` or end of input.
///
/// Embed it in a binary's hidden subcommand; the orchestrator ([`crate::run_plan`]) starts that
/// binary with the spec as the last argument.
pub fn worker_main(spec_json: &str) -> ExitCode {
    let spec: WorkerSpec = match serde_json::from_str(spec_json) {
        Ok(spec) => spec,
        Err(e) => {
            say(&format!("error invalid worker spec: {e}"));
            return ExitCode::from(2);
        }
    };
    // reqwest is built with rustls but without a provider (the workspace's choice); install
    // `ring` before any client builds one. Plain http:// never uses it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut driver = match connect(&spec) {
        Ok(d) => d,
        Err(e) => {
            say(&format!("error connect: {e}"));
            return ExitCode::from(1);
        }
    };
    let run_timeout = Duration::from_millis(spec.run_timeout_ms);
    if spec.warmup > 0 {
        let warm = driver.run(
            spec.mode,
            spec.warmup.min(spec.calls),
            Instant::now() + run_timeout,
        );
        if let Some(e) = warm.first_error {
            say(&format!("error warm-up: {e}"));
            driver.close();
            return ExitCode::from(1);
        }
    }
    say("ready");
    let stdin = std::io::stdin();
    let mut line = String::new();
    for _ in 0..MAX_CONTROL_LINES {
        line.clear();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        match line.trim() {
            "go" => {
                let sample = measure(driver.as_mut(), &spec, run_timeout);
                match serde_json::to_string(&sample) {
                    Ok(json) => say(&format!("result {json}")),
                    Err(e) => say(&format!("error could not encode a result: {e}")),
                }
            }
            "exit" => break,
            _ => {}
        }
    }
    driver.close();
    ExitCode::SUCCESS
}

fn measure(driver: &mut dyn Driver, spec: &WorkerSpec, run_timeout: Duration) -> RunSample {
    let cpu0 = cpu_time_ns();
    let out = driver.run(spec.mode, spec.calls, Instant::now() + run_timeout);
    let cpu1 = cpu_time_ns();
    let mut latencies = out.latencies;
    latencies.sort_unstable();
    RunSample {
        ok: out.ok,
        errors: out.errors,
        wall_ns: u64::try_from(out.wall.as_nanos()).unwrap_or(u64::MAX),
        cpu_ns: cpu1.saturating_sub(cpu0),
        p50_ns: quantile(&latencies, 0.5),
        p99_ns: quantile(&latencies, 0.99),
        first_error: out.first_error,
    }
}

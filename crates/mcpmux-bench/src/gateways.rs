//! Gateways side by side: the same upstream (this binary's test server on stdio) behind
//! `mcpmux serve --http`, behind the gateways users pick today, and served directly over
//! Streamable HTTP, each measured with the same client (the mcpmux Rust worker) and workload.
//!
//! Per front and invocation: a fresh gateway process (and its upstream), a check that it
//! answers `tools/list` (which also finds the name it gives the upstream's tool), then one
//! worker that warms up and makes the timed runs ([`crate::run_plan`]'s runner, with the
//! quiet-machine wait). The gateway's own CPU time is read from `/proc` around the timed runs:
//! every process in its tree except the upstream test server (and its children).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::machine::{Machine, load_average, split_tree_ticks, ticks_to_ns};
use crate::plan::{Cancel, ClientKind, Paths, Plan, ServerUnderTest, TransportKind, Workload};
use crate::report::{Cell, fmt_rate, header};
use crate::runner::{Mark, Proc, TERM_GRACE, run_cell_once};

/// What serves the upstream's tools over Streamable HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Front {
    /// No gateway: the test server itself over Streamable HTTP (`test-server --http`).
    Direct,
    /// `mcpmux serve --http 127.0.0.1:0 --prefix never --config FILE`.
    Mcpmux,
    /// sparfenyuk's `mcp-proxy` (PyPI), stdio → Streamable HTTP.
    McpProxy,
    /// `supergateway` (npm), stdio → Streamable HTTP (stateful).
    Supergateway,
    /// IBM ContextForge (`mcp-contextforge-gateway`, PyPI): `mcpgateway.translate` for the stdio
    /// upstream, registered in the gateway, served by a virtual server.
    Contextforge,
}

impl Front {
    /// Every front, in table order.
    pub const ALL: [Front; 5] = [
        Front::Direct,
        Front::Mcpmux,
        Front::McpProxy,
        Front::Supergateway,
        Front::Contextforge,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Front::Direct => "direct",
            Front::Mcpmux => "mcpmux",
            Front::McpProxy => "mcp-proxy",
            Front::Supergateway => "supergateway",
            Front::Contextforge => "contextforge",
        }
    }

    /// A label for tables (versions as pinned in `scripts/install-gateways.sh`).
    pub fn label(self) -> &'static str {
        match self {
            Front::Direct => "direct (no gateway)",
            Front::Mcpmux => "mcpmux serve",
            Front::McpProxy => "mcp-proxy 0.13.0",
            Front::Supergateway => "supergateway 4.0.0",
            Front::Contextforge => "ContextForge 1.0.7.post20260921",
        }
    }

    /// Parses a [`name`](Self::name).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Where the programs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPaths {
    /// This harness's binary: `test-server` (the upstream) and `worker`.
    pub bench: PathBuf,
    /// The `mcpmux` CLI binary.
    pub mcpmux: PathBuf,
    /// Where `scripts/install-gateways.sh` installs (`.peers/gateways`).
    pub gateways: PathBuf,
    /// Node.js for supergateway.
    pub node: PathBuf,
    /// The folder holding `contextforge_front.py` (`bench/`).
    pub scripts: PathBuf,
    /// Logs, configs and per-invocation state (`target/mcpmux-bench/gateways`).
    pub work: PathBuf,
}

/// A whole gateway benchmark.
#[derive(Debug, Clone)]
pub struct GatewayPlan {
    /// The fronts, in table order (ratios are against [`Front::Direct`]).
    pub fronts: Vec<Front>,
    /// The workload (its tool is renamed to whatever the front calls the upstream's tool).
    pub workload: Workload,
    /// Fresh gateway + worker per invocation.
    pub invocations: usize,
    /// Timed runs per invocation.
    pub runs: usize,
    /// How long a front may take to start and answer `tools/list`.
    pub start_timeout: Duration,
    /// Programs and folders.
    pub paths: GatewayPaths,
    /// The worker's settings (runs, timeouts, the quiet-machine wait) come from this plan;
    /// its server, clients and transports are set per front.
    pub base: Plan,
}

impl GatewayPlan {
    /// Every front, the `c1k` workload, 3 invocations of 5 runs, [`Plan::standard`]'s waits;
    /// `rust_worker` as in [`Paths::rust_worker`], `root` the repository.
    pub fn standard(paths: GatewayPaths, root: &Path, rust_worker: Vec<OsString>) -> Self {
        let base_paths = Paths::in_repo(root, rust_worker);
        let mut base = Plan::standard(ServerUnderTest::Url(String::new()), base_paths);
        base.noisy_retries = 0;
        GatewayPlan {
            fronts: Front::ALL.to_vec(),
            workload: Workload::standard("c1k").unwrap_or_else(|| {
                Workload::custom(
                    "c1k",
                    crate::Mode::Concurrent,
                    1000,
                    "echo",
                    serde_json::json!({}),
                )
            }),
            invocations: 3,
            runs: 5,
            start_timeout: Duration::from_secs(90),
            paths,
            base,
        }
    }
}

/// One fresh gateway and one worker.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Invocation {
    /// The tool name the front exposes for the upstream's tool.
    pub tool: Option<String>,
    /// The worker's runs (the client, its CPU, the runs' wall times).
    pub cell: Option<Cell>,
    /// CPU time (user + system) of the gateway's processes during the timed runs, the
    /// upstream test server excluded; `None` for [`Front::Direct`] (no gateway).
    pub gateway_cpu_ns: Option<u64>,
    /// CPU time of the upstream test server during the timed runs.
    pub upstream_cpu_ns: Option<u64>,
    /// Why the invocation failed, if it did.
    pub error: Option<String>,
}

impl Invocation {
    /// The invocation's value: the median calls/s of its clean runs.
    pub fn calls_per_s(&self) -> Option<f64> {
        self.cell.as_ref()?.calls_per_s()
    }

    /// Calls in the timed runs (clean or not): the denominator of the CPU per call.
    fn timed_calls(&self) -> u64 {
        self.cell
            .as_ref()
            .map_or(0, |c| c.runs.iter().map(|r| r.ok + r.errors).sum())
    }

    /// Gateway CPU per call, in microseconds.
    pub fn gateway_us_per_call(&self) -> Option<f64> {
        per_call_us(self.gateway_cpu_ns?, self.timed_calls())
    }

    /// Upstream CPU per call, in microseconds.
    pub fn upstream_us_per_call(&self) -> Option<f64> {
        per_call_us(self.upstream_cpu_ns?, self.timed_calls())
    }

    /// The first error (the invocation's own, or its runs').
    pub fn first_error(&self) -> Option<String> {
        self.error.clone().or_else(|| {
            let cell = self.cell.as_ref()?;
            if cell.is_ok() {
                return None;
            }
            cell.errors().1.map(str::to_owned)
        })
    }
}

fn per_call_us(ns: u64, calls: u64) -> Option<f64> {
    (calls > 0).then(|| ns as f64 / 1e3 / calls as f64)
}

/// The median (mean of the middle two for an even count), min and max; `None` when empty.
pub fn median_spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mid = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((mid, v[0], v[n - 1]))
}

/// One front's invocations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrontResult {
    /// The front.
    pub front: Front,
    /// Every invocation, in order.
    pub invocations: Vec<Invocation>,
}

impl FrontResult {
    /// Median, min and max of the invocations' calls/s.
    pub fn calls_per_s(&self) -> Option<(f64, f64, f64)> {
        let v: Vec<f64> = self
            .invocations
            .iter()
            .filter_map(Invocation::calls_per_s)
            .collect();
        median_spread(&v)
    }

    fn median_of(&self, f: impl Fn(&Invocation) -> Option<f64>) -> Option<f64> {
        let v: Vec<f64> = self.invocations.iter().filter_map(f).collect();
        median_spread(&v).map(|(m, _, _)| m)
    }

    /// Median over the invocations of the gateway's CPU per call (µs).
    pub fn gateway_us_per_call(&self) -> Option<f64> {
        self.median_of(Invocation::gateway_us_per_call)
    }

    /// Median over the invocations of the upstream's CPU per call (µs).
    pub fn upstream_us_per_call(&self) -> Option<f64> {
        self.median_of(Invocation::upstream_us_per_call)
    }

    /// Median over the invocations of the client's CPU per call (µs).
    pub fn client_us_per_call(&self) -> Option<f64> {
        self.median_of(|i| i.cell.as_ref()?.cpu_us_per_call())
    }

    /// The most CPU (cores) other processes used during any invocation's runs.
    pub fn foreign_max(&self) -> Option<f64> {
        self.invocations
            .iter()
            .filter_map(|i| i.cell.as_ref()?.foreign_cores)
            .reduce(f64::max)
    }
}

/// The results of a gateway benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatewayReport {
    /// The machine, and its load before and after.
    pub machine: Machine,
    /// The command line that produced it.
    pub command: String,
    /// The workload.
    pub workload: String,
    /// Invocations per front and timed runs per invocation.
    pub invocations: usize,
    /// Timed runs per invocation.
    pub runs: usize,
    /// Every front, in table order.
    pub fronts: Vec<FrontResult>,
}

impl GatewayReport {
    fn front(&self, front: Front) -> Option<&FrontResult> {
        self.fronts.iter().find(|f| f.front == front)
    }

    /// The table: per front the median calls/s of the invocations with min–max, the ratio to
    /// direct, gateway / upstream / client CPU per call, others' CPU, errors.
    pub fn markdown(&self) -> String {
        let mut s = header(&self.machine, &self.command);
        let _ = writeln!(
            s,
            "Workload: {}; {} invocation(s) per front (fresh gateway and client each), {} timed \
             run(s) each; an invocation's value is the median of its runs.\n",
            self.workload, self.invocations, self.runs
        );
        let _ = writeln!(
            s,
            "| front | calls/s (median of invocations) | min – max | × direct | gateway CPU µs/call | upstream CPU µs/call | client CPU µs/call | others' CPU (max) | note |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
        let direct = self
            .front(Front::Direct)
            .and_then(|f| f.calls_per_s())
            .map(|(m, _, _)| m);
        let dash = || "—".to_string();
        let us = |v: Option<f64>| v.map_or_else(dash, |v| format!("{v:.1}"));
        for f in &self.fronts {
            let errors: Vec<String> = f
                .invocations
                .iter()
                .enumerate()
                .filter_map(|(i, inv)| {
                    let e = inv.first_error()?;
                    let e: String = e.chars().take(160).collect();
                    Some(format!("invocation {}: {}", i + 1, e.replace('|', "/")))
                })
                .collect();
            let note = errors.join("; ");
            match f.calls_per_s() {
                None => {
                    let _ = writeln!(s, "| {} | failed | | | | | | | {note} |", f.front.label());
                }
                Some((med, lo, hi)) => {
                    let ratio = match direct {
                        Some(d) if d > 0.0 => format!("{:.2}×", med / d),
                        _ => dash(),
                    };
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} – {} | {ratio} | {} | {} | {} | {} | {note} |",
                        f.front.label(),
                        fmt_rate(med),
                        fmt_rate(lo),
                        fmt_rate(hi),
                        us(f.gateway_us_per_call()),
                        us(f.upstream_us_per_call()),
                        us(f.client_us_per_call()),
                        f.foreign_max()
                            .map_or_else(dash, |v| format!("{v:.2} cores")),
                    );
                }
            }
        }
        s
    }
}

/// The line a server prints once it listens (`listening on http://ADDR[/PATH]`), as the MCP
/// endpoint: the printed path, or `/mcp` when none is printed (the test server's convention).
pub fn parse_listening(line: &str) -> Option<String> {
    let base = line.trim().strip_prefix("listening on ")?.trim();
    let rest = base.strip_prefix("http://")?;
    if !rest.starts_with("127.0.0.1:") {
        return None;
    }
    Some(match rest.find('/') {
        Some(i) if rest.len() > i + 1 => base.to_owned(),
        _ => format!("{}/mcp", base.trim_end_matches('/')),
    })
}

/// The name a front gives the upstream tool `want`: `want` itself, or else the one name that
/// ends in `want` after a separator (`-`, `_`, `.`, `/`, `:`) — gateways that prefix names.
pub fn pick_tool(names: &[String], want: &str) -> Result<String, String> {
    if names.iter().any(|n| n == want) {
        return Ok(want.to_owned());
    }
    let matches: Vec<&String> = names
        .iter()
        .filter(|n| {
            n.strip_suffix(want)
                .and_then(|head| head.chars().last())
                .is_some_and(|c| matches!(c, '-' | '_' | '.' | '/' | ':'))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("no tool named {want:?} (or prefixed) in {names:?}")),
        _ => Err(format!("several tools could be {want:?}: {matches:?}")),
    }
}

/// The `mcpServers` config that `mcpmux serve` gets: one server `bench`, `program args…`.
pub fn mcpmux_config(program: &Path, args: &[&str]) -> String {
    let doc = serde_json::json!({
        "mcpServers": {
            "bench": { "command": program.to_string_lossy(), "args": args }
        }
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// A free TCP port on 127.0.0.1 (for gateways that cannot report the port they bound).
fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}

/// A started front: its processes (each the leader of its own group), its MCP endpoint and
/// the headers its clients must send.
struct Running {
    procs: Vec<Proc>,
    url: String,
    headers: Vec<(String, String)>,
}

impl Running {
    fn roots(&self) -> Vec<u32> {
        self.procs.iter().map(Proc::id).collect()
    }

    fn stop(&mut self) {
        for p in &mut self.procs {
            p.terminate(TERM_GRACE);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads `log` until `parse` finds the endpoint in a line, the process exits, or `deadline`.
fn wait_for_line(
    proc: &mut Proc,
    deadline: Instant,
    cancel: &Cancel,
    parse: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    // Bounded by the deadline.
    loop {
        let text = std::fs::read_to_string(proc.log_path()).unwrap_or_default();
        if let Some(url) = text.lines().find_map(parse) {
            return Ok(url);
        }
        if let Some(status) = proc.exited() {
            return Err(format!(
                "exited ({status}) before it listened{}",
                proc.log_tail()
            ));
        }
        if cancel.is_cancelled() {
            return Err("cancelled".into());
        }
        if Instant::now() >= deadline {
            return Err(format!("not listening in time{}", proc.log_tail()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lists the tools at `url` (one fresh mcpmux session), retrying until `deadline`: the gateway
/// may accept connections before it can answer.
fn list_tools(
    url: &str,
    headers: &[(String, String)],
    deadline: Instant,
    procs: &mut [Proc],
) -> Result<Vec<String>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    // Bounded by the deadline.
    loop {
        for p in procs.iter_mut() {
            if let Some(status) = p.exited() {
                return Err(format!("exited ({status}){}", p.log_tail()));
            }
        }
        let attempt = rt.block_on(async {
            let server = headers
                .iter()
                .fold(mcpmux::Server::http(url), |b, (n, v)| b.header(n, v))
                .build()
                .map_err(|e| e.to_string())?;
            let out = tokio::time::timeout(Duration::from_secs(20), server.list_tools()).await;
            server.close().await;
            match out {
                Ok(Ok(tools)) => Ok(tools.into_iter().map(|t| t.name).collect::<Vec<_>>()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("tools/list: no answer in 20 s".to_owned()),
            }
        });
        let error = match attempt {
            Ok(names) => return Ok(names),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(format!("tools/list at {url} failed: {error}"));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Starts `front` fronting `bench test-server` on stdio; returns once it is listening.
fn start(plan: &GatewayPlan, front: Front, dir: &Path) -> Result<Running, String> {
    let p = &plan.paths;
    let cancel = &plan.base.cancel;
    let deadline = Instant::now() + plan.start_timeout;
    let log = dir.join("gateway.log");
    let bench = p.bench.to_string_lossy().into_owned();
    let listening: &dyn Fn(&str) -> Option<String> = &parse_listening;
    let spawn = |cmd: Command| Proc::spawn_logged(cmd, &log, cancel);
    let require = |path: &Path| {
        if path.exists() {
            Ok(())
        } else {
            Err(format!(
                "{} is missing: run scripts/install-gateways.sh",
                path.display()
            ))
        }
    };
    let mut headers = Vec::new();
    let (proc, url) = match front {
        Front::Direct => {
            let mut cmd = Command::new(&p.bench);
            cmd.args(["test-server", "--http", "127.0.0.1:0"]);
            let mut proc = spawn(cmd)?;
            let url = wait_for_line(&mut proc, deadline, cancel, listening)?;
            (proc, url)
        }
        Front::Mcpmux => {
            require(&p.mcpmux)?;
            let config = dir.join("mcpmux.json");
            std::fs::write(&config, mcpmux_config(&p.bench, &["test-server"]))
                .map_err(|e| format!("{}: {e}", config.display()))?;
            let mut cmd = Command::new(&p.mcpmux);
            cmd.args([
                "serve",
                "--http",
                "127.0.0.1:0",
                "--prefix",
                "never",
                "--config",
            ])
            .arg(&config);
            let mut proc = spawn(cmd)?;
            let url = wait_for_line(&mut proc, deadline, cancel, listening)?;
            (proc, url)
        }
        Front::McpProxy => {
            let exe = p.gateways.join("mcp-proxy/bin/mcp-proxy");
            require(&exe)?;
            let port = free_port()?;
            let mut cmd = Command::new(&exe);
            cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--log-level", "WARNING", "--", &bench, "test-server"]);
            (spawn(cmd)?, format!("http://127.0.0.1:{port}/mcp"))
        }
        Front::Supergateway => {
            let entry = p
                .gateways
                .join("supergateway/node_modules/supergateway/dist/index.js");
            require(&entry)?;
            let port = free_port()?;
            let mut cmd = Command::new(&p.node);
            // supergateway runs `--stdio` through a shell: quote the path.
            let upstream = format!("'{}' test-server", bench.replace('\'', r"'\''"));
            cmd.arg(&entry)
                .args(["--stdio", &upstream, "--outputTransport", "streamableHttp"])
                .args(["--stateful", "--port", &port.to_string()])
                .args(["--streamableHttpPath", "/mcp", "--logLevel", "none"]);
            (spawn(cmd)?, format!("http://127.0.0.1:{port}/mcp"))
        }
        Front::Contextforge => {
            let venv = p.gateways.join("contextforge");
            let python = venv.join("bin/python");
            require(&python)?;
            let script = p.scripts.join("contextforge_front.py");
            let mut cmd = Command::new(&python);
            cmd.arg("-u")
                .arg(&script)
                .args(["--state", &dir.to_string_lossy()])
                .args(["--", &bench, "test-server"]);
            let mut proc = spawn(cmd)?;
            let url = wait_for_line(&mut proc, deadline, cancel, listening)?;
            // The launcher writes the admin JWT before it prints the endpoint.
            let token = std::fs::read_to_string(dir.join("token"))
                .map_err(|e| format!("the ContextForge token ({}): {e}", dir.display()))?;
            headers.push(("authorization".into(), format!("Bearer {}", token.trim())));
            (proc, url)
        }
    };
    Ok(Running {
        procs: vec![proc],
        url,
        headers,
    })
}

/// Whether `pid` is the upstream: this harness's binary running `test-server`.
fn is_upstream(pid: u32, bench: &Path) -> bool {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    is_upstream_cmdline(&raw, bench)
}

/// Whether a `/proc/PID/cmdline` (NUL-separated) runs `bench` (by file name) as `test-server`.
fn is_upstream_cmdline(raw: &[u8], bench: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let mut args = raw.split(|&b| b == 0);
    let first = args.next().unwrap_or_default();
    let name = Path::new(std::ffi::OsStr::from_bytes(first)).file_name();
    name.is_some() && name == bench.file_name() && args.any(|a| a == b"test-server")
}

fn invocation(plan: &GatewayPlan, front: Front, n: usize) -> Invocation {
    let mut inv = Invocation::default();
    let dir = plan.paths.work.join(format!("{}-{}", front.name(), n + 1));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        inv.error = Some(format!("{}: {e}", dir.display()));
        return inv;
    }
    let mut running = match start(plan, front, &dir) {
        Ok(r) => r,
        Err(e) => {
            inv.error = Some(format!("start: {e}"));
            return inv;
        }
    };
    let deadline = Instant::now() + plan.start_timeout;
    let names = match list_tools(&running.url, &running.headers, deadline, &mut running.procs) {
        Ok(n) => n,
        Err(e) => {
            inv.error = Some(e);
            return inv;
        }
    };
    let tool = match pick_tool(&names, &plan.workload.call.tool) {
        Ok(t) => t,
        Err(e) => {
            inv.error = Some(e);
            return inv;
        }
    };
    inv.tool = Some(tool.clone());
    let mut workload = plan.workload.clone();
    workload.call.tool = tool;
    let mut worker_plan = plan.base.clone();
    worker_plan.server = ServerUnderTest::Url(running.url.clone());
    worker_plan.runs = plan.runs.max(1);
    worker_plan.min_runs = worker_plan.runs;
    worker_plan.paths.logs = dir.clone();
    // A front that fails calls slowly: let the worker's own warm-up deadline (the run timeout)
    // expire first, so its first error is reported rather than a bare timeout.
    worker_plan.setup_timeout = worker_plan
        .setup_timeout
        .max(worker_plan.run_timeout + Duration::from_secs(30));
    worker_plan.headers = running.headers.clone();
    let roots = running.roots();
    let bench = plan.paths.bench.clone();
    let sample = || split_tree_ticks(&roots, &|pid| is_upstream(pid, &bench));
    let mut before = None;
    let mut after = None;
    let cell = run_cell_once(
        &worker_plan,
        None,
        TransportKind::Http,
        &workload,
        ClientKind::Mcpmux,
        &mut |mark| match mark {
            Mark::BeforeRuns => before = Some(sample()),
            Mark::AfterRuns => after = Some(sample()),
        },
    );
    if let (Some((g0, u0)), Some((g1, u1))) = (before, after) {
        if front != Front::Direct {
            inv.gateway_cpu_ns = Some(ticks_to_ns(g1.saturating_sub(g0)));
        }
        inv.upstream_cpu_ns = Some(ticks_to_ns(u1.saturating_sub(u0)));
    }
    inv.cell = Some(cell);
    running.stop();
    inv
}

/// Runs every front's invocations, calling `on_invocation` after each; `command` is recorded in
/// the report. Every process is stopped and reaped before the next starts. Once
/// [`Plan::cancel`] (of [`GatewayPlan::base`]) is set, no invocation starts.
pub fn run_gateways(
    plan: &GatewayPlan,
    command: &str,
    on_invocation: &mut dyn FnMut(Front, usize, &Invocation),
) -> GatewayReport {
    let mut machine = Machine::detect();
    let _ = std::fs::create_dir_all(&plan.paths.work);
    let mut fronts = Vec::new();
    for &front in &plan.fronts {
        let mut result = FrontResult {
            front,
            invocations: Vec::new(),
        };
        for n in 0..plan.invocations.max(1) {
            if plan.base.cancel.is_cancelled() {
                break;
            }
            let inv = invocation(plan, front, n);
            on_invocation(front, n, &inv);
            result.invocations.push(inv);
        }
        fronts.push(result);
    }
    machine.load_after = load_average();
    GatewayReport {
        machine,
        command: command.to_owned(),
        workload: plan.workload.description.clone(),
        invocations: plan.invocations.max(1),
        runs: plan.runs.max(1),
        fronts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines() {
        assert_eq!(
            parse_listening("listening on http://127.0.0.1:4321\n").as_deref(),
            Some("http://127.0.0.1:4321/mcp")
        );
        assert_eq!(
            parse_listening("listening on http://127.0.0.1:4321/").as_deref(),
            Some("http://127.0.0.1:4321/mcp")
        );
        assert_eq!(
            parse_listening("listening on http://127.0.0.1:9/servers/ab12/mcp").as_deref(),
            Some("http://127.0.0.1:9/servers/ab12/mcp")
        );
        assert_eq!(parse_listening("listening on http://0.0.0.0:9/mcp"), None);
        assert_eq!(parse_listening("INFO: started"), None);
    }

    #[test]
    fn tool_names_exact_or_prefixed() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            pick_tool(&names(&["sleep", "echo"]), "echo").as_deref(),
            Ok("echo")
        );
        assert_eq!(
            pick_tool(&names(&["bench-sleep", "bench-echo"]), "echo").as_deref(),
            Ok("bench-echo")
        );
        assert!(pick_tool(&names(&["reecho"]), "echo").is_err());
        assert!(pick_tool(&names(&["a-echo", "b_echo"]), "echo").is_err());
        assert!(pick_tool(&[], "echo").is_err());
    }

    #[test]
    fn median_and_spread() {
        assert_eq!(median_spread(&[3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
        assert_eq!(median_spread(&[4.0, 1.0]), Some((2.5, 1.0, 4.0)));
        assert_eq!(median_spread(&[]), None);
        assert_eq!(median_spread(&[f64::NAN, 5.0]), Some((5.0, 5.0, 5.0)));
    }

    #[test]
    fn mcpmux_config_is_an_mcp_servers_document() {
        let text = mcpmux_config(Path::new("/x y/mcpmux-bench"), &["test-server"]);
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["mcpServers"]["bench"]["command"], "/x y/mcpmux-bench");
        assert_eq!(doc["mcpServers"]["bench"]["args"][0], "test-server");
    }

    #[test]
    fn the_upstream_is_the_bench_binary_as_test_server() {
        let bench = Path::new("/repo/target/release/mcpmux-bench");
        let upstream = b"/repo/target/release/mcpmux-bench\0test-server\0";
        assert!(is_upstream_cmdline(upstream, bench));
        assert!(is_upstream_cmdline(
            b"mcpmux-bench\0test-server\0--http\0",
            bench
        ));
        // The gateways themselves, which name the upstream in their arguments.
        let translate = b"python\0-m\0mcpgateway.translate\0--stdio\0/repo/target/release/mcpmux-bench test-server\0";
        assert!(!is_upstream_cmdline(translate, bench));
        assert!(!is_upstream_cmdline(
            b"/repo/target/release/mcpmux-bench\0worker\0{}\0",
            bench
        ));
        assert!(!is_upstream_cmdline(b"", bench));
    }

    #[test]
    fn fronts_parse_by_name() {
        for f in Front::ALL {
            assert_eq!(Front::parse(f.name()), Some(f));
        }
        assert_eq!(Front::parse("nginx"), None);
    }

    #[test]
    fn cpu_per_call_counts_every_timed_call() {
        let inv = Invocation {
            gateway_cpu_ns: Some(2_000_000),
            cell: Some(Cell {
                transport: TransportKind::Http,
                workload: "c1k".into(),
                description: String::new(),
                mode: crate::Mode::Concurrent,
                client: ClientKind::Mcpmux,
                calls: 1000,
                runs: vec![
                    crate::spec::RunSample {
                        ok: 1000,
                        ..Default::default()
                    },
                    crate::spec::RunSample {
                        ok: 990,
                        errors: 10,
                        ..Default::default()
                    },
                ],
                peak_rss_kb: None,
                error: None,
                server: None,
                foreign_cores: None,
            }),
            ..Default::default()
        };
        assert_eq!(inv.gateway_us_per_call(), Some(1.0));
        assert_eq!(inv.upstream_us_per_call(), None);
    }
}

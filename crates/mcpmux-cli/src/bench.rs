//! `mcpmux bench TARGET [--args JSON] [--calls N] [--sequential]`: one tool call measured on a
//! user's server, the raw JSON-RPC limit and mcpmux (and optionally the SDKs) side by side, each
//! in its own process. A thin front end over the `mcpmux-bench` harness: this module only turns
//! the command line into a [`Plan`] and prints the [`mcpmux_bench::Report`].
//!
//! The plan runs on a blocking thread; SIGINT or SIGTERM cancels it (the running worker and its
//! server are stopped and reaped, no other cell starts), waits at most
//! [`signals::SHUTDOWN_LIMIT`] and exits 130 or 143, like the other subcommands. A second
//! signal exits at once.

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mcpmux_bench::{ClientKind, Mode, Paths, Plan, ServerUnderTest, TransportKind, Workload};
use mcpmux_config::{Inputs, ServerSpec, TerminalPrompter, Transport as SpecTransport};
use serde_json::Value;

use crate::args::{BenchArgs, GlobalArgs, Transport};
use crate::exit::{Code, Failure, Outcome};
use crate::signals::{self, SHUTDOWN_LIMIT, Signals};
use crate::target;

/// The clients this binary can run (rmcp lives in the bench crate's own binary only).
const CLIENTS: [ClientKind; 4] = [
    ClientKind::Raw,
    ClientKind::Mcpmux,
    ClientKind::Python,
    ClientKind::Ts,
];

/// A run longer than this fails, unless `--timeout` says otherwise.
const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Builds the plan, runs every client, prints the table (or the JSON report).
pub async fn run(args: BenchArgs, global: &GlobalArgs) -> Outcome {
    let ad_hoc = args.server.is_given();
    // The tool-naming rule of `call`: SERVER.TOOL or SERVER_TOOL for a configured server.
    let (server_name, tool) = if ad_hoc {
        (None, args.tool.clone())
    } else {
        let (server, tool) = target::route_configured(global, &args.tool)?;
        (Some(server), tool)
    };
    let tool = tool.as_str();
    let (server, transport) = match server_name.as_deref() {
        Some(name) => configured(global, name)?,
        None => ad_hoc_server(&args)?,
    };
    let clients = clients(&args.clients)?;
    let exe = std::env::current_exe().map_err(|e| {
        Failure::new(
            Code::Failed,
            anyhow::Error::new(e).context("cannot find this executable"),
        )
    })?;
    let root = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut paths = Paths::in_repo(&root, vec![exe.into(), OsString::from("bench-worker")]);
    paths.logs = std::env::temp_dir().join(format!("mcpmux-bench-{}", std::process::id()));
    for (client, needed, what) in [
        (ClientKind::Python, &paths.python, "the Python SDK"),
        (ClientKind::Ts, &paths.ts_sdk, "the TypeScript SDK"),
    ] {
        if clients.contains(&client) && !needed.exists() {
            return Err(usage(format!(
                "{what} is not installed at {} (run scripts/install-peers.sh in a checkout of \
                 the mcpmux repository and pass it as --repo DIR)",
                needed.display()
            )));
        }
    }

    let mode = if args.sequential {
        Mode::Sequential
    } else {
        Mode::Concurrent
    };
    let calls = usize::try_from(args.calls).unwrap_or(usize::MAX);
    let mut workload = Workload::custom(
        tool,
        mode,
        calls,
        tool,
        Value::Object(args.arguments.clone()),
    );
    workload.description = format!(
        "{tool} ×{calls}, {}",
        if args.sequential {
            "one at a time"
        } else {
            "all at once"
        }
    );
    if let Some(w) = args.warmup {
        workload.warmup = usize::try_from(w).unwrap_or(usize::MAX);
    }
    let ca_cert = ca_bundle(global, &paths.logs)?;
    let mut plan = Plan::standard(server, paths);
    plan.ca_cert = ca_cert;
    plan.http2_prior_knowledge = global.http2_prior_knowledge;
    plan.clients = clients;
    plan.transports = vec![transport];
    plan.workloads = vec![workload];
    plan.runs = usize::try_from(args.runs).unwrap_or(1).max(1);
    plan.min_runs = plan.runs.min(3);
    plan.run_timeout = global.timeout.unwrap_or(DEFAULT_RUN_TIMEOUT);
    plan.quiet_wait = Duration::from_secs(args.quiet_wait);
    if args.quiet_wait == 0 {
        plan.noisy_retries = 0;
    }

    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let quiet = global.quiet || global.json;
    // Before the first worker starts: from here on SIGINT and SIGTERM cancel the plan.
    let mut signals = Signals::install()?;
    let cancel = plan.cancel.clone();
    let mut running = tokio::task::spawn_blocking(move || {
        mcpmux_bench::run_plan(&plan, &format!("mcpmux {command}"), &mut |cell| {
            if quiet {
                return;
            }
            let _ = writeln!(io::stderr().lock(), "{}", cell.progress_line());
        })
    });
    let code = tokio::select! {
        report = &mut running => {
            let report = report.map_err(|e| {
                Failure::new(Code::Failed, anyhow::Error::new(e).context("the benchmark failed"))
            })?;
            return print(&report, global.json);
        }
        code = signals.recv() => code,
    };
    cancel.cancel();
    // A second signal exits at once: the workers (in process groups of their own, busy with a
    // run) are killed first, with the servers in their groups.
    let killer = cancel.clone();
    signals.shutting_down_then(code, move || killer.kill_now());
    let started = tokio::time::Instant::now();
    // The runner stops its worker (SIGTERM to its group, then SIGKILL) and reaps it.
    if tokio::time::timeout(SHUTDOWN_LIMIT, running).await.is_err() {
        tracing::warn!("the benchmark did not stop in {SHUTDOWN_LIMIT:?}");
    }
    signals::wait_for_children(SHUTDOWN_LIMIT.saturating_sub(started.elapsed())).await;
    Err(Failure::new(
        code,
        anyhow::anyhow!("interrupted by {}", signals::name(code)),
    ))
}

/// Prints the report (the table, or JSON) and the exit code it calls for.
fn print(report: &mcpmux_bench::Report, json: bool) -> Outcome {
    let mut stdout = io::stdout().lock();
    if json {
        let json = serde_json::to_string(report)
            .map_err(|e| Failure::new(Code::Failed, anyhow::Error::new(e)))?;
        let _ = writeln!(stdout, "{json}");
    } else {
        let _ = writeln!(stdout, "{}", report.markdown());
    }
    let failed = report.cells.iter().any(|c| !c.is_ok() || c.errors().0 > 0);
    Ok(if failed { Code::Failed } else { Code::Success })
}

/// The ad-hoc server: `-- COMMAND` (stdio) or `--url` (Streamable HTTP).
fn ad_hoc_server(args: &BenchArgs) -> Result<(ServerUnderTest, TransportKind), Failure> {
    let s = &args.server;
    if !s.headers.is_empty() || s.bearer.is_some() {
        return Err(usage(
            "bench does not send custom headers or bearer tokens (its clients connect \
             without them)"
                .to_owned(),
        ));
    }
    match (&s.url, s.command.split_first()) {
        (Some(_), Some(_)) => Err(usage(
            "give either --url or -- COMMAND, not both".to_owned(),
        )),
        (Some(url), None) => {
            if matches!(s.transport, Some(Transport::Sse | Transport::Stdio)) {
                return Err(usage(
                    "bench measures Streamable HTTP servers (--transport http) and stdio ones"
                        .to_owned(),
                ));
            }
            Ok((ServerUnderTest::Url(url.clone()), TransportKind::Http))
        }
        (None, Some((program, rest))) => Ok((
            ServerUnderTest::Command {
                program: program.clone(),
                args: rest.to_vec(),
            },
            TransportKind::Stdio,
        )),
        (None, None) => Err(usage(
            "no server: give SERVER.TOOL, --url URL or -- COMMAND".to_owned(),
        )),
    }
}

/// A configured server. A stdio entry's environment and working directory are applied through
/// `env(1)`, so that every client (each spawning the server itself) runs the same command.
fn configured(
    global: &GlobalArgs,
    name: &str,
) -> Result<(ServerUnderTest, TransportKind), Failure> {
    let config = target::load_config(global)?;
    let mut inputs = Inputs::new(TerminalPrompter);
    let spec: ServerSpec = config
        .resolve(name, &mut inputs)
        .map_err(|e| Failure::new(Code::Config, e))?;
    match &spec.transport {
        SpecTransport::Stdio(s) => {
            if s.env.is_empty() && s.cwd.is_none() {
                return Ok((
                    ServerUnderTest::Command {
                        program: s.command.clone().into(),
                        args: s.args.iter().map(OsString::from).collect(),
                    },
                    TransportKind::Stdio,
                ));
            }
            let mut args: Vec<OsString> = Vec::new();
            if let Some(cwd) = &s.cwd {
                args.push("-C".into());
                args.push(cwd.clone().into());
            }
            for (k, v) in &s.env {
                match v {
                    Some(v) => args.push(format!("{k}={v}").into()),
                    None => {
                        args.push("-u".into());
                        args.push(k.into());
                    }
                }
            }
            args.push("--".into());
            args.push(s.command.clone().into());
            args.extend(s.args.iter().map(OsString::from));
            Ok((
                ServerUnderTest::Command {
                    program: "env".into(),
                    args,
                },
                TransportKind::Stdio,
            ))
        }
        SpecTransport::Http(h) => {
            if h.mode == mcpmux::HttpMode::Sse {
                return Err(usage(format!(
                    "server `{name}` uses the legacy HTTP+SSE transport; bench measures stdio \
                     and Streamable HTTP servers"
                )));
            }
            if !h.headers.is_empty() || h.bearer.is_some() {
                return Err(usage(format!(
                    "server `{name}` needs headers; bench does not send custom headers or \
                     bearer tokens"
                )));
            }
            Ok((ServerUnderTest::Url(h.url.clone()), TransportKind::Http))
        }
        _ => Err(usage(format!(
            "server `{name}`: bench measures stdio and Streamable HTTP servers"
        ))),
    }
}

/// `--ca-cert` for the workers of an HTTP server: the files checked as every other command
/// checks them (`target::with_http_globals`: readable, at least one certificate), handed on as
/// one PEM file — the file itself, or the files joined in `dir` when there are several.
fn ca_bundle(global: &GlobalArgs, dir: &Path) -> Result<Option<PathBuf>, Failure> {
    let files = &global.ca_cert[..];
    if !files.is_empty() {
        target::with_http_globals(mcpmux::Server::http("https://127.0.0.1/"), global)
            .build()
            .map_err(|e| usage(e.to_string()))?;
    }
    match files {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        several => {
            let mut pem = Vec::new();
            for file in several {
                let bytes = std::fs::read(file).map_err(|e| {
                    usage(format!(
                        "cannot read the CA certificate {}: {e}",
                        file.display()
                    ))
                })?;
                pem.extend_from_slice(&bytes);
                pem.push(b'\n');
            }
            let failed = |e: std::io::Error| {
                Failure::new(
                    Code::Failed,
                    anyhow::Error::new(e).context("cannot write the CA bundle for the workers"),
                )
            };
            std::fs::create_dir_all(dir).map_err(failed)?;
            let bundle = dir.join("ca-bundle.pem");
            std::fs::write(&bundle, pem).map_err(failed)?;
            Ok(Some(bundle))
        }
    }
}

fn clients(names: &[String]) -> Result<Vec<ClientKind>, Failure> {
    let mut out = Vec::new();
    for name in names {
        let name = name.trim();
        let Some(kind) = ClientKind::parse(name).filter(|k| CLIENTS.contains(k)) else {
            return Err(usage(format!(
                "unknown client {name:?} (bench runs: raw, mcpmux, python, ts)"
            )));
        };
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    // Ratios are against the first client: keep raw first when it is measured.
    out.sort_by_key(|k| CLIENTS.iter().position(|c| c == k));
    Ok(out)
}

fn usage(message: String) -> Failure {
    Failure::new(Code::Usage, anyhow::anyhow!(message))
}

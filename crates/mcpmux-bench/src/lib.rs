/*!
`mcpmux-bench`: MCP clients measured side by side, each in its own process, against the same
server on the same transport — the raw JSON-RPC limit, mcpmux, rmcp 3.11.0, and the official
Python and TypeScript SDK clients — with the results as a table of ratios.

Not part of the library: a harness, its binary (`cargo run --release -p mcpmux-bench -- all`)
and an API for other front ends (a `mcpmux bench` subcommand).

# Brief overview

- [`Plan`]: which [`ClientKind`]s, [`TransportKind`]s and [`Workload`]s, how many runs, the
  [`ServerUnderTest`] and the [`Paths`] of the workers. [`Plan::standard`] is the whole matrix.
- [`run_plan`] runs every cell in fresh worker processes and returns a [`Report`]:
  medians per cell, [`Report::markdown`] (the table of ratios) and [`Report::targets`].
- [`worker_main`]: the worker side. A binary that uses [`run_plan`] with Rust clients must
  route a hidden subcommand to it (its [`Paths::rust_worker`] names that subcommand).
- [`spec`]: the JSON spec and line protocol every worker (Rust, Python, TypeScript) speaks.
- [`gateways`]: `mcpmux serve` against direct Streamable HTTP and other MCP gateways, with the
  same client and upstream ([`gateways::run_gateways`]).

# Measuring

Each cell — one client, one workload, one transport — gets a fresh worker process (and, on
HTTP, a fresh server). The worker connects and warms up untimed, then runs the workload once per
`go` from the orchestrator and reports wall time, its own CPU time (`getrusage(RUSAGE_SELF)`:
every thread, the server excluded) and, for sequential runs, latency percentiles. Peak RSS is
the worker's `VmHWM` from `/proc/<pid>/status` after its last run. Tables show medians.

# Example: a front end for your own server

```no_run
use std::time::Duration;
use mcpmux_bench::{ClientKind, Mode, Paths, Plan, ServerUnderTest, TransportKind, Workload};

let exe = std::env::current_exe()?;
let paths = Paths::in_repo(std::path::Path::new("."), vec![exe.into(), "bench-worker".into()]);
let mut plan = Plan::standard(
    ServerUnderTest::Command { program: "my-mcp-server".into(), args: vec![] },
    paths,
);
plan.clients = vec![ClientKind::Raw, ClientKind::Mcpmux];
plan.transports = vec![TransportKind::Stdio];
plan.workloads = vec![Workload::custom(
    "lookup", Mode::Concurrent, 1000, "lookup", serde_json::json!({"key": "a"}),
)];
plan.run_timeout = Duration::from_secs(30);
let report = mcpmux_bench::run_plan(&plan, "my bench", &mut |cell| eprintln!("{}", cell.workload));
println!("{}", report.markdown());
# Ok::<(), std::io::Error>(())
```
*/
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod gateways;
pub mod machine;
mod plan;
mod report;
mod runner;
pub mod spec;
mod worker;

pub use plan::{
    Cancel, ClientKind, ExtraServer, Paths, Plan, REORDERED_LABEL, STANDARD_WORKLOADS,
    ServerUnderTest, TransportKind, Workload,
};
pub use report::{Cell, Report, TargetCheck};
pub use runner::{run_cell, run_plan};
pub use spec::Mode;
pub use worker::{RUST_CLIENTS, cpu_time_ns, worker_main};

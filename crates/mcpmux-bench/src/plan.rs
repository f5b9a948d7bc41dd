//! What to measure: clients, transports, workloads, the server, and where things are.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use nix::sys::signal::Signal;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::spec::{CallSpec, Fill, Mode};

/// A client measured in its own process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// The raw limit: a minimal pipelined JSON-RPC driver (stdio), or the simplest concurrent
    /// POST driver (HTTP). No MCP layer.
    Raw,
    /// mcpmux.
    Mcpmux,
    /// rmcp 3.11.0, the official Rust SDK.
    Rmcp,
    /// The official Python SDK (`mcp` 2.3.0), `bench/py_client.py`.
    Python,
    /// The official TypeScript SDK (`@modelcontextprotocol/sdk` 1.32.2), `bench/ts_client.mjs`.
    Ts,
}

impl ClientKind {
    /// Every client, in table order.
    pub const ALL: [ClientKind; 5] = [
        ClientKind::Raw,
        ClientKind::Mcpmux,
        ClientKind::Rmcp,
        ClientKind::Python,
        ClientKind::Ts,
    ];

    /// The name used on the command line and in specs.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Raw => "raw",
            ClientKind::Mcpmux => "mcpmux",
            ClientKind::Rmcp => "rmcp",
            ClientKind::Python => "python",
            ClientKind::Ts => "ts",
        }
    }

    /// A label for tables.
    pub fn label(self) -> &'static str {
        match self {
            ClientKind::Raw => "raw limit",
            ClientKind::Mcpmux => "mcpmux",
            ClientKind::Rmcp => "rmcp 3.11.0",
            ClientKind::Python => "Python SDK 2.3.0",
            ClientKind::Ts => "TS SDK 1.32.2",
        }
    }

    /// Parses a [`name`](Self::name).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// Newline-delimited JSON-RPC on a child process's stdin/stdout.
    Stdio,
    /// Streamable HTTP on 127.0.0.1.
    Http,
}

impl TransportKind {
    /// Both, in table order.
    pub const ALL: [TransportKind; 2] = [TransportKind::Stdio, TransportKind::Http];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Stdio => "stdio",
            TransportKind::Http => "http",
        }
    }

    /// Parses a [`name`](Self::name).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// One workload: a call, issued `calls` times per run, sequentially or all at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// A short name (`seq`, `c1k`, ...).
    pub name: String,
    /// What it is, for tables.
    pub description: String,
    /// Sequential or concurrent.
    pub mode: Mode,
    /// Calls per run.
    pub calls: usize,
    /// The call.
    pub call: CallSpec,
    /// Untimed warm-up calls before the first run.
    pub warmup: usize,
}

/// The names of the standard workloads, in table order.
pub const STANDARD_WORKLOADS: [&str; 6] = ["seq", "c1k", "c10k", "sleep10k", "p10k", "p1m"];

fn echo(bytes: usize) -> CallSpec {
    CallSpec {
        tool: "echo".into(),
        arguments: Map::new(),
        fill: Some(Fill {
            key: "text".into(),
            bytes,
        }),
    }
}

impl Workload {
    /// A standard workload against the test server's `echo` / `sleep` tools:
    ///
    /// | name | what |
    /// |---|---|
    /// | `seq` | 2,000 sequential `echo` calls, 100 B text (latency p50/p99) |
    /// | `c1k` | 1,000 concurrent `echo` calls, 100 B text |
    /// | `c10k` | 10,000 concurrent `echo` calls, 100 B text |
    /// | `sleep10k` | 10,000 concurrent `sleep {ms: 100}` calls (wall vs the ideal 100 ms) |
    /// | `p10k` | 1,000 concurrent `echo` calls, 10 KB text |
    /// | `p1m` | 50 concurrent `echo` calls, 1 MB text |
    pub fn standard(name: &str) -> Option<Workload> {
        let w = |name: &str, description: &str, mode, calls, call, warmup| Workload {
            name: name.into(),
            description: description.into(),
            mode,
            calls,
            call,
            warmup,
        };
        Some(match name {
            "seq" => w(
                "seq",
                "sequential echo 100 B ×2,000",
                Mode::Sequential,
                2_000,
                echo(100),
                200,
            ),
            "c1k" => w(
                "c1k",
                "1,000 concurrent echo 100 B",
                Mode::Concurrent,
                1_000,
                echo(100),
                1_000,
            ),
            "c10k" => w(
                "c10k",
                "10,000 concurrent echo 100 B",
                Mode::Concurrent,
                10_000,
                echo(100),
                1_000,
            ),
            "sleep10k" => {
                let mut args = Map::new();
                args.insert("ms".into(), json!(100));
                w(
                    "sleep10k",
                    "10,000 concurrent sleep 100 ms",
                    Mode::Concurrent,
                    10_000,
                    CallSpec {
                        tool: "sleep".into(),
                        arguments: args,
                        fill: None,
                    },
                    1_000,
                )
            }
            "p10k" => w(
                "p10k",
                "1,000 concurrent echo 10 KB",
                Mode::Concurrent,
                1_000,
                echo(10_000),
                100,
            ),
            "p1m" => w(
                "p1m",
                "50 concurrent echo 1 MB",
                Mode::Concurrent,
                50,
                echo(1_000_000),
                10,
            ),
            _ => return None,
        })
    }

    /// Every standard workload, in table order.
    pub fn all_standard() -> Vec<Workload> {
        STANDARD_WORKLOADS
            .iter()
            .filter_map(|n| Workload::standard(n))
            .collect()
    }

    /// A workload of your own: `calls` calls of `tool` with `arguments`.
    pub fn custom(name: &str, mode: Mode, calls: usize, tool: &str, arguments: Value) -> Self {
        let arguments = match arguments {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Workload {
            name: name.into(),
            description: format!("{calls} {mode:?} {tool}").to_lowercase(),
            mode,
            calls,
            call: CallSpec {
                tool: tool.into(),
                arguments,
                fill: None,
            },
            warmup: calls.min(100),
        }
    }
}

/// The server every client is measured against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerUnderTest {
    /// A command: run as-is for stdio; for HTTP the harness appends `--http 127.0.0.1:0`, starts
    /// one server per cell and reads `listening on http://ADDR` from its stdout (the test
    /// server's convention).
    Command {
        /// The program.
        program: OsString,
        /// Its arguments.
        args: Vec<OsString>,
    },
    /// An HTTP server that is already running (its MCP endpoint); stdio cells are skipped.
    Url(String),
}

/// Where the workers and the peers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The Rust worker command: program and leading arguments; the spec JSON is appended
    /// (e.g. `[current_exe, "worker"]`).
    pub rust_worker: Vec<OsString>,
    /// The Python interpreter with `mcp` installed (`.peers/venv/bin/python`).
    pub python: PathBuf,
    /// Node.js.
    pub node: PathBuf,
    /// The folder holding `py_client.py` and `ts_client.mjs` (`bench/`).
    pub scripts: PathBuf,
    /// The TypeScript SDK package folder (`.peers/ts-sdk/node_modules/@modelcontextprotocol/sdk`).
    pub ts_sdk: PathBuf,
    /// Where worker and server stderr logs go.
    pub logs: PathBuf,
}

impl Paths {
    /// The layout of this repository: peers in `<root>/.peers`, scripts in `<root>/bench`, logs
    /// in `<root>/target/mcpmux-bench/logs`, the Rust worker as `rust_worker`.
    pub fn in_repo(root: &Path, rust_worker: Vec<OsString>) -> Self {
        let peers = root.join(".peers");
        Paths {
            rust_worker,
            python: peers.join("venv/bin/python"),
            node: PathBuf::from("node"),
            scripts: root.join("bench"),
            ts_sdk: peers.join("ts-sdk/node_modules/@modelcontextprotocol/sdk"),
            logs: root.join("target/mcpmux-bench/logs"),
        }
    }
}

/// A whole benchmark: every (transport, workload, client) cell, each in a fresh worker process.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The server.
    pub server: ServerUnderTest,
    /// Clients, in table order (put [`ClientKind::Raw`] first: ratios are against it).
    pub clients: Vec<ClientKind>,
    /// Transports.
    pub transports: Vec<TransportKind>,
    /// Workloads.
    pub workloads: Vec<Workload>,
    /// Runs per cell (the table shows medians).
    pub runs: usize,
    /// Once a cell has taken this long, it stops after [`min_runs`](Self::min_runs).
    pub cell_budget: Duration,
    /// Runs every cell makes even when over budget (if `runs` allows).
    pub min_runs: usize,
    /// A run longer than this fails the cell.
    pub run_timeout: Duration,
    /// Time to connect and warm up.
    pub setup_timeout: Duration,
    /// Before each run, wait (up to this long per cell) while other processes keep more than
    /// [`quiet_below`](Self::quiet_below) cores busy: the machine is shared.
    pub quiet_wait: Duration,
    /// Cores' worth of CPU others may use when a run starts.
    pub quiet_below: f64,
    /// A cell during which others used more than [`quiet_below`](Self::quiet_below) cores is
    /// measured again (in a fresh worker) up to this many times; the quietest attempt is kept.
    pub noisy_retries: usize,
    /// Where things are.
    pub paths: Paths,
    /// HTTP headers (name, value) on every request to an HTTP server, e.g. a gateway's
    /// `authorization`; only the mcpmux client sends them (the other Rust clients refuse to
    /// connect; the Python and TypeScript workers ignore them).
    pub headers: Vec<(String, String)>,
    /// Set it (from another thread) to stop the plan: the running cell's worker and server are
    /// stopped, and no other cell starts.
    pub cancel: Cancel,
}

/// Stops a running [`Plan`] (see [`Plan::cancel`]); clones share the state.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    /// The process groups of the workers and servers running now.
    groups: Mutex<Vec<i32>>,
}

impl Cancel {
    /// Stops the plan: every wait of the runner ends within a few tens of milliseconds, and the
    /// runner stops (and reaps) the processes it runs.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Relaxed)
    }

    /// Cancels, and kills (SIGKILL) the process group of every worker and server running now,
    /// without waiting: for a front end about to exit at once (a second Ctrl-C).
    pub fn kill_now(&self) {
        self.cancel();
        for &group in self.groups().iter() {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(group), Signal::SIGKILL);
        }
    }

    /// A process group the runner started.
    pub(crate) fn started(&self, group: i32) {
        self.groups().push(group);
    }

    /// A process group the runner reaped the leader of.
    pub(crate) fn finished(&self, group: i32) {
        self.groups().retain(|&g| g != group);
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, Vec<i32>> {
        self.0.groups.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Plan {
    /// Every client, transport and standard workload; 5 runs per cell (at least 3 when a cell
    /// runs past 45 s); 120 s per run; each run waits up to 30 s (per cell) for other processes
    /// to use less than 0.3 cores, and a cell they disturbed anyway is measured again (twice at
    /// most, the quietest attempt kept).
    pub fn standard(server: ServerUnderTest, paths: Paths) -> Self {
        Plan {
            server,
            clients: ClientKind::ALL.to_vec(),
            transports: TransportKind::ALL.to_vec(),
            workloads: Workload::all_standard(),
            runs: 5,
            cell_budget: Duration::from_secs(45),
            min_runs: 3,
            run_timeout: Duration::from_secs(120),
            setup_timeout: Duration::from_secs(60),
            quiet_wait: Duration::from_secs(30),
            quiet_below: 0.3,
            noisy_retries: 2,
            paths,
            headers: Vec::new(),
            cancel: Cancel::default(),
        }
    }
}

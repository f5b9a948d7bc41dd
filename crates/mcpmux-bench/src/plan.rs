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
    /// rmcp 3.11.0, the official Rust SDK, with its defaults.
    Rmcp,
    /// rmcp 3.11.0 given a `reqwest` client that keeps connections alive (pooled), as a careful
    /// user would configure it: rmcp's default client disables keep-alive. Streamable HTTP only
    /// (on stdio it is [`Rmcp`](Self::Rmcp): its cells are skipped there).
    RmcpPooled,
    /// The official Python SDK (`mcp` 2.3.0), `bench/py_client.py`.
    Python,
    /// The official TypeScript SDK (`@modelcontextprotocol/sdk` 1.32.2), `bench/ts_client.mjs`.
    Ts,
}

impl ClientKind {
    /// Every client, in table order.
    pub const ALL: [ClientKind; 6] = [
        ClientKind::Raw,
        ClientKind::Mcpmux,
        ClientKind::Rmcp,
        ClientKind::RmcpPooled,
        ClientKind::Python,
        ClientKind::Ts,
    ];

    /// The name used on the command line and in specs.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Raw => "raw",
            ClientKind::Mcpmux => "mcpmux",
            ClientKind::Rmcp => "rmcp",
            ClientKind::RmcpPooled => "rmcp-pooled",
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
            ClientKind::RmcpPooled => "rmcp 3.11.0, pooled",
            ClientKind::Python => "Python SDK 2.3.0",
            ClientKind::Ts => "TS SDK 1.32.2",
        }
    }

    /// Parses a [`name`](Self::name).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether this client has cells on `transport` (the pooled rmcp row is HTTP only: on stdio
    /// it would be the same client as rmcp).
    pub fn runs_on(self, transport: TransportKind) -> bool {
        !(self == ClientKind::RmcpPooled && transport == TransportKind::Stdio)
    }
}

/// A transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// Newline-delimited JSON-RPC on a child process's stdin/stdout.
    Stdio,
    /// Streamable HTTP on 127.0.0.1 (HTTP/1.1).
    Http,
    /// Streamable HTTP over TLS on 127.0.0.1, HTTP/2 by ALPN: the server is started with
    /// `--tls-cert`/`--tls-key` (a test CA made for the cell), the clients trust that CA.
    Https,
    /// Streamable HTTP on 127.0.0.1 as cleartext HTTP/2 with prior knowledge (h2c).
    H2c,
}

impl TransportKind {
    /// Every transport, in table order.
    pub const ALL: [TransportKind; 4] = [
        TransportKind::Stdio,
        TransportKind::Http,
        TransportKind::Https,
        TransportKind::H2c,
    ];

    /// The transports of the standard plan (`--transports` picks others).
    pub const STANDARD: [TransportKind; 2] = [TransportKind::Stdio, TransportKind::Http];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Stdio => "stdio",
            TransportKind::Http => "http",
            TransportKind::Https => "https",
            TransportKind::H2c => "h2c",
        }
    }

    /// Whether the server is reached over HTTP (any version).
    pub fn is_http(self) -> bool {
        self != TransportKind::Stdio
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

/// The table label of the test server writing its members in an unusual order
/// ([`ExtraServer::reordered`]).
pub const REORDERED_LABEL: &str = "test server, members in an unusual order";

/// A stdio server measured beside the plan's own [`ServerUnderTest`], in tables of its own: the
/// test server writing its members in another order (what the client's fallback paths cost), or
/// a third-party server (whose own costs dominate wall time: its table leads with the client's
/// CPU per call). Only workloads that call `echo` run against it, mapped to its echo tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraServer {
    /// A short name (command line, log files): `reordered`, `everything`, `python-sdk`.
    pub name: String,
    /// Its title in tables.
    pub label: String,
    /// The program, spawned by each client (newline-delimited JSON-RPC on stdin/stdout).
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Its echo tool's name.
    pub echo_tool: String,
    /// The echo tool's argument carrying the text (the workloads' `text`).
    pub echo_key: String,
}

impl ExtraServer {
    /// The plan's test server (a command) with `--member-order unusual`: each response as
    /// `{"id":N,"result":…,"jsonrpc":"2.0"}`, which the client's shape routing does not
    /// recognise, so every response takes the full decoder. `None` for a URL.
    pub fn reordered(server: &ServerUnderTest) -> Option<Self> {
        let ServerUnderTest::Command { program, args } = server else {
            return None;
        };
        let mut args = args.clone();
        args.extend(["--member-order", "unusual"].map(OsString::from));
        Some(ExtraServer {
            name: "reordered".into(),
            label: REORDERED_LABEL.into(),
            program: program.clone(),
            args,
            echo_tool: "echo".into(),
            echo_key: "text".into(),
        })
    }

    /// The npm everything server (`@modelcontextprotocol/server-everything`, the TypeScript
    /// SDK's reference server) on stdio: `node ENTRY stdio`; its `echo` takes `{message}`.
    pub fn everything(node: &Path, entry: &Path, version: &str) -> Self {
        ExtraServer {
            name: "everything".into(),
            label: format!("npm everything server {version}"),
            program: node.into(),
            args: vec![entry.into(), "stdio".into()],
            echo_tool: "echo".into(),
            echo_key: "message".into(),
        }
    }

    /// A Python SDK server (`tests/peers/py_server.py`, FastMCP of `mcp` 2.3.0) on stdio; its
    /// `echo` takes `{text}`.
    pub fn python_sdk(python: &Path, script: &Path) -> Self {
        ExtraServer {
            name: "python-sdk".into(),
            label: "Python SDK server (mcp 2.3.0)".into(),
            program: python.into(),
            args: vec![script.into(), "stdio".into()],
            echo_tool: "echo".into(),
            echo_key: "text".into(),
        }
    }

    /// `call` for this server: an `echo` call with its tool name and text argument mapped;
    /// `None` for any other tool (this server is not asked to run it).
    pub fn call(&self, call: &CallSpec) -> Option<CallSpec> {
        if call.tool != "echo" {
            return None;
        }
        let mut arguments = call.arguments.clone();
        if let Some(text) = arguments.remove("text") {
            arguments.insert(self.echo_key.clone(), text);
        }
        let fill = call.fill.as_ref().map(|f| Fill {
            key: if f.key == "text" {
                self.echo_key.clone()
            } else {
                f.key.clone()
            },
            bytes: f.bytes,
        });
        Some(CallSpec {
            tool: self.echo_tool.clone(),
            arguments,
            fill,
        })
    }

    /// `workload` against this server (see [`call`](Self::call)).
    pub fn workload(&self, workload: &Workload) -> Option<Workload> {
        Some(Workload {
            call: self.call(&workload.call)?,
            ..workload.clone()
        })
    }
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
    /// Whether the cells run against [`server`](Self::server) (false: only the extra servers).
    pub main_server: bool,
    /// Stdio servers measured after the main server's cells, each in tables of its own (HTTP
    /// cells never run against them).
    pub extra_servers: Vec<ExtraServer>,
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
    /// The protocol version the mcpmux client pins (`None`: negotiated).
    pub protocol_version: Option<String>,
    /// For a [`ServerUnderTest::Url`]: a PEM file of CA certificates the Rust clients trust
    /// besides the system's roots (an `https://` server with a private CA). The Python and
    /// TypeScript workers do not take it: their cells fail saying so.
    pub ca_cert: Option<PathBuf>,
    /// For a [`ServerUnderTest::Url`]: HTTP/2 with prior knowledge in every HTTP cell (h2c on
    /// `http://`, only `h2` offered on `https://`). The Python and TypeScript workers do not
    /// take it.
    pub http2_prior_knowledge: bool,
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
            main_server: true,
            extra_servers: Vec::new(),
            clients: ClientKind::ALL.to_vec(),
            transports: TransportKind::STANDARD.to_vec(),
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
            protocol_version: None,
            ca_cert: None,
            http2_prior_knowledge: false,
            cancel: Cancel::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extra_server_gets_echo_calls_mapped_and_nothing_else() {
        let everything =
            ExtraServer::everything(Path::new("node"), Path::new("/x/index.js"), "2026.8.31");
        let c1k = Workload::standard("c1k").unwrap();
        let mapped = everything.workload(&c1k).unwrap();
        assert_eq!(mapped.call.tool, "echo");
        assert_eq!(
            mapped.call.fill.as_ref().map(|f| (f.key.as_str(), f.bytes)),
            Some(("message", 100))
        );
        assert_eq!(
            mapped.call.arguments()["message"].as_str().map(str::len),
            Some(100)
        );
        assert!(!mapped.call.arguments().contains_key("text"));
        assert_eq!((mapped.calls, mapped.mode), (c1k.calls, c1k.mode));
        // `sleep` is not the echo tool: not run against it.
        assert!(
            everything
                .workload(&Workload::standard("sleep10k").unwrap())
                .is_none()
        );
        // A literal `text` argument is renamed too.
        let custom = Workload::custom("x", Mode::Sequential, 3, "echo", json!({"text": "a"}));
        let mapped = everything.call(&custom.call).unwrap();
        assert_eq!(
            mapped.arguments,
            serde_json::from_value(json!({"message": "a"})).unwrap()
        );
        let py = ExtraServer::python_sdk(Path::new("py"), Path::new("s.py"));
        assert_eq!(py.call(&c1k.call), Some(c1k.call.clone()));
    }

    #[test]
    fn the_reordered_server_is_the_test_server_with_another_member_order() {
        let server = ServerUnderTest::Command {
            program: "bench".into(),
            args: vec!["test-server".into()],
        };
        let r = ExtraServer::reordered(&server).unwrap();
        assert_eq!(r.program, OsString::from("bench"));
        assert_eq!(
            r.args,
            ["test-server", "--member-order", "unusual"].map(OsString::from)
        );
        assert_eq!(r.label, REORDERED_LABEL);
        assert!(ExtraServer::reordered(&ServerUnderTest::Url("http://x".into())).is_none());
    }
}

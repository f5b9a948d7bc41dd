//! Results: one [`Cell`] per (transport, workload, client), medians, the table of ratios and
//! the targets.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::machine::Machine;
use crate::plan::{ClientKind, TransportKind};
use crate::spec::{Mode, RunSample};

/// The measurements of one client on one workload and transport.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// The transport.
    pub transport: TransportKind,
    /// The workload's name.
    pub workload: String,
    /// The workload's description.
    pub description: String,
    /// Sequential or concurrent.
    pub mode: Mode,
    /// The client.
    pub client: ClientKind,
    /// Calls per run.
    pub calls: usize,
    /// Every completed run.
    pub runs: Vec<RunSample>,
    /// Peak resident set of the client process (`VmHWM`), in KiB, read at the end of the cell.
    pub peak_rss_kb: Option<u64>,
    /// Why the cell failed (no runs, or runs abandoned), if it did.
    pub error: Option<String>,
    /// Cores' worth of CPU that other processes used while the runs were measured (from the
    /// first run's start to the last one's end; the machine is shared).
    #[serde(default)]
    pub foreign_cores: Option<f64>,
    /// The extra server's label ([`crate::ExtraServer`]) when the cell ran against one instead
    /// of the plan's server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

pub(crate) fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

impl Cell {
    /// Runs in which every call succeeded.
    fn clean_runs(&self) -> impl Iterator<Item = &RunSample> {
        self.runs.iter().filter(|r| r.errors == 0)
    }

    /// Whether the cell has at least one clean run.
    pub fn is_ok(&self) -> bool {
        self.clean_runs().next().is_some()
    }

    /// Median wall time of the clean runs, in nanoseconds.
    pub fn wall_ns(&self) -> Option<u64> {
        median(self.clean_runs().map(|r| r.wall_ns).collect())
    }

    /// Calls per second at the median wall time.
    pub fn calls_per_s(&self) -> Option<f64> {
        let wall = self.wall_ns()?;
        (wall > 0).then(|| self.calls as f64 * 1e9 / wall as f64)
    }

    /// Median client CPU time per call, in microseconds.
    pub fn cpu_us_per_call(&self) -> Option<f64> {
        let cpu = median(self.clean_runs().map(|r| r.cpu_ns).collect())?;
        (self.calls > 0).then(|| cpu as f64 / 1e3 / self.calls as f64)
    }

    /// Median of the runs' p50 latency, in microseconds.
    pub fn p50_us(&self) -> Option<f64> {
        median(self.clean_runs().filter_map(|r| r.p50_ns).collect()).map(|n| n as f64 / 1e3)
    }

    /// Median of the runs' p99 latency, in microseconds.
    pub fn p99_us(&self) -> Option<f64> {
        median(self.clean_runs().filter_map(|r| r.p99_ns).collect()).map(|n| n as f64 / 1e3)
    }

    /// Peak RSS in MB (10⁶ bytes).
    pub fn peak_rss_mb(&self) -> Option<f64> {
        self.peak_rss_kb.map(|kb| kb as f64 * 1024.0 / 1e6)
    }

    /// The CPU other processes used during the runs, in cores (0 if not measured).
    pub fn foreign(&self) -> f64 {
        self.foreign_cores.unwrap_or(0.0)
    }

    /// How the cell went, in one line for progress output: the client, calls/s (or `failed`),
    /// runs, peak RSS, others' CPU, and the first error if there was one.
    pub fn progress_line(&self) -> String {
        let rate = self
            .calls_per_s()
            .map_or_else(|| "failed".to_owned(), |r| format!("{r:.0} calls/s"));
        let (errors, first) = self.errors();
        let note = match first {
            Some(e) if errors > 0 || !self.is_ok() => format!(" — {errors} errors: {e}"),
            _ => String::new(),
        };
        format!(
            "{:17} {rate} ({} runs, peak RSS {:.1} MB, others' CPU {:.2} cores){note}",
            self.client.label(),
            self.runs.len(),
            self.peak_rss_mb().unwrap_or(0.0),
            self.foreign(),
        )
    }

    /// Errors across all runs, and the first message.
    pub fn errors(&self) -> (u64, Option<&str>) {
        let n = self.runs.iter().map(|r| r.errors).sum();
        let first = self
            .error
            .as_deref()
            .or_else(|| self.runs.iter().find_map(|r| r.first_error.as_deref()));
        (n, first)
    }
}

/// A whole benchmark's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The machine, and its load before and after.
    pub machine: Machine,
    /// The command line that produced it.
    pub command: String,
    /// Every cell, in the order run.
    pub cells: Vec<Cell>,
}

/// One of the targets, checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetCheck {
    /// What is required.
    pub target: String,
    /// What was measured.
    pub measured: String,
    /// `Some(true)` met, `Some(false)` missed, `None` not measured.
    pub met: Option<bool>,
}

/// The first lines of a Markdown report: the machine (CPU, cores, memory, kernel, load average
/// before and after) and the command that produced it.
pub(crate) fn header(m: &Machine, command: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Machine: {} ({} cores), {:.0} GiB RAM, Linux {}. Load average before {} / after {}.",
        m.cpu_model, m.cores, m.mem_gib, m.kernel, m.load_before, m.load_after
    );
    let _ = writeln!(s, "Command: `{command}`");
    s
}

pub(crate) fn fmt_rate(v: f64) -> String {
    if v >= 100.0 {
        group_thousands(v.round() as u64)
    } else {
        format!("{v:.1}")
    }
}

fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

pub(crate) fn fmt_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// A cell's latency percentiles (sequential) or median wall time (concurrent).
fn timing(c: &Cell) -> String {
    let dash = || "—".to_string();
    match c.mode {
        Mode::Sequential => match (c.p50_us(), c.p99_us()) {
            (Some(a), Some(b)) => format!("{} / {}", fmt_us(a), fmt_us(b)),
            _ => dash(),
        },
        Mode::Concurrent => c
            .wall_ns()
            .map_or_else(dash, |w| format!("wall {}", fmt_us(w as f64 / 1e3))),
    }
}

impl Report {
    /// The cell of `client` on `transport` / `workload` against the plan's server.
    pub fn cell(
        &self,
        transport: TransportKind,
        workload: &str,
        client: ClientKind,
    ) -> Option<&Cell> {
        self.cell_on(None, transport, workload, client)
    }

    /// The cell of `client` on `transport` / `workload` against `server` (an extra server's
    /// label, [`Cell::server`]; `None`: the plan's server).
    pub fn cell_on(
        &self,
        server: Option<&str>,
        transport: TransportKind,
        workload: &str,
        client: ClientKind,
    ) -> Option<&Cell> {
        self.cells.iter().find(|c| {
            c.server.as_deref() == server
                && c.transport == transport
                && c.workload == workload
                && c.client == client
        })
    }

    fn rate(&self, transport: TransportKind, workload: &str, client: ClientKind) -> Option<f64> {
        self.cell(transport, workload, client)?.calls_per_s()
    }

    /// The faster rmcp row on `transport` / `workload`: on Streamable HTTP the faster of rmcp's
    /// defaults and the pooled client (what "ahead of rmcp" compares against), on stdio rmcp.
    pub fn best_rmcp(&self, transport: TransportKind, workload: &str) -> Option<(ClientKind, f64)> {
        [ClientKind::Rmcp, ClientKind::RmcpPooled]
            .into_iter()
            .filter(|c| c.runs_on(transport))
            .filter_map(|c| self.rate(transport, workload, c).map(|r| (c, r)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The results as Markdown: the machine, then per transport one table with every cell and
    /// its ratios (throughput as % of the raw limit, and how many times faster mcpmux is).
    pub fn markdown(&self) -> String {
        let mut s = header(&self.machine, &self.command);
        let main = || self.cells.iter().filter(|c| c.server.is_none());
        let mut transports: Vec<TransportKind> = main().map(|c| c.transport).collect();
        transports.dedup();
        transports.sort();
        transports.dedup();
        for t in transports {
            let _ = writeln!(s, "\n### {}\n", t.name());
            let _ = writeln!(
                s,
                "| workload | client | calls/s | latency p50 / p99 · wall | % of raw | mcpmux × | CPU µs/call | peak RSS MB | runs | others' CPU |"
            );
            let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            let mut workloads: Vec<&str> = Vec::new();
            for c in main().filter(|c| c.transport == t) {
                if !workloads.contains(&c.workload.as_str()) {
                    workloads.push(&c.workload);
                }
            }
            for w in workloads {
                let raw = self.rate(t, w, ClientKind::Raw);
                let mux = self.rate(t, w, ClientKind::Mcpmux);
                for c in main().filter(|c| c.transport == t && c.workload == w) {
                    s.push_str(&self.row(c, raw, mux));
                }
            }
        }
        for server in self.extra_servers() {
            s.push_str(&self.extra_table(server));
        }
        s
    }

    /// The labels of the extra servers, in the order run.
    fn extra_servers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.cells {
            if let Some(l) = c.server.as_deref()
                && !out.contains(&l)
            {
                out.push(l);
            }
        }
        out
    }

    /// The table of one extra server (stdio): the client's CPU per call first (a third-party
    /// server's own costs dominate wall time; the client's CPU is what the client controls),
    /// and each client's CPU per call as a multiple of mcpmux's.
    fn extra_table(&self, server: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "\n### stdio, {server}\n");
        let _ = writeln!(
            s,
            "| workload | client | client CPU µs/call | × mcpmux's CPU | calls/s | latency p50 / p99 · wall | peak RSS MB | runs | others' CPU |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
        let cells: Vec<&Cell> = self
            .cells
            .iter()
            .filter(|c| c.server.as_deref() == Some(server))
            .collect();
        let dash = || "—".to_string();
        for c in &cells {
            let label = format!("{} ({})", c.workload, c.description);
            if !c.is_ok() {
                let (errors, first) = c.errors();
                let why: String = first
                    .unwrap_or("no run completed")
                    .chars()
                    .take(80)
                    .collect();
                let _ = writeln!(
                    s,
                    "| {label} | {} | failed: {errors} errors — {why} | | | | | {} | {:.2} |",
                    c.client.label(),
                    c.runs.len(),
                    c.foreign()
                );
                continue;
            }
            let cpu = c.cpu_us_per_call();
            let mux_cpu = self
                .cell_on(Some(server), c.transport, &c.workload, ClientKind::Mcpmux)
                .and_then(Cell::cpu_us_per_call);
            let times = match (cpu, mux_cpu) {
                (Some(a), Some(m)) if m > 0.0 && c.client != ClientKind::Mcpmux => {
                    format!("{:.2}×", a / m)
                }
                _ => dash(),
            };
            let _ = writeln!(
                s,
                "| {label} | {} | **{}** | {times} | {} | {} | {} | {} | {:.2} |",
                c.client.label(),
                cpu.map_or_else(dash, |v| format!("{v:.1}")),
                c.calls_per_s().map_or_else(dash, fmt_rate),
                timing(c),
                c.peak_rss_mb().map_or_else(dash, |v| format!("{v:.1}")),
                c.runs.len(),
                c.foreign()
            );
        }
        s
    }

    fn row(&self, c: &Cell, raw: Option<f64>, mux: Option<f64>) -> String {
        let dash = || "—".to_string();
        let label = format!("{} ({})", c.workload, c.description);
        let (errors, first) = c.errors();
        if !c.is_ok() {
            let why = first.unwrap_or("no run completed");
            let why: String = why.chars().take(80).collect();
            return format!(
                "| {label} | {} | failed: {errors} errors — {why} | | | | | {} | {} | {:.2} |\n",
                c.client.label(),
                c.peak_rss_mb().map_or_else(dash, |v| format!("{v:.1}")),
                c.runs.len(),
                c.foreign()
            );
        }
        let rate = c.calls_per_s();
        let timing = timing(c);
        let of_raw = match (rate, raw) {
            (Some(r), Some(raw)) if raw > 0.0 => format!("{:.0} %", 100.0 * r / raw),
            _ => dash(),
        };
        let mux_x = match (rate, mux) {
            (Some(r), Some(m)) if c.client != ClientKind::Mcpmux && r > 0.0 => {
                format!("{:.2}×", m / r)
            }
            _ => dash(),
        };
        let err_note = if errors > 0 {
            format!(" ({errors} errors in unclean runs)")
        } else {
            String::new()
        };
        format!(
            "| {label} | {}{err_note} | {} | {timing} | {of_raw} | {mux_x} | {} | {} | {} | {:.2} |\n",
            c.client.label(),
            rate.map_or_else(dash, fmt_rate),
            c.cpu_us_per_call().map_or_else(dash, |v| format!("{v:.1}")),
            c.peak_rss_mb().map_or_else(dash, |v| format!("{v:.1}")),
            c.runs.len(),
            c.foreign()
        )
    }

    /// The targets, checked against this report (cells not measured give `None`).
    pub fn targets(&self) -> Vec<TargetCheck> {
        use ClientKind::*;
        use TransportKind::*;
        let mut out = Vec::new();
        let ratio = |t, w: &str, a, b| Some(self.rate(t, w, a)? / self.rate(t, w, b)?);
        // 1. ≥ 95 % of the raw limit on stdio echo throughput.
        for w in ["c1k", "c10k", "p10k"] {
            let r = ratio(Stdio, w, Mcpmux, Raw);
            out.push(TargetCheck {
                target: format!("stdio {w}: mcpmux ≥ 95 % of the raw limit"),
                measured: r.map_or("not measured".into(), |r| format!("{:.0} %", r * 100.0)),
                met: r.map(|r| r >= 0.95),
            });
        }
        // 2. ≥ 10× the Python SDK; 3. ahead of rmcp (goal 1.5×), on every throughput workload.
        for t in [Stdio, Http] {
            for w in ["seq", "c1k", "c10k", "p10k", "p1m"] {
                if let Some(r) = ratio(t, w, Mcpmux, Python) {
                    // Where even the raw limit is not 10× the Python SDK, say so.
                    let ceiling = match ratio(t, w, Raw, Python) {
                        Some(c) if c < 10.0 => format!(" (ceiling: the raw limit is {c:.1}×)"),
                        _ => String::new(),
                    };
                    out.push(TargetCheck {
                        target: format!("{} {w}: mcpmux ≥ 10× the Python SDK", t.name()),
                        measured: format!("{r:.1}×{ceiling}"),
                        met: Some(r >= 10.0),
                    });
                }
                if let (Some(m), Some((peer, r))) = (self.rate(t, w, Mcpmux), self.best_rmcp(t, w))
                {
                    let ceiling = match self.rate(t, w, Raw) {
                        Some(raw) if raw / r < 1.5 => {
                            format!(" (ceiling: the raw limit is {:.2}×)", raw / r)
                        }
                        _ => String::new(),
                    };
                    out.push(TargetCheck {
                        target: format!("{} {w}: mcpmux ahead of rmcp (goal 1.5×)", t.name()),
                        measured: format!("{:.2}× {}{ceiling}", m / r, peer.label()),
                        met: Some(m > r),
                    });
                }
            }
        }
        // 4. 10,000 concurrent sleep 100 ms on one connection (stdio): wall ≤ 1.1× raw, RSS ≤ 50 MB.
        let mux = self.cell(Stdio, "sleep10k", Mcpmux);
        let raw = self.cell(Stdio, "sleep10k", Raw);
        if let (Some(m), Some(r)) = (mux.and_then(Cell::wall_ns), raw.and_then(Cell::wall_ns)) {
            let x = m as f64 / r as f64;
            out.push(TargetCheck {
                target: "stdio sleep10k: mcpmux wall ≤ 1.1× the raw driver's".into(),
                measured: format!(
                    "{:.0} ms vs {:.0} ms = {x:.2}×",
                    m as f64 / 1e6,
                    r as f64 / 1e6
                ),
                met: Some(x <= 1.1),
            });
        }
        if let Some(rss) = mux.and_then(Cell::peak_rss_mb) {
            out.push(TargetCheck {
                target: "stdio sleep10k: mcpmux peak RSS ≤ 50 MB".into(),
                measured: format!("{rss:.1} MB"),
                met: Some(rss <= 50.0),
            });
        }
        // 5. HTTP: concurrency not capped (10,000 sleeps about as fast as the raw driver's
        // 10,000 parallel POSTs; a cap of 16 in flight would need ≥ 62.5 s), ahead of every peer.
        let mux = self.cell(Http, "sleep10k", Mcpmux).and_then(Cell::wall_ns);
        let raw = self.cell(Http, "sleep10k", Raw).and_then(Cell::wall_ns);
        if let (Some(m), Some(r)) = (mux, raw) {
            let x = m as f64 / r as f64;
            out.push(TargetCheck {
                target: "http sleep10k: concurrency not capped (wall ≤ 1.5× the raw driver's)"
                    .into(),
                measured: format!(
                    "{:.0} ms vs {:.0} ms = {x:.2}×",
                    m as f64 / 1e6,
                    r as f64 / 1e6
                ),
                met: Some(x <= 1.5),
            });
        }
        // 6. Not tuned to our own server: with the members in an unusual order (the fallback
        // path), mcpmux's CPU per call stays within 1.5× the usual order's. CPU time is noisy on
        // a shared machine; `bench/instructions.sh` counts the same thing exactly.
        for c in self
            .cells
            .iter()
            .filter(|c| c.server.as_deref() == Some(crate::plan::REORDERED_LABEL))
            .filter(|c| c.client == Mcpmux && c.mode == Mode::Concurrent)
        {
            let usual = self
                .cell(c.transport, &c.workload, Mcpmux)
                .and_then(Cell::cpu_us_per_call);
            if let (Some(odd), Some(usual)) = (c.cpu_us_per_call(), usual)
                && usual > 0.0
            {
                let x = odd / usual;
                out.push(TargetCheck {
                    target: format!(
                        "{} {}, members in an unusual order: mcpmux CPU per call ≤ 1.5× the usual order's",
                        c.transport.name(),
                        c.workload
                    ),
                    measured: format!("{odd:.2} µs vs {usual:.2} µs = {x:.2}×"),
                    met: Some(x <= 1.5),
                });
            }
        }
        let workloads: Vec<String> = self
            .cells
            .iter()
            .filter(|c| c.transport == Http && c.server.is_none())
            .map(|c| c.workload.clone())
            .fold(Vec::new(), |mut v, w| {
                if !v.contains(&w) {
                    v.push(w);
                }
                v
            });
        for w in workloads {
            let Some(m) = self.rate(Http, &w, Mcpmux) else {
                continue;
            };
            let best = [Rmcp, RmcpPooled, Python, Ts]
                .into_iter()
                .filter_map(|p| self.rate(Http, &w, p).map(|r| (p, r)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((peer, r)) = best {
                out.push(TargetCheck {
                    target: format!("http {w}: mcpmux ahead of every peer"),
                    measured: format!("{:.2}× the best peer ({})", m / r, peer.label()),
                    met: Some(m > r),
                });
            }
        }
        out
    }

    /// The target checks as a Markdown table.
    pub fn targets_markdown(&self) -> String {
        let mut s = String::from("| target | measured | met |\n|---|---|---|\n");
        for t in self.targets() {
            let met = match t.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            };
            let _ = writeln!(s, "| {} | {} | {met} |", t.target, t.measured);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(client: ClientKind, walls: &[u64]) -> Cell {
        cell_on(TransportKind::Stdio, "c1k", client, walls)
    }

    fn cell_on(
        transport: TransportKind,
        workload: &str,
        client: ClientKind,
        walls: &[u64],
    ) -> Cell {
        Cell {
            transport,
            workload: workload.into(),
            description: "d".into(),
            mode: Mode::Concurrent,
            client,
            calls: 1000,
            runs: walls
                .iter()
                .map(|&w| RunSample {
                    ok: 1000,
                    wall_ns: w,
                    cpu_ns: w,
                    ..RunSample::default()
                })
                .collect(),
            peak_rss_kb: Some(10_000),
            error: None,
            foreign_cores: Some(0.0),
            server: None,
        }
    }

    #[test]
    fn medians_and_ratios() {
        let report = Report {
            machine: Machine::default(),
            command: "x".into(),
            cells: vec![
                cell(ClientKind::Raw, &[9_000_000, 10_000_000, 11_000_000]),
                cell(ClientKind::Mcpmux, &[10_000_000, 10_500_000, 50_000_000]),
            ],
        };
        let raw = report.cells[0].calls_per_s().unwrap_or_default();
        assert!((raw - 100_000.0).abs() < 1.0);
        let md = report.markdown();
        assert!(md.contains("95 %"), "{md}");
        let t = report.targets();
        assert_eq!(t[0].met, Some(true), "{t:?}");
        assert_eq!(group_thousands(1234567), "1,234,567");
    }

    fn target<'a>(t: &'a [TargetCheck], name: &str) -> &'a TargetCheck {
        t.iter()
            .find(|c| c.target == name)
            .unwrap_or_else(|| panic!("no target {name:?} in {t:?}"))
    }

    #[test]
    fn http_targets_compare_against_the_faster_rmcp() {
        use ClientKind::*;
        use TransportKind::*;
        // mcpmux 1 ms; rmcp's defaults 2 ms; the pooled rmcp 0.8 ms: behind the pooled one.
        let report = Report {
            machine: Machine::default(),
            command: "x".into(),
            cells: vec![
                cell_on(Http, "c1k", Raw, &[500_000]),
                cell_on(Http, "c1k", Mcpmux, &[1_000_000]),
                cell_on(Http, "c1k", Rmcp, &[2_000_000]),
                cell_on(Http, "c1k", RmcpPooled, &[800_000]),
                cell_on(Stdio, "c1k", Mcpmux, &[1_000_000]),
                cell_on(Stdio, "c1k", Rmcp, &[2_000_000]),
            ],
        };
        assert_eq!(report.best_rmcp(Http, "c1k").map(|b| b.0), Some(RmcpPooled));
        assert_eq!(report.best_rmcp(Stdio, "c1k").map(|b| b.0), Some(Rmcp));
        let t = report.targets();
        let http = target(&t, "http c1k: mcpmux ahead of rmcp (goal 1.5×)");
        assert_eq!(http.met, Some(false), "{http:?}");
        assert!(
            http.measured.starts_with("0.80× rmcp 3.11.0, pooled"),
            "{http:?}"
        );
        let stdio = target(&t, "stdio c1k: mcpmux ahead of rmcp (goal 1.5×)");
        assert_eq!(stdio.met, Some(true), "{stdio:?}");
        assert!(stdio.measured.starts_with("2.00× rmcp 3.11.0"), "{stdio:?}");
        let peers = target(&t, "http c1k: mcpmux ahead of every peer");
        assert!(peers.measured.contains("pooled"), "{peers:?}");
        // The pooled row is a table row of its own, with its ratio to mcpmux.
        let md = report.markdown();
        assert!(md.contains("| rmcp 3.11.0, pooled | 1,250,000 |"), "{md}");
    }

    #[test]
    fn the_pooled_rmcp_runs_on_http_only() {
        assert!(ClientKind::RmcpPooled.runs_on(TransportKind::Http));
        assert!(!ClientKind::RmcpPooled.runs_on(TransportKind::Stdio));
        assert!(ClientKind::Rmcp.runs_on(TransportKind::Stdio));
        assert_eq!(
            ClientKind::parse("rmcp-pooled"),
            Some(ClientKind::RmcpPooled)
        );
    }

    #[test]
    fn extra_servers_get_tables_of_their_own_and_the_fallback_target() {
        use ClientKind::*;
        use TransportKind::*;
        let on = |server: &str, client, walls: &[u64], cpu: u64| {
            let mut c = cell_on(Stdio, "c10k", client, walls);
            c.server = Some(server.to_owned());
            for r in &mut c.runs {
                r.cpu_ns = cpu;
            }
            c
        };
        let everything = "npm everything server 1";
        let report = Report {
            machine: Machine::default(),
            command: "x".into(),
            cells: vec![
                cell_on(Stdio, "c10k", Raw, &[1_000_000]),
                cell_on(Stdio, "c10k", Mcpmux, &[2_000_000]),
                on(
                    crate::plan::REORDERED_LABEL,
                    Mcpmux,
                    &[2_000_000],
                    2_400_000,
                ),
                on(everything, Mcpmux, &[9_000_000], 1_000_000),
                on(everything, Rmcp, &[9_500_000], 5_000_000),
            ],
        };
        let md = report.markdown();
        // The main table keeps only the plan's server's cells.
        let main = md.split("### stdio,").next().unwrap_or_default();
        assert_eq!(main.matches("| c10k (d) |").count(), 2, "{md}");
        assert!(md.contains("### stdio, npm everything server 1"), "{md}");
        assert!(
            md.contains(&format!("### stdio, {}", crate::plan::REORDERED_LABEL)),
            "{md}"
        );
        // Client CPU per call first; rmcp used 5× mcpmux's CPU.
        assert!(
            md.contains("| c10k (d) | rmcp 3.11.0 | **5.0** | 5.00× |"),
            "{md}"
        );
        assert!(md.contains("| c10k (d) | mcpmux | **1.0** | — |"), "{md}");
        // The main server's lookups never see an extra server's cells.
        assert_eq!(report.cell(Stdio, "c10k", Rmcp).map(|c| c.client), None);
        let t = report.targets();
        let fallback = target(
            &t,
            "stdio c10k, members in an unusual order: mcpmux CPU per call ≤ 1.5× the usual order's",
        );
        // 2.4 ms vs 2 ms of CPU over 1,000 calls.
        assert_eq!(fallback.measured, "2.40 µs vs 2.00 µs = 1.20×");
        assert_eq!(fallback.met, Some(true));
        // Third-party servers set no targets of their own.
        assert!(!t.iter().any(|c| c.target.contains("everything")), "{t:?}");
    }
}

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

impl Report {
    /// The cell of `client` on `transport` / `workload`.
    pub fn cell(
        &self,
        transport: TransportKind,
        workload: &str,
        client: ClientKind,
    ) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.transport == transport && c.workload == workload && c.client == client)
    }

    fn rate(&self, transport: TransportKind, workload: &str, client: ClientKind) -> Option<f64> {
        self.cell(transport, workload, client)?.calls_per_s()
    }

    /// The results as Markdown: the machine, then per transport one table with every cell and
    /// its ratios (throughput as % of the raw limit, and how many times faster mcpmux is).
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(
            s,
            "Machine: {} ({} cores), {:.0} GiB RAM, Linux {}. Load average before {} / after {}.",
            m.cpu_model, m.cores, m.mem_gib, m.kernel, m.load_before, m.load_after
        );
        let _ = writeln!(s, "Command: `{}`", self.command);
        let mut transports: Vec<TransportKind> = self.cells.iter().map(|c| c.transport).collect();
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
            for c in self.cells.iter().filter(|c| c.transport == t) {
                if !workloads.contains(&c.workload.as_str()) {
                    workloads.push(&c.workload);
                }
            }
            for w in workloads {
                let raw = self.rate(t, w, ClientKind::Raw);
                let mux = self.rate(t, w, ClientKind::Mcpmux);
                for c in self
                    .cells
                    .iter()
                    .filter(|c| c.transport == t && c.workload == w)
                {
                    s.push_str(&self.row(c, raw, mux));
                }
            }
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
        let timing = match c.mode {
            Mode::Sequential => match (c.p50_us(), c.p99_us()) {
                (Some(a), Some(b)) => format!("{} / {}", fmt_us(a), fmt_us(b)),
                _ => dash(),
            },
            Mode::Concurrent => c
                .wall_ns()
                .map_or_else(dash, |w| format!("wall {}", fmt_us(w as f64 / 1e3))),
        };
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
                if let Some(r) = ratio(t, w, Mcpmux, Rmcp) {
                    let ceiling = match ratio(t, w, Raw, Rmcp) {
                        Some(c) if c < 1.5 => format!(" (ceiling: the raw limit is {c:.2}×)"),
                        _ => String::new(),
                    };
                    out.push(TargetCheck {
                        target: format!("{} {w}: mcpmux ahead of rmcp (goal 1.5×)", t.name()),
                        measured: format!("{r:.2}×{ceiling}"),
                        met: Some(r > 1.0),
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
        let workloads: Vec<String> = self
            .cells
            .iter()
            .filter(|c| c.transport == Http)
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
            let best = [Rmcp, Python, Ts]
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
        Cell {
            transport: TransportKind::Stdio,
            workload: "c1k".into(),
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
}

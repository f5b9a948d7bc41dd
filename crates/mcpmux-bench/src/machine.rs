//! The machine a benchmark ran on, read from `/proc`.

use serde::{Deserialize, Serialize};

/// CPU, cores, memory, kernel and load.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Logical CPUs available to this process.
    pub cores: usize,
    /// `MemTotal` in GiB.
    pub mem_gib: f64,
    /// The kernel release.
    pub kernel: String,
    /// The 1/5/15-minute load averages when the benchmark started.
    pub load_before: String,
    /// The same when it finished.
    pub load_after: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The three load averages from `/proc/loadavg`.
pub fn load_average() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Machine {
    /// Reads the machine's description now.
    pub fn detect() -> Self {
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".into());
        let mem_kb: f64 = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpu_model,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            mem_gib: mem_kb / (1024.0 * 1024.0),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            load_before: load_average(),
            load_after: String::new(),
        }
    }
}

/// Clock ticks per second of `/proc` CPU times.
fn ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

/// CPU time used by the whole machine so far (user, nice, system and steal: what any process,
/// or the hypervisor, took from the cores), in clock ticks. Interrupt time is left out: it is
/// mostly our own loopback traffic, which no process is charged for.
fn machine_busy_ticks() -> u64 {
    let stat = read("/proc/stat");
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal ...
    [0usize, 1, 2, 7].iter().filter_map(|&i| v.get(i)).sum()
}

/// CPU time (user + system) of `root` and every live descendant, in clock ticks.
fn tree_ticks(root: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    // pid → (ppid, ticks), from /proc/PID/stat (fields after the parenthesised command name).
    let mut procs = std::collections::HashMap::new();
    for entry in dir.flatten().take(100_000) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = read(&format!("/proc/{pid}/stat"));
        let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 2..)) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // f[0] state, f[1] ppid, f[11] utime, f[12] stime
        let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        procs.insert(pid, (num(1) as u32, num(11) + num(12)));
    }
    let mut total = 0;
    for (&pid, &(_, ticks)) in &procs {
        let mut p = pid;
        // Bounded walk up the parent chain.
        for _ in 0..64 {
            if p == root {
                total += ticks;
                break;
            }
            match procs.get(&p) {
                Some(&(ppid, _)) if ppid != 0 && ppid != p => p = ppid,
                _ => break,
            }
        }
    }
    total
}

/// Measures how much CPU *other* processes (not this one or its descendants) take.
#[derive(Debug, Clone, Copy)]
pub struct ForeignLoad {
    at: std::time::Instant,
    machine: u64,
    ours: u64,
}

impl ForeignLoad {
    /// Starts a measurement now.
    pub fn start() -> Self {
        ForeignLoad {
            at: std::time::Instant::now(),
            machine: machine_busy_ticks(),
            ours: tree_ticks(std::process::id()),
        }
    }

    /// Cores' worth of CPU that other processes (and the hypervisor's steal) used since `start`.
    pub fn cores(&self) -> f64 {
        let secs = self.at.elapsed().as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        let machine = machine_busy_ticks().saturating_sub(self.machine);
        let ours = tree_ticks(std::process::id()).saturating_sub(self.ours);
        machine.saturating_sub(ours) as f64 / ticks_per_second() / secs
    }
}

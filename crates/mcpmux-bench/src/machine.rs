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

/// Every live process: pid → (ppid, utime + stime in clock ticks), from `/proc/PID/stat`.
fn process_table() -> std::collections::HashMap<u32, (u32, u64)> {
    let mut procs = std::collections::HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return procs;
    };
    for entry in dir.flatten().take(100_000) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(fields) = parse_stat(&read(&format!("/proc/{pid}/stat"))) {
            procs.insert(pid, fields);
        }
    }
    procs
}

/// (ppid, utime + stime) from the text of a `/proc/PID/stat` (the fields after the
/// parenthesised command name, which may itself hold spaces and parentheses).
fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let rest = stat.rfind(')').and_then(|i| stat.get(i + 2..))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] state, f[1] ppid, f[11] utime, f[12] stime
    let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok());
    Some((u32::try_from(num(1)?).ok()?, num(11)? + num(12)?))
}

/// CPU time (user + system) of `root` and every live descendant, in clock ticks.
fn tree_ticks(root: u32) -> u64 {
    let (ours, upstream) = split_tree_ticks(&[root], &|_| false);
    ours + upstream
}

/// CPU time (user + system, clock ticks) of the processes `roots` and their live descendants,
/// split in two: `(others, upstream)`, where a process counts as upstream when it or any of its
/// ancestors below a root (the root included) satisfies `is_upstream`.
pub(crate) fn split_tree_ticks(roots: &[u32], is_upstream: &dyn Fn(u32) -> bool) -> (u64, u64) {
    let procs = process_table();
    let mut marks = std::collections::HashMap::new();
    let mut upstream_of = |pid: u32| *marks.entry(pid).or_insert_with(|| is_upstream(pid));
    let (mut ours, mut upstream) = (0, 0);
    for (&pid, &(_, ticks)) in &procs {
        let mut chain = Vec::new();
        let mut p = pid;
        let mut found = false;
        // Bounded walk up the parent chain.
        for _ in 0..64 {
            chain.push(p);
            if roots.contains(&p) {
                found = true;
                break;
            }
            match procs.get(&p) {
                Some(&(ppid, _)) if ppid != 0 && ppid != p => p = ppid,
                _ => break,
            }
        }
        if !found {
            continue;
        }
        if chain.into_iter().any(&mut upstream_of) {
            upstream += ticks;
        } else {
            ours += ticks;
        }
    }
    (ours, upstream)
}

/// Clock ticks as nanoseconds.
pub(crate) fn ticks_to_ns(ticks: u64) -> u64 {
    (ticks as f64 * 1e9 / ticks_per_second()) as u64
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_an_odd_command_name() {
        let stat = "42 (a) b (c) S 7 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 3 0";
        assert_eq!(parse_stat(stat), Some((7, 281)));
        assert_eq!(parse_stat("42 (x) S"), None);
    }

    #[test]
    fn this_process_tree_counts_and_can_be_marked_upstream() {
        let me = std::process::id();
        // Burn CPU until the tick count moves (bounded: 10 s).
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while split_tree_ticks(&[me], &|_| false).0 == 0 && start.elapsed().as_secs() < 10 {
            for i in 0..1_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
        }
        let (ours, upstream) = split_tree_ticks(&[me], &|_| false);
        assert!(ours > 0);
        assert_eq!(upstream, 0);
        let (ours, upstream) = split_tree_ticks(&[me], &|pid| pid == me);
        assert_eq!(ours, 0);
        assert!(upstream > 0);
    }
}

//! The orchestrator: runs every cell of a [`Plan`] in fresh worker processes, one at a time.
//!
//! Each worker runs in a process group of its own, with its stderr in a log file. Every wait is
//! bounded; a worker or server that overstays is killed (its whole group) and always reaped,
//! also on early returns (`Drop`). Stdio servers are children of the workers: each client
//! library shuts its server down on close, and a killed worker's server sees its stdin close.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::machine::{ForeignLoad, Machine, load_average};
use crate::plan::{
    Cancel, ClientKind, ExtraServer, Plan, ServerUnderTest, TransportKind, Workload,
};
use crate::report::{Cell, Report};
use crate::spec::{LINE_PREFIX, RunSample, Target, WorkerSpec};
use mcpmux_test_server::test_certs::TestCerts;

/// The longest line read from a worker or server.
const MAX_LINE: u64 = 1024 * 1024;
/// The most lines read from one process's stdout.
const MAX_LINES: usize = 1_000_000;
/// Grace for a worker to close its client and exit after `exit`.
const EXIT_GRACE: Duration = Duration::from_secs(20);
/// Grace for an HTTP server after SIGTERM.
pub(crate) const TERM_GRACE: Duration = Duration::from_secs(5);
/// Wait for the HTTP server's `listening on` line.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(20);
/// Once the plan is cancelled: how long a process may take to exit after SIGTERM (or `exit`)
/// before its group is killed.
const CANCEL_GRACE: Duration = Duration::from_secs(1);
/// How often a blocking wait looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(25);

/// A line of the worker protocol.
#[derive(Debug)]
pub(crate) enum WorkerLine {
    Ready,
    Result(Box<RunSample>),
    Error(String),
}

fn parse_line(line: &str) -> Option<WorkerLine> {
    let rest = line.strip_prefix(LINE_PREFIX)?.trim_end();
    if rest == "ready" {
        return Some(WorkerLine::Ready);
    }
    if let Some(json) = rest.strip_prefix("result ") {
        return Some(match serde_json::from_str(json) {
            Ok(sample) => WorkerLine::Result(Box::new(sample)),
            Err(e) => WorkerLine::Error(format!("unreadable result ({e})")),
        });
    }
    let msg = rest.strip_prefix("error ").unwrap_or(rest);
    Some(WorkerLine::Error(msg.to_owned()))
}

/// A child process in its own process group, its stdout read line by line on a thread.
pub(crate) struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    log: PathBuf,
    reaped: bool,
    cancel: Cancel,
}

impl Proc {
    pub(crate) fn spawn(mut cmd: Command, log: &Path, cancel: &Cancel) -> Result<Proc, String> {
        use std::os::unix::process::CommandExt;
        let err = File::create(log).map_err(|e| format!("log file {}: {e}", log.display()))?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("spawn {:?}: {e}", cmd.get_program()))?;
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("no stdout pipe".into());
        };
        let (tx, rx) = channel();
        // Ends at EOF (the process and anything holding its stdout are gone) or after MAX_LINES.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            for _ in 0..MAX_LINES {
                buf.clear();
                match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok(Proc::started(child, stdin, rx, log, cancel))
    }

    /// Spawns a server whose stdout and stderr both go to `log` (its "ready" line is read from
    /// there): no stdout lines and no stdin for the runner.
    pub(crate) fn spawn_logged(
        mut cmd: Command,
        log: &Path,
        cancel: &Cancel,
    ) -> Result<Proc, String> {
        use std::os::unix::process::CommandExt;
        let out = File::create(log).map_err(|e| format!("log file {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("log file {}: {e}", log.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {:?}: {e}", cmd.get_program()))?;
        let (_, rx) = channel();
        Ok(Proc::started(child, None, rx, log, cancel))
    }

    /// A spawned child as a [`Proc`], its process group registered with `cancel` (so that a
    /// cancelled plan can end it).
    fn started(
        child: Child,
        stdin: Option<ChildStdin>,
        lines: Receiver<String>,
        log: &Path,
        cancel: &Cancel,
    ) -> Proc {
        let proc = Proc {
            child,
            stdin,
            lines,
            log: log.to_owned(),
            reaped: false,
            cancel: cancel.clone(),
        };
        cancel.started(proc.pid().as_raw());
        proc
    }

    /// The process id (also its process group's).
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// The log file (stderr, and stdout for [`Proc::spawn_logged`]).
    pub(crate) fn log_path(&self) -> &Path {
        &self.log
    }

    /// Whether the process has exited (it is then reaped); its status if so.
    pub(crate) fn exited(&mut self) -> Option<String> {
        if self.reaped {
            return Some("reaped".into());
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.set_reaped();
                Some(status.to_string())
            }
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// Records that the process was reaped (its group is no longer the runner's).
    fn set_reaped(&mut self) {
        self.reaped = true;
        self.cancel.finished(self.pid().as_raw());
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX))
    }

    /// The next stdout line before `deadline` (an error at once when the plan is cancelled).
    pub(crate) fn line(&mut self, deadline: Instant) -> Result<String, String> {
        loop {
            if self.cancel.is_cancelled() {
                return Err("cancelled".into());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.min(CANCEL_POLL)) {
                Ok(line) => return Ok(line),
                Err(RecvTimeoutError::Timeout) if left > CANCEL_POLL => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("timed out{}", self.log_tail()));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("the process exited{}", self.log_tail()));
                }
            }
        }
    }

    /// The next protocol line before `deadline` (other lines are skipped).
    pub(crate) fn expect(&mut self, deadline: Instant) -> Result<WorkerLine, String> {
        for _ in 0..MAX_LINES {
            let line = self.line(deadline)?;
            if let Some(parsed) = parse_line(&line) {
                return Ok(parsed);
            }
        }
        Err("too much output".into())
    }

    fn send(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("write to the worker: {e}{}", self.log_tail()))
    }

    /// The peak resident set (`VmHWM`) in KiB, while the process is alive.
    fn vm_hwm_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    }

    /// The last stderr line, for error messages, and where the whole log is.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(600);
        let tail = String::from_utf8_lossy(&text[start..]);
        let last = tail
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        format!(
            " (last stderr: {:?}; log {})",
            last.trim(),
            self.log.display()
        )
    }

    /// Waits up to `grace` (at most [`CANCEL_GRACE`] once the plan is cancelled) for the
    /// process to exit; true if it did (and was reaped).
    fn wait_for(&mut self, grace: Duration) -> bool {
        let start = Instant::now();
        let until = start + grace;
        while Instant::now() < until {
            if self.cancel.is_cancelled() && start.elapsed() >= CANCEL_GRACE {
                return false;
            }
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => {
                    self.set_reaped();
                    return true;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        false
    }

    /// Kills the whole process group and reaps the process.
    fn kill(&mut self) {
        if !self.reaped {
            let _ = killpg(self.pid(), Signal::SIGKILL);
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.set_reaped();
        }
    }

    /// Asks a worker to close and exit; kills it if it does not within `grace`.
    fn finish(&mut self, grace: Duration) {
        let _ = self.send("exit");
        self.stdin = None;
        if !self.wait_for(grace) {
            self.kill();
        }
    }

    /// SIGTERM to the group, then SIGKILL after `grace`; then SIGKILL to whatever is left of
    /// the group (a server that ignores SIGTERM outlives its worker otherwise).
    pub(crate) fn terminate(&mut self, grace: Duration) {
        self.stdin = None;
        if !self.reaped {
            let _ = killpg(self.pid(), Signal::SIGTERM);
            if !self.wait_for(grace) {
                self.kill();
            }
            let _ = killpg(self.pid(), Signal::SIGKILL);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP server started for one cell.
struct HttpServer {
    proc: Proc,
    url: String,
}

impl HttpServer {
    fn start(
        program: &OsString,
        args: &[OsString],
        extra: &[OsString],
        log: &Path,
        cancel: &Cancel,
    ) -> Result<HttpServer, String> {
        let mut cmd = Command::new(program);
        cmd.args(args).args(["--http", "127.0.0.1:0"]).args(extra);
        let mut proc = Proc::spawn(cmd, log, cancel)?;
        let deadline = Instant::now() + LISTEN_TIMEOUT;
        for _ in 0..1000 {
            let line = proc
                .line(deadline)
                .map_err(|e| format!("HTTP server: {e}"))?;
            if let Some(base) = line.trim().strip_prefix("listening on ") {
                if !base.starts_with("http://127.0.0.1:") && !base.starts_with("https://127.0.0.1:")
                {
                    return Err(format!("the server listens on {base}, not 127.0.0.1"));
                }
                let url = format!("{}/mcp", base.trim_end_matches('/'));
                return Ok(HttpServer { proc, url });
            }
        }
        Err("the HTTP server never said where it listens".into())
    }
}

fn lossy(s: &OsString) -> String {
    s.to_string_lossy().into_owned()
}

fn worker_command(plan: &Plan, client: ClientKind, spec_json: String) -> Result<Command, String> {
    let p = &plan.paths;
    let cmd = match client {
        ClientKind::Raw | ClientKind::Mcpmux | ClientKind::Rmcp | ClientKind::RmcpPooled => {
            let (program, args) = p
                .rust_worker
                .split_first()
                .ok_or("no Rust worker command")?;
            let mut cmd = Command::new(program);
            cmd.args(args).arg(spec_json);
            cmd
        }
        ClientKind::Python => {
            let mut cmd = Command::new(&p.python);
            cmd.arg("-u")
                .arg(p.scripts.join("py_client.py"))
                .arg(spec_json);
            cmd
        }
        ClientKind::Ts => {
            let mut cmd = Command::new(&p.node);
            cmd.arg(p.scripts.join("ts_client.mjs"))
                .arg(spec_json)
                .env("MCPMUX_BENCH_TS_SDK", &p.ts_sdk);
            cmd
        }
    };
    Ok(cmd)
}

/// Runs one cell: starts the HTTP server if needed, the worker, every run; reads the peak RSS.
/// A cell that other processes disturbed is measured again, up to [`Plan::noisy_retries`]
/// times; the quietest attempt is returned.
pub fn run_cell(
    plan: &Plan,
    transport: TransportKind,
    workload: &Workload,
    client: ClientKind,
) -> Cell {
    run_cell_on(plan, None, transport, workload, client)
}

/// [`run_cell`] against `extra` (a stdio server of its own) instead of the plan's server;
/// `workload` already mapped to it ([`ExtraServer::workload`]).
fn run_cell_on(
    plan: &Plan,
    extra: Option<&ExtraServer>,
    transport: TransportKind,
    workload: &Workload,
    client: ClientKind,
) -> Cell {
    let mut best = run_cell_once(plan, extra, transport, workload, client, &mut |_| {});
    for _ in 0..plan.noisy_retries {
        if best.foreign() <= plan.quiet_below || !best.is_ok() || plan.cancel.is_cancelled() {
            break;
        }
        let again = run_cell_once(plan, extra, transport, workload, client, &mut |_| {});
        if again.is_ok() && again.foreign() < best.foreign() {
            best = again;
        }
    }
    best
}

/// Where a cell's worker stands, for a caller that measures something around the timed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// The worker has warmed up; the first run is about to start.
    BeforeRuns,
    /// The last run has reported (the worker has not exited yet).
    AfterRuns,
}

/// One attempt at a cell (no retries when others disturbed it); `marks` is called at each
/// [`Mark`] the worker reaches.
pub(crate) fn run_cell_once(
    plan: &Plan,
    extra: Option<&ExtraServer>,
    transport: TransportKind,
    workload: &Workload,
    client: ClientKind,
    marks: &mut dyn FnMut(Mark),
) -> Cell {
    let mut cell = Cell {
        transport,
        workload: workload.name.clone(),
        description: workload.description.clone(),
        mode: workload.mode,
        client,
        calls: workload.calls,
        runs: Vec::new(),
        peak_rss_kb: None,
        error: None,
        foreign_cores: None,
        server: extra.map(|e| e.label.clone()),
    };
    if matches!(transport, TransportKind::Https | TransportKind::H2c)
        && matches!(client, ClientKind::Python | ClientKind::Ts)
    {
        // Their workers would not trust the cell's CA, or would speak HTTP/1.1 to an h2c cell.
        cell.error = Some(format!(
            "the {} worker does not support the {} transport",
            client.label(),
            transport.name()
        ));
        return cell;
    }
    if matches!(plan.server, ServerUnderTest::Url(_))
        && extra.is_none()
        && (plan.ca_cert.is_some() || plan.http2_prior_knowledge)
        && matches!(client, ClientKind::Python | ClientKind::Ts)
    {
        cell.error = Some(format!(
            "the {} worker takes neither a CA certificate nor HTTP/2 prior knowledge",
            client.label()
        ));
        return cell;
    }
    let on = extra.map_or_else(String::new, |e| format!("-{}", e.name));
    let stem = format!(
        "{}{on}-{}-{}",
        transport.name(),
        workload.name,
        client.name()
    );
    let log = |suffix: &str| plan.paths.logs.join(format!("{stem}{suffix}.log"));
    let mut server = None;
    let target = match (extra, &plan.server, transport) {
        (Some(_), _, t) if t != TransportKind::Stdio => {
            cell.error = Some("an extra server runs on stdio only".into());
            return cell;
        }
        (Some(e), _, _) => Target::Stdio {
            command: lossy(&e.program),
            args: e.args.iter().map(lossy).collect(),
        },
        (None, ServerUnderTest::Command { program, args }, TransportKind::Stdio) => Target::Stdio {
            command: lossy(program),
            args: args.iter().map(lossy).collect(),
        },
        (None, ServerUnderTest::Command { program, args }, _) => {
            // HTTPS: a fresh test CA and server certificate for this cell, next to its logs.
            let certs = if transport == TransportKind::Https {
                let dir = plan.paths.logs.join(format!("{stem}-tls"));
                match TestCerts::generate().and_then(|c| {
                    c.write_to(&dir).map_err(|e| {
                        format!("writing test certificates into {}: {e}", dir.display())
                    })
                }) {
                    Ok(files) => Some(files),
                    Err(e) => {
                        cell.error = Some(e);
                        return cell;
                    }
                }
            } else {
                None
            };
            let mut tls_args: Vec<OsString> = Vec::new();
            if let Some(files) = &certs {
                tls_args.extend([
                    "--tls-cert".into(),
                    files.cert.clone().into_os_string(),
                    "--tls-key".into(),
                    files.key.clone().into_os_string(),
                ]);
            }
            match HttpServer::start(program, args, &tls_args, &log("-server"), &plan.cancel) {
                Ok(s) => {
                    let url = s.url.clone();
                    server = Some(s);
                    Target::Http {
                        url,
                        ca_cert: certs.map(|f| f.ca.to_string_lossy().into_owned()),
                        http2_prior_knowledge: transport == TransportKind::H2c,
                    }
                }
                Err(e) => {
                    cell.error = Some(e);
                    return cell;
                }
            }
        }
        (None, ServerUnderTest::Url(_), TransportKind::Stdio) => {
            cell.error = Some("no stdio server (the server is a URL)".into());
            return cell;
        }
        (None, ServerUnderTest::Url(url), TransportKind::Https) if !url.starts_with("https://") => {
            cell.error = Some("the https transport needs an https:// server URL".into());
            return cell;
        }
        (None, ServerUnderTest::Url(url), _) => Target::Http {
            url: url.clone(),
            // An https:// URL is trusted through the system's roots (or SSL_CERT_FILE), and the
            // plan's CA file if it names one.
            ca_cert: plan
                .ca_cert
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            http2_prior_knowledge: transport == TransportKind::H2c || plan.http2_prior_knowledge,
        },
    };
    let spec = WorkerSpec {
        client: client.name().into(),
        target,
        call: workload.call.clone(),
        mode: workload.mode,
        calls: workload.calls,
        warmup: workload.warmup,
        run_timeout_ms: u64::try_from(plan.run_timeout.as_millis()).unwrap_or(u64::MAX),
        headers: plan.headers.clone(),
        protocol_version: plan.protocol_version.clone(),
    };
    if let Err(e) = drive(plan, client, &spec, &log(""), &mut cell, marks) {
        cell.error = Some(e);
    }
    if let Some(mut s) = server {
        s.proc.terminate(TERM_GRACE);
    }
    cell
}

fn drive(
    plan: &Plan,
    client: ClientKind,
    spec: &WorkerSpec,
    log: &Path,
    cell: &mut Cell,
    marks: &mut dyn FnMut(Mark),
) -> Result<(), String> {
    let json = serde_json::to_string(spec).map_err(|e| e.to_string())?;
    let mut worker = Proc::spawn(worker_command(plan, client, json)?, log, &plan.cancel)?;
    let outcome = drive_worker(plan, &mut worker, cell, marks);
    if plan.cancel.is_cancelled() {
        // SIGTERM to the worker's group (its client, and a server in that group), then SIGKILL.
        worker.terminate(CANCEL_GRACE);
    }
    outcome
}

/// The runs of one cell on a started worker; then asks it to exit.
fn drive_worker(
    plan: &Plan,
    worker: &mut Proc,
    cell: &mut Cell,
    marks: &mut dyn FnMut(Mark),
) -> Result<(), String> {
    match worker.expect(Instant::now() + plan.setup_timeout)? {
        WorkerLine::Ready => {}
        WorkerLine::Error(e) => return Err(format!("{e}{}", worker.log_tail())),
        WorkerLine::Result(_) => return Err("a result before ready".into()),
    }
    let start = Instant::now();
    let quiet_until = Instant::now() + plan.quiet_wait;
    let mut load: Option<ForeignLoad> = None;
    marks(Mark::BeforeRuns);
    // Bounded by `runs`; the worker enforces the run timeout, the extra 10 s covers its report.
    for done in 0..plan.runs {
        if done >= plan.min_runs && start.elapsed() > plan.cell_budget {
            break;
        }
        wait_for_quiet(plan.quiet_below, quiet_until, &plan.cancel);
        if plan.cancel.is_cancelled() {
            return Err("cancelled".into());
        }
        let load = *load.get_or_insert_with(ForeignLoad::start);
        worker.send("go")?;
        match worker.expect(Instant::now() + plan.run_timeout + Duration::from_secs(10))? {
            WorkerLine::Result(sample) => {
                cell.foreign_cores = Some(load.cores());
                let failed = sample.errors > 0;
                cell.runs.push(*sample);
                if failed {
                    break; // one failing run is enough evidence; don't repeat it
                }
            }
            WorkerLine::Error(e) => return Err(e),
            WorkerLine::Ready => return Err("ready twice".into()),
        }
    }
    marks(Mark::AfterRuns);
    cell.peak_rss_kb = worker.vm_hwm_kb();
    worker.finish(EXIT_GRACE);
    Ok(())
}

/// Waits (in steps, until `until`) while other processes use `below` cores or more; returns
/// early when the plan is cancelled.
fn wait_for_quiet(below: f64, until: Instant, cancel: &Cancel) {
    const PROBE: Duration = Duration::from_millis(150);
    // Bounded by `until` (at most one probe past it).
    for _ in 0..10_000 {
        let probe = ForeignLoad::start();
        std::thread::sleep(PROBE);
        if probe.cores() < below || Instant::now() >= until || cancel.is_cancelled() {
            return;
        }
        for _ in 0..20 {
            if cancel.is_cancelled() {
                return;
            }
            std::thread::sleep(CANCEL_POLL);
        }
    }
}

/// Runs every cell of `plan` (transport by transport, workload by workload, client by client),
/// calling `on_cell` after each; `command` is recorded in the report. Once
/// [`Plan::cancel`] is set, the running cell stops (its processes stopped and reaped) and no
/// other cell starts: the report then holds the cells run so far.
pub fn run_plan(plan: &Plan, command: &str, on_cell: &mut dyn FnMut(&Cell)) -> Report {
    let mut machine = Machine::detect();
    let _ = std::fs::create_dir_all(&plan.paths.logs);
    let mut cells = Vec::new();
    for &transport in &plan.transports {
        // A URL has no stdio cells (the extra servers still do).
        let main = plan.main_server
            && !(transport == TransportKind::Stdio
                && matches!(plan.server, ServerUnderTest::Url(_)));
        let extras: &[ExtraServer] = match transport {
            TransportKind::Stdio => &plan.extra_servers,
            TransportKind::Http | TransportKind::Https | TransportKind::H2c => &[],
        };
        let servers = main
            .then_some(None)
            .into_iter()
            .chain(extras.iter().map(Some));
        for extra in servers {
            for workload in &plan.workloads {
                let workload = match extra {
                    None => Some(workload.clone()),
                    Some(e) => e.workload(workload),
                };
                let Some(workload) = workload else { continue };
                for &client in &plan.clients {
                    if plan.cancel.is_cancelled() {
                        break;
                    }
                    if !client.runs_on(transport) {
                        continue;
                    }
                    let cell = run_cell_on(plan, extra, transport, &workload, client);
                    on_cell(&cell);
                    cells.push(cell);
                }
            }
        }
    }
    machine.load_after = load_average();
    Report {
        machine,
        command: command.to_owned(),
        cells,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lines() {
        assert!(matches!(
            parse_line("@bench ready\n"),
            Some(WorkerLine::Ready)
        ));
        assert!(parse_line("some library chatter").is_none());
        match parse_line(r#"@bench result {"ok":3,"errors":0,"wall_ns":5,"cpu_ns":1}"#) {
            Some(WorkerLine::Result(s)) => assert_eq!(s.ok, 3),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_line("@bench result {"),
            Some(WorkerLine::Error(_))
        ));
        match parse_line("@bench error connect: refused") {
            Some(WorkerLine::Error(e)) => assert_eq!(e, "connect: refused"),
            other => panic!("{other:?}"),
        }
    }
}

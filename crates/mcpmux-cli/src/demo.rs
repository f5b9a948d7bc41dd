//! `mcpmux demo`: many tasks share one connection to the built-in test server, entering and
//! leaving at random; then the demo checks that exactly one server process served them and that
//! it was reaped.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mcpmux::{CallToolResult, Guard, Server};
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::args::{DemoArgs, GlobalArgs, Transport};
use crate::exit::{self, Code, Failure, Outcome};
use crate::output;
use crate::reap::{ProcId, ProcState};

/// The latest moment a task enters after the start.
const MAX_ENTER_DELAY_MS: u64 = 100;
/// The longest a task lingers after its last call before it leaves.
const MAX_LEAVE_DELAY_MS: u64 = 20;
/// The longest `sleep` call.
const MAX_SLEEP_MS: u64 = 50;
/// How long the demo waits for the server process to be reaped after the last task left.
const REAP_LIMIT: Duration = Duration::from_secs(5);
/// How many distinct call errors are shown.
const SHOWN_ERRORS: usize = 5;

/// One planned tool call, and the answer it must get.
#[derive(Debug, Clone)]
enum PlannedCall {
    /// `echo` of this text.
    Echo(String),
    /// `add` of these numbers.
    Add(i64, i64),
    /// `sleep` for this many milliseconds.
    Sleep(u64),
}

impl PlannedCall {
    /// The tool name and arguments.
    fn request(&self) -> (&'static str, Value) {
        match self {
            PlannedCall::Echo(text) => ("echo", json!({ "text": text })),
            PlannedCall::Add(a, b) => ("add", json!({ "a": a, "b": b })),
            PlannedCall::Sleep(ms) => ("sleep", json!({ "ms": ms })),
        }
    }

    /// Checks the result is the right answer, not just any answer.
    fn check(&self, result: &CallToolResult) -> Result<(), String> {
        let ok = match self {
            PlannedCall::Echo(text) => result.text() == *text,
            PlannedCall::Add(a, b) => result.structured_content == Some(json!({ "sum": a + b })),
            PlannedCall::Sleep(ms) => result.text() == format!("slept {ms} ms"),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "wrong answer to {:?}: {}",
                self.request(),
                serde_json::to_string(result).unwrap_or_default()
            ))
        }
    }
}

/// What one task does: when it enters, its calls, how long it lingers before it leaves.
#[derive(Debug, Clone)]
struct TaskPlan {
    enter_after: Duration,
    calls: Vec<PlannedCall>,
    leave_after: Duration,
}

/// Splits `calls` calls between `tasks` tasks, with random kinds, durations and timings.
fn plan(calls: u64, tasks: u64, rng: &mut impl Rng) -> Vec<TaskPlan> {
    (0..tasks)
        .map(|t| {
            let share = calls / tasks + u64::from(t < calls % tasks);
            let calls = (0..share)
                .map(|c| match rng.random_range(0..3) {
                    0 => PlannedCall::Echo(format!("task {t} call {c}")),
                    1 => PlannedCall::Add(
                        rng.random_range(-1_000_000..=1_000_000),
                        rng.random_range(-1_000_000..=1_000_000),
                    ),
                    _ => PlannedCall::Sleep(rng.random_range(0..=MAX_SLEEP_MS)),
                })
                .collect();
            TaskPlan {
                enter_after: Duration::from_millis(rng.random_range(0..=MAX_ENTER_DELAY_MS)),
                calls,
                leave_after: Duration::from_millis(rng.random_range(0..=MAX_LEAVE_DELAY_MS)),
            }
        })
        .collect()
}

/// What one task reports back.
#[derive(Debug, Default)]
struct TaskReport {
    /// The server process it was connected to.
    process: Option<ProcId>,
    /// Calls that got the right answer.
    succeeded: u64,
    /// Why the others failed.
    errors: Vec<String>,
}

/// Runs one task: waits, enters, signals `entered`, makes its calls concurrently, lingers,
/// leaves.
async fn run_task(
    server: Server,
    plan: TaskPlan,
    entered: mpsc::UnboundedSender<()>,
    progress: ProgressBar,
) -> TaskReport {
    tokio::time::sleep(plan.enter_after).await;
    let guard = server.enter().await;
    // The receiver may be gone only if the demo itself is over.
    let _ = entered.send(());
    drop(entered);
    let guard = match guard {
        Ok(guard) => guard,
        Err(e) => {
            progress.inc(plan.calls.len() as u64);
            let error = exit::chain(&anyhow::Error::new(e).context("could not enter"));
            return TaskReport {
                errors: vec![error; plan.calls.len()],
                ..TaskReport::default()
            };
        }
    };
    let process = guard.process_id().map(ProcId::capture);
    let outcomes = futures_util::future::join_all(
        plan.calls
            .iter()
            .map(|call| one_call(&guard, call, &progress)),
    )
    .await;
    tokio::time::sleep(plan.leave_after).await;
    drop(guard);

    let mut report = TaskReport {
        process,
        ..TaskReport::default()
    };
    for outcome in outcomes {
        match outcome {
            Ok(()) => report.succeeded += 1,
            Err(e) => report.errors.push(e),
        }
    }
    report
}

/// Makes one call and checks its answer.
async fn one_call(guard: &Guard, call: &PlannedCall, progress: &ProgressBar) -> Result<(), String> {
    let (tool, arguments) = call.request();
    let result = guard.call_tool(tool, arguments).await;
    progress.inc(1);
    let result = result.map_err(|e| {
        exit::chain(&anyhow::Error::new(e).context(format!("calling tool `{tool}` failed")))
    })?;
    if result.is_error() {
        return Err(format!("tool `{tool}` returned isError: {}", result.text()));
    }
    call.check(&result)
}

/// A progress bar on stderr, hidden when stderr is not a terminal or with `-q`.
fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} calls")
    {
        bar.set_style(style);
    }
    bar
}

/// What the demo measured.
#[derive(Debug)]
struct Summary {
    transport: Transport,
    calls: u64,
    tasks: u64,
    failures: u64,
    wall: Duration,
    pids: Vec<u32>,
    reaped: bool,
    /// Over HTTP: what the in-process server saw.
    http: Option<HttpSeen>,
}

/// What the in-process HTTP test server saw.
#[derive(Debug)]
struct HttpSeen {
    url: String,
    /// `initialize` requests: one shared connection means exactly one.
    sessions: u64,
    /// The session was ended by DELETE (http) or its stream closed (sse).
    closed: bool,
}

impl Summary {
    fn calls_per_sec(&self) -> f64 {
        self.calls as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Connections the demo opened: server processes seen (stdio) or sessions the server saw
    /// (HTTP). One means every task shared one connection.
    fn connections(&self) -> u64 {
        match &self.http {
            None => self.pids.len() as u64,
            Some(h) => h.sessions,
        }
    }

    /// How the connection ended, and whether it did: the process reaped (stdio), the session
    /// deleted (http), the stream closed (sse).
    fn closed(&self) -> (&'static str, bool) {
        match (&self.http, self.transport) {
            (None, _) => ("process reaped", self.reaped),
            (Some(h), Transport::Sse) => ("stream closed", h.closed),
            (Some(h), _) => ("session deleted", h.closed),
        }
    }

    /// The server: its pid (stdio) or its URL (HTTP, in this process).
    fn server(&self) -> String {
        match &self.http {
            None => {
                let pids: Vec<String> = self.pids.iter().map(u32::to_string).collect();
                let s = if pids.len() == 1 { "" } else { "s" };
                format!("mcpmux test-server, pid{s} {}", pids.join(", "))
            }
            Some(h) => format!("{} (in-process)", h.url),
        }
    }

    /// Writes the summary for people: the same lines on every transport.
    fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let connections = self.connections();
        let (how, closed) = self.closed();
        writeln!(out, "transport:             {}", self.transport.as_str())?;
        writeln!(out, "server:                {}", self.server())?;
        writeln!(
            out,
            "connections opened:    {connections}{}",
            if connections == 1 {
                " (shared by every task)"
            } else {
                ""
            }
        )?;
        writeln!(out, "tasks:                 {}", self.tasks)?;
        writeln!(out, "calls:                 {}", self.calls)?;
        writeln!(out, "failures:              {}", self.failures)?;
        writeln!(
            out,
            "wall time:             {:.3} s",
            self.wall.as_secs_f64()
        )?;
        writeln!(out, "calls/s:               {:.0}", self.calls_per_sec())?;
        let closed = if closed {
            format!("yes, {how}")
        } else {
            format!("no (expected: {how})")
        };
        writeln!(out, "connection closed:     {closed}")?;
        out.flush()
    }

    /// The summary as one JSON object.
    fn to_json(&self) -> Value {
        let mut v = json!({
            "transport": self.transport.as_str(),
            "calls": self.calls,
            "tasks": self.tasks,
            "failures": self.failures,
            "wall_time_s": self.wall.as_secs_f64(),
            "calls_per_s": self.calls_per_sec(),
            "server_pids": self.pids,
            "server_reaped": self.reaped,
            "connections": self.connections(),
            "connection_closed": self.closed().1,
            "closed_by": self.closed().0,
        });
        if let (Some(h), Value::Object(m)) = (&self.http, &mut v) {
            m.insert("server_reaped".into(), Value::Null);
            m.insert("server_url".into(), json!(h.url));
            m.insert("sessions".into(), json!(h.sessions));
            m.insert("session_closed".into(), json!(h.closed));
        }
        v
    }
}

/// Runs the demo.
pub async fn run(args: DemoArgs, global: &GlobalArgs) -> Outcome {
    // Over HTTP the test server runs in this process, on 127.0.0.1 and an ephemeral port.
    let http = match args.transport {
        Transport::Stdio => None,
        Transport::Http | Transport::Sse => Some(
            mcpmux_test_server::start_http(mcpmux_test_server::HttpOptions::default())
                .await
                .map_err(|e| {
                    Failure::new(
                        Code::Connect,
                        anyhow::Error::new(e)
                            .context("cannot start the in-process HTTP test server"),
                    )
                })?,
        ),
    };
    let server = match &http {
        None => test_server(global)?,
        Some(h) => http_server(h, args.transport, global)?,
    };
    let plans = plan(args.calls, args.tasks, &mut rand::rng());
    let progress = progress_bar(args.calls, global.quiet);
    let started = Instant::now();

    // The anchor opens the connection and holds it until every task has entered.
    let anchor = server
        .enter()
        .await
        .map_err(|e| exit::connect_failed(e, "mcpmux test-server"))?;
    let anchor_process = anchor.process_id().map(ProcId::capture);
    tracing::info!(pid = ?anchor.process_id(), "test server started");

    let (entered_tx, mut entered_rx) = mpsc::unbounded_channel();
    let handles: Vec<_> = plans
        .into_iter()
        .map(|plan| {
            let planned = plan.calls.len() as u64;
            let task = run_task(server.clone(), plan, entered_tx.clone(), progress.clone());
            (planned, tokio::spawn(task))
        })
        .collect();
    drop(entered_tx);
    for _ in 0..args.tasks {
        // `None`: every task has entered or died; either way none is left to wait for.
        if entered_rx.recv().await.is_none() {
            break;
        }
    }
    drop(anchor);
    tracing::info!("all tasks entered; the anchor left");

    let mut processes: BTreeMap<u32, ProcId> =
        anchor_process.map(|p| (p.pid, p)).into_iter().collect();
    let mut succeeded = 0;
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for (planned, handle) in handles {
        match handle.await {
            Ok(report) => {
                succeeded += report.succeeded;
                for error in report.errors {
                    *errors.entry(error).or_default() += 1;
                }
                if let Some(p) = report.process {
                    processes.entry(p.pid).or_insert(p);
                }
            }
            Err(e) => *errors.entry(format!("task failed: {e}")).or_default() += planned,
        }
    }
    let wall = started.elapsed();
    progress.finish_and_clear();

    let mut problems = Vec::new();
    let (reaped, pids, seen) = match &http {
        None => {
            let reaped = check_reaped(processes.values(), &mut problems).await;
            let pids: Vec<u32> = processes.keys().copied().collect();
            if pids.len() != 1 {
                problems.push(format!(
                    "expected exactly one server process, saw {}",
                    pids.len()
                ));
            }
            (reaped, pids, None)
        }
        Some(h) => (
            false,
            Vec::new(),
            Some(check_http(h, args.transport, &mut problems).await),
        ),
    };
    let summary = Summary {
        transport: args.transport,
        calls: args.calls,
        tasks: args.tasks,
        failures: args.calls.saturating_sub(succeeded),
        wall,
        pids,
        reaped,
        http: seen,
    };
    if summary.failures > 0 {
        problems.insert(
            0,
            format!("{} of {} calls failed", summary.failures, summary.calls),
        );
    }

    let mut stdout = io::stdout().lock();
    if global.json {
        output::write_json(&mut stdout, &summary.to_json())
    } else {
        summary.write_text(&mut stdout)
    }
    .map_err(Failure::output)?;

    if problems.is_empty() {
        return Ok(Code::Success);
    }
    let mut stderr = io::stderr().lock();
    for problem in &problems {
        let _ = writeln!(stderr, "mcpmux: {problem}");
    }
    let mut shown: Vec<_> = errors.into_iter().collect();
    shown.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    for (error, count) in shown.iter().take(SHOWN_ERRORS) {
        let _ = writeln!(stderr, "mcpmux: {count} call(s): {error}");
    }
    if shown.len() > SHOWN_ERRORS {
        let _ = writeln!(
            stderr,
            "mcpmux: ... and {} other errors",
            shown.len() - SHOWN_ERRORS
        );
    }
    Ok(Code::Failed)
}

/// The handle on the built-in test server: this executable, run as `mcpmux test-server`.
fn test_server(global: &GlobalArgs) -> Result<Server, Failure> {
    let exe = std::env::current_exe().map_err(|e| {
        Failure::new(
            Code::Connect,
            anyhow::Error::new(e)
                .context("cannot find the mcpmux executable to run as the test server"),
        )
    })?;
    let mut builder = Server::stdio(exe)
        .arg("test-server")
        .name("mcpmux test-server");
    if let Some(timeout) = global.timeout {
        builder = builder.request_timeout(timeout);
    }
    builder.build().map_err(|e| Failure::new(Code::Failed, e))
}

/// The handle on the in-process HTTP test server.
fn http_server(
    h: &mcpmux_test_server::HttpServer,
    transport: Transport,
    global: &GlobalArgs,
) -> Result<Server, Failure> {
    let (url, mode) = if transport == Transport::Sse {
        (&h.url_sse, mcpmux::HttpMode::Sse)
    } else {
        (&h.url_mcp, mcpmux::HttpMode::Streamable)
    };
    let mut builder = Server::http(url).http_mode(mode).name("mcpmux test-server");
    if let Some(timeout) = global.timeout {
        builder = builder.request_timeout(timeout);
    }
    builder.build().map_err(|e| Failure::new(Code::Failed, e))
}

/// Checks the HTTP server saw one connection and its clean end (waiting up to [`REAP_LIMIT`]
/// for the end); records why not in `problems`.
async fn check_http(
    h: &mcpmux_test_server::HttpServer,
    transport: Transport,
    problems: &mut Vec<String>,
) -> HttpSeen {
    let sse = transport == Transport::Sse;
    let closed = h
        .stats
        .wait_for(REAP_LIMIT, |s| {
            if sse {
                s.get(&s.legacy_streams_closed) >= 1
            } else {
                s.get(&s.deletes) >= 1
            }
        })
        .await;
    let sessions = h.stats.get(&h.stats.initializes);
    if sessions != 1 {
        problems.push(format!(
            "expected exactly one session, the server saw {sessions}"
        ));
    }
    if !closed {
        let what = if sse {
            "its stream closed"
        } else {
            "a DELETE of the session"
        };
        problems.push(format!(
            "the server did not see {what} {:.1} s after the last task left",
            REAP_LIMIT.as_secs_f64()
        ));
    }
    HttpSeen {
        url: if sse {
            h.url_sse.clone()
        } else {
            h.url_mcp.clone()
        },
        sessions,
        closed,
    }
}

/// Waits (up to [`REAP_LIMIT`] in all) until every process is gone; records why not in
/// `problems`.
async fn check_reaped<'a>(
    processes: impl Iterator<Item = &'a ProcId>,
    problems: &mut Vec<String>,
) -> bool {
    let deadline = Instant::now() + REAP_LIMIT;
    let mut all = true;
    for process in processes {
        let limit = deadline.saturating_duration_since(Instant::now());
        let problem = match process.wait_gone(limit).await {
            Ok(ProcState::Gone) => continue,
            Ok(ProcState::Zombie) => "exited but was not reaped (zombie)".to_owned(),
            Ok(ProcState::Alive) => "is still running".to_owned(),
            Err(e) => format!("could not be checked: {e}"),
        };
        all = false;
        problems.push(format!(
            "the server process {} {problem} {:.1} s after the last task left",
            process.pid,
            REAP_LIMIT.as_secs_f64()
        ));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn plan_splits_every_call_between_the_tasks() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (calls, tasks) in [(1000, 100), (200, 20), (7, 3), (2, 5), (1, 1)] {
            let plans = plan(calls, tasks, &mut rng);
            assert_eq!(plans.len() as u64, tasks);
            let total: usize = plans.iter().map(|p| p.calls.len()).sum();
            assert_eq!(total as u64, calls);
            let (min, max) = plans.iter().fold((usize::MAX, 0), |(lo, hi), p| {
                (lo.min(p.calls.len()), hi.max(p.calls.len()))
            });
            assert!(max - min <= 1, "uneven split {min}..{max}");
        }
    }

    #[test]
    fn answers_are_checked() {
        let text = |t: &str| CallToolResult {
            content: vec![mcpmux::Content::text(t)],
            ..CallToolResult::default()
        };
        assert!(PlannedCall::Echo("a".into()).check(&text("a")).is_ok());
        assert!(PlannedCall::Echo("a".into()).check(&text("b")).is_err());
        assert!(PlannedCall::Sleep(3).check(&text("slept 3 ms")).is_ok());
        let sum = CallToolResult {
            structured_content: Some(json!({"sum": 5})),
            ..text("5")
        };
        assert!(PlannedCall::Add(2, 3).check(&sum).is_ok());
        assert!(PlannedCall::Add(2, 2).check(&sum).is_err());
    }
}

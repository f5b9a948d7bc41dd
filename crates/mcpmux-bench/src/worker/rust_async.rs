//! The shared driver of the async Rust clients (mcpmux, rmcp, the raw HTTP driver): a tokio
//! runtime, and one spawned task per call in concurrent runs — the way an application issues
//! parallel tool calls.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::task::JoinSet;

use super::{Driver, Outcome};
use crate::spec::Mode;

/// One client's call: cheap to clone into each task.
pub(crate) trait Caller: Clone + Send + Sync + 'static {
    /// Makes call number `i` (0-based within the run); `Err` carries a message.
    fn call(&self, i: usize) -> impl Future<Output = Result<(), String>> + Send + 'static;
}

/// How a client is shut down.
pub(crate) type Closer = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// How long closing may take before the worker gives up on it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);

/// A tokio runtime, a caller and its close step.
pub(crate) struct AsyncDriver<C: Caller> {
    pub(crate) rt: Runtime,
    pub(crate) caller: C,
    pub(crate) closer: Option<Closer>,
}

/// The worker runtime: tokio's multi-thread default (one worker per core).
pub(crate) fn runtime() -> Result<Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
}

impl<C: Caller> Driver for AsyncDriver<C> {
    fn run(&mut self, mode: Mode, calls: usize, deadline: Instant) -> Outcome {
        let caller = self.caller.clone();
        // The run itself is a task on the runtime's workers, like application code (block_on's
        // own thread would add a cross-thread wake-up to every step).
        let task = self.rt.spawn(run(caller, mode, calls, deadline));
        self.rt.block_on(task).unwrap_or_else(|e| {
            let mut out = Outcome::default();
            out.fail(format!("the run task failed: {e}"));
            out
        })
    }

    fn close(mut self: Box<Self>) {
        if let Some(closer) = self.closer.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(CLOSE_TIMEOUT, closer()).await });
        }
        self.rt.shutdown_timeout(Duration::from_secs(2));
    }
}

async fn run<C: Caller>(caller: C, mode: Mode, calls: usize, deadline: Instant) -> Outcome {
    let deadline = tokio::time::Instant::from_std(deadline);
    let mut out = Outcome::default();
    let start = Instant::now();
    match mode {
        Mode::Sequential => {
            out.latencies.reserve(calls);
            for i in 0..calls {
                let t = Instant::now();
                match tokio::time::timeout_at(deadline, caller.call(i)).await {
                    Ok(Ok(())) => out.ok += 1,
                    Ok(Err(e)) => out.fail(e),
                    Err(_) => {
                        out.fail("run timed out");
                        out.errors += (calls - i - 1) as u64;
                        break;
                    }
                }
                out.latencies
                    .push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
            }
        }
        Mode::Concurrent => {
            let mut set = JoinSet::new();
            for i in 0..calls {
                set.spawn(caller.call(i));
            }
            // One timer for the whole run (a `timeout_at` per joined call would register a
            // timer per call: harness overhead charged to the client under test).
            let expired = tokio::time::sleep_until(deadline);
            tokio::pin!(expired);
            // Bounded: one iteration per spawned task.
            for _ in 0..calls {
                let joined = tokio::select! {
                    biased;
                    j = set.join_next() => Ok(j),
                    () = &mut expired => Err(()),
                };
                match joined {
                    Ok(Some(Ok(Ok(())))) => out.ok += 1,
                    Ok(Some(Ok(Err(e)))) => out.fail(e),
                    Ok(Some(Err(join))) => out.fail(format!("call task failed: {join}")),
                    Ok(None) => break,
                    Err(()) => {
                        let left = set.len() as u64;
                        out.fail("run timed out");
                        out.errors += left.saturating_sub(1);
                        set.abort_all();
                        break;
                    }
                }
            }
        }
    }
    out.wall = start.elapsed();
    out
}

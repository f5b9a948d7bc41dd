//! `mcpmux`: the command-line tool over the mcpmux library. This file only parses the command
//! line and dispatches; each subcommand lives in its own module.

mod agent;
mod args;
mod auth;
mod batch;
#[cfg(feature = "bench")]
mod bench;
mod call;
mod complete;
mod completions;
#[cfg(feature = "test-server")]
mod demo;
mod exit;
mod logging;
mod name_cache;
mod names;
mod output;
mod progress;
mod prompts;
mod reap;
mod resources;
mod serve;
mod servers;
mod signals;
mod table;
mod target;
#[cfg(feature = "test-server")]
mod test_server;
mod tools;
mod typed;

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::exit::{Code, Failure, Outcome};

/// The binary's allocator: mimalloc instead of glibc's malloc. Measured on `mcpmux serve`
/// (BENCHMARKS.md, "The gateway"): glibc's `malloc`/`free` were ≈ 18 % of the gateway's CPU per
/// forwarded call (`perf`, `c1k`), and mimalloc cut that CPU by ≈ 15 %. The library crates
/// leave the choice to their applications.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long the runtime's teardown may wait for stray blocking work at exit.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    // `COMPLETE=SHELL mcpmux ...`: a shell's completion request, answered before anything else.
    complete::answer_if_asked();
    // Usage errors exit 2 here (clap's own exit); `--help` and `--version` exit 0.
    let cli = Cli::try_parse().unwrap_or_else(|e| exit::usage_exit(e));
    let Cli { global, command } = cli;
    #[cfg(feature = "test-server")]
    if let Command::TestServer(args) = command {
        // Before the logger: the test server's stdout and stderr belong to the protocol.
        test_server::run(args);
    }
    #[cfg(feature = "bench")]
    if let Command::BenchWorker { spec } = &command {
        // A worker's stdout is the orchestrator's line protocol: no logger, no CLI output.
        return mcpmux_bench::worker_main(spec);
    }
    logging::init(&global);
    let outcome = match command {
        #[cfg(feature = "test-server")]
        Command::TestServer(_) => Ok(Code::Success),
        #[cfg(feature = "test-server")]
        Command::Demo(args) => block_on(interruptible(demo::run(args, &global))),
        #[cfg(not(feature = "test-server"))]
        Command::TestServer(_) => Err(exit::not_built("test-server", "test-server")),
        #[cfg(not(feature = "test-server"))]
        Command::Demo(_) => Err(exit::not_built("demo", "test-server")),
        #[cfg(feature = "bench")]
        Command::BenchWorker { .. } => Ok(Code::Success),
        #[cfg(feature = "bench")]
        Command::Bench(args) => block_on(bench::run(args, &global)),
        #[cfg(not(feature = "bench"))]
        Command::BenchWorker(_) => Err(exit::not_built("bench-worker", "bench")),
        #[cfg(not(feature = "bench"))]
        Command::Bench(_) => Err(exit::not_built("bench", "bench")),
        Command::Completions(args) => completions::run(&args),
        Command::Auth(args) => block_on(interruptible(auth::run(args, &global))),
        Command::Call(args) => block_on(call::run(args, &global)),
        Command::Agent(args) => block_on(interruptible(agent::run(args, &global))),
        Command::Serve(args) => block_on(interruptible(serve::run(args, &global))),
        Command::Servers(args) => block_on(interruptible(servers::run(args, &global))),
        Command::Tools(args) => block_on(interruptible(tools::run(args, &global))),
        Command::Batch(args) => block_on(batch::run(args, &global)),
        Command::Resources(args) => block_on(interruptible(resources::list(args, &global))),
        Command::Read(args) => block_on(interruptible(resources::read(args, &global))),
        Command::Prompts(args) => block_on(interruptible(prompts::list(args, &global))),
        Command::Prompt(args) => block_on(interruptible(prompts::get(args, &global))),
    };
    exit::finish(outcome, global.json)
}

/// A subcommand that SIGINT or SIGTERM stops (`call`, `batch` and `bench` handle them
/// themselves):
/// its future is dropped, which cancels its calls and lets every server go (each connection
/// then runs its shutdown sequence in its own task); the command waits for those shutdowns,
/// at most [`signals::SHUTDOWN_LIMIT`], and exits 130 or 143. A second signal exits at once
/// (each server's watchdog then kills its process group).
async fn interruptible(command: impl Future<Output = Outcome>) -> Outcome {
    let mut signals = signals::Signals::install()?;
    let mut command = Box::pin(command);
    let code = tokio::select! {
        outcome = &mut command => return outcome,
        code = signals.recv() => code,
    };
    signals.shutting_down(code);
    drop(command);
    signals::wait_for_children(signals::SHUTDOWN_LIMIT).await;
    Err(Failure::new(
        code,
        anyhow::anyhow!("interrupted by {}", signals::name(code)),
    ))
}

/// Runs a subcommand on a multi-thread tokio runtime.
fn block_on(command: impl Future<Output = Outcome>) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                Code::Failed,
                anyhow::Error::new(e).context("cannot start the tokio runtime"),
            )
        })?;
    let outcome = runtime.block_on(command);
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    outcome
}

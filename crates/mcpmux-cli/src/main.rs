//! `mcpmux`: the command-line tool over the mcpmux library. This file only parses the command
//! line and dispatches; each subcommand lives in its own module.

mod call;
mod cli;
mod demo;
mod exit;
mod logging;
mod output;
mod reap;
mod test_server;

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::{Code, Failure, Outcome};

/// How long the runtime's teardown may wait for stray blocking work at exit.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    // Usage errors exit 2 here (clap's own exit); `--help` and `--version` exit 0.
    let cli = Cli::parse();
    let Cli { global, command } = cli;
    let outcome = match command {
        // Before the logger: the test server's stdout and stderr belong to the protocol.
        Command::TestServer(args) => test_server::run(args),
        Command::Demo(args) => {
            logging::init(&global);
            block_on(demo::run(args, &global))
        }
        Command::Call(args) => {
            logging::init(&global);
            block_on(call::run(args, &global))
        }
    };
    exit::finish(outcome)
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

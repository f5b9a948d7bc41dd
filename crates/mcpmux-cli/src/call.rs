//! `mcpmux call TOOL [--args JSON] -- COMMAND [ARGS]...`: one tool call on an ad-hoc stdio server.

use std::io::{self, Write as _};
use std::time::Duration;

use serde_json::Value;

use crate::cli::{CallArgs, GlobalArgs};
use crate::exit::{self, Code, Failure, Outcome};
use crate::output;
use crate::reap::{ProcId, ProcState};

/// The longest wait for the server's shutdown (the library's own sequence takes at most ~15 s).
const CLOSE_LIMIT: Duration = Duration::from_secs(20);
/// How long the shutdown may go on once the server process is known to be reaped (the
/// connection still drains the process's stderr).
const AFTER_REAP_LIMIT: Duration = Duration::from_secs(1);

/// Starts the server, calls the tool once, prints the result, and shuts the server down.
pub async fn run(args: CallArgs, global: &GlobalArgs) -> Outcome {
    let Some((program, program_args)) = args.command.split_first() else {
        return Err(Failure::new(
            Code::Usage,
            anyhow::anyhow!("no server command given after `--`"),
        ));
    };
    let server_name = program.to_string_lossy().into_owned();
    let mut builder = mcpmux::Server::stdio(program).args(program_args);
    if let Some(timeout) = global.timeout {
        builder = builder.request_timeout(timeout);
    }
    let server = builder.build().map_err(|e| Failure::new(Code::Usage, e))?;

    let guard = server
        .enter()
        .await
        .map_err(|e| exit::connect_failed(e, &server_name))?;
    tracing::info!(server = %server_name, pid = ?guard.process_id(), "connected");
    let process = guard.process_id().map(ProcId::capture);
    let result = guard
        .call_tool(&args.tool, Value::Object(args.arguments))
        .await;
    drop(guard);
    let printed = match result {
        Ok(result) => print(&result, &args.tool, global.json).map_err(Failure::output),
        Err(e) => Err(exit::call_failed(e, &args.tool)),
    };
    // The last guard is gone: wait for the clean shutdown (stdin closed, process reaped) rather
    // than have the runtime's teardown kill the server.
    shut_down(&server, process).await;
    printed
}

/// Closes the connection and waits for its shutdown, bounded: at most [`CLOSE_LIMIT`], and at most
/// [`AFTER_REAP_LIMIT`] once `/proc` shows the server process reaped.
async fn shut_down(server: &mcpmux::Server, process: Option<ProcId>) {
    let reaped = async {
        let Some(process) = process else {
            return std::future::pending().await;
        };
        while let Ok(ProcState::Alive | ProcState::Zombie) = process.state() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(AFTER_REAP_LIMIT).await;
    };
    tokio::select! {
        () = server.close() => {}
        () = reaped => {
            tracing::warn!("the server process was reaped, but its connection did not close");
        }
        () = tokio::time::sleep(CLOSE_LIMIT) => {
            tracing::warn!("the server's shutdown did not finish in {CLOSE_LIMIT:?}");
        }
    }
}

/// Prints a result on stdout; a tool error's content goes to stderr instead (exit 1).
fn print(result: &mcpmux::CallToolResult, tool: &str, json: bool) -> io::Result<Code> {
    if json {
        output::write_json(&mut io::stdout().lock(), result)?;
    } else if !result.is_error() {
        output::write_result(&mut io::stdout().lock(), result)?;
    } else if result.content.is_empty() && result.structured_content.is_none() {
        let _ = writeln!(
            io::stderr().lock(),
            "mcpmux: tool `{tool}` returned an error without a message"
        );
    } else {
        // The exit code says it failed; a closed stderr changes nothing about that.
        let _ = output::write_result(&mut io::stderr().lock(), result);
    }
    Ok(if result.is_error() {
        Code::Failed
    } else {
        Code::Success
    })
}

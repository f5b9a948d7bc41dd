//! `mcpmux call TARGET [KEY=VALUE]... [--args JSON]`: one tool call, on a configured server
//! (`SERVER.TOOL`) or an ad-hoc one (`--url URL`, `-- COMMAND`).

use std::io::{self, Write as _};
use std::time::Duration;

use mcpmux::{RequestOptions, Server};
use serde_json::Value;

use crate::args::{CallArgs, GlobalArgs};
use crate::exit::{self, Code, Failure, Outcome};
use crate::output;
use crate::reap::{ProcId, ProcState};
use crate::signals::{SHUTDOWN_LIMIT, Signals};
use crate::target::{self, Targets};

/// The longest wait for the server's shutdown (the library's own sequence takes at most ~15 s).
const CLOSE_LIMIT: Duration = Duration::from_secs(20);
/// How long the shutdown may go on once the server process is known to be reaped (the
/// connection still drains the process's stderr).
const AFTER_REAP_LIMIT: Duration = Duration::from_secs(1);

/// Starts the server, calls the tool once, prints the result, and shuts the server down.
pub async fn run(args: CallArgs, global: &GlobalArgs) -> Outcome {
    let ad_hoc = args.server.is_given();
    let (server_name, named) = if ad_hoc {
        (None, args.tool.clone())
    } else {
        let (server, tool) = target::route_configured(global, &args.tool)?;
        (Some(server), tool)
    };
    let mut targets = Targets::select(global, &args.server, server_name.as_deref())?;
    let Some(t) = targets.servers.pop() else {
        targets.report_broken();
        return Ok(Code::Config);
    };
    // Before the server starts: from here on SIGINT and SIGTERM shut it down.
    let mut signals = Signals::install()?;
    let mut process = None;
    let config_files = std::mem::take(&mut targets.config_files);
    let work = session(&args, global, &t, &named, &config_files, &mut process);
    let first = tokio::select! {
        outcome = work => Ok(outcome),
        code = signals.recv() => Err(code),
    };
    // The call's future is gone: an unanswered request was cancelled (`notifications/cancelled`).
    let code = match first {
        Ok(outcome) => {
            // The last guard is gone: wait for the clean shutdown (stdin closed, process reaped)
            // rather than have the runtime's teardown kill the server.
            let mut closing = std::pin::pin!(shut_down(&t.server, process));
            let code = tokio::select! {
                () = &mut closing => return outcome,
                code = signals.recv() => code,
            };
            signals.shutting_down(code);
            let _ = tokio::time::timeout(SHUTDOWN_LIMIT, closing).await;
            return Ok(code);
        }
        Err(code) => code,
    };
    signals.shutting_down(code);
    if tokio::time::timeout(SHUTDOWN_LIMIT, shut_down(&t.server, process))
        .await
        .is_err()
    {
        tracing::warn!("the server's shutdown did not finish in {SHUTDOWN_LIMIT:?}");
    }
    Ok(code)
}

/// Connects to `t`, calls the tool once and prints the result. `process` is set to the server
/// process once it runs; the tool names it lists are kept for shell completion (keyed by
/// `config_files`, none for an ad-hoc server).
async fn session(
    args: &CallArgs,
    global: &GlobalArgs,
    t: &target::Target,
    named: &str,
    config_files: &[std::path::PathBuf],
    process: &mut Option<ProcId>,
) -> Outcome {
    let ad_hoc = args.server.is_given();
    let label = args.tool.clone();
    let guard = t
        .server
        .enter()
        .await
        .map_err(|e| exit::connect_failed(e, &t.name))?;
    tracing::info!(server = %t.name, pid = ?guard.process_id(), "connected");
    *process = guard.process_id().map(ProcId::capture);

    let outcome = async {
        let mut arguments = args.arguments.clone();
        // The list names the tools (an unknown one is refused before the request), gives the
        // schema that types KEY=VALUE pairs, and is what the config's filter applies to.
        let tools = guard
            .tools()
            .await
            .map_err(|e| exit::call_failed(e, &label))?;
        crate::name_cache::store(
            config_files,
            &t.name,
            tools
                .iter()
                .map(|tool| tool.name.as_str())
                .filter(|name| t.filter.allows(name)),
        );
        let tool = resolve(&tools, t, &args.tool, named, ad_hoc)?;
        if !t.filter.allows(tool) {
            return Err(Failure::new(
                Code::Failed,
                anyhow::anyhow!(
                    "calling tool `{label}` failed: unknown tool: excluded by the config's \
                     tool filter of server `{}`",
                    t.name
                ),
            ));
        }
        let schema = tools
            .get(tool)
            .map(|t| t.input_schema.clone())
            .unwrap_or(Value::Null);
        crate::typed::apply(&mut arguments, &args.pairs, &schema)
            .map_err(|e| Failure::new(Code::Usage, anyhow::anyhow!(e)))?;
        let mut options = RequestOptions::new();
        if !global.quiet {
            options = options.on_progress(|p| {
                let total = p.total.map(|t| format!("/{t}")).unwrap_or_default();
                let message = p
                    .message
                    .map(|m| format!(" {}", crate::table::clean(&m)))
                    .unwrap_or_default();
                let _ = writeln!(
                    io::stderr().lock(),
                    "progress: {}{total}{message}",
                    p.progress
                );
            });
        }
        guard
            .call_tool(tool, arguments)
            .options(options)
            .await
            .map_err(|e| exit::call_failed(e, &label))
    }
    .await;
    drop(guard);
    match outcome {
        Ok(result) => print(&result, &label, global.json, args.save_media.as_deref()),
        Err(f) => Err(f),
    }
}

/// The tool of `t` that `given` names (`named` once the server is routed): for an ad-hoc server
/// the bare name, `SERVER.TOOL` or `SERVER_TOOL`; for a configured one, the tool part.
///
/// # Errors
/// A usage error (exit 2) for a tool the server does not have, with the closest known name.
fn resolve<'a>(
    tools: &mcpmux::ToolList,
    t: &target::Target,
    given: &str,
    named: &'a str,
    ad_hoc: bool,
) -> Result<&'a str, Failure> {
    if ad_hoc {
        if let Some(tool) = crate::names::ad_hoc_candidates(named, &t.name)
            .into_iter()
            .find(|c| tools.get(c).is_some())
        {
            return Ok(tool);
        }
    } else if tools.get(named).is_some() || !t.filter.allows(named) {
        // An excluded tool is refused with the filter's reason.
        return Ok(named);
    }
    let dotted = given.contains('.');
    let known: Vec<String> = tools
        .iter()
        .filter(|tool| t.filter.allows(&tool.name))
        .map(|tool| {
            if ad_hoc {
                tool.name.clone()
            } else if dotted {
                format!("{}.{}", t.name, tool.name)
            } else {
                format!("{}{}{}", t.name, crate::names::PREFIX_SEPARATOR, tool.name)
            }
        })
        .collect();
    let hint = crate::names::did_you_mean(crate::names::suggest(
        given,
        known.iter().map(String::as_str),
    ));
    Err(Failure::new(
        Code::Usage,
        anyhow::anyhow!(
            "unknown tool `{given}`: server `{}` has no such tool{hint}{}",
            t.name,
            if ad_hoc {
                ""
            } else {
                " (`mcpmux tools` lists them)"
            },
        ),
    ))
}

/// Closes the connection and waits for its shutdown, bounded: at most [`CLOSE_LIMIT`], and at most
/// [`AFTER_REAP_LIMIT`] once `/proc` shows the server process reaped.
pub async fn shut_down(server: &Server, process: Option<ProcId>) {
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
fn print(
    result: &mcpmux::CallToolResult,
    tool: &str,
    json: bool,
    save_media: Option<&std::path::Path>,
) -> Outcome {
    let saved = match save_media {
        Some(dir) => output::save_media(dir, tool, result).map_err(|e| {
            Failure::new(
                Code::Failed,
                anyhow::Error::new(e).context(format!("cannot save media to {}", dir.display())),
            )
        })?,
        None => Vec::new(),
    };
    if json {
        output::write_json(&mut io::stdout().lock(), result).map_err(Failure::output)?;
    } else if !result.is_error() {
        output::write_result_saved(&mut io::stdout().lock(), result, &saved)
            .map_err(Failure::output)?;
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

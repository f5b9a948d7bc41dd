//! `mcpmux serve`: the configured servers as one MCP server on stdin/stdout (the gateway crate).

use std::io::{IsTerminal as _, Write as _};

use mcpmux_gateway::{Gateway, GatewayError, Prefix, Relay};

use crate::args::{GlobalArgs, PrefixMode, ServeArgs, ServerArgs};
use crate::exit::{Code, Failure, Outcome};
use crate::target::{self, Targets};

/// Runs `mcpmux serve` until stdin closes; then every server is shut down before it returns.
pub async fn run(args: ServeArgs, global: &GlobalArgs) -> Outcome {
    if std::io::stdin().is_terminal() {
        let _ = writeln!(
            std::io::stderr(),
            "mcpmux serve speaks MCP on stdin/stdout (it is a server for MCP clients); \
             did you mean `mcpmux servers`?"
        );
    }
    // Upstreams' sampling and elicitation requests go to the client whose call runs there; an
    // upstream that needs an OAuth login never starts one inside the gateway.
    let relay = Relay::new();
    let install = {
        let relay = relay.clone();
        move |name: &str, builder| relay.install(name, builder)
    };
    let shape = target::Shape {
        no_login: true,
        customize: Some(&install),
    };
    let targets = Targets::select_with(global, &ServerArgs::default(), None, &shape)?;
    let (toolset, broken) = targets
        .connect_within(global, Some(args.startup_wait))
        .await?;
    // Servers that failed to start are left out; the others serve.
    let _ = target::report(&toolset, &broken);
    let gateway = match Gateway::with_relay(toolset, prefix(args.prefix), relay.clone()).await {
        Ok(gateway) => gateway,
        Err(e) => {
            // The toolset is gone with the error: let its servers shut down first.
            crate::signals::wait_for_children(crate::signals::SHUTDOWN_LIMIT).await;
            let code = match e {
                GatewayError::NameConflict { .. } => Code::Config,
                _ => Code::Failed,
            };
            return Err(Failure::new(code, e));
        }
    };
    tracing::info!(tools = gateway.tool_names().len(), "serving MCP on stdio");
    let served = gateway.serve_stdio().await;
    drop(gateway);
    // Every upstream connection is closing in its own task: wait for the processes to go.
    crate::signals::wait_for_children(crate::signals::SHUTDOWN_LIMIT).await;
    match served {
        // The client closed its end (stdout): like any subcommand, not an error.
        Ok(()) => Ok(Code::Success),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Code::Success),
        Err(e) => Err(Failure::new(
            Code::Failed,
            anyhow::Error::new(e).context("serving MCP on stdio"),
        )),
    }
}

fn prefix(mode: PrefixMode) -> Prefix {
    match mode {
        PrefixMode::Always => Prefix::Always,
        PrefixMode::Auto => Prefix::Auto,
        PrefixMode::Never => Prefix::Never,
    }
}

//! `mcpmux serve`: the configured servers as one MCP server (the gateway crate), on
//! stdin/stdout or, with `--http`, over HTTP.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;

use mcpmux_gateway::{Gateway, GatewayError, HttpOptions, Prefix, Relay};

use crate::args::{GlobalArgs, PrefixMode, ServeArgs, ServerArgs};
use crate::exit::{Code, Failure, Outcome};
use crate::target::{self, Targets};

/// Runs `mcpmux serve` until stdin closes (stdio) or a signal stops it (HTTP); then every
/// server is shut down before it returns.
pub async fn run(args: ServeArgs, global: &GlobalArgs) -> Outcome {
    let state_secret = match &args.state_key_env {
        None => None,
        Some(var) => match std::env::var(var) {
            Ok(secret) if secret.len() >= 32 => Some(secret),
            _ => {
                return Err(usage(format!(
                    "--state-key-env {var}: the variable {var} must hold a secret of at least \
                     32 characters"
                )));
            }
        },
    };
    // HTTP: every check on the arguments, and the bind, before any server starts.
    let http = match &args.http {
        Some(addr) => Some(listen(addr, &args).await?),
        None => None,
    };
    if http.is_none() && std::io::stdin().is_terminal() {
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
        Ok(gateway) => {
            if let Some(secret) = &state_secret {
                gateway.state_secret(secret.as_bytes());
            }
            gateway
        }
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
    let served = match http {
        None => {
            tracing::info!(tools = gateway.tool_names().len(), "serving MCP on stdio");
            gateway.serve_stdio().await
        }
        Some((listener, options)) => {
            let addr = listener
                .local_addr()
                .map_err(|e| failed(e, "the listener"))?;
            let _ = writeln!(
                std::io::stderr(),
                "listening on http://{addr}{}",
                options.endpoint_path()
            );
            tracing::info!(tools = gateway.tool_names().len(), %addr, "serving MCP over HTTP");
            // Until a signal drops this future (or the listener fails).
            gateway.serve_http(listener, options).await
        }
    };
    drop(gateway);
    // Every upstream connection is closing in its own task: wait for the processes to go.
    crate::signals::wait_for_children(crate::signals::SHUTDOWN_LIMIT).await;
    match served {
        // The client closed its end (stdout): like any subcommand, not an error.
        Ok(()) => Ok(Code::Success),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Code::Success),
        Err(e) => Err(failed(e, "serving MCP")),
    }
}

fn failed(e: std::io::Error, what: &str) -> Failure {
    Failure::new(Code::Failed, anyhow::Error::new(e).context(what.to_owned()))
}

fn usage(message: String) -> Failure {
    Failure::new(Code::Usage, anyhow::anyhow!(message))
}

/// The HTTP options from the arguments, and the bound listener: exit 2 for a bad path, a
/// token variable that is unset, or a non-loopback address without a token.
async fn listen(
    addr: &str,
    args: &ServeArgs,
) -> Result<(tokio::net::TcpListener, HttpOptions), Failure> {
    let mut options = HttpOptions::new()
        .path(args.path.clone())
        .json_response(args.json_response);
    if let Some(var) = &args.token_env {
        match std::env::var(var) {
            Ok(token) if !token.trim().is_empty() => options = options.bearer_token(token.trim()),
            _ => {
                return Err(usage(format!(
                    "--token-env {var}: the variable {var} is not set (or empty)"
                )));
            }
        }
    }
    options
        .check()
        .map_err(|e| usage(format!("--path {}: {e}", args.path)))?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| usage(format!("--http {addr}: not a HOST:PORT address ({e})")))?
        .collect();
    let Some(first) = addrs.first() else {
        return Err(usage(format!("--http {addr}: the host has no address")));
    };
    if args.token_env.is_none() && addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(usage(format!(
            "--http {addr}: refusing to serve on a non-loopback address ({}) without \
             --token-env VAR: anyone who can reach it could use every configured server",
            first.ip()
        )));
    }
    let listener = mcpmux_gateway::listen(*first)
        .map_err(|e| failed(e, &format!("cannot listen on {first}")))?;
    Ok((listener, options))
}

fn prefix(mode: PrefixMode) -> Prefix {
    match mode {
        PrefixMode::Always => Prefix::Always,
        PrefixMode::Auto => Prefix::Auto,
        PrefixMode::Never => Prefix::Never,
    }
}

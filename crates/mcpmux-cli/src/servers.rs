//! `mcpmux servers`: connect to each configured server and show its status.

use std::io;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::args::{GlobalArgs, ServersArgs};
use crate::exit::{self, Code, Failure, Outcome};
use crate::output;
use crate::table::Table;
use crate::target::{Target, Targets};

/// What connecting to one server showed.
#[derive(Debug)]
struct Status {
    name: String,
    transport: &'static str,
    outcome: Result<Connected, String>,
    /// Whether the failure was an authorization failure (exit 5).
    auth_failed: bool,
    latency: Duration,
    /// The handle's health right after the probe (before it is closed).
    health: mcpmux::Health,
}

#[derive(Debug)]
struct Connected {
    protocol: String,
    server_name: String,
    server_version: String,
    tools: usize,
    /// The names of the tools it offers (for shell completion).
    names: Vec<String>,
}

async fn probe(t: Target) -> Status {
    let started = Instant::now();
    let outcome = async {
        let guard = t.server.enter().await?;
        let tools = guard.tools().await?;
        let init = guard.initialize_result();
        let names: Vec<String> = tools
            .iter()
            .filter(|tool| t.filter.allows(&tool.name))
            .map(|tool| tool.name.clone())
            .collect();
        Ok::<_, mcpmux::Error>(Connected {
            protocol: init.protocol_version.clone(),
            server_name: init.server_info.name.clone(),
            server_version: init.server_info.version.clone(),
            tools: names.len(),
            names,
        })
    }
    .await;
    let auth_failed = outcome.as_ref().is_err_and(mcpmux::Error::is_auth);
    let outcome = outcome.map_err(|e| {
        let mut text = exit::chain(&anyhow::Error::new(e.clone()));
        if let Some(hint) = exit::auth_hint(&e, &t.name) {
            text.push_str("; ");
            text.push_str(&hint);
        }
        text
    });
    let latency = started.elapsed();
    let health = t.server.health();
    t.server.close().await;
    Status {
        name: t.name,
        transport: t.transport,
        outcome,
        auth_failed,
        latency,
        health,
    }
}

/// Runs `mcpmux servers`.
pub async fn run(args: ServersArgs, global: &GlobalArgs) -> Outcome {
    let mut targets = Targets::select(global, &args.server, None)?;
    let servers = std::mem::take(&mut targets.servers);
    let n = servers.len();
    let spinner = crate::progress::spinner(format!("connecting to {n} servers"), global.quiet);
    let statuses = futures_util::future::join_all(servers.into_iter().map(probe)).await;
    spinner.finish_and_clear();
    for s in &statuses {
        if let Ok(c) = &s.outcome {
            crate::name_cache::store(&targets.config_files, &s.name, &c.names);
        }
    }

    let mut stdout = io::stdout().lock();
    if global.json {
        let mut all: Vec<Value> = statuses.iter().map(status_json).collect();
        all.extend(
            targets.broken.iter().map(
                |(name, error)| json!({"name": name, "status": "config_error", "error": error}),
            ),
        );
        output::write_json(&mut stdout, &all).map_err(Failure::output)?;
    } else {
        let mut table = Table::new(&[
            ("NAME", None),
            ("TRANSPORT", None),
            ("STATUS", None),
            ("PROTOCOL", None),
            ("SERVER", Some(40)),
            ("TOOLS", None),
            ("LATENCY", None),
        ]);
        for s in &statuses {
            let latency = format!("{} ms", s.latency.as_millis());
            table.row(match &s.outcome {
                Ok(c) => vec![
                    s.name.clone(),
                    s.transport.into(),
                    "ok".into(),
                    c.protocol.clone(),
                    format!("{} {}", c.server_name, c.server_version),
                    c.tools.to_string(),
                    latency,
                ],
                Err(_) => vec![
                    s.name.clone(),
                    s.transport.into(),
                    "failed".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    latency,
                ],
            });
        }
        for (name, _) in &targets.broken {
            table.row(vec![name.clone(), "-".into(), "config error".into()]);
        }
        table.write(&mut stdout).map_err(Failure::output)?;
    }
    drop(stdout);
    let mut code = Code::Success;
    for s in &statuses {
        if let Err(e) = &s.outcome {
            crate::exit::warn(&format!("server `{}` could not connect: {e}", s.name));
            code = code.max_with(if s.auth_failed {
                Code::Auth
            } else {
                Code::Connect
            });
        }
    }
    if targets.report_broken() == Code::Config {
        code = Code::Config;
    }
    Ok(code)
}

fn health_json(h: &mcpmux::Health) -> Value {
    json!({
        "state": h.state.as_str(),
        "connections": h.connections,
        "restarts": h.restarts,
        "consecutive_failures": h.consecutive_failures,
        "last_error": h.last_error.as_ref().map(ToString::to_string),
    })
}

fn status_json(s: &Status) -> Value {
    let latency_ms = s.latency.as_secs_f64() * 1000.0;
    let mut v = status_fields(s, latency_ms);
    if let Some(m) = v.as_object_mut() {
        m.insert("health".into(), health_json(&s.health));
    }
    v
}

fn status_fields(s: &Status, latency_ms: f64) -> Value {
    match &s.outcome {
        Ok(c) => json!({
            "name": s.name,
            "transport": s.transport,
            "status": "ok",
            "protocol_version": c.protocol,
            "server_name": c.server_name,
            "server_version": c.server_version,
            "tools": c.tools,
            "latency_ms": latency_ms,
        }),
        Err(e) => json!({
            "name": s.name,
            "transport": s.transport,
            "status": "failed",
            "error": e,
            "latency_ms": latency_ms,
        }),
    }
}

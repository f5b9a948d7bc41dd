//! `mcpmux tools [SERVER]`: the tools of the configured servers.

use std::collections::BTreeMap;
use std::io::{self, Write};

use mcpmux::ToolInfo;
use mcpmux::protocol::ToolAnnotations;
use serde_json::{Value, json};

use crate::args::{GlobalArgs, ToolsArgs};
use crate::exit::{Failure, Outcome};
use crate::output;
use crate::table::Table;
use crate::target::{self, Targets};

/// Runs `mcpmux tools`.
pub async fn run(args: ToolsArgs, global: &GlobalArgs) -> Outcome {
    let targets = Targets::select(global, &args.server, args.name.as_deref())?;
    // The name `call` and `batch` take: SERVER.TOOL, or the bare TOOL of an ad-hoc server.
    let ad_hoc = targets.ad_hoc;
    let display = |t: &ToolInfo| {
        let tool = crate::table::clean(&t.tool.name);
        if ad_hoc {
            tool
        } else {
            format!("{}.{tool}", t.server)
        }
    };
    let config_files = targets.config_files.clone();
    let (toolset, broken) = targets.connect(global).await?;
    let tools = toolset
        .tools()
        .await
        .map_err(|e| Failure::new(crate::exit::Code::Config, e))?;
    remember(&config_files, &tools);
    let mut stdout = io::stdout().lock();
    if global.json {
        let all: Vec<Value> = tools.iter().map(tool_json).collect();
        output::write_json(&mut stdout, &all).map_err(Failure::output)?;
    } else if args.schema {
        write_schemas(&mut stdout, &tools, display).map_err(Failure::output)?;
    } else {
        let mut table = Table::new(&[
            ("NAME", None),
            ("TITLE", Some(30)),
            ("DESCRIPTION", Some(60)),
            ("ANNOTATIONS", None),
        ]);
        for t in &tools {
            table.row(vec![
                display(t),
                title(t),
                t.tool.description.clone().unwrap_or_default(),
                t.tool
                    .annotations
                    .as_ref()
                    .map(annotations)
                    .unwrap_or_default(),
            ]);
        }
        table.write(&mut stdout).map_err(Failure::output)?;
    }
    drop(stdout);
    Ok(target::report(&toolset, &broken))
}

/// Keeps each listed server's tool names for shell completion ([`crate::name_cache`]).
fn remember(config_files: &[std::path::PathBuf], tools: &[ToolInfo]) {
    let mut by_server: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in tools {
        by_server.entry(&t.server).or_default().push(&t.tool.name);
    }
    for (server, names) in by_server {
        crate::name_cache::store(config_files, server, names);
    }
}

fn title(t: &ToolInfo) -> String {
    t.tool
        .title
        .clone()
        .or_else(|| t.tool.annotations.as_ref().and_then(|a| a.title.clone()))
        .unwrap_or_default()
}

/// The hints that are set, briefly: `ro`, `destructive`, `idempotent`, `open-world`.
fn annotations(a: &ToolAnnotations) -> String {
    let mut out = Vec::new();
    if a.read_only_hint == Some(true) {
        out.push("ro");
    }
    if a.destructive_hint == Some(true) {
        out.push("destructive");
    }
    if a.idempotent_hint == Some(true) {
        out.push("idempotent");
    }
    if a.open_world_hint == Some(true) {
        out.push("open-world");
    }
    out.join(",")
}

fn tool_json(t: &ToolInfo) -> Value {
    let mut v = serde_json::to_value(&t.tool).unwrap_or_else(|_| json!({}));
    if let Value::Object(m) = &mut v {
        m.insert("server".into(), json!(t.server));
        m.insert("tool".into(), json!(t.tool.name));
        m.insert("name".into(), json!(t.name));
    }
    v
}

fn write_schemas(
    out: &mut impl Write,
    tools: &[ToolInfo],
    display: impl Fn(&ToolInfo) -> String,
) -> io::Result<()> {
    for (i, t) in tools.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", display(t))?;
        if let Some(d) = &t.tool.description {
            writeln!(out, "  {}", crate::table::clean(d))?;
        }
        let schema = serde_json::to_string_pretty(&t.tool.input_schema).unwrap_or_default();
        for line in schema.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    out.flush()
}

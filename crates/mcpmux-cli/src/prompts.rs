//! `mcpmux prompts [SERVER]` and `mcpmux prompt NAME [KEY=VALUE]...`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use mcpmux::Content;
use mcpmux::protocol::{GetPromptResult, Role};

use crate::args::{GlobalArgs, ListArgs, PromptArgs};
use crate::exit::{Code, Failure, Outcome};
use crate::output;
use crate::table::Table;
use crate::target::{self, Targets};

/// Runs `mcpmux prompts`.
pub async fn list(args: ListArgs, global: &GlobalArgs) -> Outcome {
    let targets = Targets::select(global, &args.server, args.name.as_deref())?;
    let (toolset, broken) = targets.connect(global).await?;
    let lists = futures_util::future::join_all(toolset.server_names().filter_map(|name| {
        let guard = toolset.guard(name)?;
        guard.initialize_result().capabilities.prompts.as_ref()?;
        Some(async move { (name.to_owned(), guard.list_prompts().await) })
    }))
    .await;
    let (rows, code) = output::merge_lists(lists, "prompts");
    let mut stdout = io::stdout().lock();
    if global.json {
        output::write_json(&mut stdout, &output::rows_json(&rows)).map_err(Failure::output)?;
    } else {
        let mut table = Table::new(&[
            ("NAME", None),
            ("DESCRIPTION", Some(60)),
            ("ARGUMENTS", None),
        ]);
        for (server, p) in &rows {
            let arguments: Vec<String> = p
                .arguments
                .iter()
                .flatten()
                .map(|a| {
                    let star = if a.required == Some(true) { "*" } else { "" };
                    format!("{}{star}", a.name)
                })
                .collect();
            table.row(vec![
                format!("{server}.{}", p.name),
                p.description
                    .clone()
                    .or_else(|| p.title.clone())
                    .unwrap_or_default(),
                arguments.join(" "),
            ]);
        }
        table.write(&mut stdout).map_err(Failure::output)?;
    }
    drop(stdout);
    let reported = target::report(&toolset, &broken);
    Ok(if reported == Code::Success {
        code
    } else {
        reported
    })
}

/// Runs `mcpmux prompt`.
pub async fn get(args: PromptArgs, global: &GlobalArgs) -> Outcome {
    let ad_hoc = args.server.is_given();
    let (server, prompt) = target::split_target(&args.name, ad_hoc, "PROMPT")?;
    let targets = Targets::select(global, &args.server, server)?;
    let (toolset, broken) = targets.connect(global).await?;
    let Some(guard) = toolset.server_names().next().and_then(|n| toolset.guard(n)) else {
        return Ok(target::report(&toolset, &broken).max_with(Code::Connect));
    };
    let arguments: BTreeMap<String, String> = args.pairs.into_iter().collect();
    let result = guard.get_prompt(prompt, arguments).await.map_err(|e| {
        Failure::new(
            Code::Failed,
            anyhow::Error::new(e).context(format!("getting prompt `{}` failed", args.name)),
        )
    })?;
    let mut stdout = io::stdout().lock();
    if global.json {
        output::write_json(&mut stdout, &result).map_err(Failure::output)?;
    } else {
        write_messages(&mut stdout, &result).map_err(Failure::output)?;
    }
    Ok(Code::Success)
}

fn write_messages(out: &mut impl Write, result: &GetPromptResult) -> io::Result<()> {
    for (i, m) in result.messages.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        writeln!(out, "[{role}]")?;
        match &m.content {
            Content::Text(t) => {
                out.write_all(t.text.as_bytes())?;
                if !t.text.ends_with('\n') {
                    writeln!(out)?;
                }
            }
            other => {
                let single = mcpmux::CallToolResult {
                    content: vec![other.clone()],
                    ..Default::default()
                };
                output::write_result(out, &single)?;
            }
        }
    }
    out.flush()
}

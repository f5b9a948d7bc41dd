//! `mcpmux agent`: a model with the tools of every configured server. The loop is ours
//! ([`conversation`]), the model clients are rig's ([`model`]), the tools are the toolset's
//! through `mcpmux-rig`.

mod approve;
mod conversation;
mod model;
mod transcript;

use std::io::{self, BufRead as _, IsTerminal as _, Read as _, Write as _};
use std::sync::Arc;

use mcpmux::ApprovalHook;
use mcpmux_rig::McpTools;

use crate::args::{AgentArgs, GlobalArgs, ModelApi, ServerArgs};
use crate::exit::{Code, Failure, Outcome};
use crate::target::{self, Targets};
use conversation::Conversation;
use transcript::Transcript;

/// The most tools the OpenAI API accepts in one request.
const OPENAI_TOOL_LIMIT: usize = 128;

/// Where the prompts come from.
enum Prompts {
    /// One prompt: the argument, or all of stdin.
    One(String),
    /// A terminal session: one prompt per line.
    Interactive,
}

/// Runs `mcpmux agent`.
pub async fn run(args: AgentArgs, global: &GlobalArgs) -> Outcome {
    match reqwest::Url::parse(&args.base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => {
            return Err(usage(&format!(
                "--base-url {:?} is not an http:// or https:// URL",
                args.base_url
            )));
        }
    }
    let stdin_terminal = io::stdin().is_terminal();
    if args.approve && !stdin_terminal {
        return Err(usage(
            "--approve asks on the terminal before each tool call, but stdin is not a terminal",
        ));
    }
    let prompts = match &args.prompt {
        Some(prompt) => Prompts::One(prompt.clone()),
        None if stdin_terminal => Prompts::Interactive,
        None => {
            // On a blocking thread: a signal must still stop a run whose stdin stays open.
            let text = tokio::task::spawn_blocking(|| {
                let mut text = String::new();
                io::stdin().read_to_string(&mut text).map(|_| text)
            })
            .await
            .map_err(|e| Failure::new(Code::Failed, anyhow::Error::new(e)))?
            .map_err(|e| {
                Failure::new(
                    Code::Failed,
                    anyhow::Error::new(e).context("cannot read stdin"),
                )
            })?;
            if text.trim().is_empty() {
                return Err(usage("no prompt: give one as an argument or on stdin"));
            }
            Prompts::One(text)
        }
    };
    let model = model::connect(&args)?;
    let progress = transcript::progress(global.quiet);
    let tools = connect_tools(&args, global, progress.clone()).await?;
    let conversation = Conversation {
        model,
        base_url: args.base_url.clone(),
        tools,
        stream: !args.no_stream,
        max_turns: args.max_turns,
        system: args.system.clone(),
        history: Vec::new(),
        transcript: Transcript::new(global.json, progress),
    };
    let outcome = converse(conversation, &args, prompts).await;
    // The toolset is gone with the conversation, and every server is closing in its own task:
    // wait for the processes to go, however the run ended.
    crate::signals::wait_for_children(crate::signals::SHUTDOWN_LIMIT).await;
    outcome
}

/// Checks the tool count against the provider's limit, then runs the prompts.
async fn converse(mut conversation: Conversation, args: &AgentArgs, prompts: Prompts) -> Outcome {
    let tools = &conversation.tools;
    if args.provider == ModelApi::Openai && tools.len() > OPENAI_TOOL_LIMIT {
        let counts: Vec<String> = tools
            .toolset()
            .server_names()
            .map(|server| {
                let n = tools
                    .definitions()
                    .iter()
                    .filter(|d| {
                        tools
                            .resolve(d.name.as_str())
                            .is_some_and(|r| r.server == server)
                    })
                    .count();
                format!("{server} ({n})")
            })
            .collect();
        return Err(usage(&format!(
            "the servers offer {} tools, more than the {OPENAI_TOOL_LIMIT} the OpenAI API accepts: \
             choose servers with --server NAME (tools per server: {})",
            tools.len(),
            counts.join(", ")
        )));
    }
    match prompts {
        Prompts::One(prompt) => conversation.ask(prompt).await.map(|_| Code::Success),
        Prompts::Interactive => interactive(&mut conversation).await,
    }
}

/// The configured servers (only those `--server` names), connected, with their tools.
async fn connect_tools(
    args: &AgentArgs,
    global: &GlobalArgs,
    progress: Option<indicatif::MultiProgress>,
) -> Result<McpTools, Failure> {
    let mut targets = Targets::select(global, &ServerArgs::default(), None)?;
    if !args.servers.is_empty() {
        for name in &args.servers {
            let known = targets.servers.iter().any(|t| &t.name == name)
                || targets.broken.iter().any(|(n, _)| n == name);
            if !known {
                return Err(Failure::new(
                    Code::Config,
                    anyhow::anyhow!("--server {name}: no server of that name is configured"),
                ));
            }
        }
        targets.servers.retain(|t| args.servers.contains(&t.name));
        targets.broken.retain(|(n, _)| args.servers.contains(n));
    }
    let approval: Option<Arc<dyn ApprovalHook>> = args
        .approve
        .then(|| Arc::new(approve::AskUser::new(progress)) as Arc<dyn ApprovalHook>);
    let (toolset, broken) = targets.connect_with(global, approval).await?;
    // Servers that failed to start are reported; the others serve.
    let _ = target::report(&toolset, &broken);
    McpTools::new(toolset).await.map_err(|e| {
        Failure::new(
            Code::Config,
            anyhow::Error::new(e).context("cannot list the tools"),
        )
    })
}

/// Reads prompts from the terminal, one per line, until an empty line or EOF.
async fn interactive(conversation: &mut Conversation) -> Outcome {
    loop {
        let line = tokio::task::spawn_blocking(|| {
            let mut stderr = io::stderr().lock();
            let _ = stderr.write_all(b"> ");
            let _ = stderr.flush();
            let mut line = String::new();
            io::stdin().lock().read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(|e| Failure::new(Code::Failed, anyhow::Error::new(e)))?
        .map_err(|e| {
            Failure::new(
                Code::Failed,
                anyhow::Error::new(e).context("cannot read stdin"),
            )
        })?;
        let prompt = line.trim();
        if prompt.is_empty() {
            return Ok(Code::Success);
        }
        conversation.ask(prompt.to_owned()).await?;
    }
}

fn usage(message: &str) -> Failure {
    Failure::new(Code::Usage, anyhow::anyhow!("{message}"))
}

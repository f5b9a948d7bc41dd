//! `mcpmux-rig`: the tools of many MCP servers — an [`mcpmux::Toolset`] — as tools of the
//! [rig](https://docs.rs/rig-core) agent framework.
//!
//! [`McpTools`] lists every configured server's tools once, under names a model API accepts,
//! with their JSON schemas, and gives them to rig as [`DynamicTool`]s
//! ([`McpTools::dynamic_tools`], for `AgentBuilder::dynamic_tools`) or as bare
//! [`ToolDefinition`]s plus [`McpTools::call`] for a loop of your own. Every call goes through the
//! toolset's shared connections, so an agent's parallel tool calls — and several agents at once —
//! share one connection per server. A failing tool, a server that crashed, a timeout or a name
//! the model made up come back as a [`ToolExecutionError`] the model sees; nothing panics.
//!
//! Built on rig-core 0.44 (pinned: its API changes between minor releases).
//!
//! # Example
//!
//! An agent on an OpenAI-compatible endpoint, with every tool of two servers:
//!
//! ```no_run
//! use mcpmux::{Server, Toolset};
//! use mcpmux_rig::McpTools;
//! use rig_core::providers::openai::{OpenAIConfig, wire::Auth};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let toolset = Toolset::builder()
//!     .server("time", Server::stdio("uvx").arg("mcp-server-time").build()?)
//!     .server("web", Server::http("http://127.0.0.1:8000/mcp").build()?)
//!     .build()
//!     .await?;
//! let tools = McpTools::new(toolset).await?;
//!
//! let http = rig_reqwest::ReqwestClient::from(reqwest::Client::new());
//! let model = OpenAIConfig::new("")
//!     .with_base_url("http://127.0.0.1:8080/v1")
//!     .with_auth(Auth::OptionalBearer)
//!     .connect(http)
//!     .chat("qwen3");
//! let agent = rig_agent::AgentBuilder::new(model)
//!     .preamble("Use the tools.")
//!     .dynamic_tools(tools.dynamic_tools())
//!     .build();
//! // Every tool call of a turn runs at once, through the shared connections.
//! let answer = agent.prompt("What time is it in Tokyo?").max_turns(5).tool_concurrency(64).await?;
//! println!("{}", answer.output());
//! # Ok(()) }
//! ```
//! # Two agents, one server
//!
//! The scenario mcpmux exists for (also README's "Agents" example, kept identical by a test):
//! two agents at once, sharing one server handle — one connection, one process — each with
//! parallel tool calls; when both are done and the handles go, the connection closes.
//!
//! ```no_run
//! use mcpmux::{Server, Toolset};
//! use mcpmux_rig::McpTools;
//! use rig_agent::AgentBuilder;
//! use rig_core::providers::openai::{OpenAIConfig, wire::Auth};
//!
//! async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::stdio("uvx").arg("mcp-server-time").build()?;  // one handle, shared
//! let http = rig_reqwest::ReqwestClient::from(reqwest::Client::new());
//! let model = OpenAIConfig::new("")
//!     .with_base_url("http://127.0.0.1:8080/v1")
//!     .with_auth(Auth::OptionalBearer)                                // no key: no Authorization
//!     .connect(http)
//!     .chat("qwen3");
//! let mut agents = Vec::new();
//! for _ in 0..2 {
//!     let toolset = Toolset::builder().server("time", server.clone()).build().await?;
//!     let tools = McpTools::new(toolset).await?;
//!     agents.push(AgentBuilder::new(model.clone()).dynamic_tools(tools.dynamic_tools()).build());
//! }
//! let (a, b) = tokio::join!(                                          // a turn's calls at once
//!     async { agents[0].prompt("Time in Tokyo, Lima and Oslo?").max_turns(4).tool_concurrency(16).await },
//!     async { agents[1].prompt("Time in Paris and Delhi?").max_turns(4).tool_concurrency(16).await },
//! );
//! println!("{}\n{}", a?.output(), b?.output());
//! drop(agents);                                                       // the connection closes
//! Ok(())
//! }
//! ```
#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use mcpmux::{ErrorKind, ExportedTools, Provider, ToolRef, Toolset};
use rig_core::completion::ToolDefinition;
use rig_core::message::ToolName;
use rig_core::tool::{DynamicTool, ToolExecutionError, ToolOutput};
use serde_json::Value;

/// A toolset's tools for rig: definitions for the model, and calls by the names the model uses.
///
/// Cheap to clone: clones share the toolset (and so its connections).
#[derive(Debug, Clone)]
pub struct McpTools {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    toolset: Toolset,
    definitions: Vec<ToolDefinition>,
    refs: HashMap<String, ToolRef>,
}

impl McpTools {
    /// Lists the toolset's tools (every server that is up, through its filter) under names
    /// valid for model APIs: `SERVER_TOOL`, letters, digits, `_` and `-`, at most 64 characters.
    ///
    /// # Errors
    /// Listing a server's tools failed with a name conflict.
    pub async fn new(toolset: Toolset) -> Result<McpTools, mcpmux::Error> {
        let exported = toolset.export(Provider::OpenAiChat).await?;
        let definitions = definitions(&exported);
        let refs = exported
            .names()
            .iter()
            .filter_map(|name| Some((name.clone(), exported.resolve(name)?.clone())))
            .collect();
        Ok(McpTools {
            inner: Arc::new(Inner {
                toolset,
                definitions,
                refs,
            }),
        })
    }

    /// The toolset the calls go through.
    pub fn toolset(&self) -> &Toolset {
        &self.inner.toolset
    }

    /// How many tools there are.
    pub fn len(&self) -> usize {
        self.inner.definitions.len()
    }

    /// Whether there are none (no server up, or every tool filtered out).
    pub fn is_empty(&self) -> bool {
        self.inner.definitions.is_empty()
    }

    /// The tool definitions for a completion request, in toolset order.
    pub fn definitions(&self) -> &[ToolDefinition] {
        &self.inner.definitions
    }

    /// The server and tool a name the model called stands for (`None`: no such tool).
    pub fn resolve(&self, name: &str) -> Option<&ToolRef> {
        self.inner.refs.get(name)
    }

    /// Every tool as a rig [`DynamicTool`], for `AgentBuilder::dynamic_tools`. Each one calls
    /// through this value's toolset; its errors are tool errors the model sees.
    pub fn dynamic_tools(&self) -> Vec<DynamicTool> {
        self.inner
            .definitions
            .iter()
            .map(|definition| {
                let tools = self.clone();
                let name = definition.name.to_string();
                DynamicTool::new(
                    definition.name.clone(),
                    definition.description.clone(),
                    definition.parameters.clone(),
                    move |arguments| {
                        let tools = tools.clone();
                        let name = name.clone();
                        Box::pin(async move { tools.call(&name, arguments).await })
                    },
                )
            })
            .collect()
    }

    /// Calls the tool the model named `name` with `arguments`, returning the result's text.
    ///
    /// # Errors
    /// A [`ToolExecutionError`] whose message tells the model what went wrong: no such tool
    /// (`not_found`), a timeout, a denial by the approval hook, arguments the server refused,
    /// the tool's own failure (`isError`, with its text), or the server being unavailable
    /// (crashed, unreachable).
    pub async fn call(
        &self,
        name: &str,
        arguments: Value,
    ) -> Result<ToolOutput, ToolExecutionError> {
        let Some(target) = self.resolve(name) else {
            return Err(ToolExecutionError::not_found(format!(
                "there is no tool named `{name}`"
            )));
        };
        let arguments = match arguments {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        let result = self
            .inner
            .toolset
            .call_target(target, arguments)
            .await
            .map_err(call_error)?;
        let output = mcpmux::ToolOutput::from_result(&result).map_err(call_error)?;
        if output.is_error {
            return Err(ToolExecutionError::other(format!(
                "the tool failed: {}",
                output.text()
            )));
        }
        Ok(ToolOutput::text(output.text()))
    }
}

/// Each exported tool as a rig definition (the OpenAI chat export carries the name,
/// description and parameters rig wants).
fn definitions(exported: &ExportedTools) -> Vec<ToolDefinition> {
    exported
        .definitions()
        .iter()
        .filter_map(|def| {
            let function = def.get("function")?;
            let name = ToolName::new(function.get("name")?.as_str()?).ok()?;
            Some(ToolDefinition {
                name,
                description: function
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                parameters: function
                    .get("parameters")
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            })
        })
        .collect()
}

/// A library error as the tool error the model is shown (the message names the server).
fn call_error(error: mcpmux::Error) -> ToolExecutionError {
    let message = error.to_string();
    match error.kind() {
        ErrorKind::UnknownTool => ToolExecutionError::not_found(message),
        ErrorKind::Timeout => ToolExecutionError::timeout(message),
        ErrorKind::Cancelled => ToolExecutionError::cancelled(message),
        ErrorKind::Denied => ToolExecutionError::refused(message),
        ErrorKind::InvalidInput => ToolExecutionError::invalid_args(message),
        ErrorKind::Auth => ToolExecutionError::permission_denied(message),
        ErrorKind::Closed | ErrorKind::Unavailable | ErrorKind::Http | ErrorKind::Spawn => {
            ToolExecutionError::network(message)
        }
        _ => ToolExecutionError::other(message),
    }
}

//! The agent loop, driven here rather than by rig's agent (which runs a turn's tool calls one
//! by one unless told otherwise): send the history and the tools, read the reply, run every tool
//! call of the turn at once through the shared connections, append the results in the order of
//! the calls, and ask again, until the model answers without calling a tool.

use std::time::Instant;

use futures_util::future::join_all;
use mcpmux_rig::McpTools;
use rig_core::DynModel;
use rig_core::completion::CompletionRequest;
use rig_core::message::{Message, ToolCall, ToolResult, ToolResultContent};
use rig_core::operation::Completion;
use serde_json::Value;

use super::model;
use super::transcript::{ToolLine, Transcript};
use crate::exit::{Code, Failure};

/// One conversation: the history so far, and what it runs on.
pub struct Conversation {
    /// The model.
    pub model: DynModel<Completion>,
    /// The endpoint, for error messages.
    pub base_url: String,
    /// The tools.
    pub tools: McpTools,
    /// Stream replies.
    pub stream: bool,
    /// At most this many model requests per prompt.
    pub max_turns: u64,
    /// The system prompt.
    pub system: Option<String>,
    /// The messages so far.
    pub history: Vec<Message>,
    /// Where it is shown.
    pub transcript: Transcript,
}

impl Conversation {
    /// Sends `prompt` and runs the turns until the model answers; returns the answer.
    ///
    /// # Errors
    /// Exit 6 for a model failure or more than `max_turns` turns; exit 1 if stdout fails.
    pub async fn ask(&mut self, prompt: String) -> Result<String, Failure> {
        self.history.push(Message::user(prompt));
        for turn in 1..=self.max_turns {
            let mut request = CompletionRequest::from(self.history.clone())
                .tools(self.tools.definitions().to_vec());
            if let Some(system) = &self.system {
                request = request.preamble(system.clone());
            }
            let mut printed = Ok(());
            let transcript = &mut self.transcript;
            let response = model::ask(&self.model, request, self.stream, |text| {
                if printed.is_ok() {
                    printed = transcript.text(text);
                }
            })
            .await
            .map_err(|e| model::failed(e, &self.base_url))?;
            printed?;
            if let Some(error) = &response.error {
                return Err(model::failed(
                    anyhow::anyhow!("the model reported a failure: {error}"),
                    &self.base_url,
                ));
            }
            let calls: Vec<ToolCall> = response.tool_calls().cloned().collect();
            let text = response.text();
            self.transcript.model(
                turn,
                &text,
                &calls
                    .iter()
                    .map(|c| {
                        (
                            c.id.to_string(),
                            c.function.name.as_str().to_owned(),
                            c.function.arguments_value(),
                        )
                    })
                    .collect::<Vec<_>>(),
            )?;
            self.history.extend(response.message());
            if calls.is_empty() {
                self.transcript.end_text()?;
                self.transcript.answer(turn, &text)?;
                return Ok(text);
            }
            self.transcript.end_text()?;
            let ran = join_all(
                calls
                    .iter()
                    .map(|call| run(&self.tools, &self.transcript, call)),
            )
            .await;
            let mut results = Vec::with_capacity(ran.len());
            for (result, line) in ran {
                self.transcript.tool(turn, &line)?;
                results.push(result);
            }
            self.history.push(Message::tool_results(results));
        }
        Err(Failure::new(
            Code::Model,
            anyhow::anyhow!(
                "the model still called tools after {} turns (raise --max-turns)",
                self.max_turns
            ),
        ))
    }
}

/// Runs one tool call: its result for the model (an error result if it failed) and its line.
async fn run(tools: &McpTools, transcript: &Transcript, call: &ToolCall) -> (ToolResult, ToolLine) {
    let name = call.function.name.as_str().to_owned();
    let target = tools.resolve(&name);
    let mut line = ToolLine {
        id: call.id.to_string(),
        name: name.clone(),
        server: target.map(|t| t.server.clone()),
        tool: target.map(|t| t.tool.clone()),
        ms: 0,
        output: String::new(),
        error: None,
    };
    if let Some(invalid) = &call.function.invalid_arguments {
        let message = format!("the arguments are not a JSON object: {invalid}");
        line.error = Some(message.clone());
        line.output = message.clone();
        return (
            call.error_result(vec![ToolResultContent::text(message)]),
            line,
        );
    }
    let label = match target {
        Some(t) => format!("{}.{}", t.server, t.tool),
        None => name.clone(),
    };
    let spinner = transcript.running(&label);
    let started = Instant::now();
    let outcome = tools
        .call(&name, Value::Object(call.function.arguments.clone()))
        .await;
    line.ms = started.elapsed().as_millis();
    spinner.finish_and_clear();
    match outcome {
        Ok(output) => {
            line.output = output.render();
            (call.result(output.into_content()), line)
        }
        Err(error) => {
            line.error = Some(error.message().to_owned());
            let output = error.model_output().clone();
            line.output = output.render();
            (call.error_result(output.into_content()), line)
        }
    }
}

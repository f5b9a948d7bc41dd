//! What `mcpmux agent` shows: the answer streamed to stdout, or with `--json` the transcript as
//! JSON Lines (`model`, `tool` and `final` objects); and a spinner line per running tool call on
//! stderr when it is a terminal.

use std::io::{self, Write as _};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::exit::Failure;

/// Where the spinners are drawn: stderr when it is a terminal and `-q` was not given.
pub fn progress(quiet: bool) -> Option<MultiProgress> {
    crate::progress::visible(quiet)
        .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// One tool call as it ended, for the transcript.
#[derive(Debug, Clone)]
pub struct ToolLine {
    /// The model's id of the call.
    pub id: String,
    /// The name the model called.
    pub name: String,
    /// The server (`None`: the model named no such tool).
    pub server: Option<String>,
    /// The server's name of the tool.
    pub tool: Option<String>,
    /// How long it took.
    pub ms: u128,
    /// What went back to the model.
    pub output: String,
    /// The error, when it failed.
    pub error: Option<String>,
}

/// The output of one run.
pub struct Transcript {
    json: bool,
    /// Whether text was written since the last newline (text mode).
    open_line: bool,
    progress: Option<MultiProgress>,
}

impl Transcript {
    /// JSON Lines with `json`; a spinner line per running call on `progress`, if any.
    pub fn new(json: bool, progress: Option<MultiProgress>) -> Transcript {
        Transcript {
            json,
            open_line: false,
            progress,
        }
    }

    /// A piece of the model's text as it arrives (text mode: straight to stdout).
    pub fn text(&mut self, text: &str) -> Result<(), Failure> {
        if self.json || text.is_empty() {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(Failure::output)?;
        self.open_line = !text.ends_with('\n');
        Ok(())
    }

    /// Ends the text of a reply with a newline, if it has none.
    pub fn end_text(&mut self) -> Result<(), Failure> {
        if self.open_line {
            self.open_line = false;
            writeln!(io::stdout().lock()).map_err(Failure::output)?;
        }
        Ok(())
    }

    /// A model reply (JSON mode): its text and the tool calls it asked for.
    pub fn model(
        &mut self,
        turn: u64,
        text: &str,
        calls: &[(String, String, Value)],
    ) -> Result<(), Failure> {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, arguments)| json!({"id": id, "name": name, "arguments": arguments}))
            .collect();
        self.line(&json!({"type": "model", "turn": turn, "text": text, "tool_calls": calls}))
    }

    /// A tool call that ended (JSON mode).
    pub fn tool(&mut self, turn: u64, line: &ToolLine) -> Result<(), Failure> {
        self.line(&json!({
            "type": "tool",
            "turn": turn,
            "id": line.id,
            "name": line.name,
            "server": line.server,
            "tool": line.tool,
            "ms": line.ms,
            "ok": line.error.is_none(),
            "error": line.error,
            "output": line.output,
        }))
    }

    /// The answer (JSON mode), after `turns` model requests.
    pub fn answer(&mut self, turns: u64, text: &str) -> Result<(), Failure> {
        self.line(&json!({"type": "final", "turns": turns, "text": text}))
    }

    fn line(&mut self, value: &Value) -> Result<(), Failure> {
        if !self.json {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        crate::output::write_json(&mut out, value)
            .and_then(|()| out.flush())
            .map_err(Failure::output)
    }

    /// A spinner line for a call now running (hidden unless progress is shown).
    pub fn running(&self, label: &str) -> ProgressBar {
        let Some(multi) = &self.progress else {
            return ProgressBar::hidden();
        };
        let bar = multi.add(ProgressBar::new_spinner());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        bar.set_message(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }
}

//! `${input:id}`: VS Code's `inputs`, answered on the terminal.

use std::io::{self, BufRead, IsTerminal, Write};

/// One entry of a VS Code `inputs` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDef {
    /// The id `${input:id}` refers to.
    pub id: String,
    /// What to ask.
    pub description: String,
    /// Hide the answer while it is typed.
    pub password: bool,
    /// The answer when the user enters nothing.
    pub default: Option<String>,
    /// For `pickString`: the allowed answers.
    pub options: Vec<String>,
}

impl InputDef {
    /// A `promptString` input.
    pub fn prompt_string(id: &str, description: &str, password: bool) -> Self {
        InputDef {
            id: id.to_owned(),
            description: description.to_owned(),
            password,
            default: None,
            options: Vec::new(),
        }
    }

    /// Parses one `inputs` entry; `None` for one without an `id`.
    pub(crate) fn from_json(v: &serde_json::Value) -> Option<Self> {
        let id = v.get("id")?.as_str()?.to_owned();
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let options = v
            .get("options")
            .and_then(|o| o.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|o| {
                        o.as_str()
                            .map(str::to_owned)
                            .or_else(|| o.get("value")?.as_str().map(str::to_owned))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(InputDef {
            description: s("description").unwrap_or_else(|| id.clone()),
            id,
            password: v.get("password").and_then(|p| p.as_bool()).unwrap_or(false),
            default: s("default"),
            options,
        })
    }
}

/// Answers `${input:id}` variables.
pub trait Prompter: Send {
    /// The answer to `input`, or why there is none.
    ///
    /// # Errors
    /// A sentence saying why the input cannot be answered.
    fn prompt(&mut self, input: &InputDef) -> Result<String, String>;
}

/// Refuses every input: for non-interactive use.
///
/// ```
/// use mcpmux_config::{InputDef, NoPrompter, Prompter};
/// assert!(NoPrompter.prompt(&InputDef::prompt_string("k", "Key", true)).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPrompter;

impl Prompter for NoPrompter {
    fn prompt(&mut self, input: &InputDef) -> Result<String, String> {
        Err(format!(
            "\"{}\" must be answered, but no terminal is available to ask",
            input.description
        ))
    }
}

/// Asks on the terminal (question on stderr, answer from stdin) when stdin is a terminal, and
/// refuses with a clear error otherwise. Password inputs are read without echo.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn prompt(&mut self, input: &InputDef) -> Result<String, String> {
        let stdin = io::stdin();
        if !stdin.is_terminal() {
            return Err(format!(
                "\"{}\" must be answered on a terminal, but stdin is not a terminal",
                input.description
            ));
        }
        let mut stderr = io::stderr().lock();
        let mut question = input.description.clone();
        if !input.options.is_empty() {
            question.push_str(&format!(" [{}]", input.options.join("/")));
        }
        if let Some(d) = &input.default
            && !input.password
        {
            question.push_str(&format!(" (default: {d})"));
        }
        let _ = write!(stderr, "{question}: ");
        let _ = stderr.flush();
        let answer = if input.password {
            read_hidden()
        } else {
            read_line()
        }
        .map_err(|e| format!("cannot read the answer: {e}"))?;
        let answer = match (&input.default, answer.is_empty()) {
            (Some(d), true) => d.clone(),
            _ => answer,
        };
        if !input.options.is_empty() && !input.options.contains(&answer) {
            return Err(format!(
                "`{answer}` is not one of {}",
                input.options.join(", ")
            ));
        }
        Ok(answer)
    }
}

fn read_line() -> io::Result<String> {
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Reads a line with terminal echo off, restoring the terminal afterwards.
fn read_hidden() -> io::Result<String> {
    use nix::sys::termios::{self, LocalFlags, SetArg};
    let stdin = io::stdin();
    let saved = termios::tcgetattr(&stdin).map_err(io::Error::from)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    termios::tcsetattr(&stdin, SetArg::TCSANOW, &quiet).map_err(io::Error::from)?;
    let line = read_line();
    let restored = termios::tcsetattr(&stdin, SetArg::TCSANOW, &saved).map_err(io::Error::from);
    let line = line?;
    restored?;
    Ok(line)
}

//! Variable expansion in config values, in each host's dialect.
//!
//! | form | meaning | hosts |
//! |---|---|---|
//! | `${VAR}` | environment variable; unset is an error | Claude Code, Gemini, generic |
//! | `${VAR:-default}` | environment variable, or `default` (itself expanded) if unset or empty | Claude Code, Gemini, generic |
//! | `$VAR` | environment variable; unset stays literal | Gemini |
//! | `${env:VAR}` | environment variable; unset is an error | VS Code, Cursor, Windsurf, generic |
//! | `${input:id}` | answer to the `inputs` entry `id`, asked on the terminal | VS Code, generic |
//! | `${workspaceFolder}`, `${workspaceFolderBasename}`, `${userHome}`, `${pathSeparator}`, `${/}` | folders | VS Code, Cursor, generic |
//!
//! Claude Desktop, Codex and Zed expand nothing. A `${...}` form that the host does not know is
//! left as it is, except a `${prefix:...}` form in a dialect that has prefixes (`${command:x}` in
//! VS Code), which is an error rather than a literal sent to a server.

use std::collections::HashMap;

use crate::env::Env;
use crate::error::{ConfigError, Result};
use crate::prompt::{InputDef, Prompter};

/// Which variable forms a host expands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Dialect {
    /// `${VAR}`.
    pub(crate) braced: bool,
    /// `${VAR:-default}`.
    pub(crate) default: bool,
    /// `${env:VAR}`.
    pub(crate) env_prefix: bool,
    /// `${input:id}`.
    pub(crate) input: bool,
    /// `${workspaceFolder}`, `${workspaceFolderBasename}`, `${userHome}`, `${pathSeparator}`.
    pub(crate) workspace: bool,
    /// `$VAR`.
    pub(crate) bare: bool,
}

impl Dialect {
    fn expands_anything(self) -> bool {
        self != Dialect::default()
    }
}

/// Answers `${input:id}` and remembers answers, so each input is asked once per run.
pub struct Inputs {
    prompter: Box<dyn Prompter>,
    answers: HashMap<String, String>,
}

impl Inputs {
    /// Inputs answered by `prompter`.
    pub fn new(prompter: impl Prompter + 'static) -> Self {
        Inputs {
            prompter: Box::new(prompter),
            answers: HashMap::new(),
        }
    }

    /// Gives an answer in advance (it is then never asked).
    pub fn answer(&mut self, id: impl Into<String>, value: impl Into<String>) {
        self.answers.insert(id.into(), value.into());
    }

    fn get(&mut self, def: &InputDef) -> std::result::Result<String, String> {
        if let Some(v) = self.answers.get(&def.id) {
            return Ok(v.clone());
        }
        let v = self.prompter.prompt(def)?;
        self.answers.insert(def.id.clone(), v.clone());
        Ok(v)
    }
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs")
            .field("answered", &self.answers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Expands the variables of one server entry's values.
pub(crate) struct Expander<'a> {
    pub(crate) dialect: Dialect,
    pub(crate) env: &'a Env,
    pub(crate) input_defs: &'a [InputDef],
    pub(crate) inputs: &'a mut Inputs,
}

impl Expander<'_> {
    /// Expands `s`; the error names the missing variable (the caller adds the location).
    pub(crate) fn expand(&mut self, s: &str) -> Result<String> {
        if !self.dialect.expands_anything() || !s.contains('$') {
            return Ok(s.to_owned());
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            if let Some(body_start) = after.strip_prefix('{') {
                match matching_brace(body_start) {
                    Some(end) => {
                        let body = &body_start[..end];
                        match self.braced(body)? {
                            Some(value) => out.push_str(&value),
                            None => {
                                out.push_str("${");
                                out.push_str(body);
                                out.push('}');
                            }
                        }
                        rest = &body_start[end + 1..];
                    }
                    None => {
                        // No closing brace: literal.
                        out.push('$');
                        rest = after;
                    }
                }
            } else if self.dialect.bare && after.starts_with(is_name_start) {
                let len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                let name = &after[..len];
                match self.env.var(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('$');
                        out.push_str(name);
                    }
                }
                rest = &after[len..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The value of `${body}`, or `None` to keep it literally.
    fn braced(&mut self, body: &str) -> Result<Option<String>> {
        let d = self.dialect;
        if let Some(name) = body.strip_prefix("env:").filter(|_| d.env_prefix) {
            return self.env_var(name, body).map(Some);
        }
        if let Some(id) = body.strip_prefix("input:").filter(|_| d.input) {
            return self.input(id.trim()).map(Some);
        }
        if d.workspace {
            let ws = self.env.workspace_dir();
            let value = match body {
                "workspaceFolder" => Some(ws.to_string_lossy().into_owned()),
                "workspaceFolderBasename" => Some(
                    ws.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
                "userHome" => Some(
                    self.env
                        .home()
                        .ok_or_else(|| {
                            ConfigError::new("`${userHome}` is used but the home folder is unknown")
                        })?
                        .to_string_lossy()
                        .into_owned(),
                ),
                "pathSeparator" | "/" => Some(std::path::MAIN_SEPARATOR.to_string()),
                _ => None,
            };
            if value.is_some() {
                return Ok(value);
            }
        }
        if d.default
            && let Some((name, default)) = body.split_once(":-")
            && is_name(name)
        {
            // As in the shell: an empty value takes the default too.
            return match self.env.var(name).filter(|v| !v.is_empty()) {
                Some(v) => Ok(Some(v)),
                None => self.expand(default).map(Some),
            };
        }
        if d.braced && is_name(body) {
            return self.env_var(body, body).map(Some);
        }
        if (d.env_prefix || d.input)
            && let Some((prefix, _)) = body.split_once(':')
            && is_name(prefix)
        {
            return Err(ConfigError::new(format!(
                "unsupported variable `${{{body}}}` (this host's config supports{})",
                supported(d)
            )));
        }
        Ok(None)
    }

    fn env_var(&self, name: &str, body: &str) -> Result<String> {
        self.env.var(name).ok_or_else(|| {
            ConfigError::new(format!(
                "environment variable `{name}` is not set (used as `${{{body}}}`)"
            ))
        })
    }

    fn input(&mut self, id: &str) -> Result<String> {
        let Some(def) = self.input_defs.iter().find(|d| d.id == id) else {
            return Err(ConfigError::new(format!(
                "`${{input:{id}}}` refers to no entry of `inputs` with that id"
            )));
        };
        self.inputs
            .get(def)
            .map_err(|why| ConfigError::new(format!("`${{input:{id}}}`: {why}")))
    }
}

fn supported(d: Dialect) -> String {
    let mut forms = Vec::new();
    if d.braced {
        forms.push("${VAR}");
    }
    if d.default {
        forms.push("${VAR:-default}");
    }
    if d.env_prefix {
        forms.push("${env:VAR}");
    }
    if d.input {
        forms.push("${input:ID}");
    }
    if d.workspace {
        forms.push("${workspaceFolder}, ${userHome}");
    }
    format!(" {}", forms.join(", "))
}

/// The index of the `}` closing a `${` whose body starts `s` (nested `${...}` in defaults count).
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name(s: &str) -> bool {
    s.starts_with(is_name_start) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::prompt::NoPrompter;

    fn expand(host: Host, s: &str) -> Result<String> {
        let env = Env::from_vars([("HOME", "/home/ann"), ("TOKEN", "t0k"), ("EMPTY", "")])
            .workspace("/work/proj");
        let defs = vec![InputDef::prompt_string("key", "API key", true)];
        let mut inputs = Inputs::new(NoPrompter);
        inputs.answer("key", "sekrit");
        Expander {
            dialect: host.dialect(),
            env: &env,
            input_defs: &defs,
            inputs: &mut inputs,
        }
        .expand(s)
    }

    #[test]
    fn claude_code_braced_and_defaults() {
        assert_eq!(
            expand(Host::ClaudeCode, "Bearer ${TOKEN}").unwrap(),
            "Bearer t0k"
        );
        assert_eq!(
            expand(Host::ClaudeCode, "${API:-https://x.dev}/mcp").unwrap(),
            "https://x.dev/mcp"
        );
        assert_eq!(
            expand(Host::ClaudeCode, "${NOPE:-${TOKEN}}").unwrap(),
            "t0k"
        );
        assert_eq!(expand(Host::ClaudeCode, "${EMPTY:-d}").unwrap(), "d");
        // Bare $VAR is not expanded by Claude Code; ${env:X} is not its syntax.
        assert_eq!(expand(Host::ClaudeCode, "$TOKEN").unwrap(), "$TOKEN");
        assert_eq!(
            expand(Host::ClaudeCode, "${env:TOKEN}").unwrap(),
            "${env:TOKEN}"
        );
        let e = expand(Host::ClaudeCode, "x ${MISSING} y").unwrap_err();
        assert!(e.message().contains("`MISSING` is not set"), "{e}");
    }

    #[test]
    fn vscode_env_input_workspace() {
        assert_eq!(expand(Host::VsCode, "${env:TOKEN}").unwrap(), "t0k");
        assert_eq!(expand(Host::VsCode, "${input:key}").unwrap(), "sekrit");
        assert_eq!(
            expand(Host::VsCode, "${workspaceFolder}/data").unwrap(),
            "/work/proj/data"
        );
        assert_eq!(expand(Host::VsCode, "${userHome}").unwrap(), "/home/ann");
        assert_eq!(
            expand(Host::VsCode, "${workspaceFolderBasename}").unwrap(),
            "proj"
        );
        // VS Code does not know ${VAR}: kept literally.
        assert_eq!(expand(Host::VsCode, "${TOKEN}").unwrap(), "${TOKEN}");
        let e = expand(Host::VsCode, "${env:MISSING}").unwrap_err();
        assert!(e.message().contains("`MISSING`"), "{e}");
        let e = expand(Host::VsCode, "${input:other}").unwrap_err();
        assert!(e.message().contains("input:other"), "{e}");
        let e = expand(Host::VsCode, "${command:pick}").unwrap_err();
        assert!(e.message().contains("unsupported variable"), "{e}");
    }

    #[test]
    fn gemini_bare_vars_stay_literal_when_unset() {
        assert_eq!(expand(Host::Gemini, "$TOKEN/${TOKEN}").unwrap(), "t0k/t0k");
        assert_eq!(
            expand(Host::Gemini, "cost $5 and $NOPE").unwrap(),
            "cost $5 and $NOPE"
        );
        assert!(expand(Host::Gemini, "${NOPE}").is_err());
    }

    #[test]
    fn hosts_without_variables_take_values_literally() {
        for host in [Host::ClaudeDesktop, Host::Codex, Host::Zed] {
            assert_eq!(expand(host, "${TOKEN} $TOKEN").unwrap(), "${TOKEN} $TOKEN");
        }
    }

    #[test]
    fn cursor_and_windsurf() {
        assert_eq!(
            expand(Host::Cursor, "${env:TOKEN}@${userHome}").unwrap(),
            "t0k@/home/ann"
        );
        assert_eq!(expand(Host::Windsurf, "${env:TOKEN}").unwrap(), "t0k");
        assert_eq!(
            expand(Host::Windsurf, "${userHome}").unwrap(),
            "${userHome}"
        );
    }

    #[test]
    fn unterminated_and_lonely_dollars_are_literal() {
        assert_eq!(expand(Host::Generic, "a$").unwrap(), "a$");
        assert_eq!(expand(Host::Generic, "${TOKEN").unwrap(), "${TOKEN");
        assert_eq!(expand(Host::Generic, "$$").unwrap(), "$$");
    }
}

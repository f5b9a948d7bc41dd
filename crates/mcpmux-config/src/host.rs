//! [`Host`]: the applications whose MCP config files mcpmux reads, their file locations and their
//! variable dialects.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::vars::Dialect;

/// An application whose MCP server config mcpmux reads.
///
/// ```
/// use mcpmux_config::Host;
/// assert_eq!("vscode".parse::<Host>(), Ok(Host::VsCode));
/// assert_eq!(Host::ClaudeCode.to_string(), "claude-code");
/// assert!("emacs".parse::<Host>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Host {
    /// A plain `mcpServers` file (`.mcp.json`, mcpmux's own): every variable form is expanded.
    Generic,
    /// Claude Desktop: `mcpServers`, stdio only, no variables.
    ClaudeDesktop,
    /// Claude Code: `.mcp.json`, `~/.claude.json` (incl. `projects[path].mcpServers`);
    /// `${VAR}` and `${VAR:-default}`.
    ClaudeCode,
    /// Cursor: `mcpServers`; `${env:VAR}`, `${userHome}`, `${workspaceFolder}`.
    Cursor,
    /// VS Code: `servers` + `inputs` (JSONC); `${input:id}`, `${env:VAR}`, `${workspaceFolder}`,
    /// `${userHome}`.
    VsCode,
    /// Windsurf: `mcpServers` with `serverUrl`; `${env:VAR}`.
    Windsurf,
    /// Gemini CLI: `mcpServers` in `settings.json` with `httpUrl`, `includeTools`,
    /// `excludeTools`, `timeout` (ms); `$VAR` and `${VAR}`.
    Gemini,
    /// OpenAI Codex CLI: TOML `[mcp_servers.NAME]`; no variables (secrets via `*_env_var`).
    Codex,
    /// Zed: `context_servers` (JSONC), `timeout` in seconds; no variables.
    Zed,
}

impl Host {
    /// Every host `--from` accepts, in the order of `mcpmux --help`.
    pub const ALL: [Host; 8] = [
        Host::ClaudeDesktop,
        Host::ClaudeCode,
        Host::Cursor,
        Host::VsCode,
        Host::Windsurf,
        Host::Gemini,
        Host::Codex,
        Host::Zed,
    ];

    /// The name used on the command line (`--from NAME`).
    pub fn as_str(self) -> &'static str {
        match self {
            Host::Generic => "generic",
            Host::ClaudeDesktop => "claude-desktop",
            Host::ClaudeCode => "claude-code",
            Host::Cursor => "cursor",
            Host::VsCode => "vscode",
            Host::Windsurf => "windsurf",
            Host::Gemini => "gemini",
            Host::Codex => "codex",
            Host::Zed => "zed",
        }
    }

    /// The variable forms this host expands in server entries.
    pub(crate) fn dialect(self) -> Dialect {
        let none = Dialect::default();
        match self {
            Host::Generic => Dialect {
                braced: true,
                default: true,
                env_prefix: true,
                input: true,
                workspace: true,
                bare: false,
            },
            Host::ClaudeDesktop | Host::Codex | Host::Zed => none,
            Host::ClaudeCode => Dialect {
                braced: true,
                default: true,
                ..none
            },
            Host::Cursor => Dialect {
                env_prefix: true,
                workspace: true,
                ..none
            },
            Host::VsCode => Dialect {
                env_prefix: true,
                input: true,
                workspace: true,
                ..none
            },
            Host::Windsurf => Dialect {
                env_prefix: true,
                ..none
            },
            Host::Gemini => Dialect {
                braced: true,
                default: true,
                bare: true,
                ..none
            },
        }
    }

    /// Guesses the host from a file's path (its name and parent folder); [`Host::Generic`] when
    /// nothing matches.
    ///
    /// ```
    /// use mcpmux_config::Host;
    /// use std::path::Path;
    /// assert_eq!(Host::from_path(Path::new("/p/.vscode/mcp.json")), Host::VsCode);
    /// assert_eq!(Host::from_path(Path::new("/home/u/.codex/config.toml")), Host::Codex);
    /// assert_eq!(Host::from_path(Path::new("servers.json")), Host::Generic);
    /// ```
    pub fn from_path(path: &Path) -> Host {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = path
            .parent()
            .and_then(Path::file_name)
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match (parent.as_str(), file.as_str()) {
            (_, "claude_desktop_config.json") => Host::ClaudeDesktop,
            (_, ".claude.json") => Host::ClaudeCode,
            (".cursor", "mcp.json") => Host::Cursor,
            (".vscode", "mcp.json") | ("User", "mcp.json") => Host::VsCode,
            (".gemini", "settings.json") => Host::Gemini,
            ("zed" | ".zed", "settings.json") => Host::Zed,
            (_, "mcp_config.json") => Host::Windsurf,
            (_, f) if f.ends_with(".toml") => Host::Codex,
            _ => Host::Generic,
        }
    }

    /// This host's config files, lowest precedence first (a later file's entry replaces an
    /// earlier one of the same name): user-wide files, then the project's under `workspace`.
    pub fn paths(self, env: &crate::Env) -> Vec<PathBuf> {
        let home = env.home();
        let ws = env.ws();
        let config_dir = env.config_dir();
        let mut out = Vec::new();
        let mut push = |p: Option<PathBuf>| out.extend(p);
        match self {
            Host::Generic => {
                push(config_dir.map(|c| c.join("mcpmux/mcp.json")));
                push(Some(ws.join(".mcp.json")));
            }
            Host::ClaudeDesktop => {
                if cfg!(target_os = "macos") {
                    push(home.map(|h| {
                        h.join("Library/Application Support/Claude/claude_desktop_config.json")
                    }));
                } else if cfg!(windows) {
                    push(
                        env.var("APPDATA")
                            .map(|a| PathBuf::from(a).join("Claude/claude_desktop_config.json")),
                    );
                } else {
                    push(config_dir.map(|c| c.join("Claude/claude_desktop_config.json")));
                }
            }
            Host::ClaudeCode => {
                // Order matters: ~/.claude.json's user scope < .mcp.json < its project scope;
                // `load_host` splits ~/.claude.json into those two layers.
                push(home.map(|h| h.join(".claude.json")));
                push(Some(ws.join(".mcp.json")));
            }
            Host::Cursor => {
                push(home.map(|h| h.join(".cursor/mcp.json")));
                push(Some(ws.join(".cursor/mcp.json")));
            }
            Host::VsCode => {
                let user = if cfg!(target_os = "macos") {
                    home.map(|h| h.join("Library/Application Support/Code/User"))
                } else if cfg!(windows) {
                    env.var("APPDATA")
                        .map(|a| PathBuf::from(a).join("Code/User"))
                } else {
                    config_dir.map(|c| c.join("Code/User"))
                };
                if let Some(user) = user {
                    push(Some(user.join("settings.json")));
                    push(Some(user.join("mcp.json")));
                }
                push(Some(ws.join(".vscode/settings.json")));
                push(Some(ws.join(".vscode/mcp.json")));
            }
            Host::Windsurf => {
                push(home.as_ref().map(|h| h.join(".codeium/mcp_config.json")));
                push(home.map(|h| h.join(".codeium/windsurf/mcp_config.json")));
            }
            Host::Gemini => {
                push(home.map(|h| h.join(".gemini/settings.json")));
                push(Some(ws.join(".gemini/settings.json")));
            }
            Host::Codex => {
                let codex_home = env
                    .var("CODEX_HOME")
                    .map(PathBuf::from)
                    .or_else(|| home.map(|h| h.join(".codex")));
                push(codex_home.map(|c| c.join("config.toml")));
                push(Some(ws.join(".codex/config.toml")));
            }
            Host::Zed => {
                push(config_dir.map(|c| c.join("zed/settings.json")));
                push(Some(ws.join(".zed/settings.json")));
            }
        }
        out
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Host {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Host::ALL
            .into_iter()
            .chain([Host::Generic])
            .find(|h| h.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Host::ALL.iter().map(|h| h.as_str()).collect();
                format!("unknown host `{s}` (one of: {})", names.join(", "))
            })
    }
}

/*!
Reads the MCP server configs users already have, unchanged, into [`ServerSpec`]s and
[`mcpmux::ServerBuilder`]s.

Every host's format is understood: the `mcpServers` JSON of Claude Desktop, Claude Code
(`.mcp.json`, `~/.claude.json` with its per-project entries), Cursor, Windsurf (`serverUrl`) and
Gemini CLI (`httpUrl`, `includeTools`/`excludeTools`, `timeout` in ms); VS Code's `servers` +
`inputs` (JSONC); Zed's `context_servers`; and Codex's TOML `[mcp_servers.NAME]`. Each host's
variables are expanded in its own dialect (see [`Host`] and the table in the `vars` module docs),
in values only, never in keys; unknown fields are ignored.

# Brief overview

- [`Config::load`] reads one file (`--config`), [`Config::load_host`] a host's usual files
  (`--from`), [`Config::discover`] the default locations, in this order:
  1. the file named by `$MCPMUX_CONFIG`, alone, if set;
  2. otherwise `${XDG_CONFIG_HOME:-~/.config}/mcpmux/mcp.json` and then `./.mcp.json`, merged
     (an entry of the project's `.mcp.json` replaces a same-named user entry).
- [`Config::resolve`] turns one entry into a [`ServerSpec`], expanding its variables (errors
  name the file, the server and the field); entries are resolved one by one, so a broken entry
  only breaks itself.
- [`ServerSpec::builder`] gives the [`mcpmux::ServerBuilder`].

# Example

```
use mcpmux_config::{Config, Env, Host, Inputs, NoPrompter, Transport};

let text = r#"{
  "mcpServers": {
    "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
    "docs": {"type": "http", "url": "${DOCS_URL:-https://docs.example/mcp}",
             "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}}
  }
}"#;
let env = Env::from_vars([("DOCS_TOKEN", "t0k")]);
let config = Config::parse(text, Host::ClaudeCode, env)?;
let mut inputs = Inputs::new(NoPrompter);
let docs = config.resolve("docs", &mut inputs)?;
match &docs.transport {
    Transport::Http(http) => {
        assert_eq!(http.url, "https://docs.example/mcp");
        assert_eq!(http.headers, [("Authorization".to_owned(), "Bearer t0k".to_owned())]);
    }
    other => panic!("{other:?}"),
}
let server = docs.builder().build().expect("a valid URL");
# let _ = server;
# Ok::<(), mcpmux_config::ConfigError>(())
```
*/
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(unused_must_use)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod codex;
mod document;
mod dotenv;
mod entry;
mod env;
mod error;
mod fields;
mod host;
mod jsonc;
mod oauth;
mod prompt;
mod spec;
mod vars;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

pub use env::Env;
pub use error::{ConfigError, Result};
pub use host::Host;
pub use oauth::OAuthSpec;
pub use prompt::{InputDef, NoPrompter, Prompter, TerminalPrompter};
pub use spec::{HttpSpec, Origin, ServerSpec, StdioSpec, Transport};
pub use vars::Inputs;

/// The environment variable naming a config file to use instead of the default locations.
pub const CONFIG_ENV: &str = "MCPMUX_CONFIG";

/// One server entry as written in its file, not yet resolved.
#[derive(Debug, Clone)]
pub struct ServerEntry {
    name: String,
    origin: Origin,
    /// Whose field conventions apply (an entry of `context_servers` follows Zed's, ...).
    flavor: Host,
    fields: Map<String, Value>,
    inputs: Arc<[InputDef]>,
}

impl ServerEntry {
    /// The server's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where it came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

/// The servers of one or more config files, merged by name.
#[derive(Debug, Clone)]
pub struct Config {
    entries: Vec<ServerEntry>,
    files: Vec<PathBuf>,
    env: Env,
}

impl Config {
    /// Parses a config text in `host`'s format (not from a file).
    ///
    /// # Errors
    /// Invalid JSON/TOML, a server map that is not an object, a bad server name.
    pub fn parse(text: &str, host: Host, env: Env) -> Result<Config> {
        let layers = document::parse(text, None, host, &env)?;
        Ok(Config::merge(vec![(0, layers)], Vec::new(), env))
    }

    /// Reads one config file. Its format is `host`, or guessed from its path
    /// ([`Host::from_path`]; a `.toml` file is Codex's).
    ///
    /// # Errors
    /// An unreadable file, invalid JSON/TOML, a bad server name (each naming the file).
    pub fn load(path: &Path, host: Option<Host>, env: Env) -> Result<Config> {
        let host = host.unwrap_or_else(|| Host::from_path(path));
        let layers = read(path, host, &env)?;
        Ok(Config::merge(
            vec![(0, layers)],
            vec![path.to_path_buf()],
            env,
        ))
    }

    /// Reads `host`'s usual files ([`Host::paths`]) that exist, merged: a project file's entry
    /// replaces a same-named user entry (Claude Code: user < `.mcp.json` < local project entries
    /// of `~/.claude.json`).
    ///
    /// # Errors
    /// None of the files exists, or one is broken.
    pub fn load_host(host: Host, env: Env) -> Result<Config> {
        let candidates = host.paths(&env);
        let existing: Vec<PathBuf> = candidates.iter().filter(|p| p.is_file()).cloned().collect();
        if existing.is_empty() {
            let list: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            return Err(ConfigError::new(format!(
                "no {host} config found (looked for {})",
                list.join(", ")
            )));
        }
        Config::load_all(&existing, host, env)
    }

    /// Reads the default locations (see the crate docs); `Ok(None)` if there is no config.
    ///
    /// # Errors
    /// `$MCPMUX_CONFIG` names a missing file, or a file is broken.
    pub fn discover(env: Env) -> Result<Option<Config>> {
        if let Some(path) = env.var(CONFIG_ENV).filter(|p| !p.is_empty()) {
            return Config::load(Path::new(&path), None, env).map(Some);
        }
        let existing: Vec<PathBuf> = Host::Generic
            .paths(&env)
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        if existing.is_empty() {
            return Ok(None);
        }
        Config::load_all(&existing, Host::Generic, env).map(Some)
    }

    /// The default locations [`discover`](Self::discover) looks at, in order.
    pub fn default_paths(env: &Env) -> Vec<PathBuf> {
        match env.var(CONFIG_ENV).filter(|p| !p.is_empty()) {
            Some(p) => vec![PathBuf::from(p)],
            None => Host::Generic.paths(env),
        }
    }

    fn load_all(files: &[PathBuf], host: Host, env: Env) -> Result<Config> {
        let mut all = Vec::new();
        for (i, f) in files.iter().enumerate() {
            // Host::Generic files may be anyone's: guess each one's format from its path.
            let file_host = if host == Host::Generic {
                Host::from_path(f)
            } else {
                host
            };
            all.push((i as u32, read(f, file_host, &env)?));
        }
        Ok(Config::merge(all, files.to_vec(), env))
    }

    fn merge(files: Vec<(u32, Vec<document::Layer>)>, paths: Vec<PathBuf>, env: Env) -> Config {
        let mut layers: Vec<(u32, Vec<ServerEntry>)> = files
            .into_iter()
            .flat_map(|(i, ls)| ls.into_iter().map(move |l| (l.rank + i, l.entries)))
            .collect();
        layers.sort_by_key(|(rank, _)| *rank);
        let mut entries: Vec<ServerEntry> = Vec::new();
        for (_, layer) in layers {
            for e in layer {
                match entries.iter_mut().find(|x| x.name == e.name) {
                    Some(slot) => *slot = e,
                    None => entries.push(e),
                }
            }
        }
        // By name, whatever order the file's JSON object iterates in (serde_json keeps the
        // document's order when its `preserve_order` feature is on, as rig turns it on for the
        // whole of the `mcpmux` binary).
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Config {
            entries,
            files: paths,
            env,
        }
    }

    /// The files read.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The server entries, sorted by name.
    pub fn entries(&self) -> &[ServerEntry] {
        &self.entries
    }

    /// The server names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// The entry called `name`.
    pub fn entry(&self, name: &str) -> Option<&ServerEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Resolves the server `name`: transport, expanded values, tool filter, timeouts.
    ///
    /// # Errors
    /// No such server; a field of the wrong type; a missing variable; an unanswerable input.
    pub fn resolve(&self, name: &str, inputs: &mut Inputs) -> Result<ServerSpec> {
        let entry = self.entry(name).ok_or_else(|| {
            let names: Vec<&str> = self.names().collect();
            let mut e = ConfigError::new(format!(
                "no server named `{name}` (configured: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ));
            if let [file] = self.files.as_slice() {
                e = e.in_file(file);
            }
            e
        })?;
        self.resolve_entry(entry, inputs)
    }

    /// Resolves every server, each on its own.
    pub fn resolve_all(&self, inputs: &mut Inputs) -> Vec<(String, Result<ServerSpec>)> {
        self.entries
            .iter()
            .map(|e| (e.name.clone(), self.resolve_entry(e, inputs)))
            .collect()
    }

    fn resolve_entry(&self, entry: &ServerEntry, inputs: &mut Inputs) -> Result<ServerSpec> {
        let locate = |e: ConfigError| {
            let e = e.in_server(&entry.name);
            match &entry.origin.file {
                Some(f) => e.in_file(f),
                None => e,
            }
        };
        let mut fields = fields::Fields {
            map: &entry.fields,
            vars: vars::Expander {
                dialect: entry.origin.host.dialect(),
                env: &self.env,
                input_defs: &entry.inputs,
                inputs,
            },
        };
        let ws = self.env.workspace_dir();
        let (transport, tools, timeout, startup_timeout) = if entry.flavor == Host::Codex {
            codex::resolve(&mut fields, ws).map_err(locate)?
        } else {
            entry::resolve(&mut fields, entry.flavor, ws).map_err(locate)?
        };
        if let Transport::Stdio(s) = &transport
            && entry.origin.host == Host::ClaudeDesktop
            && s.command.is_empty()
        {
            return Err(locate(
                ConfigError::new("empty command").in_field("command"),
            ));
        }
        Ok(ServerSpec {
            name: entry.name.clone(),
            transport,
            tools,
            timeout,
            startup_timeout,
            origin: entry.origin.clone(),
        })
    }
}

/// Parses a config text in `host`'s format with this process's environment.
///
/// # Errors
/// As [`Config::parse`].
pub fn parse_str(text: &str, host: Host) -> Result<Config> {
    Config::parse(text, host, Env::from_process())
}

fn read(path: &Path, host: Host, env: &Env) -> Result<Vec<document::Layer>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(format!("cannot read the file: {e}")).in_file(path))?;
    document::parse(&text, Some(path), host, env)
}

#[cfg(test)]
mod tests;

//! Finding the server entries in one parsed config file: the four spellings of the server map,
//! Claude Code's per-project entries, VS Code's settings.json `mcp` key, and a bare map.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::env::Env;
use crate::error::{ConfigError, Result};
use crate::host::Host;
use crate::prompt::InputDef;
use crate::{Origin, ServerEntry};

/// Entries of one scope of one file; a higher `rank` replaces same-named entries of a lower one.
#[derive(Debug)]
pub(crate) struct Layer {
    pub(crate) rank: u32,
    pub(crate) entries: Vec<ServerEntry>,
}

/// Parses `text` (the contents of `file`, in `host`'s format) into its layers.
pub(crate) fn parse(text: &str, file: Option<&Path>, host: Host, env: &Env) -> Result<Vec<Layer>> {
    let at = |e: ConfigError| match file {
        Some(f) => e.in_file(f),
        None => e,
    };
    let origin = Origin {
        file: file.map(Path::to_path_buf),
        host,
    };
    if host == Host::Codex {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            at(ConfigError::new(format!(
                "invalid TOML: {}",
                e.to_string().trim()
            )))
        })?;
        let root = serde_json::to_value(&table)
            .map_err(|e| at(ConfigError::new(format!("unreadable TOML: {e}"))))?;
        let entries = match root.get("mcp_servers") {
            None => Vec::new(),
            Some(map) => entries(
                map,
                "mcp_servers",
                &origin,
                Host::Codex,
                &Arc::from(Vec::new()),
            )
            .map_err(at)?,
        };
        return Ok(vec![Layer { rank: 0, entries }]);
    }
    let root: Value = serde_json::from_str(&crate::jsonc::strip(text)).map_err(|e| {
        at(ConfigError::new(format!(
            "invalid JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        )))
    })?;
    let Value::Object(root) = root else {
        return Err(at(ConfigError::new(format!(
            "expected a JSON object at the top, got {}",
            crate::fields::json_type(&root)
        ))));
    };
    // VS Code: `servers` + `inputs`, or settings.json's `mcp: {servers, inputs}`.
    let vscode_root = match root.get("mcp") {
        Some(Value::Object(mcp)) if !root.contains_key("servers") => mcp,
        _ => &root,
    };
    let inputs: Arc<[InputDef]> = vscode_root
        .get("inputs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(InputDef::from_json).collect())
        .unwrap_or_default();
    // (the map's key for errors, the map, whose field conventions, rank)
    let mut maps: Vec<(String, &Value, Host, u32)> = Vec::new();
    if let Some(map) = root.get("mcpServers") {
        maps.push(("mcpServers".into(), map, host, 0));
    }
    if let Some(map) = vscode_root.get("servers") {
        maps.push(("servers".into(), map, Host::VsCode, 0));
    }
    if let Some(map) = root.get("context_servers") {
        maps.push(("context_servers".into(), map, Host::Zed, 0));
    }
    // Claude Code's ~/.claude.json: `projects["/abs/path"].mcpServers` for the workspace (or
    // the nearest folder above it) outranks the project's .mcp.json.
    if let Some(Value::Object(projects)) = root.get("projects")
        && let Some((path, project)) = nearest_project(projects, env.workspace_dir())
        && let Some(map) = project.get("mcpServers")
    {
        maps.push((format!("projects[{path:?}].mcpServers"), map, host, 1000));
    }
    let bare;
    if maps.is_empty() && host == Host::Generic {
        if is_bare_map(&root) {
            bare = Value::Object(root.clone());
            maps.push(("(top level)".into(), &bare, Host::Generic, 0));
        } else if !root.is_empty() {
            return Err(at(ConfigError::new(
                "no server map found: expected `mcpServers`, `servers` or `context_servers`",
            )));
        }
    }
    let mut layers = Vec::with_capacity(maps.len());
    for (key, map, flavor, rank) in maps {
        layers.push(Layer {
            rank,
            entries: entries(map, &key, &origin, flavor, &inputs).map_err(at)?,
        });
    }
    Ok(layers)
}

/// serde_json appends " at line L column C"; the caller reports the position first.
fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

/// The entry of `projects` whose path is the workspace or its nearest ancestor.
fn nearest_project<'a>(
    projects: &'a Map<String, Value>,
    ws: &Path,
) -> Option<(&'a str, &'a Value)> {
    ws.ancestors().find_map(|dir| {
        projects
            .iter()
            .find(|(p, _)| Path::new(p.as_str()) == dir)
            .map(|(p, v)| (p.as_str(), v))
    })
}

/// fastmcp accepts a file that is only the server map: every value an object with a `command`
/// or a URL.
fn is_bare_map(root: &Map<String, Value>) -> bool {
    !root.is_empty()
        && root.values().all(|v| {
            v.as_object().is_some_and(|o| {
                ["command", "url", "serverUrl", "httpUrl"]
                    .iter()
                    .any(|k| o.contains_key(*k))
            })
        })
}

/// The entries of one server map, disabled ones left out.
fn entries(
    map: &Value,
    key: &str,
    origin: &Origin,
    flavor: Host,
    inputs: &Arc<[InputDef]>,
) -> Result<Vec<ServerEntry>> {
    let Value::Object(map) = map else {
        return Err(ConfigError::new(format!(
            "expected an object of servers, got {}",
            crate::fields::json_type(map)
        ))
        .in_field(key));
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        check_name(name).map_err(|e| e.in_server(name))?;
        let Value::Object(fields) = value else {
            return Err(ConfigError::new(format!(
                "expected an object, got {}",
                crate::fields::json_type(value)
            ))
            .in_server(name));
        };
        let disabled = fields.get("disabled") == Some(&Value::Bool(true))
            || fields.get("enabled") == Some(&Value::Bool(false));
        if disabled {
            tracing::debug!(server = %name, "skipping a disabled server");
            continue;
        }
        out.push(ServerEntry {
            name: name.clone(),
            origin: origin.clone(),
            flavor,
            fields: fields.clone(),
            inputs: inputs.clone(),
        });
    }
    Ok(out)
}

/// Server names are used in `SERVER.TOOL`: no `.`, not empty, no control characters.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(ConfigError::new("a server name may not be empty"));
    }
    if name.contains('.') {
        return Err(ConfigError::new(
            "a server name may not contain `.` (it separates server and tool in SERVER.TOOL)",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ConfigError::new(
            "a server name may not contain control characters",
        ));
    }
    Ok(())
}

//! The names the gateway offers its tools under: prefixed or not (`--prefix`), and always valid
//! under MCP's tool-name rule (1–128 characters of `A-Z a-z 0-9 _ - .`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use mcpmux::{Tool, ToolInfo};

use crate::error::GatewayError;
use crate::metrics::Series;

/// The longest tool name MCP allows.
pub const MAX_TOOL_NAME: usize = 128;

/// When tool names carry their server's name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Prefix {
    /// Every tool as `SERVER_TOOL` (the toolset's name, as exported to LLM APIs).
    #[default]
    Always,
    /// A tool keeps its own name unless another server offers the same name; then each of those
    /// is `SERVER_TOOL`.
    Auto,
    /// Every tool keeps its own name; two servers offering the same name is an error.
    Never,
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Prefix::Always => "always",
            Prefix::Auto => "auto",
            Prefix::Never => "never",
        })
    }
}

/// Whether `name` is a valid MCP tool name.
///
/// ```
/// use mcpmux_gateway::is_valid_tool_name;
/// assert!(is_valid_tool_name("github_search.v2-beta"));
/// assert!(!is_valid_tool_name("has space"));
/// assert!(!is_valid_tool_name(""));
/// assert!(!is_valid_tool_name(&"x".repeat(129)));
/// ```
pub fn is_valid_tool_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_TOOL_NAME && name.bytes().all(allowed)
}

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// FNV-1a, 32 bits: a stable suffix for names that had to be cut.
fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// `name` made valid: each disallowed character becomes `_`; a name longer than 128 is cut and
/// ends in `_` and 8 hex digits of a hash of the original. `None` for an empty name.
pub(crate) fn sanitize(name: &str) -> Option<String> {
    if is_valid_tool_name(name) {
        return Some(name.to_owned());
    }
    if name.is_empty() {
        return None;
    }
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && allowed(c as u8) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.len() <= MAX_TOOL_NAME {
        return Some(clean);
    }
    let cut: String = clean.chars().take(MAX_TOOL_NAME - 9).collect();
    Some(format!("{cut}_{:08x}", fnv1a(name)))
}

/// One tool as the gateway offers it.
#[derive(Debug)]
pub(crate) struct Exposed {
    /// The upstream server.
    pub(crate) server: String,
    /// The server's own name of the tool.
    pub(crate) upstream: String,
    /// The toolset's (prefixed) name of the tool: what calls go through.
    pub(crate) toolset_name: String,
    /// The upstream's definition, with `name` set to the offered name.
    pub(crate) tool: Tool,
    /// Its `/metrics` series, looked up on its first call (a call then costs no label lookup).
    pub(crate) series: OnceLock<Series>,
}

/// The offered tools and the way from an offered name back to its server.
#[derive(Debug, Default)]
pub(crate) struct ToolMap {
    /// Shared, so that a call holds its tool without copying its definition.
    pub(crate) tools: Vec<Arc<Exposed>>,
    by_name: HashMap<String, usize>,
}

impl ToolMap {
    /// Names the toolset's tools under `prefix`.
    ///
    /// # Errors
    /// With [`Prefix::Never`], two servers offering the same name; in any mode, two tools whose
    /// names become the same once made valid. The message names both servers.
    pub(crate) fn build(infos: Vec<ToolInfo>, prefix: Prefix) -> Result<ToolMap, GatewayError> {
        let mut servers_of: HashMap<&str, usize> = HashMap::new();
        for info in &infos {
            *servers_of.entry(info.tool.name.as_str()).or_default() += 1;
        }
        let raw: Vec<String> = infos
            .iter()
            .map(|info| match prefix {
                Prefix::Always => info.name.clone(),
                Prefix::Auto if servers_of.get(info.tool.name.as_str()) > Some(&1) => {
                    info.name.clone()
                }
                Prefix::Auto | Prefix::Never => info.tool.name.clone(),
            })
            .collect();
        let mut map = ToolMap::default();
        for (info, raw) in infos.into_iter().zip(raw) {
            let Some(name) = sanitize(&raw) else {
                tracing::warn!(server = %info.server, "a tool with an empty name is not offered");
                continue;
            };
            if let Some(&other) = map.by_name.get(&name) {
                let o = &map.tools[other];
                return Err(GatewayError::NameConflict {
                    name,
                    first: (o.server.clone(), o.upstream.clone()),
                    second: (info.server, info.tool.name),
                    prefix,
                });
            }
            let mut tool = info.tool;
            let upstream = std::mem::replace(&mut tool.name, name.clone());
            map.by_name.insert(name, map.tools.len());
            map.tools.push(Arc::new(Exposed {
                server: info.server,
                upstream,
                toolset_name: info.name,
                tool,
                series: OnceLock::new(),
            }));
        }
        Ok(map)
    }

    /// The tool offered as `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<Exposed>> {
        self.by_name.get(name).map(|&i| &self.tools[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(server: &str, tool: &str) -> ToolInfo {
        let tool: Tool = serde_json::from_value(serde_json::json!({
            "name": tool, "inputSchema": {"type": "object"}, "description": "d"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        ToolInfo::new(format!("{server}_{}", tool.name), server, tool)
    }

    fn names(map: &ToolMap) -> Vec<&str> {
        map.tools.iter().map(|e| e.tool.name.as_str()).collect()
    }

    fn sample() -> Vec<ToolInfo> {
        vec![
            info("a", "echo"),
            info("a", "add"),
            info("b", "echo"),
            info("b", "pid"),
        ]
    }

    #[test]
    fn always_prefixes_every_tool() {
        let map = ToolMap::build(sample(), Prefix::Always).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&map), ["a_echo", "a_add", "b_echo", "b_pid"]);
        let e = map.get("b_echo").unwrap_or_else(|| panic!("b_echo"));
        assert_eq!((e.server.as_str(), e.upstream.as_str()), ("b", "echo"));
        assert_eq!(e.tool.description.as_deref(), Some("d"));
    }

    #[test]
    fn auto_prefixes_only_colliding_names() {
        let map = ToolMap::build(sample(), Prefix::Auto).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&map), ["a_echo", "add", "b_echo", "pid"]);
        assert_eq!(map.get("add").map(|e| e.server.as_str()), Some("a"));
    }

    #[test]
    fn never_refuses_a_collision_naming_both_servers() {
        let err = ToolMap::build(sample(), Prefix::Never)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("`echo`"), "{err}");
        assert!(
            err.contains("server `a`") && err.contains("server `b`"),
            "{err}"
        );
        assert!(err.contains("--prefix auto"), "{err}");
        let map = ToolMap::build(vec![info("a", "x"), info("b", "y")], Prefix::Never)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&map), ["x", "y"]);
    }

    #[test]
    fn names_are_made_valid() {
        assert_eq!(sanitize("my tool/é").as_deref(), Some("my_tool__"));
        assert_eq!(sanitize("ok.name-1").as_deref(), Some("ok.name-1"));
        assert_eq!(sanitize(""), None);
        let long = sanitize(&"x".repeat(300)).unwrap_or_default();
        assert_eq!(long.len(), MAX_TOOL_NAME);
        assert!(is_valid_tool_name(&long));
        let map = ToolMap::build(vec![info("my server", "do it")], Prefix::Always)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&map), ["my_server_do_it"]);
        assert_eq!(map.tools[0].upstream, "do it");
        // Two names that become one once cleaned are refused, naming both.
        let err = ToolMap::build(vec![info("a", "x y"), info("b", "x_y")], Prefix::Never)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("`x_y`") && err.contains("`x y`"), "{err}");
    }
}

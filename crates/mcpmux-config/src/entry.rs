//! One JSON server entry (`mcpServers`, `servers`, `context_servers`) resolved into a
//! [`ServerSpec`].
//!
//! Transport inference: an explicit `type` (or fastmcp's `transport`) wins; else `command` means
//! stdio; else Gemini's `httpUrl` means Streamable HTTP; else a `url` (or Windsurf's `serverUrl`)
//! whose path ends in `/sse` means legacy SSE, and any other URL Streamable HTTP with legacy-SSE
//! fallback.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mcpmux::{HttpMode, ToolFilter};

use crate::dotenv;
use crate::error::{ConfigError, Result};
use crate::fields::Fields;
use crate::host::Host;
use crate::spec::{HttpSpec, StdioSpec, Transport};

/// What an entry says about its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    Stdio,
    Http,
    Sse,
}

fn declared(f: &Fields<'_, '_>) -> Result<Option<(Declared, &'static str)>> {
    for key in ["type", "transport"] {
        let Some(t) = f.raw_str(key)? else {
            continue;
        };
        let d = match t.to_ascii_lowercase().as_str() {
            "stdio" => Declared::Stdio,
            "http" | "streamable-http" | "streamable_http" | "streamablehttp" | "streamable" => {
                Declared::Http
            }
            "sse" => Declared::Sse,
            _ => {
                return Err(ConfigError::new(format!(
                    "unknown transport `{t}` (expected stdio, http, streamable-http or sse)"
                ))
                .in_field(key));
            }
        };
        return Ok(Some((d, key)));
    }
    Ok(None)
}

/// Whether a URL's path ends in `/sse` (the legacy transport's usual endpoint).
pub(crate) fn looks_like_sse(url: &str) -> bool {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    no_query.trim_end_matches('/').ends_with("/sse")
}

/// The transport, common fields, tool filter, request timeout and startup bound
/// (`connect_timeout`, seconds) of a JSON entry. `flavor` says whose
/// field conventions apply (timeouts in seconds for Zed, `http` falling back to SSE in VS Code).
pub(crate) fn resolve(
    f: &mut Fields<'_, '_>,
    flavor: Host,
    workspace: &Path,
) -> Result<(Transport, ToolFilter, Option<Duration>, Option<Duration>)> {
    let declared = declared(f)?;
    let url_key = ["httpUrl", "url", "serverUrl"]
        .into_iter()
        .find(|k| f.has(k));
    let has_command = f.has("command");
    let kind = match (declared, has_command, url_key) {
        (Some((Declared::Stdio, _)), _, _) => Declared::Stdio,
        (Some((d, key)), _, None) => {
            return Err(ConfigError::new(format!(
                "transport `{}` needs a `url`",
                f.raw_str(key)
                    .ok()
                    .flatten()
                    .unwrap_or(if d == Declared::Sse { "sse" } else { "http" })
            ))
            .in_field("url"));
        }
        (Some((d, _)), _, Some(_)) => d,
        (None, true, _) => Declared::Stdio,
        (None, false, Some(_)) => Declared::Http,
        (None, false, None) => {
            return Err(ConfigError::new(
                "needs `command` (a stdio server) or `url` (an HTTP server)",
            ));
        }
    };
    let transport = match kind {
        Declared::Stdio => Transport::Stdio(stdio(f, flavor, workspace)?),
        Declared::Http | Declared::Sse => {
            // Checked above: an HTTP kind always has a URL key.
            let key = url_key.unwrap_or("url");
            let url = f.string(key)?.unwrap_or_default();
            let mode = match (kind, declared.is_some(), key) {
                (Declared::Sse, _, _) => HttpMode::Sse,
                (_, true, _) if flavor == Host::VsCode => HttpMode::Auto,
                (_, true, _) | (_, false, "httpUrl") => HttpMode::Streamable,
                _ if looks_like_sse(&url) => HttpMode::Sse,
                _ => HttpMode::Auto,
            };
            let headers = f
                .string_map("headers", true)?
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            let oauth = crate::oauth::read(f)?;
            Transport::Http(HttpSpec {
                url,
                headers,
                bearer: None,
                mode,
                oauth,
            })
        }
    };
    let mut filter = ToolFilter::all();
    let include = f.strings("includeTools", false)?;
    if f.has("includeTools") {
        filter = filter.include(include);
    }
    filter = filter.exclude(f.strings("excludeTools", false)?);
    let timeout = f
        .number("timeout")?
        .map(|t| {
            if flavor == Host::Zed {
                Duration::from_secs_f64(t)
            } else {
                Duration::from_secs_f64(t / 1000.0)
            }
        })
        .filter(|t| !t.is_zero());
    // mcpmux's own field, in seconds for every host format.
    let startup = f
        .number("connect_timeout")?
        .map(Duration::from_secs_f64)
        .filter(|t| !t.is_zero());
    Ok((transport, filter, timeout, startup))
}

fn stdio(f: &mut Fields<'_, '_>, flavor: Host, workspace: &Path) -> Result<StdioSpec> {
    // Zed's older form: "command": {"path": ..., "args": [...], "env": {...}}.
    let map = f.map;
    if let Some(serde_json::Value::Object(inner)) = map.get("command")
        && flavor == Host::Zed
    {
        let mut nested = Fields {
            map: inner,
            vars: crate::vars::Expander {
                dialect: f.vars.dialect,
                env: f.vars.env,
                input_defs: f.vars.input_defs,
                inputs: &mut *f.vars.inputs,
            },
        };
        let command = nested
            .string("path")
            .map_err(|e| e.in_field("command.path"))?
            .ok_or_else(|| ConfigError::new("missing").in_field("command.path"))?;
        let args = nested
            .strings("args", true)
            .map_err(|e| e.in_field("command.args"))?;
        let env = nested
            .string_map("env", true)
            .map_err(|e| e.in_field("command.env"))?;
        return Ok(StdioSpec {
            command,
            args,
            env,
            cwd: None,
        });
    }
    let command = f
        .string("command")?
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ConfigError::new("a stdio server needs a command").in_field("command"))?;
    let args = f.strings("args", true)?;
    let mut env = Vec::new();
    if let Some(file) = f.string("envFile")? {
        let path = relative_to(workspace, &file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::new(format!("cannot read {}: {e}", path.display())).in_field("envFile")
        })?;
        env.extend(
            dotenv::parse(&text)
                .map_err(|e| e.in_field("envFile"))?
                .into_iter()
                .map(|(k, v)| (k, Some(v))),
        );
    }
    env.extend(f.string_map("env", true)?);
    let cwd = f.string("cwd")?.map(|c| relative_to(workspace, &c));
    Ok(StdioSpec {
        command,
        args,
        env,
        cwd,
    })
}

/// `path`, or `path` under `base` if it is relative.
pub(crate) fn relative_to(base: &Path, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() { p } else { base.join(p) }
}

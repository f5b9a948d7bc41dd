//! Codex's `[mcp_servers.NAME]` tables (TOML) resolved into [`ServerSpec`] parts.
//!
//! Codex expands no variables: secrets come from environment variables named by
//! `bearer_token_env_var`, `env_http_headers` and `env_vars`. Its HTTP servers speak Streamable
//! HTTP only; timeouts are in seconds (`startup_timeout_sec`, `tool_timeout_sec`) or, for startup,
//! milliseconds (`startup_timeout_ms`).

use std::path::Path;
use std::time::Duration;

use mcpmux::{HttpMode, ToolFilter};

use crate::error::{ConfigError, Result};
use crate::fields::Fields;
use crate::spec::{HttpSpec, StdioSpec, Transport};

/// Transport, filter, tool timeout and startup timeout of a Codex entry.
pub(crate) fn resolve(
    f: &mut Fields<'_, '_>,
    workspace: &Path,
) -> Result<(Transport, ToolFilter, Option<Duration>, Option<Duration>)> {
    let transport = match (f.has("command"), f.has("url")) {
        (true, true) => {
            return Err(ConfigError::new(
                "has both `command` and `url`: a Codex server is either stdio or HTTP",
            ));
        }
        (false, false) => {
            return Err(ConfigError::new(
                "needs `command` (a stdio server) or `url` (a Streamable HTTP server)",
            ));
        }
        (true, false) => {
            let command = f
                .string("command")?
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| ConfigError::new("empty command").in_field("command"))?;
            let args = f.strings("args", false)?;
            let mut env: Vec<(String, Option<String>)> = Vec::new();
            for name in f.strings("env_vars", false)? {
                if let Some(v) = f.vars.env.var(&name) {
                    env.push((name, Some(v)));
                }
            }
            env.extend(f.string_map("env", false)?);
            let cwd = f
                .string("cwd")?
                .map(|c| crate::entry::relative_to(workspace, &c));
            Transport::Stdio(StdioSpec {
                command,
                args,
                env,
                cwd,
            })
        }
        (false, true) => {
            let url = f.string("url")?.unwrap_or_default();
            let mut headers: Vec<(String, String)> = f
                .string_map("http_headers", false)?
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            for (header, var) in f.string_map("env_http_headers", false)? {
                // As Codex does: a header whose variable is unset or empty is not sent.
                if let Some(value) = var
                    .and_then(|var| f.vars.env.var(&var))
                    .filter(|v| !v.is_empty())
                {
                    headers.push((header, value));
                }
            }
            let bearer = match f.string("bearer_token_env_var")? {
                Some(var) => Some(f.vars.env.var(&var).filter(|v| !v.is_empty()).ok_or_else(
                    || {
                        ConfigError::new(format!("environment variable `{var}` is not set"))
                            .in_field("bearer_token_env_var")
                    },
                )?),
                None => None,
            };
            let oauth = crate::oauth::read(f)?;
            Transport::Http(HttpSpec {
                url,
                headers,
                bearer,
                mode: HttpMode::Streamable,
                oauth,
            })
        }
    };
    let mut filter = ToolFilter::all();
    if f.has("enabled_tools") {
        filter = filter.include(f.strings("enabled_tools", false)?);
    }
    filter = filter.exclude(f.strings("disabled_tools", false)?);
    let tool_timeout = f.number("tool_timeout_sec")?.map(Duration::from_secs_f64);
    let startup = match f.number("startup_timeout_sec")? {
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => f
            .number("startup_timeout_ms")?
            .map(|ms| Duration::from_secs_f64(ms / 1000.0)),
    };
    Ok((
        transport,
        filter,
        tool_timeout.filter(|t| !t.is_zero()),
        startup.filter(|t| !t.is_zero()),
    ))
}

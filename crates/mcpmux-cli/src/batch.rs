//! `mcpmux batch`: JSON Lines of calls in, JSON Lines of results out, in input order, calls
//! running concurrently across all servers.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Instant;

use futures_util::StreamExt as _;
use mcpmux::{CallToolResult, Toolset};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::args::{BatchArgs, GlobalArgs};
use crate::exit::{Code, Failure, Outcome};
use crate::target::{self, Targets};

/// How many input lines may wait, read but not yet started.
const READ_AHEAD: usize = 1024;

/// One input line: its 0-based number, and its text (or why it is unreadable).
type Line = (u64, Result<String, String>);

/// A call's failure: the stable kind and a message.
#[derive(Debug, Clone)]
struct Failed {
    kind: &'static str,
    message: String,
    /// A tool error keeps its result.
    result: Option<CallToolResult>,
}

impl Failed {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Failed {
            kind,
            message: message.into(),
            result: None,
        }
    }
}

/// Runs `mcpmux batch`.
pub async fn run(args: BatchArgs, global: &GlobalArgs) -> Outcome {
    let input: Box<dyn Read + Send> = match &args.input {
        Some(path) => Box::new(std::fs::File::open(path).map_err(|e| {
            Failure::new(
                Code::Usage,
                anyhow::Error::new(e).context(format!("cannot open {}", path.display())),
            )
        })?),
        None => Box::new(io::stdin()),
    };
    let targets = Targets::select(global, &args.server, None)?;
    let ad_hoc = targets.ad_hoc;
    let (toolset, broken) = targets.connect(global).await?;
    // Unavailable servers are reported now; their calls fail one by one.
    target::report(&toolset, &broken);
    let ad_hoc_server = if ad_hoc {
        toolset.server_names().next().map(str::to_owned)
    } else {
        None
    };

    let lines = read_lines(input);
    let started = Instant::now();
    let bar = crate::progress::counter("calls", global.quiet);
    let toolset_ref = &toolset;
    let broken_ref = &broken;
    let ad_hoc_ref = ad_hoc_server.as_deref();
    let results = lines
        .map(|(n, line)| async move {
            let id_default = json!(n);
            match line {
                Err(why) => (id_default, Err(Failed::new("invalid_input", why))),
                Ok(text) => one(toolset_ref, broken_ref, ad_hoc_ref, n, &text).await,
            }
        })
        .buffered(usize::try_from(args.concurrency).unwrap_or(usize::MAX));
    let mut results = std::pin::pin!(results);

    let mut total = 0u64;
    let mut ok = 0u64;
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    while let Some((id, outcome)) = results.next().await {
        total += 1;
        bar.inc(1);
        match &outcome {
            Ok(_) => ok += 1,
            Err(f) => *kinds.entry(f.kind).or_default() += 1,
        }
        let line = render(&id, &outcome);
        let mut out = io::stdout().lock();
        out.write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .map_err(Failure::output)?;
    }
    bar.finish_and_clear();
    if global.chatty() {
        let failed: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let failed = if failed.is_empty() {
            String::new()
        } else {
            format!(" ({})", failed.join(", "))
        };
        let _ = writeln!(
            io::stderr().lock(),
            "mcpmux: batch: {total} calls, {ok} ok, {} failed{failed} in {:.2} s",
            total - ok,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if ok == total {
        Code::Success
    } else {
        Code::Failed
    })
}

/// Reads `input` line by line on a thread of its own (a blocking read never holds up the
/// runtime), skipping blank lines.
fn read_lines(input: Box<dyn Read + Send>) -> impl futures_util::Stream<Item = Line> {
    let (tx, rx) = mpsc::channel::<Line>(READ_AHEAD);
    std::thread::spawn(move || {
        let mut reader = BufReader::new(input);
        let mut buf = Vec::new();
        for n in 0u64.. {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.blocking_send((n, Err(format!("cannot read line {n}: {e}"))));
                    break;
                }
            }
            let line = match std::str::from_utf8(&buf) {
                Ok(s) if s.trim().is_empty() => continue,
                Ok(s) => Ok(s.trim_end_matches(['\n', '\r']).to_owned()),
                Err(_) => Err(format!("line {n} is not valid UTF-8")),
            };
            if tx.blocking_send((n, line)).is_err() {
                break;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        let line = rx.recv().await?;
        Some((line, rx))
    })
}

/// Runs the call of input line `n`.
async fn one(
    toolset: &Toolset,
    broken: &[(String, String)],
    ad_hoc: Option<&str>,
    n: u64,
    text: &str,
) -> (Value, Result<CallToolResult, Failed>) {
    let fallback_id = json!(n);
    let call = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(call)) => call,
        Ok(other) => {
            let what = crate::args::parse::json_type(&other);
            return (
                fallback_id,
                Err(Failed::new(
                    "invalid_input",
                    format!("line {n}: expected a JSON object, got {what}"),
                )),
            );
        }
        Err(e) => {
            return (
                fallback_id,
                Err(Failed::new(
                    "invalid_input",
                    format!("line {n}: not valid JSON: {e}"),
                )),
            );
        }
    };
    let id = call.get("id").cloned().unwrap_or(fallback_id);
    let Some(Value::String(tool)) = call.get("tool") else {
        return (
            id,
            Err(Failed::new(
                "invalid_input",
                format!("line {n}: `tool` must be a string (SERVER.TOOL)"),
            )),
        );
    };
    let arguments = match call.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(a)) => Value::Object(a.clone()),
        Some(other) => {
            return (
                id,
                Err(Failed::new(
                    "invalid_input",
                    format!(
                        "line {n}: `arguments` must be a JSON object, got {}",
                        crate::args::parse::json_type(other)
                    ),
                )),
            );
        }
    };
    if let Some((server, _)) = tool.split_once('.')
        && let Some((_, error)) = broken.iter().find(|(name, _)| name == server)
    {
        return (
            id,
            Err(Failed::new(
                "connect",
                format!("server `{server}` is not available: {error}"),
            )),
        );
    }
    // With an ad-hoc server the tool is named as the server names it.
    let name = match ad_hoc {
        Some(server) if toolset.resolve(tool).await.is_err() => format!("{server}.{tool}"),
        _ => tool.clone(),
    };
    let outcome = match toolset.call(&name, arguments).await {
        Ok(result) if result.is_error() => {
            let text = result.text();
            Err(Failed {
                kind: "tool_error",
                message: if text.is_empty() {
                    format!("tool `{tool}` returned an error")
                } else {
                    text
                },
                result: Some(result),
            })
        }
        Ok(result) => Ok(result),
        Err(e) => Err(Failed::new(
            crate::exit::error_kind(&e),
            crate::exit::chain(&anyhow::Error::new(e)),
        )),
    };
    (id, outcome)
}

/// One output line, fields in the documented order.
fn render(id: &Value, outcome: &Result<CallToolResult, Failed>) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "null".into());
    match outcome {
        Ok(result) => format!("{{\"id\":{id},\"ok\":true,\"result\":{}}}\n", json(result)),
        Err(f) => {
            let error = format!(
                "{{\"kind\":{},\"message\":{}}}",
                json(&f.kind),
                json(&f.message)
            );
            match &f.result {
                Some(result) => format!(
                    "{{\"id\":{id},\"ok\":false,\"error\":{error},\"result\":{}}}\n",
                    json(result)
                ),
                None => format!("{{\"id\":{id},\"ok\":false,\"error\":{error}}}\n"),
            }
        }
    }
}

/// Compact JSON of a value.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_the_documented_field_order() {
        let ok: CallToolResult =
            serde_json::from_value(json!({"content": [{"type": "text", "text": "hi"}]})).unwrap();
        assert_eq!(
            render(&json!("a"), &Ok(ok.clone())),
            "{\"id\":\"a\",\"ok\":true,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}}\n"
        );
        assert_eq!(
            render(&json!(3), &Err(Failed::new("timeout", "slow \"x\""))),
            "{\"id\":3,\"ok\":false,\"error\":{\"kind\":\"timeout\",\"message\":\"slow \\\"x\\\"\"}}\n"
        );
        let tool_error = Failed {
            kind: "tool_error",
            message: "hi".into(),
            result: Some(ok),
        };
        let line = render(&json!(null), &Err(tool_error));
        assert!(line.starts_with("{\"id\":null,\"ok\":false,\"error\":{\"kind\":\"tool_error\""));
        assert!(line.contains("\"result\":{\"content\""));
    }
}

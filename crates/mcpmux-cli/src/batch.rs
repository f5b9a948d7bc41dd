//! `mcpmux batch`: JSON Lines of calls in, JSON Lines of results out, in input order, calls
//! running concurrently across all servers. A server starts at its first call (names are
//! resolved against the configured server names without starting any), so a slow or failing
//! server delays only its own calls, and a server the input never names never starts.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures_util::StreamExt as _;
use mcpmux::{CallToolResult, Server, ToolFilter, Toolset};
use serde_json::{Map, Value, json};
use tokio::sync::{OnceCell, mpsc};

use crate::args::{BatchArgs, GlobalArgs};
use crate::exit::{Code, Failure, Outcome, chain, error_kind};
use crate::names;
use crate::signals::{self, SHUTDOWN_LIMIT, Signals};
use crate::target::Targets;

/// How many input lines may wait, read but not yet started.
const READ_AHEAD: usize = 1024;

/// The keys of an input line.
const KEYS: [&str; 3] = ["id", "tool", "arguments"];

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

    fn invalid(message: impl Into<String>) -> Self {
        Failed::new("invalid_input", message)
    }

    fn from_error(error: &mcpmux::Error) -> Self {
        Failed::new(error_kind(error), chain(&anyhow::Error::new(error.clone())))
    }
}

/// A well-formed call of input line `line` (1-based).
#[derive(Debug)]
struct Call {
    tool: String,
    arguments: Value,
}

/// Runs `mcpmux batch`.
pub async fn run(args: BatchArgs, global: &GlobalArgs) -> Outcome {
    let started = Instant::now();
    let input: Box<dyn Read + Send> = match &args.input {
        Some(path) => Box::new(std::fs::File::open(path).map_err(|e| {
            Failure::new(
                Code::Usage,
                anyhow::Error::new(e).context(format!("cannot open {}", path.display())),
            )
        })?),
        None => Box::new(io::stdin()),
    };
    let servers = Servers::new(Targets::select(global, &args.server, None)?);
    // Before any server starts: from here on SIGINT and SIGTERM end the batch.
    let mut signals = Signals::install()?;

    let mut rx = read_lines(input);
    let lines = futures_util::stream::unfold(&mut rx, |rx| async move {
        let line = rx.recv().await?;
        Some((line, rx))
    });
    let bar = crate::progress::calls(count_calls(args.input.as_deref()), global.quiet);
    let servers_ref = &servers;
    let mut ids: HashMap<String, u64> = HashMap::new();
    let ids_ref = &mut ids;
    // The lines started and not yet written: 1-based line number -> id, and the outcome once
    // the call finished (a finished call may wait behind an earlier line).
    let pending: RefCell<BTreeMap<u64, (Value, Option<Answer>)>> = RefCell::new(BTreeMap::new());
    let pending_ref = &pending;
    let results = lines
        .map(move |(n, line)| {
            let (id, call) = parse(n, line, ids_ref);
            pending_ref.borrow_mut().insert(n + 1, (id, None));
            async move {
                let outcome = match call {
                    Ok(call) => servers_ref.call(&call.tool, call.arguments).await,
                    Err(f) => Err(f),
                };
                if let Some((_, slot)) = pending_ref.borrow_mut().get_mut(&(n + 1)) {
                    *slot = Some(outcome);
                }
                n + 1
            }
        })
        .buffered(usize::try_from(args.concurrency).unwrap_or(usize::MAX));
    let mut results = Box::pin(results);

    let mut tally = Tally::default();
    let interrupted = loop {
        let next = tokio::select! {
            next = results.next() => next,
            code = signals.recv() => break Some(code),
        };
        let Some(line) = next else {
            break None;
        };
        let Some((id, outcome)) = pending.borrow_mut().remove(&line) else {
            continue;
        };
        bar.inc(1);
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => Err(Failed::new("closed", "the call ended without an answer")),
        };
        tally.write(&id, line, &outcome)?;
        bar.set_message(format!(
            "{} ok, {} failed",
            tally.ok,
            tally.total - tally.ok
        ));
    };
    bar.finish_and_clear();
    if let Some(code) = interrupted {
        signals.shutting_down(code);
        // Dropping the calls' futures cancels the requests in flight.
        drop(results);
        // The lines read but not started yet are unanswered too.
        rx.close();
        let mut pending = pending.into_inner();
        while let Ok((n, line)) = rx.try_recv() {
            let (id, _) = parse(n, line, &mut ids);
            pending.insert(n + 1, (id, None));
        }
        let why = Failed::new(
            "cancelled",
            format!("mcpmux was interrupted by {}", signals::name(code)),
        );
        // In input order; a call that finished behind an unanswered line keeps its answer.
        for (line, (id, outcome)) in pending {
            let outcome = match outcome {
                Some(outcome) => outcome,
                None => Err(why.clone()),
            };
            tally.write(&id, line, &outcome)?;
        }
    }
    let Tally { total, ok, kinds } = tally;
    if global.chatty() {
        let failed: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let failed = if failed.is_empty() {
            String::new()
        } else {
            format!(" ({})", failed.join(", "))
        };
        let _ = writeln!(
            io::stderr().lock(),
            "mcpmux: batch: {total} calls, {ok} ok, {} failed{failed} in {:.2} s{}",
            total - ok,
            started.elapsed().as_secs_f64(),
            interrupted
                .map(|code| format!(" (interrupted by {})", signals::name(code)))
                .unwrap_or_default()
        );
    }
    if let Some(code) = interrupted {
        servers.close().await;
        return Ok(code);
    }
    Ok(
        if global.strict && servers.any_failed.load(Ordering::Relaxed) {
            Code::Connect
        } else if ok == total {
            Code::Success
        } else {
            Code::Failed
        },
    )
}

/// A call's outcome.
type Answer = Result<CallToolResult, Failed>;

/// How many calls the input holds (its non-blank lines), when it is a file we can read a
/// second time: `--input FILE`, or standard input redirected from a regular file. `None` for a
/// pipe or a terminal (the progress bar then counts without a total).
fn count_calls(input: Option<&std::path::Path>) -> Option<u64> {
    use std::io::IsTerminal as _;
    let file = match input {
        Some(path) => std::fs::File::open(path).ok()?,
        None => {
            if io::stdin().is_terminal() {
                return None;
            }
            // A second, independent read of the same file (its own offset).
            let file = std::fs::File::open("/dev/stdin").ok()?;
            if !file.metadata().ok()?.is_file() {
                return None;
            }
            file
        }
    };
    let mut count = 0u64;
    for line in BufReader::new(file).split(b'\n') {
        if !line.ok()?.iter().all(u8::is_ascii_whitespace) {
            count += 1;
        }
    }
    Some(count)
}

/// The counts of the lines written so far.
#[derive(Debug, Default)]
struct Tally {
    total: u64,
    ok: u64,
    kinds: BTreeMap<&'static str, u64>,
}

impl Tally {
    /// Writes the output line of input line `line` on stdout (flushed) and counts it.
    fn write(&mut self, id: &Value, line: u64, outcome: &Answer) -> Result<(), Failure> {
        self.total += 1;
        match outcome {
            Ok(_) => self.ok += 1,
            Err(f) => *self.kinds.entry(f.kind).or_default() += 1,
        }
        let text = render(id, line, outcome);
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(Failure::output)
    }
}

/// Parses input line `n` (0-based): the id to answer with, and the call or why it is invalid.
/// `ids` holds the explicit ids seen so far, with their 1-based lines.
fn parse(
    n: u64,
    line: Result<String, String>,
    ids: &mut HashMap<String, u64>,
) -> (Value, Result<Call, Failed>) {
    let number = n + 1;
    let text = match line {
        Ok(text) => text,
        Err(why) => return (Value::Null, Err(Failed::invalid(why))),
    };
    let call: Map<String, Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(call)) => call,
        Ok(other) => {
            let what = crate::args::parse::json_type(&other);
            return (
                Value::Null,
                Err(Failed::invalid(format!(
                    "line {number}: expected a JSON object, got {what}"
                ))),
            );
        }
        Err(e) => {
            return (
                Value::Null,
                Err(Failed::invalid(format!(
                    "line {number}: not valid JSON: {e}"
                ))),
            );
        }
    };
    let id = match call.get("id") {
        Some(id) => {
            let key = serde_json::to_string(id).unwrap_or_default();
            if let Some(first) = ids.get(&key) {
                return (
                    id.clone(),
                    Err(Failed::invalid(format!(
                        "line {number}: duplicate id {key} (first on line {first})"
                    ))),
                );
            }
            ids.insert(key, number);
            id.clone()
        }
        // The documented default: the 0-based line number.
        None => json!(n),
    };
    if let Some(key) = call.keys().find(|k| !KEYS.contains(&k.as_str())) {
        let hint = names::did_you_mean(names::suggest(key, KEYS));
        return (
            id,
            Err(Failed::invalid(format!(
                "line {number}: unknown key `{key}`{hint} (a call has id, tool, arguments)"
            ))),
        );
    }
    let Some(Value::String(tool)) = call.get("tool") else {
        return (
            id,
            Err(Failed::invalid(format!(
                "line {number}: `tool` must be a string (SERVER.TOOL)"
            ))),
        );
    };
    let arguments = match call.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(a)) => Value::Object(a.clone()),
        Some(other) => {
            return (
                id,
                Err(Failed::invalid(format!(
                    "line {number}: `arguments` must be a JSON object, got {}",
                    crate::args::parse::json_type(other)
                ))),
            );
        }
    };
    (
        id,
        Ok(Call {
            tool: tool.clone(),
            arguments,
        }),
    )
}

/// A server of the batch, started at its first call.
#[derive(Debug)]
struct Member {
    name: String,
    server: Server,
    filter: ToolFilter,
    toolset: OnceCell<Toolset>,
    /// Whether its failure to start was reported on stderr.
    reported: AtomicBool,
    /// Whether its tool names were kept for shell completion.
    remembered: AtomicBool,
}

/// The servers of the batch: the configured ones (or the ad-hoc one), none started yet, and the
/// broken config entries.
#[derive(Debug)]
struct Servers {
    members: Vec<Member>,
    /// Broken entries: name, error, whether reported on stderr.
    broken: Vec<(String, String, AtomicBool)>,
    ad_hoc: bool,
    /// Whether a server failed to start (with `--strict`, exit 4).
    any_failed: AtomicBool,
    /// The config files read: the key of the names cache.
    config_files: Vec<PathBuf>,
}

/// Where a tool name leads: a member (by index) or a broken entry.
#[derive(Debug, Clone, Copy)]
enum Route<'a> {
    Member(usize, &'a str),
    Broken(usize),
}

impl Servers {
    fn new(targets: Targets) -> Servers {
        Servers {
            members: targets
                .servers
                .into_iter()
                .map(|t| Member {
                    name: t.name,
                    server: t.server,
                    filter: t.filter,
                    toolset: OnceCell::new(),
                    reported: AtomicBool::new(false),
                    remembered: AtomicBool::new(false),
                })
                .collect(),
            broken: targets
                .broken
                .into_iter()
                .map(|(n, e)| (n, e, AtomicBool::new(false)))
                .collect(),
            ad_hoc: targets.ad_hoc,
            any_failed: AtomicBool::new(false),
            config_files: targets.config_files,
        }
    }

    /// Runs the shutdown sequence of every started server at once, bounded by
    /// [`SHUTDOWN_LIMIT`].
    async fn close(&self) {
        let all = futures_util::future::join_all(self.members.iter().map(|m| m.server.close()));
        if tokio::time::timeout(SHUTDOWN_LIMIT, all).await.is_err() {
            tracing::warn!("the servers' shutdown did not finish in {SHUTDOWN_LIMIT:?}");
        }
    }

    /// The configured names, good and broken.
    fn names(&self) -> Vec<&str> {
        self.members
            .iter()
            .map(|m| m.name.as_str())
            .chain(self.broken.iter().map(|(n, _, _)| n.as_str()))
            .collect()
    }

    /// Where `tool` may lead, most likely first, without starting any server.
    fn routes<'a>(&'a self, tool: &'a str) -> Vec<Route<'a>> {
        if self.ad_hoc {
            return match self.members.first() {
                Some(m) => names::ad_hoc_candidates(tool, &m.name)
                    .into_iter()
                    .map(|t| Route::Member(0, t))
                    .collect(),
                None => Vec::new(),
            };
        }
        names::candidates(tool, &self.names())
            .into_iter()
            .filter_map(|(server, t)| {
                if let Some(i) = self.members.iter().position(|m| m.name == server) {
                    Some(Route::Member(i, t))
                } else {
                    self.broken
                        .iter()
                        .position(|(n, _, _)| n == server)
                        .map(Route::Broken)
                }
            })
            .collect()
    }

    /// The toolset of member `i`, started now if this is its first call.
    async fn toolset(&self, i: usize) -> Result<&Toolset, Failed> {
        let m = &self.members[i];
        let toolset = m
            .toolset
            .get_or_try_init(|| async {
                Toolset::builder()
                    .server_filtered(m.name.clone(), m.server.clone(), m.filter.clone())
                    .build()
                    .await
            })
            .await
            .map_err(|e| Failed::from_error(&e))?;
        if let Some((_, failure)) = toolset.failures().next() {
            let error = chain(&anyhow::Error::new(failure.clone()));
            if !m.reported.swap(true, Ordering::Relaxed) {
                self.any_failed.store(true, Ordering::Relaxed);
                crate::exit::warn(&format!("server `{}` is unavailable: {error}", m.name));
            }
            return Err(Failed::new(
                error_kind(failure),
                format!("server `{}` is not available: {error}", m.name),
            ));
        }
        Ok(toolset)
    }

    /// Resolves `tool` (starting the server it names, if not yet) and calls it.
    async fn call(&self, tool: &str, arguments: Value) -> Result<CallToolResult, Failed> {
        let routes = self.routes(tool);
        if routes.is_empty() {
            return Err(self.no_server(tool));
        }
        let mut first_failure = None;
        let mut known: Vec<String> = Vec::new();
        let mut tried: Vec<&str> = Vec::new();
        for route in routes {
            let (i, name) = match route {
                Route::Broken(b) => {
                    let (server, error, reported) = &self.broken[b];
                    if !reported.swap(true, Ordering::Relaxed) {
                        crate::exit::warn(error);
                    }
                    first_failure.get_or_insert_with(|| {
                        Failed::new(
                            "connect",
                            format!("server `{server}` is not available: {error}"),
                        )
                    });
                    continue;
                }
                Route::Member(i, name) => (i, name),
            };
            let toolset = match self.toolset(i).await {
                Ok(t) => t,
                Err(f) => {
                    first_failure.get_or_insert(f);
                    continue;
                }
            };
            let m = &self.members[i];
            let full = format!("{}.{name}", m.name);
            if m.filter.allows(name) {
                let tools = toolset.tools().await.map_err(|e| Failed::from_error(&e))?;
                if !m.remembered.swap(true, Ordering::Relaxed) {
                    let names = tools.iter().map(|t| t.tool.name.as_str());
                    crate::name_cache::store(&self.config_files, &m.name, names);
                }
                if !tools.iter().any(|t| t.tool.name == name) {
                    if !tried.contains(&m.name.as_str()) {
                        tried.push(&m.name);
                    }
                    known.extend(tools.iter().map(|t| {
                        if self.ad_hoc {
                            t.tool.name.clone()
                        } else if tool.contains('.') {
                            format!("{}.{}", t.server, t.tool.name)
                        } else {
                            t.name.clone()
                        }
                    }));
                    continue;
                }
            }
            // An excluded tool is refused by the toolset itself, with the reason.
            return match toolset.call(&full, arguments).await {
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
                Err(e) => Err(Failed::from_error(&e)),
            };
        }
        if known.is_empty()
            && let Some(f) = first_failure
        {
            return Err(f);
        }
        let hint = names::did_you_mean(names::suggest(tool, known.iter().map(String::as_str)));
        let servers: Vec<String> = tried.iter().map(|s| format!("`{s}`")).collect();
        Err(Failed::new(
            "unknown_tool",
            format!(
                "unknown tool `{tool}`: server {} has no such tool{hint}",
                servers.join(" or ")
            ),
        ))
    }

    /// The error for a tool name that names no configured server.
    fn no_server(&self, tool: &str) -> Failed {
        let names = self.names();
        let message = match tool.split_once('.') {
            Some((server, rest)) => {
                let hint = names::suggest(server, names.iter().copied())
                    .map(|s| format!("; did you mean `{s}.{rest}`?"))
                    .unwrap_or_default();
                format!(
                    "unknown tool `{tool}`: there is no server `{server}` (configured: {}){hint}",
                    names.join(", ")
                )
            }
            None => format!(
                "unknown tool `{tool}`: expected SERVER.TOOL or SERVER_TOOL (configured: {})",
                names.join(", ")
            ),
        };
        Failed::new("unknown_tool", message)
    }
}

/// Reads `input` line by line on a thread of its own (a blocking read never holds up the
/// runtime), skipping blank lines.
fn read_lines(input: Box<dyn Read + Send>) -> mpsc::Receiver<Line> {
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
                    let _ = tx.blocking_send((n, Err(format!("cannot read line {}: {e}", n + 1))));
                    break;
                }
            }
            let line = match std::str::from_utf8(&buf) {
                Ok(s) if s.trim().is_empty() => continue,
                Ok(s) => Ok(s.trim_end_matches(['\n', '\r']).to_owned()),
                Err(_) => Err(format!("line {} is not valid UTF-8", n + 1)),
            };
            if tx.blocking_send((n, line)).is_err() {
                break;
            }
        }
    });
    rx
}

/// One output line, fields in the documented order (`line`, the 1-based input line, last).
fn render(id: &Value, line: u64, outcome: &Result<CallToolResult, Failed>) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "null".into());
    match outcome {
        Ok(result) => format!(
            "{{\"id\":{id},\"ok\":true,\"result\":{},\"line\":{line}}}\n",
            json(result)
        ),
        Err(f) => {
            let error = format!(
                "{{\"kind\":{},\"message\":{}}}",
                json(&f.kind),
                json(&f.message)
            );
            match &f.result {
                Some(result) => format!(
                    "{{\"id\":{id},\"ok\":false,\"error\":{error},\"result\":{},\"line\":{line}}}\n",
                    json(result)
                ),
                None => format!("{{\"id\":{id},\"ok\":false,\"error\":{error},\"line\":{line}}}\n"),
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
            render(&json!("a"), 1, &Ok(ok.clone())),
            "{\"id\":\"a\",\"ok\":true,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]},\"line\":1}\n"
        );
        assert_eq!(
            render(&json!(3), 4, &Err(Failed::new("timeout", "slow \"x\""))),
            "{\"id\":3,\"ok\":false,\"error\":{\"kind\":\"timeout\",\"message\":\"slow \\\"x\\\"\"},\"line\":4}\n"
        );
        let tool_error = Failed {
            kind: "tool_error",
            message: "hi".into(),
            result: Some(ok),
        };
        let line = render(&json!(null), 2, &Err(tool_error));
        assert!(line.starts_with("{\"id\":null,\"ok\":false,\"error\":{\"kind\":\"tool_error\""));
        assert!(line.contains("\"result\":{\"content\""));
        assert!(line.ends_with(",\"line\":2}\n"));
    }

    fn parsed(
        n: u64,
        text: &str,
        ids: &mut HashMap<String, u64>,
    ) -> (Value, Result<String, String>) {
        let (id, call) = parse(n, Ok(text.to_owned()), ids);
        (
            id,
            call.map(|c| c.tool)
                .map_err(|f| format!("{}: {}", f.kind, f.message)),
        )
    }

    #[test]
    fn input_lines_are_checked() {
        let mut ids = HashMap::new();
        assert_eq!(
            parsed(0, r#"{"tool": "a.b"}"#, &mut ids),
            (json!(0), Ok("a.b".to_owned()))
        );
        let (id, e) = parsed(1, "nope", &mut ids);
        assert_eq!(id, Value::Null);
        assert!(
            e.unwrap_err()
                .starts_with("invalid_input: line 2: not valid JSON")
        );
        let (id, e) = parsed(2, "[1]", &mut ids);
        assert_eq!(id, Value::Null);
        assert!(
            e.unwrap_err()
                .contains("line 3: expected a JSON object, got an array")
        );
        let (id, e) = parsed(3, r#"{"id": 7, "tool": "a.b", "args": {}}"#, &mut ids);
        assert_eq!(id, json!(7));
        assert_eq!(
            e.unwrap_err(),
            "invalid_input: line 4: unknown key `args`; did you mean `arguments`? (a call has \
             id, tool, arguments)"
        );
        let (id, e) = parsed(4, r#"{"id": 7, "tool": "a.b"}"#, &mut ids);
        assert_eq!(id, json!(7));
        assert_eq!(
            e.unwrap_err(),
            "invalid_input: line 5: duplicate id 7 (first on line 4)"
        );
        // Only explicit ids count: a default id may equal an explicit one.
        assert!(parsed(5, r#"{"id": 0, "tool": "a.b"}"#, &mut ids).1.is_ok());
        let (id, e) = parse(6, Err("line 7 is not valid UTF-8".into()), &mut ids);
        assert_eq!(id, Value::Null);
        assert!(e.is_err());
    }
}

//! The client features against the official Python SDK (`mcp` 2.3.0, pinned):
//! `tests/peers/py_server.py --features` — resources and templates, prompts, completion, sampling
//! (with tools), elicitation (form with schema defaults, URL mode) and structured output, under
//! both negotiations:
//!
//! - default: mcpmux probes `server/discover` and this SDK agrees 2026-07-28 (stateless). The
//!   server cannot send requests then: sampling and elicitation come back as `input_required`
//!   results with embedded input requests, which the library fulfils with the builder's handlers
//!   and retries with `inputResponses` and the `requestState` echoed (the peer checks the echo).
//! - pinned 2025-11-25 (`initialize`): the same questions arrive as server-to-client requests in
//!   the middle of the call.
//!
//! Each check runs as two tests (`<check>::stateless_2026_07_28`, `<check>::pinned_2025_11_25`)
//! over stdio, plus one Streamable HTTP run of the sampling and elicitation tools. The peer comes
//! from `scripts/install-peers.sh`; a missing peer fails with the install command.
//!
//! Two tools exercise the two ways the SDK asks: `summarize` and `signup` drive the round trip in
//! the tool body (`InputRequiredResult` / `ctx.session.create_message` / `elicit_form`) and return
//! the raw answer, so the test sees exactly what the client sent (defaults included); `book_table`
//! uses the SDK's resolvers (`Resolve(Elicit)` + `Resolve(Sample)`), which batch both questions in
//! one round on 2026-07-28.
//!
//! `sampling_with_tools` sends tool-enabled sampling (`tools`, `toolChoice`), which the SDK allows
//! only to a client that declared `sampling.tools`; `url_elicitation` sends a URL-mode
//! elicitation and, on 2025-11-25, `notifications/elicitation/complete`. Each also runs against
//! a client that did not declare the capability, which must never see the request.
//!
//! `caching_*` run the peer with `--caching MODE` (counted lists, `ttlMs` as told) and count the
//! list requests it serves to check when the client's list caches fetch again.
//!
//! Not covered, because the SDK cannot: resource subscriptions (`MCPServer` has no
//! `resources/subscribe` handler; 2026-07-28's `subscriptions/listen` is tested elsewhere), and a
//! tool whose structured output breaks its schema through the SDK's normal path (it validates its
//! own results) — `bad_forecast` gets its schema set by hand after registration to test ours.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mcpmux::protocol::{
    CompletionRef, CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams,
    ElicitResult, ErrorObject, JsonObject, Role, methods,
};
use mcpmux::{
    ElicitationHandler, Guard, HandlerFuture, ProtocolVersion, Received, SamplingHandler, Server,
    ServerBuilder, ServerNotification,
};
use serde_json::{Value, json};

/// Bound on every test body (a Python start is ~1 s; calls are milliseconds).
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// Which protocol generation the client ends up speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Negotiation {
    /// The default: `server/discover` probe, agreed on 2026-07-28 (stateless).
    Discovered,
    /// `.protocol_version(V2025_11_25)`: `initialize`, server-to-client requests.
    Pinned,
}

impl Negotiation {
    fn expected(self) -> ProtocolVersion {
        match self {
            Negotiation::Discovered => ProtocolVersion::V2026_07_28,
            Negotiation::Pinned => ProtocolVersion::V2025_11_25,
        }
    }

    fn apply(self, builder: ServerBuilder) -> ServerBuilder {
        let builder = builder
            .request_timeout(Duration::from_secs(20))
            .initialize_timeout(Duration::from_secs(20));
        match self {
            Negotiation::Discovered => builder,
            Negotiation::Pinned => builder.protocol_version(ProtocolVersion::V2025_11_25),
        }
    }
}

/// The Python peer with its feature set, over stdio.
fn python(n: Negotiation) -> ServerBuilder {
    python_with(n, &["--features"])
}

/// The Python peer over stdio with these flags.
fn python_with(n: Negotiation, flags: &[&str]) -> ServerBuilder {
    let root = repo_root();
    let python = require_peer(root.join(".peers/venv/bin/python"));
    let script = require_peer(root.join("tests/peers/py_server.py"));
    n.apply(
        Server::stdio(python)
            .arg(script)
            .arg("stdio")
            .args(flags)
            .name("python-mcp")
            .shutdown_timeouts(Duration::from_secs(2), Duration::from_secs(1)),
    )
}

/// What the handlers were asked, and how the elicitation handler answers.
#[derive(Default)]
struct Recorder {
    sampling: Mutex<Vec<CreateMessageParams>>,
    elicitation: Mutex<Vec<ElicitParams>>,
    /// Decline every elicitation instead of accepting.
    decline: AtomicBool,
}

fn object(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

impl Recorder {
    fn new() -> Arc<Self> {
        Arc::default()
    }

    fn sampled(&self) -> Vec<CreateMessageParams> {
        self.sampling.lock().unwrap().clone()
    }

    fn elicited(&self) -> Vec<ElicitParams> {
        self.elicitation.lock().unwrap().clone()
    }

    /// Sets both handlers. Sampling answers `echo(<maxTokens>): <first message's text>` from
    /// model `test-model`; elicitation accepts with only some fields (the rest must come from the
    /// schema's defaults), or declines when told to.
    fn attach(self: &Arc<Self>, builder: ServerBuilder) -> ServerBuilder {
        let rec = self.clone();
        let builder = builder.sampling(move |p: CreateMessageParams| {
            let rec = rec.clone();
            async move {
                let prompt = p
                    .messages
                    .first()
                    .and_then(|m| m.content.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                // Offered tools: the model calls the first one.
                let tool = p
                    .tools
                    .as_ref()
                    .and_then(|t| t.first())
                    .and_then(|t| t.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let (content, stop) = match tool {
                    Some(name) => (
                        json!([{"type": "tool_use", "id": "call-1", "name": name,
                                "input": {"city": "Oslo"}}]),
                        "toolUse",
                    ),
                    None => (
                        json!({"type": "text", "text": format!("echo({}): {prompt}", p.max_tokens)}),
                        "endTurn",
                    ),
                };
                rec.sampling.lock().unwrap().push(p);
                Ok(CreateMessageResult {
                    role: Role::Assistant,
                    content,
                    model: "test-model".into(),
                    stop_reason: Some(stop.into()),
                    extra: Default::default(),
                })
            }
        });
        let rec = self.clone();
        builder.elicitation(move |p: ElicitParams| {
            let rec = rec.clone();
            async move {
                let content = if p.message == "Sign up for the newsletter" {
                    json!({"name": "Ada", "age": 36})
                } else if p.message.starts_with("How should we seat you in ") {
                    json!({"guests": 4})
                } else if p.message.starts_with("Approve this pitch? ") {
                    json!({"note": "ship it"})
                } else if p.message.starts_with("Who is interviewing for ") {
                    json!({"name": "Grace"})
                } else {
                    return Err(ErrorObject::new(
                        -32602,
                        format!("unexpected: {}", p.message),
                    ));
                };
                rec.elicitation.lock().unwrap().push(p);
                Ok(if rec.decline.load(Ordering::SeqCst) {
                    ElicitResult {
                        action: ElicitAction::Decline,
                        content: None,
                    }
                } else {
                    ElicitResult {
                        action: ElicitAction::Accept,
                        content: Some(object(content)),
                    }
                })
            }
        })
    }
}

/// Enters, checking the negotiated version and the peer.
async fn enter(server: &Server, n: Negotiation) -> Guard {
    let guard = server.enter().await.expect("connect to the Python peer");
    assert_eq!(guard.protocol_version(), n.expected());
    assert_eq!(guard.initialize_result().server_info.name, "py-peer");
    guard
}

/// Leaves and shuts the peer down; under nextest, checks no process is left.
async fn finish(server: Server, guard: Guard) {
    drop(guard);
    bounded("close", Duration::from_secs(10), server.close()).await;
    assert_no_children_left().await;
}

/// Runs `check` under the test bound.
async fn run<F, Fut>(n: Negotiation, check: F)
where
    F: FnOnce(Negotiation) -> Fut,
    Fut: Future<Output = ()>,
{
    bounded(&format!("{n:?} run"), TEST_LIMIT, check(n)).await;
}

/// Each check, as one test per negotiation.
macro_rules! both_negotiations {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn stateless_2026_07_28() {
                super::run(super::Negotiation::Discovered, super::$check).await;
            }

            #[tokio::test]
            async fn pinned_2025_11_25() {
                super::run(super::Negotiation::Pinned, super::$check).await;
            }
        }
    )*};
}

both_negotiations!(
    resources,
    prompts_and_completion,
    sampling,
    elicitation,
    resolvers,
    structured_output,
    without_handlers,
    multi_round,
    sampling_with_tools,
    url_elicitation,
);

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn resources(n: Negotiation) {
    let server = python(n).build().unwrap();
    let guard = enter(&server, n).await;

    let resources = guard.list_resources().await.unwrap();
    assert_eq!(resources.len(), 1, "{resources:?}");
    let r = &resources[0];
    assert_eq!(r.uri, "config://app");
    assert_eq!(r.name, "app-config");
    assert_eq!(r.title.as_deref(), Some("App config"));
    assert_eq!(
        r.description.as_deref(),
        Some("The application's settings.")
    );
    assert_eq!(r.mime_type.as_deref(), Some("application/json"));
    assert_eq!(
        guard.resources().await.unwrap().as_slice(),
        resources.as_slice()
    );

    let read = guard.read_resource("config://app").await.unwrap();
    assert_eq!(read.contents.len(), 1, "{read:?}");
    let c = &read.contents[0];
    assert_eq!(c.uri, "config://app");
    assert_eq!(c.mime_type.as_deref(), Some("application/json"));
    let config: Value = serde_json::from_str(c.text.as_deref().expect("text")).unwrap();
    assert_eq!(config, json!({"theme": "dark", "retries": 3}));

    let templates = guard.list_resource_templates().await.unwrap();
    assert_eq!(templates.len(), 1, "{templates:?}");
    let t = &templates[0];
    assert_eq!(t.uri_template, "greeting://{name}");
    assert_eq!(t.name, "greeting");
    assert_eq!(t.title.as_deref(), Some("Greeting"));
    assert_eq!(t.description.as_deref(), Some("A greeting for someone."));
    assert_eq!(t.mime_type.as_deref(), Some("text/plain"));

    for name in ["Ada", "Grace"] {
        let uri = format!("greeting://{name}");
        let read = guard.read_resource(&uri).await.unwrap();
        assert_eq!(read.contents.len(), 1, "{read:?}");
        assert_eq!(read.contents[0].uri, uri);
        assert_eq!(
            read.contents[0].text.as_deref(),
            Some(format!("Hello, {name}!").as_str())
        );
        assert_eq!(read.contents[0].mime_type.as_deref(), Some("text/plain"));
    }

    // No resource and no template matches: a JSON-RPC error naming the URI.
    let e = guard.read_resource("nothing://here").await.unwrap_err();
    let rpc = e
        .rpc_error()
        .unwrap_or_else(|| panic!("not an RPC error: {e}"));
    assert_eq!(rpc.code, -32602, "{rpc:?}");
    assert!(rpc.message.contains("nothing://here"), "{rpc:?}");

    // Completion of the template's variable (case-insensitive prefix on the peer).
    let c = guard
        .complete(
            CompletionRef::Resource {
                uri: "greeting://{name}".into(),
            },
            "name",
            "a",
            None,
        )
        .await
        .unwrap();
    assert_eq!(c.completion.values, ["Ada", "Alan"]);
    assert_eq!(c.completion.total, Some(2));
    assert_eq!(c.completion.has_more, Some(false));

    finish(server, guard).await;
}

async fn prompts_and_completion(n: Negotiation) {
    let server = python(n).build().unwrap();
    let guard = enter(&server, n).await;

    let prompts = guard.list_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["review_code", "interview"]);
    let p = &prompts[0];
    assert_eq!(p.name, "review_code");
    assert_eq!(p.title.as_deref(), Some("Code review"));
    assert_eq!(p.description.as_deref(), Some("Review a piece of code."));
    let arguments: Vec<(&str, Option<bool>)> = p
        .arguments
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|a| (a.name.as_str(), a.required))
        .collect();
    assert_eq!(
        arguments,
        [
            ("language", Some(true)),
            ("code", Some(true)),
            ("focus", Some(false))
        ]
    );
    assert_eq!(guard.prompts().await.unwrap().len(), 2);

    let texts = |r: &mcpmux::protocol::GetPromptResult| -> Vec<(Role, String)> {
        r.messages
            .iter()
            .map(|m| {
                (
                    m.role,
                    m.content.as_text().expect("text content").to_owned(),
                )
            })
            .collect()
    };
    let got = guard
        .get_prompt(
            "review_code",
            args(&[("language", "rust"), ("code", "fn main() {}")]),
        )
        .await
        .unwrap();
    assert_eq!(
        texts(&got),
        [
            (
                Role::User,
                "Review this rust code, focusing on correctness:".to_owned()
            ),
            (Role::User, "fn main() {}".to_owned())
        ]
    );
    let got = guard
        .get_prompt(
            "review_code",
            args(&[
                ("language", "python"),
                ("code", "print(1)"),
                ("focus", "typing"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(
        texts(&got)[0].1,
        "Review this python code, focusing on typing:"
    );
    // A required argument missing, and an unknown prompt: JSON-RPC errors.
    let e = guard
        .get_prompt("review_code", args(&[("language", "rust")]))
        .await
        .unwrap_err();
    assert!(e.is_rpc(), "{e}");
    let e = guard.get_prompt("nope", BTreeMap::new()).await.unwrap_err();
    assert!(e.is_rpc(), "{e}");

    // Completion: a plain prefix, then one that depends on an argument already chosen.
    let prompt = || CompletionRef::Prompt {
        name: "review_code".into(),
    };
    let values = |r: mcpmux::protocol::CompleteResult| r.completion.values;
    let c = guard
        .complete(prompt(), "language", "r", None)
        .await
        .unwrap();
    assert_eq!(c.completion.values, ["ruby", "rust"]);
    assert_eq!(c.completion.total, Some(2));
    assert_eq!(c.completion.has_more, Some(false));
    let all = guard
        .complete(prompt(), "language", "", None)
        .await
        .unwrap();
    assert_eq!(
        all.completion.values,
        ["go", "python", "ruby", "rust", "typescript"]
    );
    let rust = Some(args(&[("language", "rust")]));
    let c = guard
        .complete(prompt(), "focus", "", rust.clone())
        .await
        .unwrap();
    assert_eq!(values(c), ["lifetimes", "ownership", "unsafe"]);
    let c = guard.complete(prompt(), "focus", "o", rust).await.unwrap();
    assert_eq!(values(c), ["ownership"]);
    let python = Some(args(&[("language", "python")]));
    let c = guard.complete(prompt(), "focus", "", python).await.unwrap();
    assert_eq!(values(c), ["typing", "async"]);
    // No context: nothing to complete from; an argument without completions: empty.
    let c = guard.complete(prompt(), "focus", "", None).await.unwrap();
    assert!(values(c).is_empty());
    let c = guard.complete(prompt(), "code", "f", None).await.unwrap();
    assert!(values(c).is_empty());

    finish(server, guard).await;
}

async fn sampling(n: Negotiation) {
    let rec = Recorder::new();
    let server = rec.attach(python(n)).build().unwrap();
    let guard = enter(&server, n).await;

    let r = guard
        .call_tool("summarize", json!({"text": "The quick brown fox"}))
        .await
        .unwrap();
    let expected = "test-model: echo(42): Summarize: The quick brown fox";
    assert!(!r.is_error(), "{r:?}");
    assert_eq!(r.text(), expected);
    assert_eq!(r.structured_content, Some(json!({"result": expected})));

    let asked = rec.sampled();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let p = &asked[0];
    assert_eq!(p.max_tokens, 42);
    assert_eq!(p.system_prompt.as_deref(), Some("Be brief."));
    assert_eq!(p.messages.len(), 1);
    assert_eq!(p.messages[0].role, Role::User);
    assert_eq!(
        p.messages[0].content,
        json!({"type": "text", "text": "Summarize: The quick brown fox"})
    );

    // Concurrent calls: each gets its own answer.
    let (a, b) = tokio::join!(
        guard.call_tool("summarize", json!({"text": "one"})),
        guard.call_tool("summarize", json!({"text": "two"})),
    );
    assert_eq!(a.unwrap().text(), "test-model: echo(42): Summarize: one");
    assert_eq!(b.unwrap().text(), "test-model: echo(42): Summarize: two");
    assert_eq!(rec.sampled().len(), 3);

    finish(server, guard).await;
}

async fn elicitation(n: Negotiation) {
    let rec = Recorder::new();
    let server = rec.attach(python(n)).build().unwrap();
    let guard = enter(&server, n).await;

    // The handler answers name and age only; the other fields come from the schema's defaults.
    let r = guard.call_tool("signup", json!({})).await.unwrap();
    assert!(!r.is_error(), "{r:?}");
    assert_eq!(
        r.structured_content,
        Some(json!({"action": "accept", "content": {
            "name": "Ada", "age": 36, "newsletter": true, "color": "green", "nickname": "anon"
        }}))
    );
    let asked = rec.elicited();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let p = &asked[0];
    assert!(!p.is_url_mode());
    assert_eq!(p.message, "Sign up for the newsletter");
    let schema = p.requested_schema.as_ref().expect("requestedSchema");
    assert_eq!(schema["required"], json!(["name"]));
    assert_eq!(schema["properties"]["age"]["default"], json!(30));
    assert_eq!(
        schema["properties"]["color"]["enum"],
        json!(["red", "green", "blue"])
    );

    // A declined form gets no defaults.
    rec.decline.store(true, Ordering::SeqCst);
    let r = guard.call_tool("signup", json!({})).await.unwrap();
    assert!(!r.is_error(), "{r:?}");
    assert_eq!(
        r.structured_content,
        Some(json!({"action": "decline", "content": null}))
    );
    assert_eq!(rec.elicited().len(), 2);

    finish(server, guard).await;
}

/// The SDK's resolvers: a form and a sample for one call (one `input_required` round with two
/// input requests on 2026-07-28; two server requests on 2025-11-25).
async fn resolvers(n: Negotiation) {
    let rec = Recorder::new();
    let server = rec.attach(python(n)).build().unwrap();
    let guard = enter(&server, n).await;

    let r = guard
        .call_tool("book_table", json!({"city": "Oslo"}))
        .await
        .unwrap();
    assert!(!r.is_error(), "{r:?}");
    assert_eq!(
        r.structured_content,
        Some(json!({
            "city": "Oslo", "guests": 4, "seating": "indoor",
            "pitch": "echo(20): Pitch a dinner in Oslo", "model": "test-model"
        }))
    );
    let elicited = rec.elicited();
    assert_eq!(elicited.len(), 1, "{elicited:?}");
    assert_eq!(elicited[0].message, "How should we seat you in Oslo?");
    let schema = elicited[0]
        .requested_schema
        .as_ref()
        .expect("requestedSchema");
    assert_eq!(schema["properties"]["guests"]["default"], json!(2));
    assert_eq!(schema["properties"]["seating"]["default"], json!("indoor"));
    let sampled = rec.sampled();
    assert_eq!(sampled.len(), 1, "{sampled:?}");
    assert_eq!(sampled[0].max_tokens, 20);

    // Declining the form fails the tool (the resolver's consumer wants the model, not the
    // outcome): a tool error, not a protocol error.
    rec.decline.store(true, Ordering::SeqCst);
    let r = guard
        .call_tool("book_table", json!({"city": "Bergen"}))
        .await
        .unwrap();
    assert!(r.is_error(), "{r:?}");
    assert!(r.text().contains("decline"), "{}", r.text());

    finish(server, guard).await;
}

/// Questions that depend on earlier answers: on 2026-07-28 several `input_required` rounds for one
/// request (a new `requestState` each time), and a prompt's own round trip.
async fn multi_round(n: Negotiation) {
    let rec = Recorder::new();
    let server = rec.attach(python(n)).build().unwrap();
    let guard = enter(&server, n).await;

    // The pitch is sampled first; the approval form quotes it. `approved` comes from the
    // schema's default.
    let r = guard
        .call_tool("approve_pitch", json!({"city": "Oslo"}))
        .await
        .unwrap();
    assert!(!r.is_error(), "{r:?}");
    let pitch = "echo(20): Pitch a dinner in Oslo";
    assert_eq!(
        r.structured_content,
        Some(json!({"pitch": pitch, "approved": true, "note": "ship it"}))
    );
    assert_eq!(rec.sampled().len(), 1);
    let elicited = rec.elicited();
    assert_eq!(elicited.len(), 1, "{elicited:?}");
    assert_eq!(elicited[0].message, format!("Approve this pitch? {pitch}"));

    // A prompt that asks the user before it renders.
    let got = guard
        .get_prompt("interview", args(&[("role", "engineer")]))
        .await
        .unwrap();
    assert_eq!(got.messages.len(), 1, "{got:?}");
    assert_eq!(
        got.messages[0].content.as_text(),
        Some("Interview Grace for the engineer role.")
    );
    let elicited = rec.elicited();
    assert_eq!(elicited.len(), 2, "{elicited:?}");
    assert_eq!(elicited[1].message, "Who is interviewing for engineer?");

    finish(server, guard).await;
}

/// Tool-enabled sampling (2025-11-25 `tools` / `toolChoice`; SEP-1577). A server may send it only
/// to a client that declared `sampling.tools`; the SDK's resolver enforces that (-32021
/// otherwise). The handler (a closure: `supports_tools()` is true) gets the tools and the tool
/// choice, and its model "calls" the first tool; the peer's tool returns the stop reason and the
/// calls it got back. Then the same against a handler that does not declare tools: the request
/// never comes, the tool fails with -32021, and plain sampling still works.
async fn sampling_with_tools(n: Negotiation) {
    let rec = Recorder::new();
    let server = rec.attach(python(n)).build().unwrap();
    let guard = enter(&server, n).await;

    let r = guard
        .call_tool("pick_tool", json!({"question": "Weather in Oslo?"}))
        .await
        .unwrap_or_else(|e| {
            panic!("tool-enabled sampling refused (is `sampling.tools` declared?): {e}")
        });
    assert!(!r.is_error(), "{r:?}");
    assert_eq!(
        r.structured_content,
        Some(json!({"stop_reason": "toolUse",
                    "calls": [{"name": "get_weather", "input": {"city": "Oslo"}}]}))
    );
    let sampled = rec.sampled();
    assert_eq!(sampled.len(), 1, "{sampled:?}");
    let p = &sampled[0];
    assert_eq!(p.max_tokens, 64);
    assert_eq!(
        p.messages[0].content,
        json!({"type": "text", "text": "Weather in Oslo?"})
    );
    let tools = p.tools.as_deref().unwrap_or_default();
    assert_eq!(tools.len(), 1, "{tools:?}");
    assert_eq!(tools[0]["name"], json!("get_weather"));
    assert_eq!(tools[0]["description"], json!("The weather in a city"));
    assert_eq!(tools[0]["inputSchema"]["required"], json!(["city"]));
    assert_eq!(p.tool_choice, Some(json!({"mode": "auto"})));
    finish(server, guard).await;

    // A model without tools: `sampling: {}` only.
    let calls = Arc::new(AtomicUsize::new(0));
    let server = python(n)
        .sampling(TextOnlyModel(calls.clone()))
        .build()
        .unwrap();
    let guard = enter(&server, n).await;
    let e = guard
        .call_tool("pick_tool", json!({"question": "Weather in Oslo?"}))
        .await
        .unwrap_err();
    let rpc = e
        .rpc_error()
        .unwrap_or_else(|| panic!("not an RPC error: {e}"));
    assert_eq!(rpc.code, -32021, "{rpc:?}");
    assert!(rpc.message.contains("sampling.tools"), "{rpc:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler was asked");
    let r = guard
        .call_tool("summarize", json!({"text": "x"}))
        .await
        .unwrap();
    assert_eq!(r.text(), "text-only: plain");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    finish(server, guard).await;
}

/// A sampling handler that declares no tool support (`sampling: {}`) and counts its calls.
struct TextOnlyModel(Arc<AtomicUsize>);

impl SamplingHandler for TextOnlyModel {
    fn create_message(&self, _: CreateMessageParams) -> HandlerFuture<CreateMessageResult> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            Ok(CreateMessageResult {
                role: Role::Assistant,
                content: json!({"type": "text", "text": "plain"}),
                model: "text-only".into(),
                stop_reason: Some("endTurn".into()),
                extra: Default::default(),
            })
        })
    }

    fn supports_tools(&self) -> bool {
        false
    }
}

/// An elicitation handler that declares URL mode (`elicitation: {form, url}`), records what it
/// is asked and accepts (the user consented to open the URL).
struct UrlConsent(Arc<Mutex<Vec<ElicitParams>>>);

impl ElicitationHandler for UrlConsent {
    fn elicit(&self, params: ElicitParams) -> HandlerFuture<ElicitResult> {
        self.0.lock().unwrap().push(params);
        Box::pin(async {
            Ok(ElicitResult {
                action: ElicitAction::Accept,
                content: None,
            })
        })
    }

    fn supports_url_mode(&self) -> bool {
        true
    }
}

/// The next `notifications/elicitation/complete`, which must arrive typed.
async fn elicitation_complete(
    notes: &mut mcpmux::Notifications,
) -> mcpmux::protocol::ElicitCompleteParams {
    let next = async {
        loop {
            match notes.recv().await {
                Some(Received::Notification(ServerNotification::ElicitationComplete(c))) => {
                    return c;
                }
                Some(Received::Notification(ServerNotification::Other { method, params }))
                    if method == methods::ELICITATION_COMPLETE =>
                {
                    panic!("elicitation/complete not typed: {params:?}")
                }
                Some(_) => {}
                None => panic!("notifications closed"),
            }
        }
    };
    bounded(
        "notifications/elicitation/complete",
        Duration::from_secs(10),
        next,
    )
    .await
}

/// URL-mode elicitation (2025-11-25, SEP-1036): `connect_account` sends the user to a URL; the
/// handler, which declared URL mode, sees mode `url`, the URL and (2025-11-25) the
/// `elicitationId`, and accepts. On 2025-11-25 the peer then sends
/// `notifications/elicitation/complete` with that id, which a subscriber gets as
/// [`ServerNotification::ElicitationComplete`]. On 2026-07-28 the request comes as an
/// `input_required` input request, and that version has neither the id nor the notification.
/// Then a client that declared form mode only: the request is refused with -32602 and its
/// handler is never asked (the SDK does not check the client's modes itself).
async fn url_elicitation(n: Negotiation) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = python(n)
        .elicitation(UrlConsent(seen.clone()))
        .build()
        .unwrap();
    let mut notes = server.notifications();
    let guard = enter(&server, n).await;

    let r = guard
        .call_tool("connect_account", json!({"service": "github"}))
        .await
        .unwrap();
    assert!(!r.is_error(), "{r:?}");
    let out = r.structured_content.clone().expect("structured outcome");
    let asked = seen.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let p = &asked[0];
    assert!(p.is_url_mode(), "{p:?}");
    assert_eq!(p.message, "Connect your github account");
    assert_eq!(p.requested_schema, None);
    let url = p.url.as_deref().expect("url");
    assert_eq!(out["action"], json!("accept"), "{out}");
    assert_eq!(out["url"], json!(url), "the handler saw the peer's URL");
    match n {
        Negotiation::Pinned => {
            let id = p
                .elicitation_id
                .clone()
                .expect("elicitationId (2025-11-25)");
            assert_eq!(
                url,
                format!("https://auth.example.com/connect/github?elicitation={id}")
            );
            assert_eq!(out["elicitation_id"], json!(id), "{out}");
            assert_eq!(out["completed"], json!(true), "{out}");
            let done = elicitation_complete(&mut notes).await;
            assert_eq!(done.elicitation_id, id);

            // A second elicitation gets a new id, and its own completion.
            let r = guard
                .call_tool("connect_account", json!({"service": "gitlab"}))
                .await
                .unwrap();
            let second = seen.lock().unwrap()[1].elicitation_id.clone().unwrap();
            assert_ne!(second, id);
            assert_eq!(
                r.structured_content.unwrap()["elicitation_id"],
                json!(second)
            );
            assert_eq!(
                elicitation_complete(&mut notes).await.elicitation_id,
                second
            );
        }
        Negotiation::Discovered => {
            assert_eq!(url, "https://auth.example.com/connect/github");
            assert_eq!(p.elicitation_id, None, "2026-07-28 has no elicitationId");
            assert_eq!(out["completed"], json!(false), "{out}");
        }
    }
    finish(server, guard).await;

    // Form mode only (a closure handler): never asked to open a URL.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let server = python(n)
        .elicitation(move |_: ElicitParams| {
            counted.fetch_add(1, Ordering::SeqCst);
            async {
                Ok(ElicitResult {
                    action: ElicitAction::Accept,
                    content: None,
                })
            }
        })
        .build()
        .unwrap();
    let guard = enter(&server, n).await;
    let e = guard
        .call_tool("connect_account", json!({"service": "github"}))
        .await
        .unwrap_err();
    let rpc = e
        .rpc_error()
        .unwrap_or_else(|| panic!("not an RPC error: {e}"));
    assert_eq!(rpc.code, -32602, "{rpc:?}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a form-only handler was asked"
    );
    finish(server, guard).await;
}

async fn structured_output(n: Negotiation) {
    let server = python(n).build().unwrap();
    let guard = enter(&server, n).await;

    let forecast = json!({
        "city": "Oslo",
        "temperature": {"value": 21.5, "unit": "C"},
        "conditions": ["sunny", "breezy"]
    });
    let r = guard
        .call_tool("forecast", json!({"city": "Oslo"}))
        .await
        .unwrap();
    assert!(!r.is_error(), "{r:?}");
    assert_eq!(r.structured_content.as_ref(), Some(&forecast));
    // The text content is the same object, serialized.
    assert_eq!(serde_json::from_str::<Value>(&r.text()).unwrap(), forecast);
    let tools = guard.tools().await.unwrap();
    let schema = tools
        .get("forecast")
        .and_then(|t| t.output_schema.as_ref())
        .expect("forecast has an outputSchema");
    assert_eq!(
        schema["required"],
        json!(["city", "temperature", "conditions"])
    );
    assert_eq!(
        schema["properties"]["temperature"]["$ref"],
        json!("#/$defs/Temperature")
    );
    let r = guard
        .call_tool("add", json!({"a": 2, "b": 0.5}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 2.5})));

    // Structured content that breaks the declared schema is refused by the library.
    let e = guard
        .call_tool("bad_forecast", json!({}))
        .await
        .unwrap_err();
    assert!(e.is_protocol(), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("bad_forecast") && msg.contains("outputSchema"),
        "{msg}"
    );
    finish(server, guard).await;

    // ... and passed through as it came when validation is off.
    let server = python(n).validate_structured_output(false).build().unwrap();
    let guard = enter(&server, n).await;
    let r = guard.call_tool("bad_forecast", json!({})).await.unwrap();
    assert_eq!(
        r.structured_content,
        Some(json!({"city": "Nowhere", "temperature": "warm"}))
    );
    finish(server, guard).await;
}

/// Without handlers the client does not offer sampling or elicitation: the tools that need them
/// fail with a JSON-RPC error, and the connection stays usable.
async fn without_handlers(n: Negotiation) {
    let server = python(n).build().unwrap();
    let guard = enter(&server, n).await;

    // The tool body asks anyway: the request is refused as an unknown method.
    for (tool, args) in [("summarize", json!({"text": "x"})), ("signup", json!({}))] {
        let e = guard.call_tool(tool, args).await.unwrap_err();
        let rpc = e
            .rpc_error()
            .unwrap_or_else(|| panic!("{tool}: not an RPC error: {e}"));
        assert_eq!(rpc.code, -32601, "{tool}: {rpc:?}");
    }
    // The SDK's resolvers check the client's capabilities first: -32021, naming the capability.
    let e = guard
        .call_tool("book_table", json!({"city": "Oslo"}))
        .await
        .unwrap_err();
    let rpc = e
        .rpc_error()
        .unwrap_or_else(|| panic!("not an RPC error: {e}"));
    assert_eq!(rpc.code, -32021, "{rpc:?}");
    let r = guard
        .call_tool("echo", json!({"text": "still here"}))
        .await
        .unwrap();
    assert_eq!(r.text(), "still here");

    finish(server, guard).await;
}

/// Sampling, elicitation and the resolvers over Streamable HTTP, both negotiations against one
/// peer: on 2026-07-28 as `input_required` POST round trips, on 2025-11-25 as server requests on
/// the POST's SSE stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_sampling_and_elicitation() {
    let peer = start_python_http("http", &["--features"]);
    bounded("HTTP run", TEST_LIMIT, async {
        for n in [Negotiation::Discovered, Negotiation::Pinned] {
            let rec = Recorder::new();
            let server = rec
                .attach(n.apply(Server::http(&peer.url).http_mode(mcpmux::HttpMode::Streamable)))
                .build()
                .unwrap();
            let guard = enter(&server, n).await;

            let r = guard
                .call_tool("summarize", json!({"text": "over http"}))
                .await
                .unwrap();
            assert_eq!(
                r.text(),
                "test-model: echo(42): Summarize: over http",
                "{n:?}"
            );

            let r = guard.call_tool("signup", json!({})).await.unwrap();
            assert_eq!(
                r.structured_content,
                Some(json!({"action": "accept", "content": {
                    "name": "Ada", "age": 36, "newsletter": true, "color": "green",
                    "nickname": "anon"
                }})),
                "{n:?}"
            );

            let r = guard
                .call_tool("book_table", json!({"city": "Oslo"}))
                .await
                .unwrap();
            assert_eq!(
                r.structured_content,
                Some(json!({
                    "city": "Oslo", "guests": 4, "seating": "indoor",
                    "pitch": "echo(20): Pitch a dinner in Oslo", "model": "test-model"
                })),
                "{n:?}"
            );
            assert_eq!(rec.sampled().len(), 2, "{n:?}");
            assert_eq!(rec.elicited().len(), 2, "{n:?}");

            drop(guard);
            bounded("close", Duration::from_secs(10), server.close()).await;
        }
    })
    .await;
    drop(peer);
}

/// Caching hints (`ttlMs`, 2026-07-28) against the Python peer with counted lists
/// (`--caching MODE`): the peer counts every `tools/list`, `resources/list` and `prompts/list`
/// it serves, so the tests see exactly when the client's caches (`tools()`, `resources()`,
/// `prompts()`) fetch. The rule: a stateless server's list without `ttlMs` (or with 0) is stale
/// at once; with `ttlMs` it is fresh for that long; a session-based server's list stays until
/// its `list_changed`.
fn counted(n: Negotiation, mode: &str) -> ServerBuilder {
    python_with(n, &["--caching", mode])
}

/// How many times the peer served tools/list, resources/list and prompts/list (a resource
/// read, which no cache counts).
async fn list_calls(guard: &Guard) -> [u64; 3] {
    let read = guard.read_resource("stats://list-calls").await.unwrap();
    let text = read.contents[0].text.as_deref().expect("text");
    let counts: Value = serde_json::from_str(text).unwrap();
    ["tools/list", "resources/list", "prompts/list"].map(|m| counts[m].as_u64().unwrap())
}

/// Each list once, through the connection's caches.
async fn cached_lists(guard: &Guard) {
    let tools = guard.tools().await.unwrap();
    assert!(tools.get("touch_lists").is_some());
    let resources = guard.resources().await.unwrap();
    assert_eq!(resources[0].uri, "stats://list-calls");
    assert!(guard.prompts().await.unwrap().is_empty());
}

fn plus(base: [u64; 3], n: u64) -> [u64; 3] {
    base.map(|c| c + n)
}

/// 2026-07-28 lists without `ttlMs` (the peer strips it) or with the SDK's default `ttlMs: 0`:
/// stale at once, so every cached read fetches again.
#[tokio::test]
async fn caching_stateless_lists_without_ttl_are_fetched_every_time() {
    run(Negotiation::Discovered, |n| async move {
        for (mode, ttl) in [("absent", None), ("sdk", Some(json!(0)))] {
            let server = counted(n, mode).build().unwrap();
            let guard = enter(&server, n).await;
            let page = guard.list_tools_page(None).await.unwrap();
            assert_eq!(page.extra.get("ttlMs"), ttl.as_ref(), "{mode}");
            let base = list_calls(&guard).await;
            for round in 1..=3 {
                cached_lists(&guard).await;
                assert_eq!(list_calls(&guard).await, plus(base, round), "{mode}");
            }
            finish(server, guard).await;
        }
    })
    .await;
}

/// 2026-07-28 lists with `ttlMs: 2000`: parsed, fresh for that long (one fetch for many reads),
/// then fetched again once.
#[tokio::test]
async fn caching_stateless_lists_stay_fresh_for_their_ttl() {
    const TTL: Duration = Duration::from_millis(2000);
    run(Negotiation::Discovered, |n| async move {
        let server = counted(n, "2000").build().unwrap();
        let guard = enter(&server, n).await;
        let page = guard.list_tools_page(None).await.unwrap();
        assert_eq!(page.extra.get("ttlMs"), Some(&json!(2000)));
        let base = list_calls(&guard).await;
        let started = std::time::Instant::now();
        for _ in 0..3 {
            cached_lists(&guard).await;
        }
        assert!(
            started.elapsed() < TTL,
            "the reads took longer than the ttl: the machine is too slow for this test"
        );
        assert_eq!(
            list_calls(&guard).await,
            plus(base, 1),
            "one fetch per list"
        );
        tokio::time::sleep(TTL + Duration::from_millis(300)).await;
        cached_lists(&guard).await;
        cached_lists(&guard).await;
        assert_eq!(
            list_calls(&guard).await,
            plus(base, 2),
            "one more after the ttl"
        );
        finish(server, guard).await;
    })
    .await;
}

/// 2025-11-25: the peer is told `ttlMs: 500`, but the SDK drops the hint for an older client,
/// so the lists stay cached past it — until the peer's `list_changed` notifications, after
/// which each is fetched once more.
#[tokio::test]
async fn caching_session_lists_stay_until_list_changed() {
    run(Negotiation::Pinned, |n| async move {
        let server = counted(n, "500").build().unwrap();
        let guard = enter(&server, n).await;
        let page = guard.list_tools_page(None).await.unwrap();
        assert_eq!(page.extra.get("ttlMs"), None);
        let base = list_calls(&guard).await;
        for _ in 0..3 {
            cached_lists(&guard).await;
        }
        assert_eq!(list_calls(&guard).await, plus(base, 1));
        tokio::time::sleep(Duration::from_millis(800)).await;
        cached_lists(&guard).await;
        assert_eq!(list_calls(&guard).await, plus(base, 1), "still cached");

        // The three list_changed come before the tool's answer: the caches are dropped by then.
        let r = guard.call_tool("touch_lists", json!({})).await.unwrap();
        assert_eq!(r.text(), "touched");
        cached_lists(&guard).await;
        cached_lists(&guard).await;
        assert_eq!(list_calls(&guard).await, plus(base, 2));
        finish(server, guard).await;
    })
    .await;
}

/// 2026-07-28 with the SDK's `ttlMs: 0`: checking a structured result against its tool's
/// output schema does not cost a `tools/list` per call. One list is fetched for the first
/// checked call; later calls, one at a time or 20 at once, are checked against it (a stale list
/// can only pass a result: anything it cannot pass is checked again against a fresh one).
#[tokio::test]
async fn caching_stateless_output_checks_do_not_list_per_call() {
    run(Negotiation::Discovered, |n| async move {
        let server = counted(n, "sdk").build().unwrap();
        let guard = enter(&server, n).await;
        let base = list_calls(&guard).await;
        let r = guard
            .call_tool("add", json!({"a": 1, "b": 2}))
            .await
            .unwrap();
        assert_eq!(r.structured_content, Some(json!({"result": 3.0})));
        assert_eq!(
            list_calls(&guard).await[0],
            base[0] + 1,
            "one tools/list for the first check"
        );
        for i in 0..5 {
            let r = guard
                .call_tool("add", json!({"a": i, "b": 1}))
                .await
                .unwrap();
            assert!(r.structured_content.is_some());
        }
        let guard_ref = &guard;
        let calls = (0..20)
            .map(|i| async move { guard_ref.call_tool("add", json!({"a": i, "b": 2})).await });
        for r in futures_util::future::join_all(calls).await {
            assert!(r.unwrap().structured_content.is_some());
        }
        let after = list_calls(&guard).await;
        assert_eq!(
            after[0],
            base[0] + 1,
            "no tools/list after the first check: {after:?}"
        );
        finish(server, guard).await;
    })
    .await;
}

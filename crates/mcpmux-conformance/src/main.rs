//! `mcpmux-conformance`: the client under test for the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`).
//!
//! The suite runs `mcpmux-conformance <server-url>` (the URL last) against a mock server, with the
//! scenario in `MCP_CONFORMANCE_SCENARIO`, and (0.2 alphas) the protocol version it expects in
//! `MCP_CONFORMANCE_PROTOCOL_VERSION` and extra inputs in `MCP_CONFORMANCE_CONTEXT` (JSON).
//!
//! The client uses mcpmux's public API only: `Server::http(url)` in the default
//! [`HttpMode::Auto`](mcpmux::HttpMode::Auto), an elicitation handler that accepts with an empty
//! form (so the library's schema defaults are what the server gets), then the calls the scenario
//! selects (see [`plan::steps`]). Exit status: 0 when every call succeeded, 1 when one failed,
//! 2 on a usage error. Logs go to stderr (`RUST_LOG`, default `info,mcpmux=debug`); the suite
//! keeps them in `stderr.txt` next to `checks.json`.

mod plan;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use mcpmux::protocol::{ElicitAction, ElicitParams, ElicitResult, ErrorObject, JsonObject, Tool};
use mcpmux::{Guard, ProtocolVersion, Server};
use serde_json::Value;

use plan::Step;

/// Timeout of the connect + handshake and of each request (the mocks answer in milliseconds;
/// sse-retry needs about 0.6 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole scenario's limit, under the suite's own 30 s kill, so the client always ends itself.
const RUN_LIMIT: Duration = Duration::from_secs(22);
/// How long the final shutdown (session DELETE, streams closed) may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the suite passes in.
#[derive(Debug)]
struct Invocation {
    url: String,
    scenario: String,
    protocol_version: Option<String>,
    context: Value,
}

impl Invocation {
    fn from_env() -> Result<Self, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|a| a == "-h" || a == "--help") {
            return Err(String::new());
        }
        let url = match args.as_slice() {
            [.., url] => url.clone(),
            [] => return Err("missing the server URL".to_owned()),
        };
        let context = match std::env::var("MCP_CONFORMANCE_CONTEXT") {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("MCP_CONFORMANCE_CONTEXT is not JSON: {e}"))?,
            Err(_) => Value::Null,
        };
        Ok(Invocation {
            url,
            scenario: std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default(),
            protocol_version: std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").ok(),
            context,
        })
    }
}

const USAGE: &str = "usage: mcpmux-conformance <server-url>
  env: MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_PROTOCOL_VERSION, MCP_CONFORMANCE_CONTEXT, RUST_LOG";

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,mcpmux=debug"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let inv = match Invocation::from_env() {
        Ok(inv) => inv,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("mcpmux-conformance: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(
        scenario = %inv.scenario,
        protocol_version = ?inv.protocol_version,
        url = %inv.url,
        "conformance client starting"
    );
    let server = match build(&inv) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mcpmux-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    let ok = match tokio::time::timeout(RUN_LIMIT, run(&server, &inv)).await {
        Ok(ok) => ok,
        Err(_) => {
            eprintln!("mcpmux-conformance: the scenario did not finish in {RUN_LIMIT:?}");
            false
        }
    };
    // Leave cleanly (streams closed, session deleted) before the suite tears its mock down.
    if tokio::time::timeout(CLOSE_TIMEOUT, server.close())
        .await
        .is_err()
    {
        eprintln!("mcpmux-conformance: close did not finish in {CLOSE_TIMEOUT:?}");
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The server handle: HTTP in the default mode, an elicitation handler, the suite's version.
fn build(inv: &Invocation) -> mcpmux::Result<Server> {
    let mut builder = Server::http(&inv.url)
        .client_info("mcpmux-conformance", env!("CARGO_PKG_VERSION"))
        .initialize_timeout(CALL_TIMEOUT)
        .request_timeout(CALL_TIMEOUT)
        .elicitation(accept_with_empty_form);
    match inv.protocol_version.as_deref() {
        None => {}
        Some(v) => match ProtocolVersion::parse(v) {
            Some(version) => builder = builder.protocol_version(version),
            // Left to the library's own negotiation; the suite's checks say what it did.
            None => tracing::warn!(
                version = v,
                "mcpmux does not know the protocol version the suite asks for; using its default"
            ),
        },
    }
    if inv.scenario.starts_with("auth/") {
        builder = builder.oauth(oauth_config(&inv.scenario, &inv.context));
    }
    builder.build()
}

/// The client metadata document URL the suite expects as the client id where the
/// authorization server supports Client ID Metadata Documents.
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";

/// OAuth for the `auth/*` scenarios: the suite's authorization servers approve at once, so the
/// login follows their redirect itself; tokens live in memory (each run starts afresh). The
/// scenario's context may hold pre-registered credentials (`client_id`, `client_secret`) or a
/// private key for `private_key_jwt` (`private_key_pem`, `signing_algorithm`); a context that
/// holds credentials and no authorization-code inputs asks for the client credentials grant.
fn oauth_config(scenario: &str, context: &Value) -> mcpmux::auth::OAuthConfig {
    use mcpmux::auth::{HeadlessLogin, MemoryTokenStore, OAuthConfig};
    let text = |k: &str| context.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut config = OAuthConfig::new()
        .login(HeadlessLogin::new())
        .store(MemoryTokenStore::new())
        .client_name("mcpmux-conformance")
        .client_metadata_url(CLIENT_METADATA_URL);
    if let Some(id) = text("client_id") {
        config = config.client_id(id);
    }
    if let Some(secret) = text("client_secret") {
        config = config.client_secret(secret);
    }
    if let Some(pem) = text("private_key_pem") {
        let alg = text("signing_algorithm").unwrap_or_else(|| "ES256".to_owned());
        config = config.private_key_jwt(pem, alg);
    }
    if scenario.starts_with("auth/client-credentials") {
        config = config.client_credentials();
    }
    // Enterprise-managed authorization: the user's ID token from the identity provider.
    if let (Some(endpoint), Some(id_token), Some(idp_client)) = (
        text("idp_token_endpoint"),
        text("idp_id_token"),
        text("idp_client_id"),
    ) {
        config = config.enterprise_managed(endpoint, id_token, idp_client);
    }
    // Workload identity: a JWT the platform issued.
    if let Some(jwt) = text("valid_jwt") {
        config = config.jwt_bearer(jwt);
    }
    config
}

/// The "user" of every elicitation: accepts and fills in nothing, so whatever the server gets
/// beyond `{}` (the schema's defaults) was added by the library.
async fn accept_with_empty_form(params: ElicitParams) -> Result<ElicitResult, ErrorObject> {
    tracing::info!(message = %params.message, "elicitation: accepting with an empty form");
    Ok(ElicitResult {
        action: ElicitAction::Accept,
        content: Some(JsonObject::new()),
    })
}

/// Connects and runs the scenario's steps; false if any call failed.
async fn run(server: &Server, inv: &Invocation) -> bool {
    let guard = match server.enter().await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("connect/initialize failed: {e}");
            return false;
        }
    };
    let init = guard.initialize_result();
    println!(
        "connected: protocol {}, server {}",
        init.protocol_version,
        serde_json::to_string(&init.server_info).unwrap_or_default()
    );
    let mut client = Client {
        guard: &guard,
        tools: None,
        ok: true,
    };
    for step in plan::steps(&inv.scenario) {
        client.step(&step, &inv.context).await;
    }
    client.ok
}

/// The running scenario: the connection, the tool list once fetched, and whether all went well.
struct Client<'a> {
    guard: &'a Guard,
    tools: Option<Vec<Tool>>,
    ok: bool,
}

impl Client<'_> {
    fn failed(&mut self, what: &str, error: impl std::fmt::Display) {
        eprintln!("{what} failed: {error}");
        self.ok = false;
    }

    /// The tools, listed once per run.
    async fn tools(&mut self) -> Vec<Tool> {
        if let Some(tools) = &self.tools {
            return tools.clone();
        }
        let tools = match self.guard.list_tools().await {
            Ok(tools) => {
                let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
                println!("tools/list: {names:?}");
                tools
            }
            Err(e) => {
                self.failed("tools/list", e);
                Vec::new()
            }
        };
        self.tools = Some(tools.clone());
        tools
    }

    async fn call(&mut self, name: &str, arguments: Value) {
        match self.guard.call_tool(name, arguments).await {
            Ok(result) => println!(
                "tools/call {name}: {}{}",
                if result.is_error() { "isError: " } else { "" },
                result.text()
            ),
            Err(e) => self.failed(&format!("tools/call {name}"), e),
        }
    }

    async fn step(&mut self, step: &Step, context: &Value) {
        match step {
            Step::ListTools => {
                self.tools().await;
            }
            Step::CallTool { name, arguments } => self.call(name, arguments.clone()).await,
            Step::CallFirstTool => {
                if let Some(tool) = self.tools().await.into_iter().next() {
                    self.call(&tool.name, plan::placeholder_arguments(&tool.input_schema))
                        .await;
                }
            }
            Step::CallEveryTool => {
                for tool in self.tools().await {
                    self.call(&tool.name, plan::placeholder_arguments(&tool.input_schema))
                        .await;
                }
            }
            Step::CallToolsFromContext => {
                let calls = plan::context_tool_calls(context);
                if calls.is_empty() {
                    self.failed("toolCalls", "MCP_CONFORMANCE_CONTEXT names no tool calls");
                }
                for (name, arguments) in calls {
                    self.call(&name, arguments).await;
                }
            }
            Step::EchoInputSchema { echo, of } => {
                let schema = self
                    .tools()
                    .await
                    .into_iter()
                    .find(|t| t.name == *of)
                    .map(|t| t.input_schema);
                match schema {
                    Some(schema) => {
                        self.call(echo, serde_json::json!({ "schema": schema }))
                            .await;
                    }
                    None => self.failed(&format!("finding tool {of:?}"), "not listed"),
                }
            }
            Step::ReadEveryResource => match self.guard.list_resources().await {
                Ok(resources) => {
                    for r in resources {
                        match self.guard.read_resource(&r.uri).await {
                            Ok(read) => println!(
                                "resources/read {}: {} item(s)",
                                r.uri,
                                read.contents.len()
                            ),
                            Err(e) => self.failed(&format!("resources/read {}", r.uri), e),
                        }
                    }
                }
                Err(e) => self.failed("resources/list", e),
            },
            Step::ListSkills => match self.guard.list_skills().await {
                Ok(skills) => println!("skills/list: {} skill(s)", skills.len()),
                Err(e) => self.failed("skills/list", e),
            },
            Step::UseEverySkill => match self.guard.list_skills().await {
                Ok(skills) => {
                    for entry in skills {
                        // A refused skill is the library doing its job: report, don't fail.
                        match self.guard.load_skill(&entry).await {
                            Ok(skill) => {
                                println!("skill {} loaded", entry.uri);
                                for file in &entry.resources {
                                    if file.uri == entry.uri {
                                        continue;
                                    }
                                    match self.guard.read_skill_file(&skill, &file.uri).await {
                                        Ok(bytes) => {
                                            println!("  {}: {} bytes", file.uri, bytes.len())
                                        }
                                        Err(e) => println!("  {} refused: {e}", file.uri),
                                    }
                                }
                            }
                            Err(e) => println!("skill {} refused: {e}", entry.uri),
                        }
                    }
                }
                Err(e) => self.failed("skills/list", e),
            },
            Step::GetEveryPrompt => match self.guard.list_prompts().await {
                Ok(prompts) => {
                    for p in prompts {
                        let arguments: BTreeMap<String, String> = p
                            .arguments
                            .iter()
                            .flatten()
                            .filter(|a| a.required == Some(true))
                            .map(|a| (a.name.clone(), "x".to_owned()))
                            .collect();
                        match self.guard.get_prompt(&p.name, arguments).await {
                            Ok(got) => println!(
                                "prompts/get {}: {} message(s)",
                                p.name,
                                got.messages.len()
                            ),
                            Err(e) => self.failed(&format!("prompts/get {}", p.name), e),
                        }
                    }
                }
                Err(e) => self.failed("prompts/list", e),
            },
        }
    }
}

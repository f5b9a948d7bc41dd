//! The command line: clap definitions only. Parsing validates; it does no I/O.

mod help;
pub mod parse;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;
use mcpmux_config::Host;
use serde_json::{Map, Value};

/// The help heading of the options every subcommand accepts.
const GLOBAL: &str = "Global options";
/// The help heading of the ad-hoc server options.
const AD_HOC: &str = "Ad-hoc server (instead of the config)";

/// `mcpmux`: use MCP servers from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "mcpmux",
    version,
    about = "Use MCP servers from the command line: list, call, batch; demo shared connections",
    long_about = help::LONG_ABOUT,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Options valid before or after the subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every subcommand (`global = true`: accepted before or after it).
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Machine-readable output: JSON on stdout
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    /// Log more on stderr: -v info, -vv debug, -vvv trace (default: warnings)
    #[arg(short, long, action = ArgAction::Count, global = true, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Log only errors, and hide progress bars and summaries
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,

    /// Timeout of each request, in seconds (fractions allowed; default 60, or the config's)
    #[arg(
        long,
        value_name = "SECONDS",
        global = true,
        value_parser = parse::timeout,
        help_heading = GLOBAL
    )]
    pub timeout: Option<Duration>,

    /// Bound on starting each server: spawn, handshake and retries, in seconds (fractions
    /// allowed; default 60, or the config's `connect_timeout` / Codex `startup_timeout_sec`);
    /// past it the command exits 4
    #[arg(
        long,
        value_name = "SECONDS",
        global = true,
        value_parser = parse::timeout,
        help_heading = GLOBAL
    )]
    pub connect_timeout: Option<Duration>,

    /// Pin the MCP protocol version (2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25 or
    /// 2026-07-28; default: negotiate, probing server/discover, then initialize)
    #[arg(
        long,
        value_name = "VERSION",
        global = true,
        value_parser = parse_protocol_version,
        help_heading = GLOBAL
    )]
    pub protocol_version: Option<mcpmux::ProtocolVersion>,

    /// Read the servers from this config file (default: $MCPMUX_CONFIG, else
    /// ~/.config/mcpmux/mcp.json and ./.mcp.json)
    #[arg(long, value_name = "FILE", global = true, help_heading = GLOBAL)]
    pub config: Option<PathBuf>,

    /// Read this host's config files from their usual places (with --config: the file's
    /// format): claude-desktop, claude-code, cursor, vscode, windsurf, gemini, codex or zed
    #[arg(
        long,
        value_name = "HOST",
        global = true,
        value_parser = parse_host,
        help_heading = GLOBAL
    )]
    pub from: Option<Host>,

    /// Fail if any server fails to start (default: report it; the others serve)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub strict: bool,

    /// HTTPS servers: also trust the CA certificate(s) in this PEM file, besides the system's
    /// roots (repeatable; SSL_CERT_FILE, when set, replaces the system's roots)
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        action = ArgAction::Append,
        help_heading = GLOBAL
    )]
    pub ca_cert: Vec<PathBuf>,

    /// HTTP servers on http:// URLs: speak HTTP/2 from the first byte (h2c with prior
    /// knowledge) instead of HTTP/1.1; on https:// offer only h2 (HTTP/2 is negotiated there
    /// anyway when the server offers it)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub http2_prior_knowledge: bool,
}

fn parse_host(s: &str) -> Result<Host, String> {
    s.parse()
}

impl GlobalArgs {
    /// Whether progress and summaries may be shown on stderr.
    pub fn chatty(&self) -> bool {
        !self.quiet
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to each configured server and show its status
    #[command(long_about = help::SERVERS)]
    Servers(ServersArgs),

    /// List the tools of the configured servers
    #[command(long_about = help::TOOLS)]
    Tools(ToolsArgs),

    /// Call one tool and print its result
    #[command(long_about = help::CALL)]
    Call(CallArgs),

    /// Run tool calls from JSON Lines concurrently; print JSON Lines results
    #[command(long_about = help::BATCH)]
    Batch(BatchArgs),

    /// List the resources of the configured servers
    #[command(long_about = help::RESOURCES)]
    Resources(ListArgs),

    /// Read a resource
    #[command(long_about = help::READ)]
    Read(ReadArgs),

    /// List the prompts of the configured servers
    #[command(long_about = help::PROMPTS)]
    Prompts(ListArgs),

    /// Get a prompt with arguments
    #[command(long_about = help::PROMPT)]
    Prompt(PromptArgs),

    /// Run concurrent calls against the built-in test server through one shared connection
    #[cfg(feature = "test-server")]
    #[command(long_about = help::DEMO)]
    Demo(DemoArgs),

    /// Run concurrent calls against the built-in test server [not in this build: it needs the
    /// `test-server` feature]
    #[cfg(not(feature = "test-server"))]
    Demo(NotBuilt),

    /// Measure a server's tool calls: the raw JSON-RPC limit and mcpmux side by side
    #[cfg(feature = "bench")]
    #[command(long_about = help::BENCH)]
    Bench(BenchArgs),

    /// Measure a server's tool calls [not in this build: it needs the `bench` feature]
    #[cfg(not(feature = "bench"))]
    Bench(NotBuilt),

    /// Run a model with the tools of every configured server (parallel tool calls)
    #[command(long_about = help::AGENT)]
    Agent(AgentArgs),

    /// Serve every configured server as one MCP server on stdio or HTTP (a gateway)
    #[command(long_about = help::SERVE)]
    Serve(ServeArgs),

    /// Log in to, or out of, an HTTP server that needs OAuth; show what is stored
    #[command(long_about = help::AUTH)]
    Auth(AuthArgs),

    /// Print a shell completion script
    #[command(long_about = help::COMPLETIONS)]
    Completions(CompletionsArgs),

    /// Run the built-in MCP test server on stdin/stdout (what `demo` spawns)
    #[cfg(feature = "test-server")]
    #[command(hide = true)]
    TestServer(TestServerArgs),

    /// The built-in MCP test server [not in this build: it needs the `test-server` feature]
    #[cfg(not(feature = "test-server"))]
    #[command(hide = true)]
    TestServer(NotBuilt),

    /// One benchmark worker process (what `bench` starts); SPEC is its JSON spec
    #[cfg(feature = "bench")]
    #[command(hide = true)]
    BenchWorker {
        /// The worker spec (JSON)
        spec: String,
    },

    /// A benchmark worker process [not in this build: it needs the `bench` feature]
    #[cfg(not(feature = "bench"))]
    #[command(hide = true)]
    BenchWorker(NotBuilt),
}

/// The arguments of a subcommand left out of this build (a cargo feature turned off): any at
/// all, so that it says which feature it needs instead of failing on its arguments.
#[cfg(not(all(feature = "test-server", feature = "bench")))]
#[derive(Debug, Clone, Args)]
pub struct NotBuilt {
    /// Whatever was given (ignored)
    #[arg(num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true, hide = true)]
    _ignored: Vec<OsString>,
}

/// `mcpmux auth ...`.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AuthAction,
}

/// The `auth` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum AuthAction {
    /// Log in now (opens the browser, or prints the URL to open) and store the tokens
    Login {
        /// The configured server
        #[arg(value_name = "SERVER")]
        server: Option<String>,
        /// An HTTP server's URL instead of a configured server
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Show the stored logins (issuer, client, scopes, expiry, refreshable; never a token)
    Status {
        /// Only this configured server (default: every HTTP server of the config)
        #[arg(value_name = "SERVER")]
        server: Option<String>,
    },
    /// Revoke (where the authorization server can) and forget the stored tokens
    Logout {
        /// The configured server
        #[arg(value_name = "SERVER")]
        server: Option<String>,
        /// An HTTP server's URL instead of a configured server
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

/// How a server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// A child process speaking newline-delimited JSON-RPC on stdin/stdout
    Stdio,
    /// Streamable HTTP (MCP 2025-03-26 and later)
    Http,
    /// The legacy HTTP+SSE transport (MCP 2024-11-05)
    Sse,
}

impl Transport {
    /// The lowercase name (the demo's summary).
    #[cfg(feature = "test-server")]
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "http",
            Transport::Sse => "sse",
        }
    }
}

/// An ad-hoc server, instead of the config: `--url URL` or `-- COMMAND [ARGS]...`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServerArgs {
    /// An HTTP server's URL (Streamable HTTP with legacy-SSE fallback; a path ending in /sse
    /// means SSE)
    #[arg(long, value_name = "URL", help_heading = AD_HOC)]
    pub url: Option<String>,

    /// The ad-hoc server's transport (default: stdio with `--`, inferred from --url)
    #[arg(long, value_enum, value_name = "TRANSPORT", help_heading = AD_HOC)]
    pub transport: Option<Transport>,

    /// An HTTP header for --url, 'Name: value' (repeatable)
    #[arg(
        long = "header",
        value_name = "'NAME: VALUE'",
        value_parser = parse::header,
        help_heading = AD_HOC
    )]
    pub headers: Vec<(String, String)>,

    /// A bearer token for --url (sent as `Authorization: Bearer TOKEN`, never shown)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "MCPMUX_BEARER_TOKEN",
        hide_env_values = true,
        help_heading = AD_HOC
    )]
    pub bearer: Option<String>,

    /// An environment variable for the stdio server, KEY=VALUE (repeatable). The server gets
    /// only these and the allow-listed HOME, LOGNAME, PATH, SHELL, TERM, USER, LANG, LC_ALL,
    /// LC_CTYPE, TMPDIR and TZ
    #[arg(
        long = "env",
        value_name = "KEY=VALUE",
        value_parser = parse::env_var,
        help_heading = AD_HOC
    )]
    pub env: Vec<(String, String)>,

    /// A stdio server to run: COMMAND [ARGS]..., after `--` (no shell)
    #[arg(
        value_name = "COMMAND",
        last = true,
        num_args = 1..,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

impl ServerArgs {
    /// Whether an ad-hoc server was given.
    pub fn is_given(&self) -> bool {
        self.url.is_some() || !self.command.is_empty()
    }
}

/// Arguments of `mcpmux servers`.
#[derive(Debug, Clone, Args)]
pub struct ServersArgs {
    /// The ad-hoc server, if any.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Arguments of `mcpmux tools`.
#[derive(Debug, Clone, Args)]
pub struct ToolsArgs {
    /// Only this server's tools
    #[arg(value_name = "SERVER", add = ArgValueCompleter::new(crate::complete::servers))]
    pub name: Option<String>,

    /// Print each tool's input schema
    #[arg(long)]
    pub schema: bool,

    /// The ad-hoc server, if any.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Arguments of `mcpmux resources` and `mcpmux prompts`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Only this server's
    #[arg(value_name = "SERVER", add = ArgValueCompleter::new(crate::complete::servers))]
    pub name: Option<String>,

    /// The ad-hoc server, if any.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Arguments of `mcpmux call`.
#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    /// SERVER.TOOL, or the tool's name with an ad-hoc server
    #[arg(value_name = "TARGET", add = ArgValueCompleter::new(crate::complete::tools))]
    pub tool: String,

    /// Tool arguments as KEY=VALUE, typed by the tool's input schema
    #[arg(value_name = "KEY=VALUE", value_parser = parse::pair)]
    pub pairs: Vec<(String, String)>,

    /// Tool arguments, as a JSON object
    #[arg(
        long = "args",
        value_name = "JSON",
        default_value = "{}",
        value_parser = parse::json_object
    )]
    pub arguments: Map<String, Value>,

    /// Save image and audio content to files in DIR
    #[arg(long, value_name = "DIR")]
    pub save_media: Option<PathBuf>,

    /// The ad-hoc server, if any.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Arguments of `mcpmux batch`.
#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// Read the calls from FILE instead of stdin
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// At most N calls at once, across all servers
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    pub concurrency: u64,

    /// The ad-hoc server, if any.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Arguments of `mcpmux read`.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// The resource's URI
    #[arg(value_name = "URI")]
    pub uri: String,

    /// The configured server to read it from (default: the one that lists URI)
    #[arg(
        long = "server",
        value_name = "NAME",
        add = ArgValueCompleter::new(crate::complete::servers)
    )]
    pub name: Option<String>,

    /// Save binary contents to files in DIR
    #[arg(long, value_name = "DIR")]
    pub save_media: Option<PathBuf>,

    /// The ad-hoc server, if any.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Arguments of `mcpmux prompt`.
#[derive(Debug, Clone, Args)]
pub struct PromptArgs {
    /// SERVER.PROMPT, or the prompt's name with an ad-hoc server
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Prompt arguments as KEY=VALUE
    #[arg(value_name = "KEY=VALUE", value_parser = parse::pair)]
    pub pairs: Vec<(String, String)>,

    /// The ad-hoc server, if any.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// When `mcpmux serve` prefixes tool names with their server's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrefixMode {
    /// Every tool as SERVER_TOOL
    Always,
    /// Only tools whose name another server offers too
    Auto,
    /// No prefix; two servers offering one name stop the gateway from starting
    Never,
}

/// Arguments of `mcpmux serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Prefix tool names with their server's name: always (SERVER_TOOL), auto (only names that
    /// collide) or never (a collision is an error)
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = PrefixMode::Always)]
    pub prefix: PrefixMode,

    /// Serve over HTTP on HOST:PORT instead of stdio: Streamable HTTP on --path, legacy
    /// HTTP+SSE on /sse, Prometheus metrics on /metrics (port 0: any free port)
    #[arg(long, value_name = "HOST:PORT")]
    pub http: Option<String>,

    /// The Streamable HTTP endpoint's path
    #[arg(long, value_name = "PATH", default_value = "/mcp", requires = "http")]
    pub path: String,

    /// Clients must send `Authorization: Bearer <the value of $VAR>` (required on a
    /// non-loopback address)
    #[arg(long, value_name = "VAR", requires = "http")]
    pub token_env: Option<String>,

    /// Answer each HTTP request with one JSON body rather than an SSE stream
    #[arg(long, requires = "http")]
    pub json_response: bool,

    /// Seal multi-round-trip request states with a key derived from $VAR (the same secret on
    /// every replica behind one load balancer; at least 32 characters)
    #[arg(long, value_name = "VAR")]
    pub state_key_env: Option<String>,

    /// Start serving after waiting at most SECS for the servers (0: at once): one still
    /// starting then joins later, announced to clients with list_changed
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse::seconds)]
    pub startup_wait: std::time::Duration,
}

/// The model API `mcpmux agent` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelApi {
    /// OpenAI Chat Completions (and every compatible server)
    Openai,
    /// Anthropic Messages
    Anthropic,
}

/// Arguments of `mcpmux agent`.
#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// The prompt (default: stdin; an interactive session when stdin is a terminal)
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,

    /// The model API's root, as OpenAI SDKs take it (e.g. http://127.0.0.1:8080/v1)
    #[arg(long, value_name = "URL")]
    pub base_url: String,

    /// The model's name
    #[arg(long, value_name = "NAME")]
    pub model: String,

    /// The model API
    #[arg(long, value_enum, value_name = "API", default_value_t = ModelApi::Openai)]
    pub provider: ModelApi,

    /// The variable holding the API key (default OPENAI_API_KEY, or ANTHROPIC_API_KEY); unset
    /// or empty: no key is sent
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,

    /// Offer only this configured server's tools (repeatable)
    #[arg(
        long = "server",
        value_name = "NAME",
        add = ArgValueCompleter::new(crate::complete::servers)
    )]
    pub servers: Vec<String>,

    /// At most N model requests per prompt
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=10_000)
    )]
    pub max_turns: u64,

    /// Ask on the terminal before each tool call
    #[arg(long)]
    pub approve: bool,

    /// Ask for whole replies instead of streamed ones
    #[arg(long)]
    pub no_stream: bool,

    /// A system prompt
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
}

/// Arguments of `mcpmux demo`.
#[cfg(feature = "test-server")]
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Total number of tool calls
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..=10_000_000)
    )]
    pub calls: u64,

    /// Number of tasks sharing the connection
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        value_parser = clap::value_parser!(u64).range(1..=100_000)
    )]
    pub tasks: u64,

    /// How to reach the test server: a child process (stdio), or in-process over Streamable
    /// HTTP (http) or legacy SSE (sse)
    #[arg(long, value_enum, value_name = "TRANSPORT", default_value_t = Transport::Stdio)]
    pub transport: Transport,
}

/// Shells `mcpmux completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash
    Bash,
    /// Zsh
    Zsh,
    /// Fish
    Fish,
}

/// Arguments of `mcpmux bench`.
#[cfg(feature = "bench")]
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// SERVER.TOOL, or the tool's name with an ad-hoc server
    #[arg(value_name = "TARGET", add = ArgValueCompleter::new(crate::complete::tools))]
    pub tool: String,

    /// Tool arguments, as a JSON object
    #[arg(
        long = "args",
        value_name = "JSON",
        default_value = "{}",
        value_parser = parse::json_object
    )]
    pub arguments: Map<String, Value>,

    /// Calls per run
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    pub calls: u64,

    /// One call at a time (latency p50/p99) instead of all calls at once
    #[arg(long)]
    pub sequential: bool,

    /// Runs per client; the table shows medians
    #[arg(
        long,
        value_name = "N",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=100)
    )]
    pub runs: u64,

    /// Untimed warm-up calls before the first run (default: min(calls, 100))
    #[arg(long, value_name = "N")]
    pub warmup: Option<u64>,

    /// Clients, comma-separated: raw, mcpmux, python, ts (python and ts need --repo)
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "raw,mcpmux"
    )]
    pub clients: Vec<String>,

    /// Wait up to SECS per client for other processes to go quiet (< 0.3 cores) before each
    /// run, and measure a disturbed client again; 0 measures at once
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub quiet_wait: u64,

    /// A checkout of the mcpmux repository with `scripts/install-peers.sh` run (for the python
    /// and ts clients)
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,

    /// The ad-hoc server, if any.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Arguments of `mcpmux completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Arguments of the hidden `mcpmux test-server`: the test server's own flags.
#[cfg(feature = "test-server")]
#[derive(Debug, Clone, Args)]
pub struct TestServerArgs {
    /// The test server's startup options.
    #[command(flatten)]
    pub options: mcpmux_test_server::Options,

    /// HTTP instead of stdio (`--http ADDR` and its options), under the same names as the
    /// `mcpmux-test-server` binary's.
    #[command(flatten)]
    pub http: mcpmux_test_server::HttpOptions,

    /// Serve a scripted model instead (OpenAI chat completions on /v1/chat/completions,
    /// Anthropic Messages on /v1/messages) replaying this JSON script; needs --http ADDR
    #[arg(long, value_name = "SCRIPT", requires = "listen")]
    pub model: Option<PathBuf>,
}

fn parse_protocol_version(s: &str) -> Result<mcpmux::ProtocolVersion, String> {
    mcpmux::ProtocolVersion::parse(s).ok_or_else(|| {
        format!(
            "unknown protocol version {s:?} (known: 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let before = Cli::try_parse_from(["mcpmux", "--json", "-vv", "call", "t", "--", "x"]);
        let after = Cli::try_parse_from(["mcpmux", "call", "t", "--json", "-vv", "--", "x"]);
        for cli in [before, after] {
            let cli = cli.map_err(|e| e.to_string());
            assert!(
                matches!(&cli, Ok(c) if c.global.json && c.global.verbose == 2),
                "{cli:?}"
            );
        }
        let cli = Cli::try_parse_from(["mcpmux", "tools", "--config", "a.json", "--from", "zed"]);
        assert!(
            matches!(&cli, Ok(c) if c.global.from == Some(Host::Zed) && c.global.config.is_some())
        );
        assert!(Cli::try_parse_from(["mcpmux", "tools", "--from", "emacs"]).is_err());
    }

    #[test]
    fn call_takes_the_server_command_after_double_dash() {
        let cli = Cli::try_parse_from(["mcpmux", "call", "echo", "--", "srv", "--flag", "-x"]);
        match cli.map(|c| c.command) {
            Ok(Command::Call(args)) => {
                assert_eq!(args.server.command, ["srv", "--flag", "-x"]);
                assert!(args.arguments.is_empty() && args.pairs.is_empty());
            }
            other => panic!("{other:?}"),
        }
        // A word that is not KEY=VALUE is not a server command.
        assert!(Cli::try_parse_from(["mcpmux", "call", "echo", "srv"]).is_err());
    }

    #[test]
    fn call_takes_pairs_url_and_http_flags() {
        let cli = Cli::try_parse_from([
            "mcpmux",
            "call",
            "add",
            "a=1",
            "b=2",
            "--url",
            "http://h/mcp",
            "--header",
            "X-A: 1",
            "--header",
            "X-B: 2",
            "--bearer",
            "t",
            "--transport",
            "sse",
        ]);
        match cli.map(|c| c.command) {
            Ok(Command::Call(args)) => {
                assert_eq!(
                    args.pairs,
                    [("a".into(), "1".into()), ("b".into(), "2".into())]
                );
                assert_eq!(args.server.url.as_deref(), Some("http://h/mcp"));
                assert_eq!(args.server.headers.len(), 2);
                assert_eq!(args.server.bearer.as_deref(), Some("t"));
                assert_eq!(args.server.transport, Some(Transport::Sse));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn serve_prefixes_by_default() {
        let cli = Cli::try_parse_from(["mcpmux", "serve"]);
        assert!(
            matches!(cli.map(|c| c.command), Ok(Command::Serve(s)) if s.prefix == PrefixMode::Always)
        );
        let cli = Cli::try_parse_from(["mcpmux", "serve", "--prefix", "never"]);
        assert!(
            matches!(cli.map(|c| c.command), Ok(Command::Serve(s)) if s.prefix == PrefixMode::Never)
        );
        assert!(Cli::try_parse_from(["mcpmux", "serve", "--prefix", "sometimes"]).is_err());
    }

    #[test]
    fn serve_http_flags_need_http() {
        let cli = Cli::try_parse_from(["mcpmux", "serve", "--http", "127.0.0.1:0"]);
        assert!(matches!(cli.map(|c| c.command),
            Ok(Command::Serve(s)) if s.http.as_deref() == Some("127.0.0.1:0") && s.path == "/mcp"));
        assert!(Cli::try_parse_from(["mcpmux", "serve", "--path", "/x"]).is_err());
        assert!(Cli::try_parse_from(["mcpmux", "serve", "--token-env", "T"]).is_err());
        let cli = Cli::try_parse_from([
            "mcpmux",
            "serve",
            "--http",
            "[::1]:0",
            "--path",
            "/x",
            "--token-env",
            "T",
            "--json-response",
        ]);
        assert!(matches!(cli.map(|c| c.command),
            Ok(Command::Serve(s)) if s.path == "/x" && s.token_env.as_deref() == Some("T") && s.json_response));
    }

    #[test]
    fn batch_concurrency_is_at_least_one() {
        assert!(Cli::try_parse_from(["mcpmux", "batch", "--concurrency", "0"]).is_err());
        let cli = Cli::try_parse_from(["mcpmux", "batch"]);
        assert!(matches!(cli.map(|c| c.command), Ok(Command::Batch(b)) if b.concurrency == 1000));
    }
}

//! The long `--help` texts.

/// `mcpmux --help`.
pub const LONG_ABOUT: &str = "\
Use MCP (Model Context Protocol) servers from the command line: the servers of the config file \
you already have (Claude, Cursor, VS Code, Windsurf, Gemini CLI, Codex, Zed), or an ad-hoc server \
given with --url URL or -- COMMAND [ARGS]...

Config files: --config FILE reads one file (its format guessed from its path; --from HOST says \
it); --from HOST alone reads that host's usual files; otherwise mcpmux reads $MCPMUX_CONFIG if \
set, else ~/.config/mcpmux/mcp.json and ./.mcp.json (merged; the project file wins). An ad-hoc \
server or `demo` never needs a config.

Servers are named in SERVER.TOOL (split at the first `.`; server names may not contain `.`). \
--json prints machine-readable output on stdout for every subcommand; progress and logs go to \
stderr. Under --json a failure is also printed on stdout as one JSON object, \
{\"error\": {\"kind\": ..., \"message\": ...}}, besides its line on stderr.

Exit status:
    0  success
    1  a call failed or returned isError, or a demo check failed
    2  usage error (bad flags or arguments, --args not a JSON object, a value of the wrong type)
    3  configuration error (no config, a broken file, an unknown server, a missing variable)
    4  could not connect to a server (spawn failure, initialize failure or timeout)
    5  authorization failed: a server needs an OAuth login that this run could not do (no \
terminal: run `mcpmux auth login SERVER` first), or the authorization server refused
    6  the model endpoint of `mcpmux agent` failed: unreachable, an error status, a reply that \
is not the API's, or more turns than --max-turns
  130  interrupted by SIGINT (Ctrl-C): calls cancelled, servers shut down (<= 5 s)
  143  terminated by SIGTERM (as for SIGINT); a second signal exits at once

Logs go to stderr: warnings by default, -v info, -vv debug, -vvv trace, -q errors only. \
RUST_LOG (e.g. RUST_LOG=mcpmux=debug) takes precedence over -v and -q.";

/// `mcpmux agent --help`.
pub const AGENT: &str = "\
Run a model with the tools of every configured server: the model's tool calls go to the servers \
through mcpmux's shared connections, every tool call of one model turn at once, and the results \
go back to the model until it answers. The answer is streamed to stdout.

The model: --base-url is the API root as OpenAI SDKs take it (http://127.0.0.1:8080/v1: \
/chat/completions is appended; the Chat Completions API, which local model servers such as \
llama.cpp, vLLM and Ollama speak), --model its name; --provider anthropic speaks the Messages API \
(POST /v1/messages) instead. The API key is read from the variable --api-key-env names \
(default OPENAI_API_KEY, or ANTHROPIC_API_KEY); unset or empty, no key is sent.

The prompt is the argument, else stdin when stdin is not a terminal; with neither, an \
interactive session reads one prompt per line (the conversation is kept; an empty line or EOF \
ends it). --server NAME (repeatable) offers only those servers' tools; OpenAI accepts at most \
128 tools. --max-turns bounds the model requests of one prompt (default 10; a model still \
calling tools then ends the run with exit 6). --approve asks on the terminal before each tool \
call (it needs one: without a terminal it is a usage error, exit 2).

A failing tool, a server that crashed, a timeout, a denied call or a tool the model made up go \
back to the model as tool errors and the run goes on. The model endpoint down, answering an error \
or something that is not the API's reply ends the run with exit 6. Tool activity is shown on \
stderr while calls run (on a terminal). With --json stdout is the transcript as JSON Lines: \
{\"type\": \"model\", ...} per model reply, {\"type\": \"tool\", \"id\", \"server\", \"tool\", \"ms\", \
\"ok\", \"error\", ...} per tool call, {\"type\": \"final\", \"text\": ...} at the end. SIGINT (Ctrl-C) \
or SIGTERM cancels the calls, shuts the servers down (within 5 s) and exits 130 or 143.";

/// `mcpmux serve --help`.
pub const SERVE: &str = "\
Serve every configured server as one MCP server (a gateway), speaking MCP on stdin/stdout: \
point any MCP client (an IDE, an agent framework) at `mcpmux serve` as a stdio server and it \
gets the tools, resources, resource templates and prompts of all the servers of your config \
through mcpmux's shared connections, with completion, logging, subscriptions and progress \
forwarded, and the servers' sampling and elicitation requests relayed to the client whose call \
runs there. Session clients (initialize, 2024-11-05 ... 2025-11-25) and stateless 2026-07-28 \
clients (server/discover, multi-round-trip requests, subscriptions/listen) are served at once.

The servers are read as for the other subcommands (--config FILE, --from HOST, or the default \
config). Each tool is offered under the name --prefix says: always (default) SERVER_TOOL, the \
names `mcpmux` exports to LLM APIs; auto: a tool keeps its own name unless another server \
offers the same one; never: every tool keeps its own name, and two servers offering one name \
stop the gateway (the error names both). Names are made valid under MCP's tool-name rule \
(1-128 characters of A-Z a-z 0-9 _ - .: others become _).

A server that fails to start is reported on stderr and left out; the others serve (--strict: \
exit 4 instead). Serving starts after at most --startup-wait SECS (default 10): a server still \
starting joins later, a server that dies is reconnected, and clients are told with \
list_changed when either is up. A call to a server that is down, or whose call fails, answers a \
tool result with isError naming the server and the reason. A client's notifications/cancelled cancels the \
call upstream. stdout carries only MCP messages; logs go to stderr. When stdin closes, the \
gateway answers the calls in flight, shuts its servers down and exits 0.

With --http HOST:PORT it serves over HTTP instead, and prints `listening on http://ADDR/PATH` on \
stderr once it listens (port 0: any free port): Streamable HTTP on --path (default /mcp; \
sessions, SSE or JSON answers, the GET stream, DELETE, resumption with Last-Event-ID; and \
stateless 2026-07-28 requests, which need no session), the legacy HTTP+SSE transport on /sse for 2024-11-05 clients, and Prometheus metrics on /metrics. \
On a loopback address only requests naming localhost, 127.0.0.1 or [::1] in Host are served \
(DNS rebinding), and a foreign Origin gets 403. --token-env VAR: clients must send \
`Authorization: Bearer <$VAR>` (/metrics too); a non-loopback address needs it (exit 2 \
without). Bodies over 4 MiB get 413; each session runs 256 requests at once (more wait). \
SIGINT/SIGTERM stop it (exit 130/143). --state-key-env VAR: replicas behind one load balancer \
share the key that seals multi-round-trip request states.

In a host's config (name the servers' file, so that the gateway never reads the host's own \
config and starts itself):

  {\"mcpServers\": {\"mcpmux\": {\"command\": \"mcpmux\", \"args\": [\"--config\", \
\"/path/to/servers.json\", \"serve\"]}}}";

/// `mcpmux auth --help`.
pub const AUTH: &str = "\
OAuth 2.1 for HTTP servers that need a login (most hosted MCP servers).

An HTTP server that answers 401 is authorized the MCP way: its protected-resource metadata names \
the authorization server; mcpmux registers itself there (or uses the entry's `oauth.clientId`), \
opens your browser on the login page (listening on 127.0.0.1 for the answer; $BROWSER is \
honoured, and the URL is printed too), and stores the tokens, refreshing them ahead of expiry. \
Any command does this on first use when a terminal is attached; without one it fails with exit \
5 and names `mcpmux auth login SERVER`.

  mcpmux auth login SERVER        log in now (or --url URL for an ad-hoc server)
  mcpmux auth status [SERVER]     issuer, client id, scopes, expiry, refreshable (--json too)
  mcpmux auth logout SERVER       revoke at the authorization server, then forget

Tokens live in one file readable by you only: $MCPMUX_TOKEN_STORE, else \
$XDG_STATE_HOME/mcpmux/auth.json (~/.local/state/mcpmux/auth.json). They are never printed, \
logged, or sent anywhere but the server they were issued for.

A config entry may carry an `oauth` object: clientId, clientSecret, scopes (or scope), \
callbackPort, clientMetadataUrl, resourceParameter (false for authorization servers that \
reject RFC 8707 resource), grant (\"client_credentials\" for machine-to-machine), enabled \
(false: never use OAuth for this server).";

/// `mcpmux demo --help`.
#[cfg(feature = "test-server")]
pub const DEMO: &str = "\
Run many concurrent tool calls against the built-in test server, all through one shared \
connection.

With --transport stdio (the default) the demo starts its own test server (this executable, run \
as `mcpmux test-server`); with http or sse it serves the test server in-process on \
127.0.0.1 (an ephemeral port) over Streamable HTTP or the legacy HTTP+SSE transport. Then --tasks \
tasks each join the shared connection at a random moment, make their share of the --calls calls \
concurrently (a mix of echo, add, and sleep for 0 to 50 ms), and leave at a random moment. An \
anchor holds the connection open until every task has joined, so exactly one connection serves \
all calls.

When the last task has left, the demo checks the connection was closed cleanly: stdio, that the \
server process was reaped (not left a zombie or running); http, that the server saw one session \
and its DELETE; sse, that the server saw one stream and its close. Then it prints a summary, the \
same lines on every transport: the transport, the server, connections opened, tasks, calls, \
failures, wall time, calls/s, and how the connection closed (process reaped, session deleted, \
stream closed). The progress bar on stderr shows only on a terminal.

Exits 0 only if every call succeeded, one connection served them all, and it closed cleanly.";

/// `mcpmux servers --help`.
pub const SERVERS: &str = "\
List the configured servers: connect to each (in parallel, with a spinner on stderr) and show \
its transport, whether it connected, the protocol version, the server's name and version, its \
tool count and how long connecting took.

Exits 0 when every server connected, 3 if an entry of the config is broken, 4 if a server could \
not be reached.

Examples:
  mcpmux servers
  mcpmux servers --from claude-desktop
  mcpmux --json servers --config ~/.cursor/mcp.json";

/// `mcpmux tools --help`.
pub const TOOLS: &str = "\
List the tools of every configured server (or of SERVER): a table of name (SERVER.TOOL, as \
`call` and `batch` take it; for an ad-hoc server the bare TOOL), title, description and annotations (ro = read-only, destructive, idempotent, \
open-world). --schema prints each tool's input schema instead of the table. --json prints one \
array of tools, each with `server`, `name` (the prefixed name SERVER_TOOL, which `call` and \
`batch` accept too) and the tool's full MCP definition.

Tool filters of the config (includeTools/excludeTools, enabled_tools/disabled_tools) apply. A \
server that fails to start is reported on stderr and the others are listed (exit 4 at the end), \
unless --strict.

Examples:
  mcpmux tools
  mcpmux tools github --schema
  mcpmux tools -- npx -y @modelcontextprotocol/server-everything";

/// `mcpmux call --help`.
pub const CALL: &str = "\
Call one tool and print its result.

TARGET is SERVER.TOOL for a configured server (split at the first `.`) or its prefixed name \
SERVER_TOOL, or the plain tool name (SERVER.TOOL and SERVER_TOOL work too) for an ad-hoc \
server: --url URL (Streamable HTTP, falling back to legacy SSE; a URL ending in \
/sse means SSE; --transport picks one) or -- COMMAND [ARGS]... (a stdio server, run directly, no \
shell, inheriting only a small allow-list of environment variables: HOME, PATH, USER, LANG, \
TERM, TMPDIR, TZ, ...). A tool the server does not have is refused before the request, with \
the closest name (\"did you mean\"), exit 2.

Arguments: --args JSON (an object, default {}) and/or KEY=VALUE pairs, given before any `--`. \
Each VALUE is typed by the tool's input schema: numbers and booleans are parsed, objects and \
arrays are read as JSON, strings are taken as they are. Pairs override --args.

Output: each text block of the result on its own line; if there is no text, the \
structuredContent as pretty JSON; image, audio and resource blocks as one summary line each \
(with --save-media DIR, image and audio are saved there and the line names the file). With \
--json, the whole CallToolResult as one JSON object. Progress notifications are shown on stderr \
as they arrive. A result with isError: true prints its content on stderr (on stdout as JSON with \
--json) and exits 1. SIGINT (Ctrl-C) or SIGTERM cancels the call, shuts the server down (within 5 s) and exits 130 or 143; a second one exits at once.

Examples:
  mcpmux call github.search_repositories query=mcpmux perPage=5
  mcpmux call time.get_current_time --args '{\"timezone\":\"UTC\"}'
  mcpmux call echo --args '{\"text\":\"hi\"}' -- mcpmux test-server
  mcpmux call add a=1 b=2 --url http://127.0.0.1:8000/mcp --bearer \"$TOKEN\"";

/// `mcpmux batch --help`.
pub const BATCH: &str = "\
Run many tool calls, read as JSON Lines, concurrently across all servers; write one JSON line \
per call, in input order, as each becomes ready.

Input (stdin, or --input FILE), one call per line; blank lines are skipped:
  {\"id\": ANY, \"tool\": \"SERVER.TOOL\", \"arguments\": {...}}
`id` is optional (default: the 0-based line number) and echoed back; explicit ids must be \
unique. `tool` is SERVER.TOOL, or a prefixed name exactly as `mcpmux --json tools` lists it \
(SERVER_TOOL); with an ad-hoc server, the plain tool name (or either form). `arguments` is \
optional (default {}). Any other key is refused (invalid_input, with a suggestion).

A server starts at its first call: names are resolved against the configured server names \
without starting any, so a server the input never names never starts, and a slow or failing \
server (bounded by --connect-timeout) delays only its own calls.

Output, one line per input line, `line` its 1-based input line number:
  {\"id\": ..., \"ok\": true, \"result\": CallToolResult, \"line\": N}
  {\"id\": ..., \"ok\": false, \"error\": {\"kind\": KIND, \"message\": TEXT}, \"line\": N}
A tool's isError result is ok: false with kind tool_error, and keeps its \"result\". A line \
that is not a JSON object is answered with \"id\": null. KIND is one of a stable set:
  tool_error     the tool returned isError: true
  server_error   the server answered with a JSON-RPC error
  timeout        the call took longer than --timeout (or the server's timeout)
  cancelled      the call was cancelled (or left unanswered by SIGINT/SIGTERM)
  closed         the connection closed during the call
  connect        the server could not be reached (or its config entry is broken)
  spawn          the server process could not be started
  protocol       the server broke the protocol
  unknown_tool   no such tool (with the closest name), or excluded by the config's tool filter
  invalid_input  the line is not a valid call: not JSON, an unknown key, a duplicate id, ...
  denied         the call was refused before it was sent

At most --concurrency calls run at once (default 1000). A progress bar (on a terminal) and a \
summary line go to stderr. Exits 0 only when every call succeeded, else 1 (with --strict, 4 if a \
server the input names failed to start). On SIGINT (Ctrl-C) or SIGTERM the calls in flight are cancelled, every line read and not yet answered gets a `cancelled` error line, the summary is printed, the servers are shut down (within 5 s) and mcpmux exits 130 (SIGINT) or 143 (SIGTERM); a second signal exits at once.

Example:
  printf '%s\\n' '{\"tool\":\"time.get_current_time\",\"arguments\":{\"timezone\":\"UTC\"}}' | mcpmux batch";

/// `mcpmux bench --help`.
#[cfg(feature = "bench")]
pub const BENCH: &str = "\
Measure one tool call on a server: each client runs in its own process against the same \
server, --runs times, and the medians are printed as a table of ratios to the raw limit.

Clients (--clients, default raw,mcpmux):
  raw      the limit of transport + server: pre-serialized JSON-RPC requests, responses \
matched by a byte scan, no MCP layer
  mcpmux   this library: one connection, one task per call
  python   the official Python SDK client (needs --repo with .peers installed)
  ts       the official TypeScript SDK client (needs --repo with .peers installed)

A run makes --calls calls, all at once on one connection (calls/s, wall time), or one at a \
time with --sequential (latency p50/p99). Also measured per client: CPU time per call (the \
client process only) and peak RSS. The server is started fresh for each client (stdio) or \
must be running (--url; Streamable HTTP). A stdio server from the config runs with its env \
and cwd (through env(1)); HTTP servers that need headers are not supported.

Machines are noisy: compare ratios from one invocation, not numbers across runs. Exits 0 \
when every client completed every call, else 1.

Examples:
  mcpmux bench echo --args '{\"text\":\"hi\"}' --calls 10000 -- mcpmux test-server
  mcpmux bench files.read_file --args '{\"path\":\"README.md\"}' --sequential
  mcpmux --json bench add --args '{\"a\":1,\"b\":2}' --url http://127.0.0.1:8000/mcp";

/// `mcpmux resources --help`.
pub const RESOURCES: &str = "\
List the resources of every configured server that offers resources (or of SERVER): server, \
URI, name, MIME type and description. Read one with `mcpmux read URI`.";

/// `mcpmux read --help`.
pub const READ: &str = "\
Read a resource and print its contents: text as it is, binary contents as a summary line (or \
saved with --save-media DIR). The server is --server NAME, the ad-hoc server, or else the one \
configured server that lists URI. --json prints the whole result.";

/// `mcpmux prompts --help`.
pub const PROMPTS: &str = "\
List the prompts of every configured server that offers prompts (or of SERVER): name \
(SERVER.PROMPT, as `prompt` takes it), description and arguments (required ones marked *).";

/// `mcpmux prompt --help`.
pub const PROMPT: &str = "\
Get a prompt, filled in with KEY=VALUE arguments, and print its messages (each introduced by \
its role). NAME is SERVER.PROMPT, or the plain prompt name with an ad-hoc server. --json prints \
the whole result.

Example:
  mcpmux prompt everything.simple_prompt
  mcpmux prompt git.commit_message style=short";

/// `mcpmux completions --help`.
pub const COMPLETIONS: &str = "\
Print a shell completion script for mcpmux: subcommands and options.

  bash:  mcpmux completions bash > ~/.local/share/bash-completion/completions/mcpmux
  zsh:   mcpmux completions zsh > \"${fpath[1]}/_mcpmux\"
  fish:  mcpmux completions fish > ~/.config/fish/completions/mcpmux.fish

To also complete server names (from the config) and SERVER.TOOL names (those that `tools`, \
`call`, `batch` or `servers` listed before, cached in ~/.cache/mcpmux), load the dynamic \
completion instead, which asks mcpmux on each TAB (it reads files only; no server is started):

  bash:  echo 'source <(COMPLETE=bash mcpmux)' >> ~/.bashrc
  zsh:   echo 'source <(COMPLETE=zsh mcpmux)' >> ~/.zshrc
  fish:  echo 'COMPLETE=fish mcpmux | source' >> ~/.config/fish/config.fish";

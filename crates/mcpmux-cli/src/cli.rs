//! The command line: clap definitions only. Parsing validates; it does no I/O.

use std::ffi::OsString;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use serde_json::{Map, Value};

/// The help heading of the options every subcommand accepts.
const GLOBAL: &str = "Global options";

/// The long `--help` text of `mcpmux`: what it is, the exit codes, logging.
const LONG_ABOUT: &str = "\
Call MCP (Model Context Protocol) servers from the command line, and watch mcpmux share one \
server connection between many concurrent tasks.

Exit status:
  0  success
  1  a call failed or returned isError, or a demo check failed
  2  usage error (bad flags or arguments, --args not a JSON object)
  3  configuration error (reserved)
  4  could not connect to a server (spawn failure, initialize failure or timeout)

Logs go to stderr: warnings by default, -v info, -vv debug, -vvv trace, -q errors only. \
RUST_LOG (e.g. RUST_LOG=mcpmux=debug) takes precedence over -v and -q.";

/// The long `--help` text of `mcpmux demo`.
const DEMO_LONG_ABOUT: &str = "\
Run many concurrent tool calls against the built-in test server, all through one shared \
connection.

The demo starts its own test server (this executable, run as `mcpmux test-server`) and --tasks \
tasks. Each task joins the shared connection at a random moment, makes its share of the --calls \
calls concurrently (a mix of echo, add, and sleep for 0 to 50 ms), and leaves at a random moment. \
An anchor holds the connection open until every task has joined, so exactly one server process \
serves all calls.

When the last task has left, the demo checks that the server process was reaped (not left a \
zombie or running), then prints a summary: calls, failures, wall time, calls/s, the server \
pid(s) seen and whether the process was reaped. The progress bar on stderr shows only on a \
terminal.

Exits 0 only if every call succeeded, one server process served them all, and it was reaped.";

/// The long `--help` text of `mcpmux call`.
const CALL_LONG_ABOUT: &str = "\
Call one tool on a stdio MCP server and print its result.

The server is COMMAND with its ARGS, run directly (no shell), after `--`. It inherits only a \
small allow-list of environment variables (HOME, PATH, USER, LANG, TERM, TMPDIR, TZ, ...).

Output: each text block of the result on its own line; if there is no text, the \
structuredContent as pretty JSON; image, audio and resource blocks as one summary line each, \
e.g. `[image image/png, 1234 bytes base64]`. With --json, the whole CallToolResult as one JSON \
object. A result with isError: true prints its content on stderr (on stdout as JSON with \
--json) and exits 1.

Examples:
  mcpmux call echo --args '{\"text\":\"hi\"}' -- mcpmux test-server
  mcpmux --json call add --args '{\"a\":1,\"b\":2}' -- mcpmux test-server
  mcpmux call get_current_time --args '{\"timezone\":\"UTC\"}' -- uvx mcp-server-time";

/// `mcpmux`: call MCP servers from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "mcpmux",
    version,
    about = "Call MCP servers from the command line; demo mcpmux's shared connections",
    long_about = LONG_ABOUT,
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
    /// Print the result as one JSON object on stdout, for scripts
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    /// Log more on stderr: -v info, -vv debug, -vvv trace (default: warnings)
    #[arg(short, long, action = ArgAction::Count, global = true, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Log only errors, and hide the progress bar
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,

    /// Timeout of each request, in seconds (fractions allowed; default 60)
    #[arg(
        long,
        value_name = "SECONDS",
        global = true,
        value_parser = parse_timeout,
        help_heading = GLOBAL
    )]
    pub timeout: Option<Duration>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run concurrent calls against the built-in test server through one shared connection
    #[command(long_about = DEMO_LONG_ABOUT)]
    Demo(DemoArgs),

    /// Call one tool on a stdio MCP server and print its result
    #[command(long_about = CALL_LONG_ABOUT)]
    Call(CallArgs),

    /// Run the built-in MCP test server on stdin/stdout (what `demo` spawns)
    #[command(hide = true)]
    TestServer(TestServerArgs),
}

/// How the demo reaches its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// A child process speaking newline-delimited JSON-RPC on stdin/stdout
    Stdio,
}

/// Arguments of `mcpmux demo`.
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

    /// How to reach the test server (only stdio for now)
    #[arg(long, value_enum, value_name = "TRANSPORT", default_value_t = Transport::Stdio)]
    pub transport: Transport,
}

/// Arguments of `mcpmux call`.
#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    /// Name of the tool to call
    #[arg(value_name = "TOOL")]
    pub tool: String,

    /// Tool arguments, as a JSON object
    #[arg(
        long = "args",
        value_name = "JSON",
        default_value = "{}",
        value_parser = parse_json_object
    )]
    pub arguments: Map<String, Value>,

    /// The server to run: COMMAND [ARGS]..., after `--`
    #[arg(
        value_name = "COMMAND",
        last = true,
        required = true,
        num_args = 1..,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

/// Arguments of the hidden `mcpmux test-server`: the test server's own flags.
#[derive(Debug, Clone, Args)]
pub struct TestServerArgs {
    /// The test server's startup options.
    #[command(flatten)]
    pub options: mcpmux_test_server::Options,
}

/// Parses `--timeout`: a positive, finite number of seconds.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if secs.is_nan() || secs <= 0.0 {
        return Err("the timeout must be more than 0 seconds".to_owned());
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}` seconds: {e}"))
}

/// Parses `--args`: a JSON object.
fn parse_json_object(s: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "expected a JSON object such as '{{\"text\":\"hi\"}}', got {}",
            json_type(&other)
        )),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

/// The JSON type of a value, with an article, for error messages.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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
    fn timeout_parses_fractions_and_rejects_nonsense() {
        assert_eq!(parse_timeout("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("NaN").is_err());
        assert!(parse_timeout("inf").is_err());
        assert!(parse_timeout("abc").is_err());
    }

    #[test]
    fn args_must_be_an_object() {
        assert!(parse_json_object(r#"{"a":1}"#).is_ok());
        assert!(parse_json_object("[1]").is_err_and(|e| e.contains("an array")));
        assert!(parse_json_object("nope").is_err_and(|e| e.contains("not valid JSON")));
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
    }

    #[test]
    fn call_takes_the_server_command_after_double_dash() {
        let cli = Cli::try_parse_from(["mcpmux", "call", "echo", "--", "srv", "--flag", "-x"]);
        match cli.map(|c| c.command) {
            Ok(Command::Call(args)) => {
                assert_eq!(args.command, ["srv", "--flag", "-x"]);
                assert!(args.arguments.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["mcpmux", "call", "echo"]).is_err());
        assert!(Cli::try_parse_from(["mcpmux", "call", "echo", "srv"]).is_err());
    }
}

//! Exit codes, the CLI's error type, and how an error is reported on stderr.

use std::io::{self, Write as _};
use std::process::ExitCode;

/// The exit codes of `mcpmux` (documented in `mcpmux --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 0: success.
    Success = 0,
    /// 1: a call failed or returned `isError`, or a demo check failed.
    Failed = 1,
    /// 2: usage error. Clap exits with 2 itself; this covers what clap cannot check.
    Usage = 2,
    /// 3: configuration error (no config, a broken file, an unknown server).
    Config = 3,
    /// 4: could not connect to a server (spawn, initialize failure or timeout).
    Connect = 4,
    /// 5: authorization failed (an OAuth login that is needed and could not be done, or was
    /// refused).
    Auth = 5,
    /// 6: the model endpoint of `mcpmux agent` failed (unreachable, an error status, a reply
    /// that is not the API's), or the model took more turns than allowed.
    Model = 6,
    /// 130: interrupted by SIGINT (Ctrl-C); the servers were shut down.
    Interrupted = 130,
    /// 143: terminated by SIGTERM; the servers were shut down.
    Terminated = 143,
}

impl Code {
    /// `other` if this is `Success`, else this.
    pub fn max_with(self, other: Code) -> Code {
        if self == Code::Success { other } else { self }
    }
}

/// The `error.kind` of a failed call in `mcpmux batch`'s output, a documented contract:
/// `server_error`, `timeout`, `cancelled`, `closed`, `connect`, `spawn`, `protocol`,
/// `unknown_tool`, `invalid_input`, `denied` or `auth`. The one place that maps the library's
/// [`mcpmux::ErrorKind`] to it.
pub fn error_kind(error: &mcpmux::Error) -> &'static str {
    use mcpmux::ErrorKind;
    match error.kind() {
        // Also while connecting: a login is what the user must do, not a retry.
        ErrorKind::Auth => "auth",
        ErrorKind::UnknownTool => "unknown_tool",
        ErrorKind::Denied => "denied",
        ErrorKind::Spawn => "spawn",
        // Any other failure to start or initialize the server.
        _ if error.is_connect() => "connect",
        ErrorKind::Rpc => "server_error",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::Closed => "closed",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::Protocol => "protocol",
        // A transport failure (no HTTP status) after the connection was up: the server went away
        // with the call in flight (stream lost, connection refused or reset), as a stdio server
        // that exits is `closed`.
        ErrorKind::Http if error.http_status().is_none() => "closed",
        // HTTP error statuses, an open circuit, and kinds added later: the server is unreachable.
        _ => "connect",
    }
}

/// Prints a warning, `mcpmux: MESSAGE`, on stderr.
pub fn warn(message: &str) {
    let _ = writeln!(io::stderr().lock(), "mcpmux: {message}");
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> Self {
        ExitCode::from(code as u8)
    }
}

/// A failed command: the exit code and the error to print.
#[derive(Debug)]
pub struct Failure {
    code: Code,
    error: anyhow::Error,
    /// What the user can do about it, appended to the message.
    hint: Option<String>,
}

impl Failure {
    /// A failure with this exit code.
    pub fn new(code: Code, error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code,
            error: error.into(),
            hint: None,
        }
    }

    /// The same failure with a hint (what to do about it) after its message.
    pub fn hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// Writing the output failed (exit 1, or 0 for a closed pipe).
    pub fn output(error: io::Error) -> Self {
        Failure::new(
            Code::Failed,
            anyhow::Error::new(error).context("cannot write output"),
        )
    }

    /// Whether the error is a write to a closed pipe (`mcpmux ... | head`).
    fn is_broken_pipe(&self) -> bool {
        self.error.chain().any(|e| {
            e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
        })
    }
}

/// The exit code of a server that could not be started or reached: 5 for an authorization
/// failure, else 4.
pub fn connect_code(error: &mcpmux::Error) -> Code {
    if error.is_auth() {
        Code::Auth
    } else {
        Code::Connect
    }
}

/// What to tell the user about an authorization failure of `server`: how to log in.
pub fn auth_hint(error: &mcpmux::Error, server: &str) -> Option<String> {
    error
        .is_auth()
        .then(|| format!("log in with `mcpmux auth login {server}`"))
}

/// An error from [`mcpmux::Server::enter`]: the server could not be reached (exit 4), or not
/// authorized (exit 5, with how to log in).
pub fn connect_failed(error: mcpmux::Error, server: &str) -> Failure {
    let code = connect_code(&error);
    let hint = auth_hint(&error, server);
    // A spawn error already names the program; anything else happened during `initialize`.
    let error = if error.is_spawn() {
        anyhow::Error::new(error)
    } else {
        anyhow::Error::new(error).context(format!("could not connect to `{server}`"))
    };
    Failure::new(code, error).hint(hint)
}

/// An error from a tool call (exit 1; exit 5 for an authorization failure, with how to log
/// in). `tool` is `SERVER.TOOL` or a bare tool name.
pub fn call_failed(error: mcpmux::Error, tool: &str) -> Failure {
    let server = error
        .server()
        .map(str::to_owned)
        .unwrap_or_else(|| tool.split('.').next().unwrap_or(tool).to_owned());
    let hint = auth_hint(&error, &server);
    let code = if error.is_auth() {
        Code::Auth
    } else {
        Code::Failed
    };
    let error = anyhow::Error::new(error).context(format!("calling tool `{tool}` failed"));
    Failure::new(code, error).hint(hint)
}

/// A subcommand left out of this build by a cargo feature (exit 2).
#[cfg(not(all(feature = "test-server", feature = "bench")))]
pub fn not_built(subcommand: &str, feature: &str) -> Failure {
    Failure::new(
        Code::Usage,
        anyhow::anyhow!(
            "`mcpmux {subcommand}` is not in this build: mcpmux was built without the \
             `{feature}` feature (on by default; rebuild with --features {feature})"
        ),
    )
}

/// What a command returns: the exit code, or a failure to report.
pub type Outcome = Result<Code, Failure>;

/// Turns a command's outcome into the process exit code, reporting a failure on stderr as
/// `mcpmux: <error>: <cause>: ...` and, with `--json`, also on stdout as one JSON object,
/// `{"error": {"kind": ..., "message": ...}}` (see [`Failure::kind`]). A closed stdout pipe is
/// not an error: exit 0, silently.
pub fn finish(outcome: Outcome, json: bool) -> ExitCode {
    match outcome {
        Ok(code) => code.into(),
        Err(failure) if failure.is_broken_pipe() => ExitCode::SUCCESS,
        Err(failure) => {
            let mut message = chain(&failure.error);
            if let Some(hint) = &failure.hint {
                message.push_str("; ");
                message.push_str(hint);
            }
            // Nothing sensible is left to do if stderr is gone too.
            let _ = writeln!(io::stderr().lock(), "mcpmux: {message}");
            if json {
                let value = serde_json::json!({
                    "error": {"kind": failure.kind(), "message": message}
                });
                // Likewise if stdout is gone: the exit code still says it failed.
                let _ = crate::output::write_json(&mut io::stdout().lock(), &value);
            }
            failure.code.into()
        }
    }
}

impl Failure {
    /// The `error.kind` of this failure under `--json`: the batch error kind ([`error_kind`]) of
    /// the library error it carries, if any; else by exit code, `usage`, `config`, `connect`,
    /// `cancelled` (a signal), or `failed` (exit 1 without a library error, e.g. output that
    /// cannot be written).
    pub fn kind(&self) -> &'static str {
        if let Some(e) = self
            .error
            .chain()
            .find_map(|e| e.downcast_ref::<mcpmux::Error>())
        {
            return error_kind(e);
        }
        match self.code {
            Code::Usage => "usage",
            Code::Config => "config",
            Code::Connect => "connect",
            Code::Auth => "auth",
            Code::Model => "model",
            Code::Interrupted | Code::Terminated => "cancelled",
            Code::Success | Code::Failed => "failed",
        }
    }
}

/// Exits on a command line clap refused (exit 2; `--help` and `--version` exit 0), as clap does,
/// and, when `--json` is among the arguments (before any `--`), also prints the error as
/// `{"error": {"kind": "usage", "message": ...}}` on stdout.
pub fn usage_exit(error: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let is_error = !matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    let json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if is_error && json {
        let rendered = error.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let value = serde_json::json!({"error": {"kind": "usage", "message": message}});
        let _ = crate::output::write_json(&mut io::stdout().lock(), &value);
    }
    error.exit()
}

/// The error and its sources, joined by `: `. A source whose text the previous message already
/// contains is skipped (many errors, mcpmux's included, repeat their source in their message).
pub fn chain(error: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut previous = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !previous.is_empty() && previous.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        previous = text;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_joins_causes_and_skips_repeats() {
        let io = io::Error::new(io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(io).context("could not start `x`: no such file");
        let e = e.context("could not connect");
        assert_eq!(
            chain(&e),
            "could not connect: could not start `x`: no such file"
        );
    }

    #[test]
    fn broken_pipe_is_found_anywhere_in_the_chain() {
        let f = Failure::output(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(f.is_broken_pipe());
        let f = Failure::output(io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(!f.is_broken_pipe());
    }

    #[test]
    fn kind_by_exit_code_without_a_library_error() {
        let kind = |code| Failure::new(code, anyhow::anyhow!("x")).kind();
        assert_eq!(kind(Code::Usage), "usage");
        assert_eq!(kind(Code::Config), "config");
        assert_eq!(kind(Code::Connect), "connect");
        assert_eq!(kind(Code::Auth), "auth");
        assert_eq!(kind(Code::Model), "model");
        assert_eq!(kind(Code::Failed), "failed");
    }

    #[test]
    fn codes_are_the_documented_numbers() {
        assert_eq!(
            [
                Code::Success,
                Code::Failed,
                Code::Usage,
                Code::Config,
                Code::Connect,
                Code::Auth,
                Code::Model,
                Code::Interrupted,
                Code::Terminated
            ]
            .map(|c| c as u8),
            [0, 1, 2, 3, 4, 5, 6, 130, 143]
        );
    }
}

//! Startup options (command-line flags).

use std::path::PathBuf;

use crate::MemberOrder;

/// Startup options of the test server.
///
/// Derives [`clap::Args`], so another binary can embed these flags with
/// `#[command(flatten)]`. [`Options::default()`] is the plain, well-behaved
/// server (same as passing no flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct Options {
    /// Page size for `tools/list` (0 = all tools in one page).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub page_size: usize,

    /// Append the id of every `notifications/cancelled` (one JSON value per
    /// line) to this file.
    #[arg(long, value_name = "FILE")]
    pub cancel_log: Option<PathBuf>,

    /// Record each `notifications/cancelled` but let its request run on (the spec lets a
    /// server ignore a cancellation): a hanging request's stream then ends only when the
    /// client lets go of it.
    #[arg(long)]
    pub ignore_cancellations: bool,

    /// Print N garbage (non-JSON-RPC) lines on stdout before reading anything.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub garbage_at_start: usize,

    /// Spawn a `sleep 3600` grandchild at startup (same process group); its
    /// pid is printed on stderr.
    #[arg(long)]
    pub grandchild: bool,

    /// Install a SIGTERM handler that ignores the signal (only SIGKILL stops
    /// the server then).
    #[arg(long)]
    pub ignore_sigterm: bool,

    /// When stdin closes, keep running until killed instead of exiting.
    #[arg(long)]
    pub ignore_stdin_eof: bool,

    /// Answer `initialize` only after N milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub delay_initialize_ms: u64,

    /// Never answer `initialize` (the request can still be cancelled).
    #[arg(long)]
    pub never_initialize: bool,

    /// Offer the extra fault tools (`duplicate`, `stray`, `wrong_id`,
    /// `split`, `close_stdout`), listed after the others; without this flag
    /// they are unknown tools.
    #[arg(long)]
    pub fault_tools: bool,

    /// The order of the members of every JSON object written on stdio: `sorted` (serde_json's
    /// order) or `unusual` (`{"id":…,"result":…,"jsonrpc":"2.0"}`, and reverse key order with
    /// `type` last inside; see [`MemberOrder`]). Streamable HTTP refuses `unusual`.
    #[arg(long, value_enum, value_name = "ORDER", default_value_t = MemberOrder::Sorted)]
    pub member_order: MemberOrder,
}

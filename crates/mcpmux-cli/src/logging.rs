//! Logging to stderr with `tracing-subscriber`, at the level `-v`/`-q` ask for.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::args::GlobalArgs;

/// The level `-q`, nothing, `-v`, `-vv` and `-vvv` select.
fn level(global: &GlobalArgs) -> LevelFilter {
    if global.quiet {
        return LevelFilter::ERROR;
    }
    match global.verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Installs the stderr logger. `RUST_LOG`, when set, takes precedence over the flags; an
/// unparsable `RUST_LOG` falls back to them.
pub fn init(global: &GlobalArgs) {
    let filter = EnvFilter::builder()
        .with_default_directive(level(global).into())
        .from_env_lossy();
    let stderr = std::io::stderr();
    // Fails only if a logger is already installed, which then keeps logging.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr.is_terminal())
        .try_init();
}

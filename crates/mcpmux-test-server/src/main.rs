//! `mcpmux-test-server`: a scriptable MCP server on stdio for mcpmux's tests,
//! benchmarks and demo. Run with `--help` for the flags.

use clap::Parser;
use mcpmux_test_server::{Options, serve_stdio};

/// A small, fast MCP test server speaking newline-delimited JSON-RPC 2.0 on
/// stdin/stdout.
#[derive(Debug, Parser)]
#[command(name = "mcpmux-test-server", version, about)]
struct Cli {
    #[command(flatten)]
    options: Options,
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("mcpmux-test-server: cannot start the tokio runtime: {err}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(serve_stdio(cli.options)) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("mcpmux-test-server: {err}");
            1
        }
    };
    // Exit without dropping the runtime: tokio's blocking stdin read cannot
    // be interrupted and would make the shutdown wait for more input.
    std::process::exit(code);
}

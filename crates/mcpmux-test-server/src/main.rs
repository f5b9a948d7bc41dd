//! `mcpmux-test-server`: a scriptable MCP server on stdio, or with `--http
//! ADDR` on HTTP (Streamable HTTP and legacy HTTP+SSE), for mcpmux's tests,
//! benchmarks and demo. Run with `--help` for the flags.

use clap::Parser;
use mcpmux_test_server::{HttpOptions, Options, run_http, serve_stdio};

/// A small, fast MCP test server speaking newline-delimited JSON-RPC 2.0 on
/// stdin/stdout, or MCP over HTTP with `--http ADDR`.
#[derive(Debug, Parser)]
#[command(name = "mcpmux-test-server", version, about)]
struct Cli {
    #[command(flatten)]
    options: Options,

    #[command(flatten)]
    http: HttpOptions,
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
    let code = if cli.http.listen.is_some() {
        let http = HttpOptions {
            server: cli.options,
            ..cli.http
        };
        match runtime.block_on(run_http(http)) {
            Ok(code) => code,
            Err(err) => {
                eprintln!("mcpmux-test-server: {err}");
                1
            }
        }
    } else {
        match runtime.block_on(serve_stdio(cli.options)) {
            Ok(()) => 0,
            Err(err) => {
                eprintln!("mcpmux-test-server: {err}");
                1
            }
        }
    };
    // Exit without dropping the runtime: tokio's blocking stdin read cannot
    // be interrupted and would make the shutdown wait for more input.
    std::process::exit(code);
}

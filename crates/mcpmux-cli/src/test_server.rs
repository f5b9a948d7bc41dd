//! The hidden `mcpmux test-server` subcommand: the built-in MCP test server, which `demo` runs.

use crate::args::TestServerArgs;

/// Serves MCP on stdin/stdout until stdin closes (or, with `--http ADDR`, over HTTP until
/// stopped), then exits the process.
///
/// Exits with `std::process::exit` instead of returning: dropping the runtime would wait for
/// tokio's blocking stdin read, which cannot be interrupted (see the test server's `main.rs`).
pub fn run(args: TestServerArgs) -> ! {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("mcpmux test-server: cannot start the tokio runtime: {err}");
            std::process::exit(1);
        }
    };
    let code = if args.http.listen.is_some() {
        let http = mcpmux_test_server::HttpOptions {
            server: args.options,
            ..args.http
        };
        match runtime.block_on(mcpmux_test_server::run_http(http)) {
            Ok(code) => code,
            Err(err) => {
                eprintln!("mcpmux test-server: {err}");
                1
            }
        }
    } else {
        match runtime.block_on(mcpmux_test_server::serve_stdio(args.options)) {
            Ok(()) => 0,
            Err(err) => {
                eprintln!("mcpmux test-server: {err}");
                1
            }
        }
    };
    std::process::exit(code);
}

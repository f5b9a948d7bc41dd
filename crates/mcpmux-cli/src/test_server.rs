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
    let code = if let (Some(script), Some(addr)) = (&args.model, args.http.listen) {
        match runtime.block_on(model(script, addr, args.http.allow_remote)) {
            Ok(()) => 0,
            Err(err) => {
                eprintln!("mcpmux test-server: {err}");
                1
            }
        }
    } else if args.http.listen.is_some() {
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

/// Serves the scripted model of the JSON file `script` on `addr` until killed; prints
/// `listening on http://ADDR/v1` (the base URL) once bound.
async fn model(
    script: &std::path::Path,
    addr: std::net::SocketAddr,
    allow_remote: bool,
) -> Result<(), String> {
    use mcpmux_test_server::model::{Script, start_model_on};
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(format!(
            "{addr} is not a loopback address (--allow-remote to serve on it)"
        ));
    }
    let text = std::fs::read_to_string(script)
        .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", script.display()))?;
    let script = Script::from_json(&value).map_err(|e| format!("{}: {e}", script.display()))?;
    let listener =
        mcpmux_test_server::listen(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let server = start_model_on(listener, script).map_err(|e| e.to_string())?;
    println!("listening on {}", server.url);
    std::future::pending::<()>().await;
    Ok(())
}

//! One process of the OAuth interop tests' shared-store scenario (`tests/oauth_interop.rs`):
//! connects to an OAuth-protected MCP server with a file token store, waits until a given
//! moment (so that two processes start together), makes `CALLS` concurrent `echo` calls and
//! checks each answer. Prints `ok CALLS` and exits 0, or prints the error and exits 1.
//!
//! ```text
//! cargo run -p mcpmux --example oauth_call -- URL STORE_PATH [CALLS] [START_AT_UNIX_MS]
//! ```
//!
//! The login, when one is needed, is [`HeadlessLogin`]: it follows the authorization server's
//! redirects itself (for a test authorization server that approves at once).

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcpmux::Server;
use mcpmux::auth::{FileTokenStore, HeadlessLogin, OAuthConfig};
use serde_json::json;

fn usage() -> ExitCode {
    eprintln!("usage: oauth_call URL STORE_PATH [CALLS] [START_AT_UNIX_MS]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(store)) = (args.first(), args.get(1)) else {
        return usage();
    };
    let calls: usize = match args.get(2).map(|s| s.parse()) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(_)) => return usage(),
    };
    let start_at: Option<u64> = match args.get(3).map(|s| s.parse()) {
        None => None,
        Some(Ok(ms)) => Some(ms),
        Some(Err(_)) => return usage(),
    };
    let server = match Server::http(url.as_str())
        .name("oauth-peer")
        .request_timeout(Duration::from_secs(20))
        .oauth(
            OAuthConfig::new()
                .login(HeadlessLogin::new())
                .store(FileTokenStore::new(store))
                .login_timeout(Duration::from_secs(20)),
        )
        .build()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("oauth_call: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(at) = start_at {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        tokio::time::sleep(Duration::from_millis(at.saturating_sub(now))).await;
    }
    let mut set = tokio::task::JoinSet::new();
    for i in 0..calls {
        let server = server.clone();
        set.spawn(async move {
            let text = format!("call {i}");
            let r = server
                .call_tool("echo", json!({ "text": text }))
                .await
                .map_err(|e| format!("call {i}: {e}"))?;
            if r.is_error() || r.text() != text {
                return Err(format!("unexpected answer to call {i}: {r:?}"));
            }
            Ok(())
        });
    }
    let mut failed = None;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed = Some(e),
            Err(e) => failed = Some(format!("a call task failed: {e}")),
        }
    }
    server.close().await;
    match failed {
        None => {
            println!("ok {calls}");
            ExitCode::SUCCESS
        }
        Some(e) => {
            eprintln!("oauth_call: {e}");
            ExitCode::FAILURE
        }
    }
}

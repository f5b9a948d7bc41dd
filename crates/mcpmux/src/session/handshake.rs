//! The handshake, run once per connection in its own task: `server/discover` (stateless MCP,
//! 2026-07-28) or `initialize` + `notifications/initialized`, which picks the session's
//! [`Dialect`]; then the session state of earlier connections is restored.
//!
//! A stdio server that writes [`STRAY_LINES_LIMIT`] lines that are not JSON to stdout before any
//! JSON-RPC message (it is not an MCP server, or it logs to stdout) fails its handshake at once,
//! quoting its first line, instead of at the initialize timeout. Stray lines after the first
//! message are only logged (rate-limited by the transport).

use std::sync::Arc;

use mcpmux_protocol::{InitializeParams, InitializeResult, JsonObject, ProtocolVersion, methods};

use super::Session;
use super::dialect::Dialect;
use crate::error::{Error, Result};
use crate::request;

/// How many lines that are not JSON a server may write to stdout before its first JSON-RPC
/// message: a few startup lines are tolerated (and logged), this many fail the handshake.
pub(crate) const STRAY_LINES_LIMIT: u64 = 64;

/// Runs the handshake and publishes the outcome to every waiting `enter()`. On failure the
/// connection is closed.
pub(super) async fn run(session: Arc<Session>) {
    let outcome = tokio::select! {
        outcome = handshake(&session) => outcome,
        error = stray_lines(&session) => Err(error),
    };
    // A server that died or stalled after a few lines on stdout that are not JSON-RPC (a usage
    // message, "listening on port 3000"): the first of them says more than the bare failure.
    let outcome = outcome.map_err(|e| {
        let stray = session.hooks.stray.borrow().clone();
        match stray {
            Some((_, first)) if e.is_timeout() || e.is_closed() => e.noted(&format!(
                "before that it wrote to stdout, which is for JSON-RPC only: {first:?}"
            )),
            _ => e,
        }
    });
    match &outcome {
        Ok(_) => {
            session.conn.set_established();
            session.tracker().connected();
            session.dialect().restore(&session).await;
        }
        Err(e) => {
            tracing::debug!(server = %session.name(), "initialize failed: {e}");
            session
                .tracker()
                .connect_failed(e, &session.settings.reconnect);
            session.conn.close();
        }
    }
    session.publish_ready(outcome);
}

/// Resolves when the server has written [`STRAY_LINES_LIMIT`] lines that are not JSON and no
/// message: the error says so and quotes the first line.
async fn stray_lines(session: &Session) -> Error {
    let mut rx = session.hooks.stray.subscribe();
    let seen = match rx
        .wait_for(|s| s.as_ref().is_some_and(|(n, _)| *n >= STRAY_LINES_LIMIT))
        .await
    {
        Ok(seen) => seen.clone(),
        // The sender lives as long as the session: never.
        Err(_) => None,
    };
    let Some((count, first)) = seen else {
        return std::future::pending().await;
    };
    Error::protocol(format!(
        "server `{}` does not speak MCP on stdout: it wrote {count} lines that are not JSON-RPC \
         and no JSON-RPC message ({STRAY_LINES_LIMIT} such lines fail the handshake); the \
         first: {first:?}. A stdio server must write only JSON-RPC messages to stdout: is this \
         the right command, and does it log to stdout?",
        session.name()
    ))
}

async fn handshake(session: &Session) -> Result<Arc<InitializeResult>> {
    let settings = &session.settings;
    let offered = match settings.protocol_version {
        Some(v) if v.is_stateless() => {
            let (result, stateless) = super::stateless::discover(session, true)
                .await?
                .ok_or_else(|| Error::protocol("server/discover did not negotiate a version"))?;
            session.set_dialect(Dialect::Stateless(stateless));
            return Ok(result);
        }
        Some(v) => v,
        None => {
            if let Some((result, stateless)) = super::stateless::discover(session, false).await? {
                session.set_dialect(Dialect::Stateless(stateless));
                return Ok(result);
            }
            ProtocolVersion::LATEST
        }
    };
    let params = InitializeParams {
        protocol_version: offered.as_str().to_owned(),
        capabilities: settings.handlers.capabilities(),
        client_info: settings.client_info.clone(),
        extra: JsonObject::new(),
    };
    // `initialize` is never cancelled (the spec forbids it); a timeout closes the connection.
    let raw = match request::send(
        &session.conn,
        methods::INITIALIZE,
        Some(&params),
        Vec::new(),
        settings.initialize_timeout,
        None,
        true,
    )
    .await
    {
        // The probe gave up too early: a slow server (a Python start on a busy machine) answered
        // `server/discover` after the probe's window and now serves 2026-07-28 only. Ask again,
        // with the whole initialize timeout.
        Err(e)
            if settings.protocol_version.is_none()
                && e.rpc_error()
                    .is_some_and(super::stateless::supports_stateless_retry) =>
        {
            tracing::debug!(server = %settings.name, "initialize refused for 2026-07-28 ({e}); server/discover again");
            let (result, stateless) = super::stateless::discover(session, true)
                .await?
                .ok_or_else(|| Error::protocol("server/discover did not negotiate a version"))?;
            session.set_dialect(Dialect::Stateless(stateless));
            return Ok(result);
        }
        r => r?,
    };
    let result: InitializeResult = request::parse_result(methods::INITIALIZE, &raw)?;
    // Never 2026-07-28 through initialize: that version is negotiated by server/discover only.
    if ProtocolVersion::parse(&result.protocol_version).is_none_or(ProtocolVersion::is_stateless) {
        return Err(Error::protocol(format!(
            "server {} chose protocol version {:?}, which mcpmux does not speak (supported: {})",
            settings.name,
            result.protocol_version,
            ProtocolVersion::SUPPORTED
                .map(ProtocolVersion::as_str)
                .join(", ")
        )));
    }
    session.set_dialect(Dialect::Sessions);
    request::notify(&session.conn, methods::INITIALIZED, None::<&()>)?;
    Ok(Arc::new(result))
}

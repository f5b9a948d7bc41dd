//! The `initialize` handshake, run once per connection in its own task.

use std::sync::Arc;

use mcpmux_protocol::{InitializeParams, InitializeResult, JsonObject, ProtocolVersion, methods};

use crate::connection::ConnHandle;
use crate::error::{Error, Result};
use crate::request;

/// Runs `initialize` + `notifications/initialized` and publishes the outcome to every waiting
/// `enter()`. On failure the connection is closed.
pub(crate) async fn initialize(conn: Arc<ConnHandle>) {
    let outcome = handshake(&conn).await;
    match &outcome {
        Ok(_) => {
            conn.tracker.connected();
            restore_session(&conn).await;
        }
        Err(e) => {
            tracing::debug!(server = %conn.config.name, "initialize failed: {e}");
            conn.tracker.connect_failed(e, &conn.config.reconnect);
            conn.close();
        }
    }
    conn.publish_ready(outcome);
}

/// Re-applies the session state the user set up on earlier connections (subscriptions, log
/// level) before anyone uses the new one. Failures are logged, not fatal.
async fn restore_session(conn: &Arc<ConnHandle>) {
    if conn.stateless().is_some() {
        // No session on the server: subscriptions live in a subscriptions/listen stream, and the
        // log level travels in each request's _meta.
        conn.listen.refresh(conn, conn.session.subscribed_uris());
        return;
    }
    for (method, params) in conn.session.restore_requests() {
        let r = request::send(
            conn,
            method,
            Some(&params),
            conn.config.request_timeout,
            None,
            false,
        )
        .await;
        if let Err(e) = r {
            tracing::warn!(server = %conn.config.name, "could not restore {method} {params}: {e}");
        }
    }
}

async fn handshake(conn: &ConnHandle) -> Result<Arc<InitializeResult>> {
    let config = &conn.config;
    let offered = match config.protocol_version {
        Some(v) if v.is_stateless() => {
            return crate::stateless::discover(conn, true)
                .await?
                .ok_or_else(|| Error::protocol("server/discover did not negotiate a version"));
        }
        Some(v) => v,
        None => {
            if let Some(result) = crate::stateless::discover(conn, false).await? {
                return Ok(result);
            }
            ProtocolVersion::LATEST
        }
    };
    let params = InitializeParams {
        protocol_version: offered.as_str().to_owned(),
        capabilities: config.handlers.capabilities(),
        client_info: config.client_info.clone(),
        extra: JsonObject::new(),
    };
    // `initialize` is never cancelled (the spec forbids it); a timeout closes the connection.
    let raw = request::send(
        conn,
        methods::INITIALIZE,
        Some(&params),
        config.initialize_timeout,
        None,
        true,
    )
    .await?;
    let result: InitializeResult = request::parse_result(methods::INITIALIZE, &raw)?;
    // Never 2026-07-28 through initialize: that version is negotiated by server/discover only.
    if ProtocolVersion::parse(&result.protocol_version).is_none_or(ProtocolVersion::is_stateless) {
        return Err(Error::protocol(format!(
            "server {} chose protocol version {:?}, which mcpmux does not speak (supported: {})",
            config.name,
            result.protocol_version,
            ProtocolVersion::SUPPORTED
                .map(ProtocolVersion::as_str)
                .join(", ")
        )));
    }
    request::notify(conn, methods::INITIALIZED, None::<&()>)?;
    Ok(Arc::new(result))
}

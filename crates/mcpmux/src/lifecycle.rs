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
    if let Err(e) = &outcome {
        tracing::debug!(server = %conn.config.name, "initialize failed: {e}");
        conn.close();
    }
    conn.publish_ready(outcome);
}

async fn handshake(conn: &ConnHandle) -> Result<Arc<InitializeResult>> {
    let config = &conn.config;
    let params = InitializeParams {
        protocol_version: config.protocol_version.as_str().to_owned(),
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
    if ProtocolVersion::parse(&result.protocol_version).is_none() {
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

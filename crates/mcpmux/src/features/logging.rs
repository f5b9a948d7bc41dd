//! Logging: the minimum level of the server's log messages (`notifications/message` arrive on
//! [`Server::notifications`](crate::Server::notifications)).

use mcpmux_protocol::LoggingLevel;

use crate::error::Result;
use crate::server::Guard;

impl Guard {
    /// Sets the minimum level of log messages the server sends (`logging/setLevel`; on a
    /// stateless 2026-07-28 connection, the level goes in every later request's `_meta`).
    /// Restored on every later connection.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request; the level is still remembered for later
    /// connections, and whether this server applied it is unknown.
    pub async fn set_logging_level(&self, level: LoggingLevel) -> Result<()> {
        let session = self.session();
        session.dialect().set_log_level(session, level).await
    }
}

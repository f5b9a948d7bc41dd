//! `subscriptions/listen` (stateless MCP, 2026-07-28) on demand.

use crate::error::Result;
use crate::server::Guard;
use crate::session::listen::{self, ListenFilter, Subscription};

impl Guard {
    /// Opens a `subscriptions/listen` stream (stateless MCP) for the notifications in `filter`.
    ///
    /// # Errors
    /// None today; reserved for validation. Failures of the stream itself are logged when it
    /// ends.
    pub fn listen(&self, filter: ListenFilter) -> Result<Subscription> {
        Ok(listen::open(self.session().clone(), filter))
    }
}

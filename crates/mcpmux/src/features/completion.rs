//! Completion (`completion/complete`): suggestions for an argument of a prompt or resource
//! template.

use std::collections::BTreeMap;

use mcpmux_protocol::{CompleteParams, CompleteResult, CompletionArgument, CompletionRef, methods};

use crate::error::Result;
use crate::server::Guard;

impl Guard {
    /// Asks for completions of an argument of a prompt or resource template.
    ///
    /// `context`: arguments already chosen (2025-06-18+), sent as `{"arguments": {...}}`.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request (`notifications/cancelled`).
    pub async fn complete(
        &self,
        reference: CompletionRef,
        argument: &str,
        value: &str,
        context: Option<BTreeMap<String, String>>,
    ) -> Result<CompleteResult> {
        let params = CompleteParams {
            reference,
            argument: CompletionArgument {
                name: argument.to_owned(),
                value: value.to_owned(),
            },
            context: context.map(|args| serde_json::json!({ "arguments": args })),
        };
        self.request(methods::COMPLETE, &params).await
    }
}

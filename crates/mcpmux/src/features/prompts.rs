//! Prompts: lists (cached) and filled-in prompts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mcpmux_protocol::{GetPromptParams, GetPromptResult, ListPromptsResult, Prompt, methods};

use super::{ttl_of, walk_ttl};
use crate::error::Result;
use crate::server::Guard;

impl Guard {
    /// Lists every prompt (all pages).
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the page request in flight; pages already received are
    /// dropped.
    pub async fn list_prompts(&self) -> Result<Vec<Prompt>> {
        self.list_prompts_ttl().await.map(|(prompts, _)| prompts)
    }

    /// All prompts and how long they stay fresh (the session's dialect reads `ttlMs`).
    async fn list_prompts_ttl(&self) -> Result<(Vec<Prompt>, Option<Duration>)> {
        let (prompts, ttl) = walk_ttl(
            methods::PROMPTS_LIST,
            |c| self.page::<ListPromptsResult>(methods::PROMPTS_LIST, c),
            |r| {
                let ttl = ttl_of(&r.extra);
                (r.prompts, r.next_cursor, ttl)
            },
        )
        .await?;
        Ok((prompts, self.session().dialect().list_freshness(ttl)))
    }

    /// The prompts, from this connection's cache (dropped by
    /// `notifications/prompts/list_changed`; on 2026-07-28 fresh only as long as the list's
    /// `ttlMs` says, and not at all without one).
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the fetch it started; the cache stays as it was, and a
    /// caller waiting on the same fetch starts its own.
    pub async fn prompts(&self) -> Result<Arc<Vec<Prompt>>> {
        self.session()
            .caches()
            .prompts
            .get_or_fetch_ttl(|| self.list_prompts_ttl())
            .await
    }

    /// Gets a prompt filled in with `arguments`.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request (`notifications/cancelled`).
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: BTreeMap<String, String>,
    ) -> Result<GetPromptResult> {
        let params = GetPromptParams {
            name: name.to_owned(),
            arguments: (!arguments.is_empty()).then_some(arguments),
        };
        self.request(methods::PROMPTS_GET, &params).await
    }
}

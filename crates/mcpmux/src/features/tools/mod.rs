//! Tools: the cached list, lists page by page, structured-output validation, and calls
//! ([`call`]).

pub(crate) mod call;

use std::sync::Arc;

use mcpmux_protocol::{CallToolResult, ListToolsResult, PaginatedParams, Tool, methods};

use super::{ttl_of, walk_ttl};
use crate::error::{Error, Result};
use crate::server::Guard;
use crate::session::cache::ToolIndex;

/// A connection's tools, cached: cheap to clone, looked up by name.
///
/// Dereferences to the slice of tools.
#[derive(Debug, Clone)]
pub struct ToolList(Arc<ToolIndex>);

impl ToolList {
    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.0.get(name)
    }
}

impl std::ops::Deref for ToolList {
    type Target = [Tool];
    fn deref(&self) -> &[Tool] {
        &self.0.tools
    }
}

impl Guard {
    /// Lists one page of tools.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// As [`Guard::request`].
    pub async fn list_tools_page(&self, cursor: Option<String>) -> Result<ListToolsResult> {
        self.request(methods::TOOLS_LIST, &PaginatedParams { cursor })
            .await
    }

    /// Lists every tool (all pages), without the cache.
    ///
    /// # Errors
    /// As [`Guard::request`]; a protocol error if the server's cursors repeat.
    ///
    /// # Cancel safety
    /// As [`Guard::request`].
    pub async fn list_tools(&self) -> Result<Vec<Tool>> {
        self.list_tools_ttl().await.map(|(tools, _)| tools)
    }

    /// All tools and the freshness the server allows for them.
    async fn list_tools_ttl(&self) -> Result<(Vec<Tool>, Option<std::time::Duration>)> {
        let (mut tools, ttl) = walk_ttl(
            methods::TOOLS_LIST,
            |c| self.list_tools_page(c),
            |r| {
                let ttl = ttl_of(&r.extra);
                (r.tools, r.next_cursor, ttl)
            },
        )
        .await?;
        let session = self.session();
        let freshness = session.dialect().usable_tools(session, &mut tools, ttl);
        Ok((tools, freshness))
    }

    /// The tools, from this connection's cache (fetched once, single-flight, and again after
    /// `notifications/tools/list_changed`; on 2026-07-28 fresh only as long as the list's
    /// `ttlMs` says, and not at all without one).
    ///
    /// # Errors
    /// As [`list_tools`](Self::list_tools).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the fetch it started; the cache stays as it was, and a
    /// caller waiting on the same fetch starts its own.
    pub async fn tools(&self) -> Result<ToolList> {
        let index = self
            .session()
            .caches()
            .tools
            .get_or_fetch_ttl(|| async {
                let (tools, ttl) = self.list_tools_ttl().await?;
                let previous = self.session().caches().tools.last();
                Ok((ToolIndex::refreshed(tools, previous.as_deref()), ttl))
            })
            .await?;
        Ok(ToolList(index))
    }

    /// The last tool list, even if stale, else a fresh one (for decisions where a slightly old
    /// list is fine: header mirroring, task support).
    pub(crate) async fn tools_any(&self) -> Result<ToolList> {
        match self.session().caches().tools.last() {
            Some(index) => Ok(ToolList(index)),
            None => self.tools().await,
        }
    }

    /// A result without `structuredContent` from a tool whose (already listed) schema promised
    /// one is a protocol error. Never fetches.
    pub(crate) fn check_missing_structured_output(
        &self,
        name: &str,
        result: &CallToolResult,
    ) -> Result<()> {
        if result.is_error() || result.structured_content.is_some() {
            return Ok(());
        }
        if let Some(tools) = self.session().caches().tools.peek()
            && tools.get(name).is_some_and(|t| t.output_schema.is_some())
        {
            return Err(Error::protocol(format!(
                "tool {name:?} declares an outputSchema but returned no structuredContent"
            )));
        }
        Ok(())
    }

    /// Checks a result's `structuredContent` against the tool's `outputSchema`.
    pub(crate) async fn check_structured_output(
        &self,
        name: &str,
        result: &CallToolResult,
    ) -> Result<()> {
        if result.is_error() {
            return Ok(());
        }
        let Some(structured) = &result.structured_content else {
            return self.check_missing_structured_output(name, result);
        };
        // The fresh list if there is one; else the last one, stale (a server that forbids
        // caching with `ttlMs: 0` would otherwise cost a `tools/list` per call). A stale list
        // only ever passes a result: one it does not know the tool of, or rejects, is checked
        // again against a list fetched now, so a schema that changed never fails a good result.
        let caches = self.session().caches();
        if caches.tools.peek().is_none()
            && let Some(stale) = caches.tools.last()
            && stale.get(name).is_some()
            && Self::output_problems(&stale, name, structured).is_ok_and(|p| p.is_empty())
        {
            return Ok(());
        }
        let tools = self.tools().await?;
        let problems = Self::output_problems(&tools.0, name, structured)?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::protocol(format!(
                "structuredContent of tool {name:?} does not match its outputSchema: {}",
                problems.join("; ")
            )))
        }
    }

    /// What is wrong with `structured` by `name`'s output schema in `tools` (nothing when the
    /// tool has none).
    fn output_problems(
        tools: &ToolIndex,
        name: &str,
        structured: &serde_json::Value,
    ) -> Result<Vec<String>> {
        let Some(validator) = tools.output_validator(name)? else {
            return Ok(Vec::new());
        };
        Ok(validator
            .iter_errors(structured)
            .take(5)
            .map(|e| format!("{} (at {})", e, e.instance_path()))
            .collect())
    }
}

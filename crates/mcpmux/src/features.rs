//! Server features a client consumes, on [`Guard`]: cached tool lists and structured-output
//! validation, resources, prompts, completion and logging.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use mcpmux_protocol::{
    CallToolResult, CompleteParams, CompleteResult, CompletionArgument, CompletionRef,
    GetPromptParams, GetPromptResult, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, LoggingLevel, PaginatedParams, Prompt, ReadResourceResult, Resource,
    ResourceTemplate, SetLevelParams, Tool, UriParams, methods,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::cache::ToolIndex;
use crate::error::{Error, Result};
use crate::request::RequestOptions;
use crate::server::Guard;

/// Most pages a list walk follows before it decides the server's cursor loops.
const MAX_PAGES: usize = 10_000;

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

/// Walks every page of a paginated list.
pub(crate) async fn walk<R, T, F, Fut>(
    method: &str,
    page: F,
    mut split: impl FnMut(R) -> (Vec<T>, Option<String>),
) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<R>>,
{
    walk_ttl(method, page, |r| {
        let (items, next) = split(r);
        (items, next, None)
    })
    .await
    .map(|(items, _)| items)
}

/// Walks every page; also returns the smallest `ttlMs` any page carried.
async fn walk_ttl<R, T, F, Fut>(
    method: &str,
    mut page: F,
    mut split: impl FnMut(R) -> (Vec<T>, Option<String>, Option<u64>),
) -> Result<(Vec<T>, Option<u64>)>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<R>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    let mut ttl: Option<u64> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let (items, next, page_ttl) = split(page(cursor).await?);
        if let Some(t) = page_ttl {
            ttl = Some(ttl.map_or(t, |cur| cur.min(t)));
        }
        all.extend(items);
        match next {
            Some(next) if !seen.insert(next.clone()) => {
                return Err(Error::protocol(format!(
                    "{method} cursor {next:?} repeated: the server's pagination loops"
                )));
            }
            Some(next) => cursor = Some(next),
            None => return Ok((all, ttl)),
        }
    }
    Err(Error::protocol(format!(
        "{method} returned more than {MAX_PAGES} pages"
    )))
}

/// A list result's `ttlMs` hint (negative counts as 0).
fn ttl_of(extra: &mcpmux_protocol::JsonObject) -> Option<u64> {
    extra
        .get("ttlMs")
        .and_then(Value::as_i64)
        .map(|t| u64::try_from(t).unwrap_or(0))
}

impl Guard {
    pub(crate) async fn page<R: DeserializeOwned>(
        &self,
        method: &str,
        cursor: Option<String>,
    ) -> Result<R> {
        self.request(method, &PaginatedParams { cursor }, RequestOptions::new())
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
        let stateless = self.conn().stateless().is_some();
        if stateless {
            // A tool whose `x-mcp-header` annotations are invalid must not be used; the others
            // stay usable.
            tools.retain(|t| match mcpmux_protocol::stateless::param_headers(&t.input_schema) {
                Ok(_) => true,
                Err(why) => {
                    tracing::warn!(server = %self.conn().config.name, tool = %t.name, "tool excluded: {why}");
                    false
                }
            });
        }
        // Caching hints: a stateless server's missing ttlMs means "stale at once"; an older
        // server's list stays until its list_changed.
        let freshness = match ttl {
            Some(ms) => Some(std::time::Duration::from_millis(ms)),
            None if stateless => Some(std::time::Duration::ZERO),
            None => None,
        };
        Ok((tools, freshness))
    }

    /// The tools, from this connection's cache (fetched once, single-flight, and again after
    /// `notifications/tools/list_changed`).
    ///
    /// # Errors
    /// As [`list_tools`](Self::list_tools).
    pub async fn tools(&self) -> Result<ToolList> {
        let index = self
            .conn()
            .caches()
            .tools
            .get_or_fetch_ttl(|| async {
                let (tools, ttl) = self.list_tools_ttl().await?;
                Ok((ToolIndex::new(tools), ttl))
            })
            .await?;
        Ok(ToolList(index))
    }

    /// The last tool list, even if stale, else a fresh one (for decisions where a slightly old
    /// list is fine: header mirroring, task support).
    pub(crate) async fn tools_any(&self) -> Result<ToolList> {
        match self.conn().caches().tools.last() {
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
        if let Some(tools) = self.conn().caches().tools.peek()
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
        let tools = self.tools().await?;
        let Some(validator) = tools.0.output_validator(name)? else {
            return Ok(());
        };
        let problems: Vec<String> = validator
            .iter_errors(structured)
            .take(5)
            .map(|e| format!("{} (at {})", e, e.instance_path()))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::protocol(format!(
                "structuredContent of tool {name:?} does not match its outputSchema: {}",
                problems.join("; ")
            )))
        }
    }

    /// Lists every resource (all pages).
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn list_resources(&self) -> Result<Vec<Resource>> {
        walk(
            methods::RESOURCES_LIST,
            |c| self.page::<ListResourcesResult>(methods::RESOURCES_LIST, c),
            |r| (r.resources, r.next_cursor),
        )
        .await
    }

    /// The resources, from this connection's cache (dropped by
    /// `notifications/resources/list_changed`).
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn resources(&self) -> Result<Arc<Vec<Resource>>> {
        self.conn()
            .caches()
            .resources
            .get_or_fetch(|| self.list_resources())
            .await
    }

    /// Lists every resource template (all pages).
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>> {
        walk(
            methods::RESOURCE_TEMPLATES_LIST,
            |c| self.page::<ListResourceTemplatesResult>(methods::RESOURCE_TEMPLATES_LIST, c),
            |r| (r.resource_templates, r.next_cursor),
        )
        .await
    }

    /// Reads a resource.
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult> {
        self.request(
            methods::RESOURCES_READ,
            &UriParams {
                uri: uri.to_owned(),
            },
            RequestOptions::new(),
        )
        .await
    }

    /// Subscribes to updates of a resource (`notifications/resources/updated` then arrives on
    /// [`Server::notifications`](crate::Server::notifications)).
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn subscribe_resource(&self, uri: &str) -> Result<()> {
        if self.conn().stateless().is_some() {
            // Stateless MCP has no resources/subscribe: a managed subscriptions/listen stream
            // carries the updates.
            self.conn().session.subscribed(uri, true);
            self.refresh_listen();
            return Ok(());
        }
        let _: Value = self
            .request(
                methods::RESOURCES_SUBSCRIBE,
                &UriParams {
                    uri: uri.to_owned(),
                },
                RequestOptions::new(),
            )
            .await?;
        // Restored on every later connection (and HTTP session) of this server.
        self.conn().session.subscribed(uri, true);
        Ok(())
    }

    /// Ends a subscription.
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn unsubscribe_resource(&self, uri: &str) -> Result<()> {
        self.conn().session.subscribed(uri, false);
        if self.conn().stateless().is_some() {
            self.refresh_listen();
            return Ok(());
        }
        let _: Value = self
            .request(
                methods::RESOURCES_UNSUBSCRIBE,
                &UriParams {
                    uri: uri.to_owned(),
                },
                RequestOptions::new(),
            )
            .await?;
        Ok(())
    }

    fn refresh_listen(&self) {
        let uris = self.conn().session.subscribed_uris();
        self.conn().listen.refresh(&self.conn_arc(), uris);
    }

    /// Lists every prompt (all pages).
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn list_prompts(&self) -> Result<Vec<Prompt>> {
        walk(
            methods::PROMPTS_LIST,
            |c| self.page::<ListPromptsResult>(methods::PROMPTS_LIST, c),
            |r| (r.prompts, r.next_cursor),
        )
        .await
    }

    /// The prompts, from this connection's cache (dropped by
    /// `notifications/prompts/list_changed`).
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn prompts(&self) -> Result<Arc<Vec<Prompt>>> {
        self.conn()
            .caches()
            .prompts
            .get_or_fetch(|| self.list_prompts())
            .await
    }

    /// Gets a prompt filled in with `arguments`.
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: BTreeMap<String, String>,
    ) -> Result<GetPromptResult> {
        let params = GetPromptParams {
            name: name.to_owned(),
            arguments: (!arguments.is_empty()).then_some(arguments),
        };
        self.request(methods::PROMPTS_GET, &params, RequestOptions::new())
            .await
    }

    /// Asks for completions of an argument of a prompt or resource template.
    ///
    /// `context`: arguments already chosen (2025-06-18+), sent as `{"arguments": {...}}`.
    ///
    /// # Errors
    /// As [`Guard::request`].
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
        self.request(methods::COMPLETE, &params, RequestOptions::new())
            .await
    }

    /// Sets the minimum level of log messages the server sends (`logging/setLevel`; on a
    /// stateless 2026-07-28 connection, the level goes in every later request's `_meta`).
    ///
    /// # Errors
    /// As [`Guard::request`].
    pub async fn set_logging_level(&self, level: LoggingLevel) -> Result<()> {
        self.conn().session.set_log_level(level);
        if self.conn().stateless().is_some() {
            // Stateless MCP: every later request carries the level in its `_meta`.
            return Ok(());
        }
        let _: Value = self
            .request(
                methods::LOGGING_SET_LEVEL,
                &SetLevelParams { level },
                RequestOptions::new(),
            )
            .await?;
        Ok(())
    }
}

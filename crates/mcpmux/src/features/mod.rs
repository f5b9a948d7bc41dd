//! Server features a client consumes, one module each, all methods on [`Guard`]: tool calls
//! and lists ([`tools`]), resources, prompts, completion, logging, `subscriptions/listen`,
//! tasks and skills. Each builds on the session layer's requests, caches and dialect; none
//! reaches the connection.

pub(crate) mod completion;
pub(crate) mod listen;
pub(crate) mod logging;
pub(crate) mod prompts;
pub(crate) mod resources;
pub(crate) mod skills;
pub(crate) mod tasks;
pub(crate) mod tools;

use std::future::Future;

use mcpmux_protocol::PaginatedParams;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::server::Guard;

/// Most pages a list walk follows before it decides the server's cursor loops.
const MAX_PAGES: usize = 10_000;

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
pub(crate) async fn walk_ttl<R, T, F, Fut>(
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
pub(crate) fn ttl_of(extra: &mcpmux_protocol::JsonObject) -> Option<u64> {
    extra
        .get("ttlMs")
        .and_then(Value::as_i64)
        .map(|t| u64::try_from(t).unwrap_or(0))
}

/// Tool arguments as the wire wants them: a JSON object, or none for `null`.
pub(crate) fn tool_arguments(arguments: Value) -> Result<Option<mcpmux_protocol::JsonObject>> {
    match arguments {
        Value::Object(map) => Ok(Some(map)),
        Value::Null => Ok(None),
        other => Err(Error::invalid(format!(
            "tool arguments must be a JSON object, not {other}"
        ))),
    }
}

impl Guard {
    /// One page of a paginated list.
    pub(crate) async fn page<R: DeserializeOwned + Send>(
        &self,
        method: &str,
        cursor: Option<String>,
    ) -> Result<R> {
        self.request(method, &PaginatedParams { cursor }).await
    }
}

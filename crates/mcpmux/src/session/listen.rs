//! `subscriptions/listen` (stateless MCP, 2026-07-28): a long-lived request whose stream
//! carries the notifications the client asked for. It replaces `resources/subscribe` and the
//! HTTP GET stream; on a stateless connection, `Guard::subscribe_resource` manages one for
//! you.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;

use super::Session;
use crate::request::RequestOptions;

/// `subscriptions/listen`.
pub(crate) const LISTEN: &str = "subscriptions/listen";

/// Which notifications a `subscriptions/listen` stream should carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListenFilter {
    /// `notifications/tools/list_changed`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tools_list_changed: bool,
    /// `notifications/prompts/list_changed`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub prompts_list_changed: bool,
    /// `notifications/resources/list_changed`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resources_list_changed: bool,
    /// `notifications/resources/updated` for these URIs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_subscriptions: Vec<String>,
}

impl ListenFilter {
    /// Every list change plus updates of `uris`.
    pub fn all_lists(uris: Vec<String>) -> Self {
        ListenFilter {
            tools_list_changed: true,
            prompts_list_changed: true,
            resources_list_changed: true,
            resource_subscriptions: uris,
        }
    }
}

#[derive(Serialize)]
struct ListenParams<'a> {
    notifications: &'a ListenFilter,
}

/// An open `subscriptions/listen` stream. Its notifications arrive on
/// [`Server::notifications`](crate::Server::notifications).
///
/// # Drop behavior
/// Dropping it ends the subscription: the request is cancelled (`notifications/cancelled`) and,
/// over HTTP, its stream is closed. It does not keep the connection open on its own.
#[derive(Debug)]
#[must_use = "the subscription ends when this is dropped"]
pub struct Subscription {
    task: JoinHandle<()>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens a listen request on `session` without counting as a user of it.
pub(crate) fn open(session: Arc<Session>, filter: ListenFilter) -> Subscription {
    let task = tokio::spawn(async move {
        let params = ListenParams {
            notifications: &filter,
        };
        // The stream lives until it is cancelled or the connection ends; its end is logged.
        let options = RequestOptions::new().timeout(Duration::MAX);
        let r = session.request(LISTEN, Some(&params), &options).await;
        if let Err(e) = r {
            tracing::debug!(server = %session.name(), "subscriptions/listen ended: {e}");
        }
    });
    Subscription { task }
}

/// The subscription a stateless connection keeps for [`Guard::subscribe_resource`].
#[derive(Debug, Default)]
pub(crate) struct Managed {
    current: Mutex<Option<Subscription>>,
}

impl Managed {
    /// Replaces the managed stream with one for `uris` (none: closes it).
    pub(crate) fn refresh(&self, session: &Arc<Session>, uris: Vec<String>) {
        let next = (!uris.is_empty()).then(|| open(session.clone(), ListenFilter::all_lists(uris)));
        let old = std::mem::replace(
            &mut *self.current.lock().unwrap_or_else(PoisonError::into_inner),
            next,
        );
        drop(old);
    }
}

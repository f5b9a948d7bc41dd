//! Resources: lists (cached), templates, reads and subscriptions.

use std::sync::Arc;
use std::time::Duration;

use mcpmux_protocol::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceTemplate, UriParams, methods,
};

use super::{ttl_of, walk, walk_ttl};
use crate::error::Result;
use crate::server::Guard;

impl Guard {
    /// Lists every resource (all pages).
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the page request in flight; pages already received are
    /// dropped.
    pub async fn list_resources(&self) -> Result<Vec<Resource>> {
        self.list_resources_ttl()
            .await
            .map(|(resources, _)| resources)
    }

    /// All resources and how long they stay fresh (the session's dialect reads `ttlMs`).
    async fn list_resources_ttl(&self) -> Result<(Vec<Resource>, Option<Duration>)> {
        let (resources, ttl) = walk_ttl(
            methods::RESOURCES_LIST,
            |c| self.page::<ListResourcesResult>(methods::RESOURCES_LIST, c),
            |r| {
                let ttl = ttl_of(&r.extra);
                (r.resources, r.next_cursor, ttl)
            },
        )
        .await?;
        Ok((resources, self.session().dialect().list_freshness(ttl)))
    }

    /// The resources, from this connection's cache (dropped by
    /// `notifications/resources/list_changed`; on 2026-07-28 fresh only as long as the list's
    /// `ttlMs` says, and not at all without one).
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the fetch it started; the cache stays as it was, and a
    /// caller waiting on the same fetch starts its own.
    pub async fn resources(&self) -> Result<Arc<Vec<Resource>>> {
        self.session()
            .caches()
            .resources
            .get_or_fetch_ttl(|| self.list_resources_ttl())
            .await
    }

    /// Lists every resource template (all pages).
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the page request in flight; pages already received are
    /// dropped.
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
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request (`notifications/cancelled`).
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult> {
        self.request(
            methods::RESOURCES_READ,
            &UriParams {
                uri: uri.to_owned(),
            },
        )
        .await
    }

    /// Subscribes to updates of a resource (`notifications/resources/updated` then arrives on
    /// [`Server::notifications`](crate::Server::notifications)); restored on every later
    /// connection. On a stateless 2026-07-28 connection a managed `subscriptions/listen`
    /// stream carries the updates.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request; whether the server subscribed is then unknown,
    /// and the subscription is not restored on later connections.
    pub async fn subscribe_resource(&self, uri: &str) -> Result<()> {
        let session = self.session();
        session.dialect().subscribe(session, uri, true).await
    }

    /// Ends a subscription.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request; the subscription is forgotten either way (not
    /// restored on later connections).
    pub async fn unsubscribe_resource(&self, uri: &str) -> Result<()> {
        let session = self.session();
        session.dialect().subscribe(session, uri, false).await
    }
}

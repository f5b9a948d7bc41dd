//! What upstreams say on their own, passed to the downstream clients: log messages (to the
//! clients whose calls run there), list changes (to every client), resource updates (to the
//! clients subscribed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use mcpmux::{Received, ServerNotification};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::session::Downstream;
use crate::{Gateway, Inner};

/// An upstream resource: (server, the server's URI).
pub(crate) type ResourceKey = (String, String);

/// Which clients subscribed to which upstream resource.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    by_resource: Mutex<HashMap<ResourceKey, Vec<Weak<Downstream>>>>,
}

impl Subscriptions {
    /// Adds `session`; true when it is the first (the upstream must be subscribed).
    pub(crate) fn add(&self, key: &ResourceKey, session: &Arc<Downstream>) -> bool {
        let mut map = self
            .by_resource
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let list = map.entry(key.clone()).or_default();
        list.retain(|w| w.strong_count() > 0);
        let first = list.is_empty();
        if !list.iter().any(|w| w.as_ptr() == Arc::as_ptr(session)) {
            list.push(Arc::downgrade(session));
        }
        first
    }

    /// Removes `session`; true when none is left (the upstream must be unsubscribed).
    pub(crate) fn remove(&self, key: &ResourceKey, session: &Arc<Downstream>) -> bool {
        let mut map = self
            .by_resource
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(list) = map.get_mut(key) else {
            return false;
        };
        let before = list.len();
        list.retain(|w| w.strong_count() > 0 && w.as_ptr() != Arc::as_ptr(session));
        let last = list.is_empty() && before > 0;
        if list.is_empty() {
            map.remove(key);
        }
        last
    }

    fn subscribers(&self, key: &ResourceKey) -> Vec<Arc<Downstream>> {
        self.by_resource
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(Weak::upgrade)
            .collect()
    }
}

/// The first wait before reconnecting a dead upstream, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Starts, per upstream, a task that passes its notifications on, and one that watches its
/// connection: when it dies the upstream is reconnected (backing off), and once it is back
/// every client is told its lists changed. Both end with the gateway (`alive` closes).
pub(crate) fn start(gateway: &Gateway, alive: &watch::Receiver<()>) {
    for name in gateway.toolset().server_names() {
        let Some(server) = gateway.toolset().server(name) else {
            continue;
        };
        // A server that never started has no connection to watch.
        if gateway.toolset().guard(name).is_some() {
            tokio::spawn(watch_upstream(
                Arc::downgrade(&gateway.inner),
                name.to_owned(),
                alive.clone(),
            ));
        }
        let mut notifications = server.notifications();
        let weak = Arc::downgrade(&gateway.inner);
        let name = name.to_owned();
        tokio::spawn(async move {
            while let Some(received) = notifications.recv().await {
                let Some(inner) = weak.upgrade() else {
                    break;
                };
                let gateway = Gateway { inner };
                match received {
                    Received::Notification(n) => pass_on(&gateway, &name, n).await,
                    Received::Missed(n) => {
                        tracing::warn!(server = %name, missed = n, "upstream notifications lost");
                    }
                }
            }
        });
    }
}

/// Keeps upstream `name` connected while the gateway lives; announces its return.
async fn watch_upstream(weak: Weak<Inner>, name: String, mut alive: watch::Receiver<()>) {
    let mut backoff = FIRST_BACKOFF;
    let mut was_down = false;
    loop {
        let connect = async {
            let inner = weak.upgrade()?;
            let toolset = &inner.toolset;
            if let Some(g) = toolset.guard(&name).filter(|g| !g.is_closed()) {
                return Some(Ok(g));
            }
            let server = toolset.server(&name)?.clone();
            drop(inner);
            Some(server.enter().await)
        };
        let guard = tokio::select! {
            _ = alive.changed() => return,
            g = connect => match g {
                None => return,
                Some(Ok(g)) => g,
                Some(Err(e)) => {
                    tracing::info!(server = %name, error = %e, retry_in = ?backoff, "upstream still down");
                    tokio::select! {
                        _ = alive.changed() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        backoff = FIRST_BACKOFF;
        if was_down {
            let Some(inner) = weak.upgrade() else {
                return;
            };
            tracing::info!(server = %name, "upstream is back");
            let gateway = Gateway { inner };
            gateway.refreshed_map().await;
            for method in [
                "notifications/tools/list_changed",
                "notifications/resources/list_changed",
                "notifications/prompts/list_changed",
            ] {
                broadcast(&gateway.inner, method);
            }
        }
        tokio::select! {
            _ = alive.changed() => return,
            () = guard.closed() => {}
        }
        tracing::warn!(server = %name, "upstream connection closed; reconnecting");
        was_down = true;
    }
}

async fn pass_on(gateway: &Gateway, server: &str, n: ServerNotification) {
    match n {
        ServerNotification::Log(params) => {
            let mut targets = gateway.inner.relay.running.clients_of(server);
            if targets.is_empty() {
                targets = gateway
                    .sessions()
                    .into_iter()
                    .map(|s| {
                        let out = s.outbox.clone();
                        (s, out)
                    })
                    .collect();
            }
            for (session, via) in targets {
                if session.wants_log(params.level) {
                    via.notify("notifications/message", Some(&params));
                }
            }
        }
        ServerNotification::ToolListChanged => {
            gateway.refreshed_map().await;
            broadcast(&gateway.inner, "notifications/tools/list_changed");
        }
        ServerNotification::Other { method, params } => match method.as_str() {
            "notifications/resources/list_changed" | "notifications/prompts/list_changed" => {
                broadcast(&gateway.inner, &method);
            }
            "notifications/resources/updated" => {
                let Some(uri) = params
                    .as_ref()
                    .and_then(|p| p.get("uri"))
                    .and_then(Value::as_str)
                else {
                    return;
                };
                let key = (server.to_owned(), uri.to_owned());
                let offered = gateway.last_catalog().offered_uri(server, uri);
                let mut out = params.clone().unwrap_or_else(|| json!({}));
                out["uri"] = Value::String(offered);
                for session in gateway.inner.subscriptions.subscribers(&key) {
                    session.outbox.notify(&method, Some(&out));
                }
            }
            _ => {}
        },
        // Progress goes to the caller through its call; the rest concern the upstream alone.
        _ => {}
    }
}

/// Sends a parameterless notification to every client.
pub(crate) fn broadcast(inner: &Arc<Inner>, method: &str) {
    for session in (Gateway {
        inner: inner.clone(),
    })
    .sessions()
    {
        session.outbox.notify(method, None::<&()>);
    }
}

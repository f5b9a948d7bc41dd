//! What upstreams say on their own, passed to the downstream clients: log messages (to the
//! clients whose calls run there), list changes (to every client), resource updates (to the
//! clients subscribed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use mcpmux::{Received, ServerNotification};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::modern::Listener;
use crate::session::Downstream;
use crate::{Gateway, Inner};

/// An upstream resource: (server, the server's URI).
pub(crate) type ResourceKey = (String, String);

/// Who follows a resource: a session (`resources/subscribe`) or a modern client's
/// `subscriptions/listen` stream.
#[derive(Debug, Clone)]
enum Subscriber {
    Session(Weak<Downstream>),
    Listener(Weak<Listener>),
}

impl Subscriber {
    fn alive(&self) -> bool {
        match self {
            Subscriber::Session(w) => w.strong_count() > 0,
            Subscriber::Listener(w) => w.strong_count() > 0,
        }
    }

    fn is_session(&self, s: &Arc<Downstream>) -> bool {
        matches!(self, Subscriber::Session(w) if w.as_ptr() == Arc::as_ptr(s))
    }

    fn is_listener(&self, l: &Arc<Listener>) -> bool {
        matches!(self, Subscriber::Listener(w) if w.as_ptr() == Arc::as_ptr(l))
    }

    fn notify(&self, method: &str, params: &Value) {
        match self {
            Subscriber::Session(w) => {
                if let Some(s) = w.upgrade() {
                    s.outbox.notify(method, Some(params));
                }
            }
            Subscriber::Listener(w) => {
                if let Some(l) = w.upgrade() {
                    l.notify(method, Some(params.clone()));
                }
            }
        }
    }
}

/// Which clients follow which upstream resource.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    by_resource: Mutex<HashMap<ResourceKey, Vec<Subscriber>>>,
}

impl Subscriptions {
    /// Adds a subscriber unless `same` finds it there; true when it is the first (the upstream
    /// must be subscribed).
    fn add(&self, key: &ResourceKey, new: Subscriber, same: impl Fn(&Subscriber) -> bool) -> bool {
        let mut map = self
            .by_resource
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let list = map.entry(key.clone()).or_default();
        list.retain(Subscriber::alive);
        let first = list.is_empty();
        if !list.iter().any(same) {
            list.push(new);
        }
        first
    }

    /// Removes what `same` finds; true when none is left (the upstream must be unsubscribed).
    fn remove(&self, key: &ResourceKey, same: impl Fn(&Subscriber) -> bool) -> bool {
        let mut map = self
            .by_resource
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(list) = map.get_mut(key) else {
            return false;
        };
        let before = list.len();
        list.retain(|s| s.alive() && !same(s));
        let last = list.is_empty() && before > 0;
        if list.is_empty() {
            map.remove(key);
        }
        last
    }

    /// `resources/subscribe` of `session`; true when it is the first subscriber.
    pub(crate) fn add_session(&self, key: &ResourceKey, session: &Arc<Downstream>) -> bool {
        self.add(key, Subscriber::Session(Arc::downgrade(session)), |s| {
            s.is_session(session)
        })
    }

    /// `resources/unsubscribe` of `session`; true when none is left.
    pub(crate) fn remove_session(&self, key: &ResourceKey, session: &Arc<Downstream>) -> bool {
        self.remove(key, |s| s.is_session(session))
    }

    /// A `subscriptions/listen` stream follows `key`; true when it is the first subscriber.
    pub(crate) fn add_listener(&self, key: &ResourceKey, listener: &Arc<Listener>) -> bool {
        self.add(key, Subscriber::Listener(Arc::downgrade(listener)), |s| {
            s.is_listener(listener)
        })
    }

    /// The stream ended; true when none is left.
    pub(crate) fn remove_listener(&self, key: &ResourceKey, listener: &Arc<Listener>) -> bool {
        self.remove(key, |s| s.is_listener(listener))
    }

    fn subscribers(&self, key: &ResourceKey) -> Vec<Subscriber> {
        self.by_resource
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .into_iter()
            .flatten()
            .filter(|s| s.alive())
            .cloned()
            .collect()
    }
}

/// The first wait before reconnecting a dead upstream, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Starts, per upstream, a task that passes its notifications on, and one that watches its
/// connection: when it dies (or was never up) the upstream is connected again (backing off),
/// and once it is up every client is told its lists changed. Both end with the gateway
/// (`alive` closes).
pub(crate) fn start(gateway: &Gateway, alive: &watch::Receiver<()>) {
    for name in gateway.toolset().server_names() {
        let Some(server) = gateway.toolset().server(name) else {
            continue;
        };
        // One that is not up yet (still starting, or failed to start) is announced when it is.
        tokio::spawn(watch_upstream(
            Arc::downgrade(&gateway.inner),
            name.to_owned(),
            gateway.toolset().guard(name).is_none(),
            alive.clone(),
        ));
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
async fn watch_upstream(
    weak: Weak<Inner>,
    name: String,
    down: bool,
    mut alive: watch::Receiver<()>,
) {
    let mut backoff = FIRST_BACKOFF;
    let mut was_down = down;
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
            let running = gateway.inner.relay.running.calls_on(server);
            if running.is_empty() {
                // Related to no call: to the sessions (modern clients get log messages only
                // for requests that asked).
                for session in gateway.sessions() {
                    if session.is_legacy() && session.wants_log(params.level) {
                        session
                            .outbox
                            .notify("notifications/message", Some(&params));
                    }
                }
            }
            for call in running {
                let wanted = match &call.modern {
                    Some(m) => m.log_level.is_some_and(|min| params.level >= min),
                    None => call.session.wants_log(params.level),
                };
                if wanted {
                    call.related.notify("notifications/message", Some(&params));
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
                for subscriber in gateway.inner.subscriptions.subscribers(&key) {
                    subscriber.notify(&method, &out);
                }
            }
            _ => {}
        },
        // Progress goes to the caller through its call; the rest concern the upstream alone.
        _ => {}
    }
}

/// Sends a parameterless notification to every session, and to the listen streams that asked
/// for it.
pub(crate) fn broadcast(inner: &Arc<Inner>, method: &str) {
    let gateway = Gateway {
        inner: inner.clone(),
    };
    for session in gateway.sessions() {
        if session.is_legacy() {
            session.outbox.notify(method, None::<&()>);
        }
        for listener in session.listeners() {
            if listener.wants(method) {
                listener.notify(method, None);
            }
        }
    }
}

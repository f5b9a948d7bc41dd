//! Notifications from the server, delivered to subscribers through a bounded channel.

use mcpmux_protocol::{ElicitCompleteParams, LoggingMessageParams, ProgressParams, methods};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::broadcast;

/// A notification the server sent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ServerNotification {
    /// `notifications/progress` for a request that carried a progress token.
    Progress(ProgressParams),
    /// `notifications/message`: a log message.
    Log(LoggingMessageParams),
    /// `notifications/tools/list_changed`.
    ToolListChanged,
    /// `notifications/tasks/status`: a task changed state.
    TaskStatus(mcpmux_protocol::Task),
    /// `notifications/elicitation/complete` (2025-11-25): the out-of-band interaction of a
    /// URL-mode elicitation finished; `elicitation_id` is the one the server's
    /// `elicitation/create` carried (see [`ElicitParams::elicitation_id`]). The client may now
    /// retry what waited for it. Ids the client never saw are passed on as they are: telling
    /// them apart is the subscriber's business.
    ///
    /// [`ElicitParams::elicitation_id`]: mcpmux_protocol::ElicitParams::elicitation_id
    ElicitationComplete(ElicitCompleteParams),
    /// Any other notification (or one whose parameters did not parse), kept raw.
    Other {
        /// The method name.
        method: String,
        /// The parameters, if any.
        params: Option<Value>,
    },
}

impl ServerNotification {
    pub(crate) fn parse(method: &str, params: Option<&RawValue>) -> Self {
        fn typed<T: serde::de::DeserializeOwned>(params: Option<&RawValue>) -> Option<T> {
            serde_json::from_str(params?.get()).ok()
        }
        let parsed = match method {
            methods::PROGRESS => typed(params).map(ServerNotification::Progress),
            methods::LOG_MESSAGE => typed(params).map(ServerNotification::Log),
            methods::TOOLS_LIST_CHANGED => Some(ServerNotification::ToolListChanged),
            methods::TASK_STATUS => typed(params).map(ServerNotification::TaskStatus),
            methods::ELICITATION_COMPLETE => {
                typed(params).map(ServerNotification::ElicitationComplete)
            }
            _ => None,
        };
        parsed.unwrap_or_else(|| ServerNotification::Other {
            method: method.to_owned(),
            params: params.and_then(|p| serde_json::from_str(p.get()).ok()),
        })
    }
}

/// What [`Notifications::recv`] yields.
#[derive(Debug, Clone)]
pub enum Received {
    /// The next notification.
    Notification(ServerNotification),
    /// This subscriber fell behind and this many older notifications were dropped for it.
    Missed(u64),
}

/// A subscription to a server's notifications, from [`Server::notifications`](crate::Server::notifications).
///
/// Bounded: a subscriber that falls behind loses the oldest notifications and is told how many
/// ([`Received::Missed`]); it never slows the connection down or grows memory without bound.
#[derive(Debug)]
pub struct Notifications {
    pub(crate) rx: broadcast::Receiver<ServerNotification>,
}

impl Notifications {
    /// The next notification, from any connection of this server; `None` once the server
    /// handle and all its connections are gone.
    ///
    /// # Cancel safety
    /// Cancel safe: no notification is lost if the future is dropped.
    pub async fn recv(&mut self) -> Option<Received> {
        match self.rx.recv().await {
            Ok(n) => Some(Received::Notification(n)),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Received::Missed(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: &str, params: &str) -> ServerNotification {
        let raw = RawValue::from_string(params.to_owned()).unwrap();
        ServerNotification::parse(method, Some(&raw))
    }

    #[test]
    fn elicitation_complete_is_typed() {
        let n = parse(
            methods::ELICITATION_COMPLETE,
            r#"{"elicitationId":"e-1","_meta":{"k":1}}"#,
        );
        let ServerNotification::ElicitationComplete(p) = n else {
            panic!("not typed: {n:?}");
        };
        assert_eq!(p.elicitation_id, "e-1");
        assert_eq!(p.extra.get("_meta"), Some(&serde_json::json!({"k": 1})));
    }

    #[test]
    fn elicitation_complete_without_an_id_stays_raw() {
        for params in [r#"{}"#, r#"{"elicitationId":7}"#] {
            let n = parse(methods::ELICITATION_COMPLETE, params);
            assert!(
                matches!(&n, ServerNotification::Other { method, params: Some(_) }
                    if method == methods::ELICITATION_COMPLETE),
                "{n:?}"
            );
        }
        assert!(matches!(
            ServerNotification::parse(methods::ELICITATION_COMPLETE, None),
            ServerNotification::Other { params: None, .. }
        ));
    }
}

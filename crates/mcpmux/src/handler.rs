//! Client features: what a server may ask of the client (sampling, elicitation, roots).
//!
//! Each is behind a handler the user supplies on the builder; the capability is advertised in
//! `initialize` only when a handler is set, and a server request for a feature without a handler
//! gets "method not found". Handlers run in tasks of their own, never inline in the connection's
//! read loop, so a slow handler never stalls responses to other requests.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use mcpmux_protocol::{
    CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams, ElicitResult,
    ErrorObject, JsonObject, Root,
};
use serde_json::Value;

/// The future a handler returns: the result, or the JSON-RPC error to answer with.
pub type HandlerFuture<T> = Pin<Box<dyn Future<Output = Result<T, ErrorObject>> + Send>>;

/// Answers `sampling/createMessage`: the server asks the client's model for a completion.
///
/// Implemented for closures `Fn(CreateMessageParams) -> impl Future<Output = Result<...>>`.
///
/// ```
/// use mcpmux::protocol::{CreateMessageResult, Role};
/// let server = mcpmux::Server::stdio("some-server")
///     .sampling(|params: mcpmux::protocol::CreateMessageParams| async move {
///         Ok(CreateMessageResult {
///             role: Role::Assistant,
///             content: serde_json::json!({"type": "text", "text": "hello"}),
///             model: "my-model".into(),
///             stop_reason: Some("endTurn".into()),
///             extra: Default::default(),
///         })
///     })
///     .build();
/// assert!(server.is_ok());
/// ```
pub trait SamplingHandler: Send + Sync + 'static {
    /// Produces the model's message.
    fn create_message(&self, params: CreateMessageParams) -> HandlerFuture<CreateMessageResult>;

    /// Whether requests may carry `tools` / `toolChoice` (advertised as `sampling.tools`,
    /// 2025-11-25). Default true: the handler receives them and may answer with plain text.
    fn supports_tools(&self) -> bool {
        true
    }
}

impl<F, Fut> SamplingHandler for F
where
    F: Fn(CreateMessageParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CreateMessageResult, ErrorObject>> + Send + 'static,
{
    fn create_message(&self, params: CreateMessageParams) -> HandlerFuture<CreateMessageResult> {
        Box::pin(self(params))
    }
}

/// Answers `elicitation/create`: the server asks the user for input (a form) or to visit a URL.
///
/// For form mode, defaults declared in the requested schema are filled into an accepted answer
/// for every property the handler left out.
pub trait ElicitationHandler: Send + Sync + 'static {
    /// Asks the user.
    fn elicit(&self, params: ElicitParams) -> HandlerFuture<ElicitResult>;

    /// Whether URL mode is supported (advertised as `elicitation.url`). Default: form only.
    ///
    /// A request in a mode the handler did not declare (URL mode here, or a mode MCP does not
    /// define) never reaches [`elicit`](Self::elicit): the server gets -32602, as 2025-11-25
    /// requires. So does a URL-mode request without a `url` (its `elicitationId` is required on
    /// 2025-11-25 but gone from 2026-07-28, so it is passed on as it came).
    fn supports_url_mode(&self) -> bool {
        false
    }
}

impl<F, Fut> ElicitationHandler for F
where
    F: Fn(ElicitParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ElicitResult, ErrorObject>> + Send + 'static,
{
    fn elicit(&self, params: ElicitParams) -> HandlerFuture<ElicitResult> {
        Box::pin(self(params))
    }
}

/// The handlers and roots of one server handle.
#[derive(Clone, Default)]
pub(crate) struct Handlers {
    pub(crate) sampling: Option<Arc<dyn SamplingHandler>>,
    pub(crate) elicitation: Option<Arc<dyn ElicitationHandler>>,
    /// `Some` when the client offers roots; shared with [`crate::Server::set_roots`].
    pub(crate) roots: Option<Arc<RwLock<Vec<Root>>>>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("sampling", &self.sampling.is_some())
            .field("elicitation", &self.elicitation.is_some())
            .field("roots", &self.roots.is_some())
            .finish()
    }
}

impl Handlers {
    /// The client capabilities these handlers imply.
    pub(crate) fn capabilities(&self) -> mcpmux_protocol::ClientCapabilities {
        let mut caps = mcpmux_protocol::ClientCapabilities::default();
        if let Some(s) = &self.sampling {
            caps.sampling = Some(if s.supports_tools() {
                serde_json::json!({"tools": {}})
            } else {
                serde_json::json!({})
            });
        }
        if let Some(e) = &self.elicitation {
            caps.elicitation = Some(if e.supports_url_mode() {
                serde_json::json!({"form": {}, "url": {}})
            } else {
                serde_json::json!({"form": {}})
            });
        }
        if self.roots.is_some() {
            caps.roots = Some(serde_json::json!({"listChanged": true}));
        }
        caps
    }
}

/// Fills `content` with the `default` of every schema property it lacks (form mode, accept).
pub(crate) fn apply_schema_defaults(result: &mut ElicitResult, schema: Option<&Value>) {
    if result.action != ElicitAction::Accept {
        return;
    }
    let Some(props) = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    let content = result.content.get_or_insert_with(JsonObject::new);
    for (name, prop) in props {
        if let Some(default) = prop.get("default")
            && !content.contains_key(name)
        {
            content.insert(name.clone(), default.clone());
        }
    }
}

/// Refuses an elicitation in a mode the handler did not declare, or a URL-mode request without
/// a `url` (2025-11-25: -32602 Invalid params).
fn check_elicitation_mode(
    handler: &dyn ElicitationHandler,
    p: &ElicitParams,
) -> Result<(), ErrorObject> {
    use mcpmux_protocol::jsonrpc::INVALID_PARAMS;
    let refuse = |why: String| Err(ErrorObject::new(INVALID_PARAMS, why));
    match p.mode.as_deref() {
        None | Some("form") => Ok(()),
        Some("url") if !handler.supports_url_mode() => {
            refuse("elicitation mode \"url\" was not declared by this client".to_owned())
        }
        Some("url") if p.url.is_none() => refuse("a URL-mode elicitation needs a `url`".to_owned()),
        Some("url") => Ok(()),
        Some(other) => refuse(format!("unknown elicitation mode {other:?}")),
    }
}

/// Answers one server request (a server-to-client request, or an input request of a
/// multi-round-trip result) with the client's handlers.
pub(crate) async fn answer_input_request(
    handlers: &Handlers,
    method: &str,
    params: Option<Value>,
) -> Result<Value, ErrorObject> {
    use mcpmux_protocol::jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND};
    use mcpmux_protocol::methods;
    fn parse<T: serde::de::DeserializeOwned>(p: Option<Value>) -> Result<T, ErrorObject> {
        serde_json::from_value(p.unwrap_or(Value::Null))
            .map_err(|e| ErrorObject::new(INVALID_PARAMS, format!("invalid params: {e}")))
    }
    fn value<T: serde::Serialize>(v: T) -> Value {
        serde_json::to_value(v).unwrap_or(Value::Null)
    }
    let not_found = || ErrorObject::new(METHOD_NOT_FOUND, format!("method not found: {method}"));
    match method {
        methods::PING => Ok(serde_json::json!({})),
        methods::ROOTS_LIST => match &handlers.roots {
            Some(roots) => {
                let roots = roots
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                Ok(serde_json::json!({ "roots": roots }))
            }
            None => Err(not_found()),
        },
        methods::SAMPLING_CREATE_MESSAGE => match &handlers.sampling {
            Some(h) => Ok(value(h.create_message(parse(params)?).await?)),
            None => Err(not_found()),
        },
        methods::ELICITATION_CREATE => match &handlers.elicitation {
            Some(h) => {
                let p: ElicitParams = parse(params)?;
                check_elicitation_mode(h.as_ref(), &p)?;
                let schema = p.requested_schema.clone();
                let url_mode = p.is_url_mode();
                let mut r = h.elicit(p).await?;
                if !url_mode {
                    apply_schema_defaults(&mut r, schema.as_ref());
                }
                Ok(value(r))
            }
            None => Err(not_found()),
        },
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_only_missing_fields_of_accepted_forms() {
        let schema = json!({"type": "object", "properties": {
            "name": {"type": "string", "default": "anon"},
            "age": {"type": "integer", "default": 30},
            "ok": {"type": "boolean"}
        }});
        let mut r = ElicitResult {
            action: ElicitAction::Accept,
            content: Some(serde_json::from_value(json!({"name": "x"})).unwrap()),
        };
        apply_schema_defaults(&mut r, Some(&schema));
        assert_eq!(json!(r.content), json!({"name": "x", "age": 30}));
        let mut empty = ElicitResult {
            action: ElicitAction::Accept,
            content: None,
        };
        apply_schema_defaults(&mut empty, Some(&schema));
        assert_eq!(json!(empty.content), json!({"name": "anon", "age": 30}));
        let mut declined = ElicitResult {
            action: ElicitAction::Decline,
            content: None,
        };
        apply_schema_defaults(&mut declined, Some(&schema));
        assert!(declined.content.is_none());
    }

    /// An elicitation handler that counts its calls, with or without URL mode.
    struct Counting {
        url: bool,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl ElicitationHandler for Counting {
        fn elicit(&self, _: ElicitParams) -> HandlerFuture<ElicitResult> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async {
                Ok(ElicitResult {
                    action: ElicitAction::Accept,
                    content: None,
                })
            })
        }
        fn supports_url_mode(&self) -> bool {
            self.url
        }
    }

    async fn elicit(url_mode: bool, params: Value) -> (Result<Value, ErrorObject>, usize) {
        let h = Arc::new(Counting {
            url: url_mode,
            calls: Default::default(),
        });
        let handlers = Handlers {
            elicitation: Some(h.clone()),
            ..Handlers::default()
        };
        let r = answer_input_request(
            &handlers,
            mcpmux_protocol::methods::ELICITATION_CREATE,
            Some(params),
        )
        .await;
        (r, h.calls.load(std::sync::atomic::Ordering::SeqCst))
    }

    #[tokio::test]
    async fn only_declared_elicitation_modes_reach_the_handler() {
        let url = json!({"mode": "url", "message": "m", "url": "https://example.com/x",
                         "elicitationId": "e-1"});
        let form = json!({"message": "m", "requestedSchema": {"type": "object"}});
        // URL mode to a form-only handler: -32602, the handler never asked.
        let (r, calls) = elicit(false, url.clone()).await;
        assert_eq!(r.unwrap_err().code, -32602);
        assert_eq!(calls, 0);
        // Declared: passed on, answered without schema defaults.
        let (r, calls) = elicit(true, url).await;
        assert_eq!(r.unwrap(), json!({"action": "accept"}));
        assert_eq!(calls, 1);
        // Form mode (mode absent or "form") always reaches a handler.
        for form in [form.clone(), json!({"mode": "form", "message": "m"})] {
            let (r, calls) = elicit(false, form).await;
            assert!(r.is_ok(), "{r:?}");
            assert_eq!(calls, 1);
        }
        // 2026-07-28 dropped `elicitationId`: still passed on.
        let (r, calls) = elicit(
            true,
            json!({"mode": "url", "message": "m", "url": "https://x.example"}),
        )
        .await;
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(calls, 1);
        // An unknown mode, and URL mode without a url: refused.
        for bad in [
            json!({"mode": "telepathy", "message": "m"}),
            json!({"mode": "url", "message": "m", "elicitationId": "e-1"}),
        ] {
            let (r, calls) = elicit(true, bad.clone()).await;
            assert_eq!(r.unwrap_err().code, -32602, "{bad}");
            assert_eq!(calls, 0, "{bad}");
        }
    }
}

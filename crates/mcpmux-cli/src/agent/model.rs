//! The model `mcpmux agent` talks to: rig's OpenAI Chat Completions or Anthropic Messages client
//! on our own reqwest client (rustls with `ring`), and one request to it, streamed or not.

use std::time::Duration;

use futures_util::StreamExt as _;
use rig_core::DynModel;
use rig_core::completion::{CompletionRequest, CompletionResponse};
use rig_core::error::ProviderError;
use rig_core::http_client::{DynHttpClient, HeaderMap, HttpMiddleware, Method, Uri};
use rig_core::operation::Completion;
use rig_core::providers::anthropic::wire::AnthropicConfig;
use rig_core::providers::openai::{OpenAIConfig, wire::Auth};
use rig_core::streaming::{Item, StreamEvent};
use rig_core::wasm_compat::WasmBoxedFuture;

use crate::args::{AgentArgs, ModelApi};
use crate::exit::{Code, Failure};

/// The `max_tokens` of an Anthropic request when rig knows no default for the model.
const ANTHROPIC_MAX_TOKENS: u64 = 4096;

/// The model `args` name, on the endpoint they give.
///
/// The key comes from `--api-key-env` (or the provider's usual variable). Without one no key
/// header is sent: OpenAI through rig's `Auth::OptionalBearer` (no `Authorization` for an empty
/// key), Anthropic through [`NoEmptyKey`] (rig writes `x-api-key` even when it is empty).
///
/// # Errors
/// Exit 1 if the HTTP client cannot be built.
pub fn connect(args: &AgentArgs) -> Result<DynModel<Completion>, Failure> {
    let variable = args
        .api_key_env
        .clone()
        .unwrap_or_else(|| match args.provider {
            ModelApi::Openai => "OPENAI_API_KEY".to_owned(),
            ModelApi::Anthropic => "ANTHROPIC_API_KEY".to_owned(),
        });
    let key = std::env::var(&variable).unwrap_or_default();
    let http = DynHttpClient::new(rig_reqwest::ReqwestClient::from(http_client()?))
        .with_middleware(NoEmptyKey);
    Ok(match args.provider {
        ModelApi::Openai => OpenAIConfig::new(key)
            .with_base_url(args.base_url.trim_end_matches('/'))
            .with_auth(Auth::OptionalBearer)
            .connect(http)
            .chat(&args.model)
            .into(),
        ModelApi::Anthropic => {
            let mut model = AnthropicConfig::new(key)
                .with_base_url(&args.base_url)
                .connect(http)
                .completion(&args.model);
            if model.wire.default_max_tokens.is_none() {
                model.wire = model.wire.with_default_max_tokens(ANTHROPIC_MAX_TOKENS);
            }
            model.into()
        }
    })
}

/// Drops a key header that is there but empty (`x-api-key`, `Authorization`): no key, no header.
struct NoEmptyKey;

impl HttpMiddleware for NoEmptyKey {
    fn before_request_headers<'a>(
        &'a self,
        _method: &'a Method,
        _uri: &'a Uri,
        headers: &'a mut HeaderMap,
    ) -> WasmBoxedFuture<'a, rig_core::http_client::Result<()>> {
        for name in ["x-api-key", "authorization"] {
            if headers.get(name).is_some_and(|value| {
                value.is_empty() || value.as_bytes().eq_ignore_ascii_case(b"bearer ")
            }) {
                headers.remove(name);
            }
        }
        Box::pin(async { Ok(()) })
    }
}

/// The HTTP client of the model requests: rustls with the `ring` provider, like the library's.
fn http_client() -> Result<reqwest::Client, Failure> {
    // Installs `ring` as the process default only if no provider was chosen yet.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| {
            Failure::new(
                Code::Failed,
                anyhow::Error::new(e).context("cannot build the HTTP client"),
            )
        })
}

/// Sends `request`; streamed, each piece of text goes to `on_text` as it arrives.
///
/// # Errors
/// The endpoint is unreachable, answers an error status, or a reply rig cannot read.
pub async fn ask(
    model: &DynModel<Completion>,
    request: CompletionRequest,
    stream: bool,
    mut on_text: impl FnMut(&str),
) -> Result<CompletionResponse, ProviderError> {
    if !stream {
        let response = model.call(request).await?;
        on_text(&response.text());
        return Ok(response);
    }
    let mut events = model.stream(request)?;
    while let Some(item) = events.next().await {
        if let Item::Event(StreamEvent::Text { text, .. }) = item? {
            on_text(&text);
        }
    }
    events.finish().await
}

/// A model failure as the command's failure: exit 6, naming the endpoint.
pub fn failed(error: impl Into<anyhow::Error>, base_url: &str) -> Failure {
    Failure::new(
        Code::Model,
        error
            .into()
            .context(format!("the model at {base_url} failed")),
    )
}

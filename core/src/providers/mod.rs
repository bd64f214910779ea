//! Provider adapters: one file per wire format, all behind one [`Provider`] trait, so the
//! pipeline never knows whose API it is talking to.

mod anthropic;
mod bedrock;
mod event_stream;
mod gemini;
pub mod http;
#[cfg(feature = "local")]
pub mod local;
mod openai;
pub mod retry_after;
pub mod sse;
mod turns;
mod vertex;

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::Stream;

pub use anthropic::AnthropicProvider;
pub use bedrock::BedrockProvider;
pub use gemini::GeminiProvider;
pub use openai::OpenAiProvider;
pub use vertex::VertexProvider;

use crate::config::{ProviderConfig, ProviderKind, Wire};
use crate::error::Result;
use crate::types::{ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

/// A stream of chunks. It ends cleanly only after the provider's terminal event; a broken
/// stream yields an `Err` item and then ends.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatChunk>> + Send>>;

/// Where one attempt goes: the deployment (for errors and metrics), the upstream model
/// name, and the attempt's time limit.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub deployment: &'a str,
    pub model: &'a str,
    pub timeout: Option<Duration>,
}

/// One upstream API. Requests arrive in OpenAI's shape with the caller's alias as `model`;
/// the adapter sends `target.model` upstream and answers in OpenAI's shape.
#[async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// The provider's name in the config.
    fn name(&self) -> &str;
    fn kind(&self) -> ProviderKind;
    async fn chat(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse>;
    async fn chat_stream(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatStream>;
    async fn embed(
        &self,
        request: &EmbeddingRequest,
        target: &Target<'_>,
    ) -> Result<EmbeddingResponse>;
}

/// Builds the adapter a provider entry of the config describes, its `${VAR}` references
/// substituted (an unset one is a `config` error naming the variable and the field).
pub fn build(name: &str, config: &ProviderConfig) -> Result<Arc<dyn Provider>> {
    let client = http::shared_client()?;
    let config = &config.with_env(name).map_err(|e| {
        crate::error::Error::new(
            crate::error::ErrorKind::Config {
                path: e.first_path().to_owned(),
            },
            e.to_string(),
        )
    })?;
    Ok(match config.kind.wire() {
        Wire::OpenAi | Wire::Azure | Wire::AzureAi => {
            Arc::new(OpenAiProvider::new(name, config, client))
        }
        Wire::Anthropic => Arc::new(AnthropicProvider::new(name, config, client)),
        Wire::Gemini => Arc::new(GeminiProvider::new(name, config, client)),
        Wire::Bedrock => Arc::new(BedrockProvider::new(name, config, client)?),
        Wire::Vertex => Arc::new(VertexProvider::new(name, config, client)?),
        #[cfg(feature = "local")]
        Wire::Local => Arc::new(local::LocalProvider::new(name, config)?),
        #[cfg(not(feature = "local"))]
        Wire::Local => {
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::Config {
                    path: format!("providers.{name}.kind"),
                },
                "kind: local needs switchyard built with the `local` cargo feature",
            ));
        }
    })
}

/// A provider field that may be written `${VAR}` (as the LiteLLM import writes
/// `${VERTEXAI_PROJECT}`): its value, or a `config` error naming the unset variable.
pub(crate) fn env_field(provider: &str, field: &str, value: &str) -> Result<String> {
    let secret = crate::config::Secret::new(value);
    secret.resolve().ok_or_else(|| {
        crate::error::Error::new(
            crate::error::ErrorKind::Config {
                path: format!("providers.{provider}.{field}"),
            },
            format!("{} is not set or empty", secret.masked()),
        )
    })
}

/// Seconds since the epoch, for `created` fields of answers we synthesise.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Splits a `data:<mime>;base64,<data>` URL into its media type and payload; `None` for any
/// other URL. Providers that take inline images want the two apart.
pub(crate) fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    Some((mime, data))
}

/// Parses a tool call's JSON-encoded `arguments` into the object providers want. An empty
/// string means "no arguments"; anything that is not JSON is the caller's mistake.
pub(crate) fn parse_tool_arguments(arguments: &str, field: String) -> Result<serde_json::Value> {
    if arguments.trim().is_empty() {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(arguments).map_err(|e| {
        crate::error::Error::bad_request(field, format!("tool call arguments are not JSON: {e}"))
    })
}

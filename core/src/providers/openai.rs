//! OpenAI and every OpenAI-compatible API (the presets of `config/preset.rs`, with their
//! quirks), plus the Azure OpenAI variant (deployment in the path, `api-version` query,
//! `api-key` header) and Azure AI Foundry's model inference API (`/models/...`, the model in
//! the body, `api-version` query, `api-key` header).

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Client, RequestBuilder, Url};
use serde::Deserialize;

use super::event_stream::{StreamDecoder, StreamOrigin, chunk_stream};
use super::http::{Exchange, ExtraHeaders, credential};
use super::sse::SseEvent;
use super::{ChatStream, Provider, Target, retry_after::retry_after};
use crate::config::{Preset, ProviderConfig, ProviderKind, Wire};
use crate::error::{Error, ErrorKind, Result};
use crate::types::{ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

/// Azure's default `api-version` when the config names none.
const AZURE_API_VERSION: &str = "2024-10-21";

/// Azure AI model inference's default `api-version`.
const AZURE_AI_API_VERSION: &str = "2024-05-01-preview";

#[derive(Debug)]
pub struct OpenAiProvider {
    name: String,
    kind: ProviderKind,
    base_url: String,
    /// The plain OpenAI wire's endpoints, parsed once (Azure's depend on the deployment):
    /// parsed per call, ~2% of a call's CPU under `perf` (`endpoint_url_*` in the wire bench). `None` if `base_url` does not parse;
    /// then each call parses it, and fails as it always did.
    endpoints: Option<Endpoints>,
    api_key: Option<crate::config::Secret>,
    api_version: String,
    headers: ExtraHeaders,
    stream_usage: bool,
    preset: Option<&'static Preset>,
    client: Client,
}

impl OpenAiProvider {
    pub fn new(name: &str, config: &ProviderConfig, client: Client) -> Self {
        let base_url = config.resolved_base_url();
        OpenAiProvider {
            name: name.to_owned(),
            kind: config.kind,
            endpoints: match config.kind.wire() {
                Wire::Azure | Wire::AzureAi => None,
                _ => Endpoints::parse(&base_url),
            },
            base_url,
            api_key: config.effective_api_key(),
            api_version: config.api_version.clone().unwrap_or_else(|| {
                match config.kind {
                    ProviderKind::AzureAi => AZURE_AI_API_VERSION,
                    _ => AZURE_API_VERSION,
                }
                .to_owned()
            }),
            headers: ExtraHeaders::new(&config.headers),
            stream_usage: config.stream_usage
                && config.kind.preset().is_none_or(|p| p.stream_options),
            preset: config.kind.preset(),
            client,
        }
    }

    /// A POST of `body` (JSON) to `operation`, with the key and the config's headers.
    fn post(
        &self,
        operation: Operation,
        target: &Target<'_>,
        body: Vec<u8>,
    ) -> Result<RequestBuilder> {
        let wire = self.kind.wire();
        let operation_path = operation.path();
        let builder = match wire {
            Wire::Azure => self
                .client
                .post(format!(
                    "{}/openai/deployments/{}/{operation_path}",
                    self.base_url, target.model
                ))
                .query(&[("api-version", self.api_version.as_str())]),
            Wire::AzureAi => self
                .client
                .post(format!(
                    "{}/{operation_path}",
                    azure_ai_root(&self.base_url)
                ))
                .query(&[("api-version", self.api_version.as_str())]),
            _ => match &self.endpoints {
                Some(endpoints) => self.client.post(endpoints.of(operation).clone()),
                None => self
                    .client
                    .post(format!("{}/{operation_path}", self.base_url)),
            },
        };
        let builder = match credential(&self.name, self.api_key.as_ref())? {
            Some(key) if matches!(wire, Wire::Azure | Wire::AzureAi) => {
                builder.header("api-key", key)
            }
            Some(key) => builder.bearer_auth(key),
            None => builder,
        };
        let builder = self.headers.apply(builder).body(body);
        // A content type the config sets wins, as it did over reqwest's `json`.
        if self.headers.contains(CONTENT_TYPE.as_str()) {
            return Ok(builder);
        }
        Ok(builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json")))
    }

    /// The body to send, encoded: the request, minus the fields the preset drops; a field
    /// it refuses is a `bad_request` naming it, raised before anything is sent.
    fn body(&self, request: &ChatRequest) -> Result<Vec<u8>> {
        let Some(preset) = self.preset else {
            // Nothing to drop or refuse: encoded straight from the typed request, at less
            // than half the cost of a JSON tree in between (`request_serialise*`, wire bench).
            return encode(request);
        };
        let mut body = serde_json::to_value(request).map_err(unencodable)?;
        let Some(map) = body.as_object_mut() else {
            return encode(&body);
        };
        if let Some(field) = preset.refused.iter().find(|f| map.contains_key(**f)) {
            return Err(Error::bad_request(
                *field,
                format!(
                    "'{field}' is not supported by {} (kind: {}); remove it from the request",
                    self.name,
                    self.kind.config_name()
                ),
            )
            .with_provider(&self.name));
        }
        for field in preset.dropped {
            map.remove(*field);
        }
        encode(&body)
    }

    fn exchange<'a>(&'a self, target: &'a Target<'a>) -> Exchange<'a> {
        Exchange {
            provider: &self.name,
            target,
            map_error,
            request_id_header: "x-request-id",
        }
    }

    /// The request as the upstream wants it: its model name, and the stream flags.
    fn upstream_request(
        &self,
        request: &ChatRequest,
        target: &Target<'_>,
        stream: bool,
    ) -> ChatRequest {
        let mut upstream = request.clone();
        upstream.model = target.model.to_owned();
        upstream.stream = stream.then_some(true);
        upstream.stream_options = if stream && self.stream_usage {
            let mut options = request.stream_options.clone().unwrap_or_default();
            options.include_usage = Some(true);
            Some(options)
        } else {
            None
        };
        upstream
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ProviderKind {
        self.kind
    }

    async fn chat(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        let body = self.body(&self.upstream_request(request, target, false))?;
        let http = self.post(Operation::Chat, target, body)?;
        self.exchange(target).json(http).await
    }

    async fn chat_stream(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatStream> {
        let body = self.body(&self.upstream_request(request, target, true))?;
        let exchange = self.exchange(target);
        let response = exchange
            .stream(self.post(Operation::Chat, target, body)?)
            .await?;
        let origin = StreamOrigin {
            provider: self.name.clone(),
            deployment: target.deployment.to_owned(),
            request_id: exchange.request_id(response.headers()),
        };
        Ok(chunk_stream(
            response,
            OpenAiDecoder {
                done: false,
                usage_in_choice: self.preset.is_some_and(|p| p.usage_in_choice),
            },
            origin,
            target.timeout,
        ))
    }

    async fn embed(
        &self,
        request: &EmbeddingRequest,
        target: &Target<'_>,
    ) -> Result<EmbeddingResponse> {
        let mut body = request.clone();
        body.model = target.model.to_owned();
        let http = self.post(Operation::Embeddings, target, encode(&body)?)?;
        self.exchange(target).json(http).await
    }
}

/// What a request asks the upstream for.
#[derive(Debug, Clone, Copy)]
enum Operation {
    Chat,
    Embeddings,
}

impl Operation {
    fn path(self) -> &'static str {
        match self {
            Operation::Chat => "chat/completions",
            Operation::Embeddings => "embeddings",
        }
    }
}

/// Each [`Operation`]'s URL under a base URL.
#[derive(Debug)]
struct Endpoints {
    chat: Url,
    embeddings: Url,
}

impl Endpoints {
    fn parse(base_url: &str) -> Option<Endpoints> {
        let url = |operation: Operation| Url::parse(&format!("{base_url}/{}", operation.path()));
        Some(Endpoints {
            chat: url(Operation::Chat).ok()?,
            embeddings: url(Operation::Embeddings).ok()?,
        })
    }

    fn of(&self, operation: Operation) -> &Url {
        match operation {
            Operation::Chat => &self.chat,
            Operation::Embeddings => &self.embeddings,
        }
    }
}

/// A request body as JSON.
fn encode(body: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(unencodable)
}

fn unencodable(error: serde_json::Error) -> Error {
    Error::bad_request("", format!("cannot encode the request: {error}"))
}

/// Azure AI's inference routes: `{endpoint}/models/...`, except on serverless endpoints
/// (`*.models.ai.azure.com`), which serve them at the root.
fn azure_ai_root(base_url: &str) -> String {
    if base_url.ends_with("/models") || base_url.contains(".models.ai.azure.com") {
        base_url.to_owned()
    } else {
        format!("{base_url}/models")
    }
}

/// OpenAI streams are chunk objects, then `data: [DONE]`. Compatible servers may instead
/// send an `{"error": ...}` object mid-stream.
struct OpenAiDecoder {
    done: bool,
    /// Moonshot puts the last chunk's usage in `choices[0].usage`.
    usage_in_choice: bool,
}

impl StreamDecoder for OpenAiDecoder {
    fn decode(&mut self, event: SseEvent, out: &mut Vec<ChatChunk>) -> Result<()> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if event.event.as_deref() == Some("error") || data.starts_with("{\"error\"") {
            return Err(map_error(500, &HeaderMap::new(), data.as_bytes()));
        }
        let mut chunk: ChatChunk = serde_json::from_str(data)
            .map_err(|e| Error::malformed(200, format!("unreadable stream chunk: {e}")))?;
        if self.usage_in_choice && chunk.usage.is_none() && data.contains("\"usage\"") {
            chunk.usage = serde_json::from_str::<serde_json::Value>(data)
                .ok()
                .and_then(|v| v.pointer("/choices/0/usage").cloned())
                .and_then(|u| serde_json::from_value(u).ok());
        }
        out.push(chunk);
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    param: Option<String>,
    #[serde(default)]
    code: Option<serde_json::Value>,
    /// Azure content-filter errors carry details here.
    #[serde(default)]
    innererror: Option<serde_json::Value>,
    /// Azure AI's validation errors: `[{"loc": ["body", "field"], "msg": ...}]`.
    #[serde(default)]
    details: Option<Vec<ErrorDetail>>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    loc: Vec<serde_json::Value>,
}

/// Maps OpenAI's (and Azure's, and compatible servers') error answers to the taxonomy.
fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: ErrorBody = serde_json::from_slice::<ErrorEnvelope>(body)
        .map(|e| e.error)
        .unwrap_or_default();
    let message = parsed
        .message
        .clone()
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect());
    let code = parsed
        .code
        .as_ref()
        .and_then(|c| c.as_str())
        .unwrap_or_default();
    let kind = parsed.kind.as_deref().unwrap_or_default();
    let lower = message.to_ascii_lowercase();

    let error_kind = if code == "context_length_exceeded"
        || lower.contains("maximum context length")
        || lower.contains("context window")
    {
        ErrorKind::ContextWindowExceeded
    } else if code == "content_filter"
        || code == "content_policy_violation"
        || kind == "content_filter"
        || parsed.innererror.is_some()
    {
        ErrorKind::ContentPolicy
    } else {
        match status {
            401 | 403 => ErrorKind::Auth,
            408 => ErrorKind::Timeout,
            429 if code == "insufficient_quota" => ErrorKind::Upstream { status },
            429 => ErrorKind::RateLimited {
                retry_after: retry_after(headers),
            },
            400 | 422 => ErrorKind::BadRequest {
                field: parsed.param.clone().or_else(|| {
                    let loc = &parsed.details.as_ref()?.first()?.loc;
                    loc.last()?.as_str().map(str::to_owned)
                }),
            },
            _ => ErrorKind::Upstream { status },
        }
    };
    Error::new(error_kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, body: &str) -> Error {
        map_error(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn maps_real_error_bodies() {
        let context = map(
            400,
            r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
        );
        assert_eq!(context.kind(), &ErrorKind::ContextWindowExceeded);

        let bad = map(
            400,
            r#"{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}"#,
        );
        assert_eq!(bad.field(), Some("temperature"));

        let auth = map(
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        );
        assert_eq!(auth.kind(), &ErrorKind::Auth);

        let azure_filter = map(
            400,
            r#"{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}"#,
        );
        assert_eq!(azure_filter.kind(), &ErrorKind::ContentPolicy);

        let quota = map(
            429,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        );
        assert!(!quota.is_retryable());

        let server = map(503, "<html>Service Unavailable</html>");
        assert_eq!(server.kind(), &ErrorKind::Upstream { status: 503 });
        assert!(server.message().contains("Service Unavailable"));
    }

    #[test]
    fn rate_limit_carries_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        let e = map_error(429, &headers, br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#);
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(3)));
    }
}

//! Google Vertex AI: Gemini models through `publishers/google` (`generateContent`,
//! `streamGenerateContent?alt=sse`, the Gemini mapping of `gemini.rs`), Claude through
//! `publishers/anthropic` (`rawPredict`, `streamRawPredict`, the Messages mapping of
//! `anthropic.rs` with `anthropic_version: vertex-2023-10-16`), embeddings through
//! `:predict`; every request carries a service account's access token (`token.rs`).

mod embed;
mod token;

use async_trait::async_trait;
use reqwest::{Client, RequestBuilder};
use serde_json::Value;

use self::token::{KeySource, TokenSource};
use super::anthropic::{self, AnthropicDecoder, AnthropicMessage};
use super::event_stream::{StreamOrigin, chunk_stream};
use super::gemini::{self, GeminiDecoder, GeminiResponse};
use super::http::{ErrorMapper, Exchange};
use super::{ChatStream, Provider, Target, env_field};
use crate::config::{ProviderConfig, ProviderKind};
use crate::error::{Error, ErrorKind, Result};
use crate::types::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

/// The Messages API version Anthropic models on Vertex take, in the body.
const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";
const DEFAULT_LOCATION: &str = "us-central1";

#[derive(Debug)]
pub struct VertexProvider {
    name: String,
    /// `{base}/projects/{project}/locations/{location}/publishers`.
    publishers_url: String,
    tokens: TokenSource,
    headers: Vec<(String, String)>,
    client: Client,
}

/// Claude models are Anthropic's publisher on Vertex; everything else is Google's.
fn is_anthropic(model: &str) -> bool {
    model.starts_with("claude")
}

impl VertexProvider {
    /// Fails with a `config` error when the entry names no project.
    pub fn new(name: &str, config: &ProviderConfig, client: Client) -> Result<Self> {
        let project = config.project.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::Config {
                    path: format!("providers.{name}.project"),
                },
                "kind: vertex needs a project",
            )
        })?;
        let project = env_field(name, "project", &project)?;
        let location = env_field(
            name,
            "location",
            config.location.as_deref().unwrap_or(DEFAULT_LOCATION),
        )?;
        let base = match config.base_url.as_deref() {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if location == "global" => "https://aiplatform.googleapis.com/v1".to_owned(),
            None => format!("https://{location}-aiplatform.googleapis.com/v1"),
        };
        let source = KeySource {
            file: config.credentials_file.clone(),
            json: config.credentials.clone(),
        };
        Ok(VertexProvider {
            name: name.to_owned(),
            publishers_url: format!("{base}/projects/{project}/locations/{location}/publishers"),
            tokens: TokenSource::new(name, source, client.clone()),
            headers: config
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            client,
        })
    }

    /// `POST .../publishers/{publisher}/models/{model}:{method}` with a fresh token.
    async fn post(&self, model: &str, method: &str) -> Result<RequestBuilder> {
        let publisher = if is_anthropic(model) {
            "anthropic"
        } else {
            "google"
        };
        let token = self.tokens.token().await?;
        let builder = self
            .client
            .post(format!(
                "{}/{publisher}/models/{model}:{method}",
                self.publishers_url
            ))
            .bearer_auth(token);
        Ok(self.headers.iter().fold(builder, |b, (name, value)| {
            b.header(name.as_str(), value.as_str())
        }))
    }

    fn exchange<'a>(&'a self, target: &'a Target<'a>, map_error: ErrorMapper) -> Exchange<'a> {
        Exchange {
            provider: &self.name,
            target,
            map_error,
            request_id_header: "x-request-id",
        }
    }

    fn origin(
        &self,
        target: &Target<'_>,
        exchange: &Exchange<'_>,
        response: &reqwest::Response,
    ) -> StreamOrigin {
        StreamOrigin {
            provider: self.name.clone(),
            deployment: target.deployment.to_owned(),
            request_id: exchange.request_id(response.headers()),
        }
    }
}

/// The Messages body Anthropic-on-Vertex takes: the model is in the path, the version in
/// the body.
fn anthropic_body(request: &ChatRequest, model: &str, stream: bool) -> Result<Value> {
    let mut body = anthropic::to_anthropic(request, model, stream)?;
    if let Some(map) = body.as_object_mut() {
        map.remove("model");
        map.insert("anthropic_version".into(), ANTHROPIC_VERSION.into());
    }
    Ok(body)
}

#[async_trait]
impl Provider for VertexProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Vertex
    }

    async fn chat(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        if is_anthropic(target.model) {
            let body = anthropic_body(request, target.model, false)?;
            let exchange = self.exchange(target, anthropic::map_error);
            let http = self.post(target.model, "rawPredict").await?.json(&body);
            let message: AnthropicMessage = exchange.json(http).await?;
            return Ok(anthropic::from_anthropic(message));
        }
        let body = gemini::to_gemini(request)?;
        let exchange = self.exchange(target, gemini::map_error);
        let http = self
            .post(target.model, "generateContent")
            .await?
            .json(&body);
        let response: GeminiResponse = exchange.json(http).await?;
        gemini::from_gemini(response, target.model).map_err(|e| exchange.context(e, None))
    }

    async fn chat_stream(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatStream> {
        if is_anthropic(target.model) {
            let body = anthropic_body(request, target.model, true)?;
            let exchange = self.exchange(target, anthropic::map_error);
            let http = self
                .post(target.model, "streamRawPredict")
                .await?
                .json(&body);
            let response = exchange.stream(http).await?;
            let origin = self.origin(target, &exchange, &response);
            return Ok(chunk_stream(
                response,
                AnthropicDecoder::new(target.model),
                origin,
                target.timeout,
            ));
        }
        let body = gemini::to_gemini(request)?;
        let exchange = self.exchange(target, gemini::map_error);
        let http = self
            .post(target.model, "streamGenerateContent")
            .await?
            .query(&[("alt", "sse")])
            .json(&body);
        let response = exchange.stream(http).await?;
        let origin = self.origin(target, &exchange, &response);
        Ok(chunk_stream(
            response,
            GeminiDecoder::new(target.model),
            origin,
            target.timeout,
        ))
    }

    async fn embed(
        &self,
        request: &EmbeddingRequest,
        target: &Target<'_>,
    ) -> Result<EmbeddingResponse> {
        let body = embed::predict_body(request)?;
        let exchange = self.exchange(target, gemini::map_error);
        let http = self.post(target.model, "predict").await?.json(&body);
        let answer: Value = exchange.json(http).await?;
        embed::response(&answer, target.model).map_err(|e| exchange.context(e, None))
    }
}

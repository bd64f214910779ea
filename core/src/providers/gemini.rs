//! Gemini adapter (being written).

use async_trait::async_trait;
use reqwest::Client;

use super::{ChatStream, Provider, Target};
use crate::config::{ProviderConfig, ProviderKind};
use crate::error::{Error, Result};
use crate::types::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

#[derive(Debug)]
pub struct GeminiProvider {
    name: String,
}

impl GeminiProvider {
    pub fn new(name: &str, _config: &ProviderConfig, _client: Client) -> Self {
        GeminiProvider {
            name: name.to_owned(),
        }
    }
}

#[async_trait]
impl Provider for GeminiProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Gemini
    }

    async fn chat(&self, _request: &ChatRequest, _target: &Target<'_>) -> Result<ChatResponse> {
        Err(Error::network("not built yet"))
    }

    async fn chat_stream(
        &self,
        _request: &ChatRequest,
        _target: &Target<'_>,
    ) -> Result<ChatStream> {
        Err(Error::network("not built yet"))
    }

    async fn embed(
        &self,
        _request: &EmbeddingRequest,
        _target: &Target<'_>,
    ) -> Result<EmbeddingResponse> {
        Err(Error::network("not built yet"))
    }
}

//! What the response cache holds for a call: the answer, and who gave it and at what cost,
//! so a hit can report where its answer came from.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cache::CacheValue;
use crate::stream::{Assembler, replay_chunks};
use crate::types::{ChatChunk, ChatResponse, EmbeddingResponse};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CachedAnswer {
    pub body: CachedBody,
    pub model: String,
    pub deployment: String,
    pub provider: String,
    pub upstream_model: String,
    /// What the original call cost: what a hit saved.
    pub cost_usd: f64,
    /// Answered by an in-process deployment.
    #[serde(default)]
    pub local: bool,
    #[serde(skip)]
    weight: u32,
}

/// A whole response, or the chunks of a completed stream (replayed as they came).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum CachedBody {
    Chat(Arc<ChatResponse>),
    Stream(Arc<Vec<ChatChunk>>),
    Embedding(Arc<EmbeddingResponse>),
}

impl CachedAnswer {
    pub fn new(
        body: CachedBody,
        model: &str,
        deployment: &str,
        provider: &str,
        upstream_model: &str,
        cost_usd: f64,
    ) -> Self {
        let mut answer = CachedAnswer {
            body,
            model: model.to_owned(),
            deployment: deployment.to_owned(),
            provider: provider.to_owned(),
            upstream_model: upstream_model.to_owned(),
            cost_usd,
            local: false,
            weight: 0,
        };
        answer.weight = answer.measure();
        answer
    }

    /// Approximate heap size: the text the answer carries plus a fixed allowance per
    /// choice, chunk and vector, without serialising it.
    fn measure(&self) -> u32 {
        const PER_ITEM: usize = 96;
        let body = match &self.body {
            CachedBody::Chat(response) => response_size(response),
            CachedBody::Stream(chunks) => chunks
                .iter()
                .map(|c| {
                    PER_ITEM
                        + c.id.len()
                        + c.model.len()
                        + c.choices
                            .iter()
                            .map(|choice| {
                                PER_ITEM
                                    + choice.delta.content.as_ref().map_or(0, String::len)
                                    + choice
                                        .delta
                                        .tool_calls
                                        .iter()
                                        .flatten()
                                        .map(tool_delta_size)
                                        .sum::<usize>()
                            })
                            .sum::<usize>()
                })
                .sum(),
            CachedBody::Embedding(response) => {
                response
                    .data
                    .iter()
                    .map(|e| PER_ITEM + e.embedding.len() * 4)
                    .sum::<usize>()
                    + response.model.len()
            }
        };
        let size = body
            + self.model.len()
            + self.deployment.len()
            + self.provider.len()
            + self.upstream_model.len()
            + 2 * PER_ITEM;
        u32::try_from(size).unwrap_or(u32::MAX)
    }

    /// The answer as a whole response, whichever way it was stored.
    pub fn chat_response(&self) -> Option<ChatResponse> {
        match &self.body {
            CachedBody::Chat(response) => Some(response.as_ref().clone()),
            CachedBody::Stream(chunks) => {
                let mut assembler = Assembler::new();
                chunks.iter().for_each(|c| assembler.push(c));
                Some(assembler.finish())
            }
            CachedBody::Embedding(_) => None,
        }
    }

    /// The answer as a whole response, without a copy when nothing else holds it (an
    /// answer that was not stored in the cache).
    pub fn into_chat_response(self) -> Option<ChatResponse> {
        match self.body {
            CachedBody::Chat(response) => Some(Arc::unwrap_or_clone(response)),
            CachedBody::Stream(_) => self.chat_response(),
            CachedBody::Embedding(_) => None,
        }
    }

    /// The answer as stream chunks, whichever way it was stored.
    pub fn chunks(&self) -> Option<Vec<ChatChunk>> {
        match &self.body {
            CachedBody::Chat(response) => Some(replay_chunks(response)),
            CachedBody::Stream(chunks) => Some(chunks.as_ref().clone()),
            CachedBody::Embedding(_) => None,
        }
    }

    pub fn embedding(&self) -> Option<EmbeddingResponse> {
        match &self.body {
            CachedBody::Embedding(response) => Some(response.as_ref().clone()),
            _ => None,
        }
    }
}

impl CacheValue for CachedAnswer {
    fn weight_bytes(&self) -> u32 {
        self.weight
    }

    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut answer: CachedAnswer = serde_json::from_slice(bytes).ok()?;
        answer.weight = answer.measure();
        Some(answer)
    }
}

fn response_size(response: &ChatResponse) -> usize {
    let choices: usize = response
        .choices
        .iter()
        .map(|c| {
            let message = &c.message;
            let calls: usize = message
                .tool_calls
                .iter()
                .flatten()
                .map(|t| 96 + t.id.len() + t.function.name.len() + t.function.arguments.len())
                .sum();
            96 + message.text().len() + calls
        })
        .sum();
    response.id.len() + response.model.len() + choices + 256
}

fn tool_delta_size(delta: &crate::types::ToolCallDelta) -> usize {
    let function = delta.function.as_ref();
    96 + delta.id.as_ref().map_or(0, String::len)
        + function
            .and_then(|f| f.name.as_ref())
            .map_or(0, String::len)
        + function
            .and_then(|f| f.arguments.as_ref())
            .map_or(0, String::len)
}

//! What the response cache holds for a call: the answer, and who gave it and at what cost,
//! so a hit can report where its answer came from.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::runtime::ModelRoute;
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
    /// A chat response as the in-process cache keeps it (see [`CacheValue::stored`]).
    #[serde(skip)]
    PackedChat(Arc<Packed>),
    Stream(Arc<Vec<ChatChunk>>),
    Embedding(Arc<EmbeddingResponse>),
}

/// A chat response packed into its JSON until first read, then also kept as read.
///
/// Most stored answers are never hit; packed, one costs two allocations to store and two
/// frees to evict, where the response itself is a tree of a dozen or more, long cold by
/// the time it is evicted. A hit reads the JSON once and keeps the response, so repeated
/// hits copy it instead of parsing again.
#[derive(Debug)]
pub(crate) struct Packed {
    json: Vec<u8>,
    read: OnceLock<Option<Arc<ChatResponse>>>,
}

impl Packed {
    fn response(&self) -> Option<&ChatResponse> {
        self.read.get_or_init(|| unpack(&self.json)).as_deref()
    }
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

    /// The answer deployment `index` of `route` gave, at `cost_usd`.
    pub fn served(body: CachedBody, route: &ModelRoute, index: usize, cost_usd: f64) -> Self {
        let target = &route.targets[index];
        let mut answer = CachedAnswer::new(
            body,
            &route.alias,
            &target.name,
            target.provider.name(),
            &target.upstream_model,
            cost_usd,
        );
        answer.local = target.is_local();
        answer
    }

    /// Approximate heap size: the text the answer carries plus a fixed allowance per
    /// choice, chunk and vector, without serialising it.
    fn measure(&self) -> u32 {
        const PER_ITEM: usize = 96;
        let body = match &self.body {
            CachedBody::Chat(response) => response_size(response),
            // The JSON, and room for the response once a hit reads it (about twice the
            // JSON in heap), so the byte bound holds either way.
            CachedBody::PackedChat(packed) => packed.json.len() * 3,
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
            CachedBody::PackedChat(packed) => packed.response().cloned(),
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
            CachedBody::PackedChat(_) | CachedBody::Stream(_) => self.chat_response(),
            CachedBody::Embedding(_) => None,
        }
    }

    /// The answer as stream chunks, whichever way it was stored.
    pub fn chunks(&self) -> Option<Vec<ChatChunk>> {
        match &self.body {
            CachedBody::Chat(response) => Some(replay_chunks(response)),
            CachedBody::PackedChat(packed) => packed.response().map(replay_chunks),
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
        match &self.body {
            // The packed form is in-process only; the shared tier gets the response itself.
            CachedBody::PackedChat(_) => {
                let Some(response) = self.chat_response() else {
                    return Vec::new();
                };
                let mut unpacked = self.clone();
                unpacked.body = CachedBody::Chat(Arc::new(response));
                serde_json::to_vec(&unpacked).unwrap_or_default()
            }
            _ => serde_json::to_vec(self).unwrap_or_default(),
        }
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut answer: CachedAnswer = serde_json::from_slice(bytes).ok()?;
        answer.weight = answer.measure();
        Some(answer)
    }

    /// A chat response is stored [`Packed`]: the caller keeps its own response uncopied.
    fn stored(&self) -> Self {
        let CachedBody::Chat(response) = &self.body else {
            return self.clone();
        };
        let Ok(json) = serde_json::to_vec(response.as_ref()) else {
            return self.clone();
        };
        let mut packed = self.clone();
        packed.body = CachedBody::PackedChat(Arc::new(Packed {
            json,
            read: OnceLock::new(),
        }));
        packed.weight = packed.measure();
        packed
    }
}

/// Reads a packed chat response back. It was written by this process from a valid
/// response, so a failure is a bug: logged, and the call fails as `malformed`.
fn unpack(json: &[u8]) -> Option<Arc<ChatResponse>> {
    serde_json::from_slice(json)
        .map(Arc::new)
        .inspect_err(
            |error| tracing::error!(%error, "cache: a packed chat response did not read back"),
        )
        .ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> CachedAnswer {
        let response: ChatResponse = serde_json::from_value(serde_json::json!({
            "id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{ "index": 0, "finish_reason": "stop",
                          "message": { "role": "assistant", "content": "Lisbon." } }],
            "usage": { "prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7,
                       "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 } },
            "system_fingerprint": "fp_1"
        }))
        .unwrap();
        CachedAnswer::new(
            CachedBody::Chat(Arc::new(response)),
            "chat",
            "a",
            "oa",
            "gpt-4o-mini",
            0.5,
        )
    }

    #[test]
    fn a_stored_chat_answer_is_packed_and_reads_back_whole() {
        let original = answer();
        let stored = original.stored();
        assert!(matches!(stored.body, CachedBody::PackedChat(_)));
        let expected = original.chat_response().unwrap();
        assert_eq!(stored.chat_response().unwrap(), expected);
        // Read twice: the second read uses the kept response.
        assert_eq!(stored.clone().into_chat_response().unwrap(), expected);
        assert_eq!(stored.chunks().unwrap(), original.chunks().unwrap());
        assert!(stored.weight_bytes() > 0);
    }

    #[test]
    fn a_packed_answer_goes_to_the_shared_tier_as_the_response_itself() {
        let original = answer();
        let bytes = original.stored().to_bytes();
        assert_eq!(bytes, original.to_bytes());
        let back = CachedAnswer::from_bytes(&bytes).unwrap();
        assert_eq!(back.chat_response(), original.chat_response());
        assert_eq!(back.deployment, "a");
    }
}

//! What the call path keeps of a logged call: owned copies of the request and the answer
//! (or the error), and the section's redaction and size settings. Serializing, redacting
//! and cutting wait for [`Captured::content`], which runs when the usage event is
//! serialized: in the shipper's batcher, off the call path, before the spool or the wire.

use serde_json::{Value, json};

use super::cap;
use crate::config::CallLogConfig;
use crate::redact::redact_json;
use crate::telemetry::CallContent;
use crate::types::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

/// The request as the caller made it.
#[derive(Debug, Clone, PartialEq)]
pub enum Asked {
    Chat(Box<ChatRequest>),
    /// The input texts are logged, as asked.
    Embeddings(Box<EmbeddingRequest>),
}

/// How the call was answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A chat answer; a stream's assembled from its chunks.
    Chat(Box<ChatResponse>),
    /// Embeddings are logged by count and size, never as vectors: they are large, say
    /// nothing a reader can check, and can be recomputed from the logged input.
    Embeddings { vectors: usize, dimensions: usize },
    /// The failed call's error message.
    Error(String),
}

impl Answer {
    pub fn embeddings(response: &EmbeddingResponse) -> Answer {
        Answer::Embeddings {
            vectors: response.data.len(),
            dimensions: response.data.first().map_or(0, |e| e.embedding.len()),
        }
    }
}

/// A logged call's content as the call path leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    pub asked: Asked,
    pub answer: Answer,
    pub redact: bool,
    pub max_bytes: u64,
}

impl Captured {
    pub fn new(config: &CallLogConfig, asked: Asked, answer: Answer) -> Captured {
        Captured {
            asked,
            answer,
            redact: config.redact,
            max_bytes: config.max_bytes,
        }
    }

    /// The content as shipped: serialized, redacted when asked, cut to `max_bytes`. None
    /// when not even an emptied skeleton fits (a `max_bytes` below a few hundred bytes).
    pub fn content(&self) -> Option<CallContent> {
        let request = match &self.asked {
            Asked::Chat(request) => serde_json::to_value(request),
            Asked::Embeddings(request) => serde_json::to_value(request),
        }
        .unwrap_or(Value::Null);
        let (response, error) = match &self.answer {
            Answer::Chat(response) => (Some(chat_answer(response)), None),
            Answer::Embeddings {
                vectors,
                dimensions,
            } => (
                Some(json!({"content": null, "vectors": vectors, "dimensions": dimensions})),
                None,
            ),
            Answer::Error(message) => (None, Some(message.clone())),
        };
        let mut content = CallContent {
            request,
            response,
            error,
            redacted: false,
            truncated: false,
            original_bytes: 0,
        };
        if self.redact {
            redact_json(&mut content.request);
            if let Some(response) = &mut content.response {
                redact_json(response);
            }
            if let Some(error) = &mut content.error {
                *error = crate::redact::redact(error).into_owned();
            }
            content.redacted = true;
        }
        cap::cap(content, self.max_bytes)
    }
}

/// `{"content", "tool_calls", "finish_reason"}` of the first choice.
fn chat_answer(response: &ChatResponse) -> Value {
    let Some(choice) = response.choices.first() else {
        return json!({"content": null, "finish_reason": null});
    };
    let mut answer = json!({
        "content": choice.message.content,
        "finish_reason": choice.finish_reason,
    });
    if let Some(tool_calls) = &choice.message.tool_calls {
        answer["tool_calls"] = serde_json::to_value(tool_calls).unwrap_or(Value::Null);
    }
    answer
}

//! Errors and answers as the data every binding receives: one serde shape, documented in
//! `docs/bindings.md`, mapped by each binding to its own classes in one small function.

use serde::{Serialize, Serializer};

use crate::client::CallMeta;
use crate::error::{Error, ErrorKind, Result};

/// An error as data. `kind` is [`Error::code`] (stable: kinds are added, never renamed);
/// `display` is the one-line text with kind, field and deployment; the rest is `null`
/// where it does not apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorData<'a> {
    pub kind: &'static str,
    pub message: &'a str,
    pub display: String,
    /// The request field (`bad_request`) or config path (`config`) at fault.
    pub field: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub deployment: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// Seconds the provider asked to wait (`rate_limited`).
    pub retry_after: Option<f64>,
    /// The HTTP status the provider sent, where one explains the error.
    pub status: Option<u16>,
    /// The status of the provider's error answer, whenever the error is one (a 403 is
    /// `auth` with `http_status` 403).
    pub http_status: Option<u16>,
    /// Whether the same request may succeed if sent again.
    pub retryable: bool,
    /// The budget a `budget_exceeded` or `budget_unavailable` error names.
    pub budget: Option<&'a str>,
    /// The guardrail a `policy_violation` names.
    pub rule: Option<&'a str>,
}

impl<'a> From<&'a Error> for ErrorData<'a> {
    fn from(error: &'a Error) -> Self {
        ErrorData {
            kind: error.code(),
            message: error.message(),
            display: error.to_string(),
            field: error.field(),
            provider: error.provider(),
            deployment: error.deployment(),
            request_id: error.request_id(),
            retry_after: error.retry_after().map(|d| d.as_secs_f64()),
            status: error.status(),
            http_status: error.http_status(),
            retryable: error.is_retryable(),
            budget: match error.kind() {
                ErrorKind::BudgetExceeded { budget } | ErrorKind::BudgetUnavailable { budget } => {
                    Some(budget)
                }
                _ => None,
            },
            rule: error.rule(),
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        ErrorData::from(self).serialize(serializer)
    }
}

/// An answer as a binding returns it: the OpenAI-shaped response with every key of
/// `shape` (see [`Shape`]), and what the pipeline did under `switchyard`.
pub fn outcome_json<T: Serialize>(
    response: &T,
    meta: &CallMeta,
    shape: &Shape,
) -> Result<serde_json::Value> {
    let mut value = to_json(response)?;
    shape.fill(&mut value);
    if let Some(object) = value.as_object_mut() {
        object.insert("switchyard".into(), to_json(meta)?);
    }
    Ok(value)
}

/// The keys an object of the official OpenAI SDKs always has (their models dump every
/// field, `null` when the answer lacks it), so that code reading a key, or comparing dumps,
/// finds the same keys in every binding. Only answers are filled: requests sent upstream
/// stay as lean as the caller wrote them.
#[derive(Debug)]
pub struct Shape {
    keys: &'static [&'static str],
    /// Objects (or lists of objects) under a key, with their own keys.
    nested: &'static [(&'static str, &'static Shape)],
}

impl Shape {
    /// Adds each missing key as `null`, recursively; present values are left alone.
    pub fn fill(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(object) => {
                for key in self.keys {
                    object.entry(*key).or_insert(serde_json::Value::Null);
                }
                for (key, shape) in self.nested {
                    if let Some(inner) = object.get_mut(*key) {
                        shape.fill(inner);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| self.fill(item)),
            _ => {}
        }
    }
}

const FUNCTION: Shape = Shape {
    keys: &["name", "arguments"],
    nested: &[],
};
const TOOL_CALL: Shape = Shape {
    keys: &["id", "type", "function"],
    nested: &[("function", &FUNCTION)],
};
const DELTA_TOOL_CALL: Shape = Shape {
    keys: &["index", "id", "type", "function"],
    nested: &[("function", &FUNCTION)],
};
const COMPLETION_DETAILS: Shape = Shape {
    keys: &[
        "accepted_prediction_tokens",
        "audio_tokens",
        "reasoning_tokens",
        "rejected_prediction_tokens",
        "text_tokens",
    ],
    nested: &[],
};
const PROMPT_DETAILS: Shape = Shape {
    keys: &[
        "audio_tokens",
        "cache_write_tokens",
        "cached_tokens",
        "image_tokens",
        "text_tokens",
    ],
    nested: &[],
};
const USAGE: Shape = Shape {
    keys: &[
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "completion_tokens_details",
        "prompt_tokens_details",
    ],
    nested: &[
        ("completion_tokens_details", &COMPLETION_DETAILS),
        ("prompt_tokens_details", &PROMPT_DETAILS),
    ],
};
const MESSAGE: Shape = Shape {
    keys: &[
        "role",
        "content",
        "refusal",
        "annotations",
        "audio",
        "function_call",
        "tool_calls",
    ],
    nested: &[("tool_calls", &TOOL_CALL), ("function_call", &FUNCTION)],
};
const CHOICE: Shape = Shape {
    keys: &["index", "message", "finish_reason", "logprobs"],
    nested: &[("message", &MESSAGE)],
};
const DELTA: Shape = Shape {
    keys: &[
        "role",
        "content",
        "refusal",
        "audio",
        "function_call",
        "tool_calls",
    ],
    nested: &[
        ("tool_calls", &DELTA_TOOL_CALL),
        ("function_call", &FUNCTION),
    ],
};
const CHUNK_CHOICE: Shape = Shape {
    keys: &["index", "delta", "finish_reason", "logprobs"],
    nested: &[("delta", &DELTA)],
};

/// `ChatCompletion` (as of the `openai` Python package 3.63).
pub const CHAT_COMPLETION: Shape = Shape {
    keys: &[
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "metadata",
        "moderation",
        "service_tier",
        "system_fingerprint",
    ],
    nested: &[("choices", &CHOICE), ("usage", &USAGE)],
};

/// `ChatCompletionChunk`.
pub const CHAT_COMPLETION_CHUNK: Shape = Shape {
    keys: &[
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "moderation",
        "obfuscation",
        "service_tier",
        "system_fingerprint",
    ],
    nested: &[("choices", &CHUNK_CHOICE), ("usage", &USAGE)],
};

const EMBEDDING: Shape = Shape {
    keys: &["object", "index", "embedding"],
    nested: &[],
};
const EMBEDDING_USAGE: Shape = Shape {
    keys: &["prompt_tokens", "total_tokens"],
    nested: &[],
};

/// `CreateEmbeddingResponse`.
pub const EMBEDDING_RESPONSE: Shape = Shape {
    keys: &["object", "model", "data", "usage"],
    nested: &[("data", &EMBEDDING), ("usage", &EMBEDDING_USAGE)],
};

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::internal(format!("cannot serialize: {e}")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_error_as_data() {
        let error = Error::new(
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_millis(1500)),
            },
            "slow down",
        )
        .with_deployment("oa/gpt");
        let data = serde_json::to_value(&error).unwrap();
        assert_eq!(data["kind"], "rate_limited");
        assert_eq!(data["message"], "slow down");
        assert_eq!(data["retry_after"], 1.5);
        assert_eq!(data["status"], 429);
        assert_eq!(data["retryable"], true);
        assert_eq!(data["deployment"], "oa/gpt");
        assert_eq!(data["field"], serde_json::Value::Null);
        let budget = Error::new(
            ErrorKind::BudgetExceeded {
                budget: "team".into(),
            },
            "spent",
        );
        assert_eq!(serde_json::to_value(&budget).unwrap()["budget"], "team");
    }

    #[test]
    fn an_outcome_carries_the_meta_in_milliseconds() {
        let meta = CallMeta {
            model: "chat".into(),
            latency: Duration::from_micros(2500),
            ..CallMeta::default()
        };
        let value = outcome_json(&serde_json::json!({"id": "x"}), &meta, &CHAT_COMPLETION).unwrap();
        assert_eq!(value["id"], "x");
        assert_eq!(value["switchyard"]["model"], "chat");
        assert_eq!(value["switchyard"]["latency_ms"], 2.5);
    }

    #[test]
    fn an_answer_has_every_key_of_the_openai_models() {
        let mut value = serde_json::json!({
            "id": "x", "system_fingerprint": "fp",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
                "prompt_tokens_details": {"cached_tokens": 1}},
        });
        CHAT_COMPLETION.fill(&mut value);
        assert_eq!(value["system_fingerprint"], "fp");
        assert!(value["service_tier"].is_null());
        let message = &value["choices"][0]["message"];
        for key in ["refusal", "annotations", "audio", "function_call"] {
            assert!(message.get(key).is_some_and(|v| v.is_null()), "{key}");
        }
        assert_eq!(message["tool_calls"][0]["function"]["name"], "f");
        assert!(value["choices"][0].get("logprobs").is_some());
        assert_eq!(value["usage"]["prompt_tokens_details"]["cached_tokens"], 1);
        assert!(
            value["usage"]["prompt_tokens_details"]
                .get("audio_tokens")
                .is_some()
        );
        assert!(value["usage"].get("completion_tokens_details").is_some());

        let mut chunk = serde_json::json!({"choices": [{"index": 0, "delta": {"content": "h"}}]});
        CHAT_COMPLETION_CHUNK.fill(&mut chunk);
        assert!(chunk.get("usage").is_some());
        assert!(chunk["choices"][0]["delta"].get("refusal").is_some());
        assert!(chunk.get("metadata").is_none());
    }
}

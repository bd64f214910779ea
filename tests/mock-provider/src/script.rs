//! The per-session script: what each model answers, call after call.
//!
//! Parsed and validated once when installed, so the request path never re-parses it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Why a script (or an `x-mock-step` header) was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The YAML text did not parse into a script.
    #[error("invalid YAML script: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// The JSON value did not parse into a script.
    #[error("invalid JSON script: {0}")]
    Json(#[from] serde_json::Error),
    /// The script parsed but a value is out of range.
    #[error("invalid script: {0}")]
    Invalid(String),
}

/// A whole session script. Unknown fields are rejected so typos fail loudly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// When set, calls without exactly this key get the provider's 401.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_api_key: Option<String>,
    /// Timing applied to every step that does not set its own.
    #[serde(default)]
    pub defaults: Defaults,
    /// Upstream model name (or `"*"`) to the steps it serves in order.
    #[serde(default)]
    pub models: BTreeMap<String, Vec<Step>>,
    /// How an OpenAI-compatible server departs from OpenAI (the presets' quirks).
    #[serde(default)]
    pub compat: Compat,
}

/// Quirks of OpenAI-compatible servers, for the OpenAI and Azure routes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compat {
    /// Top-level request fields answered with the server's "extra inputs" refusal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refuse_fields: Vec<String>,
    /// Streams carry usage in a last chunk whether or not `stream_options` asked for it.
    #[serde(default)]
    pub usage_always: bool,
    /// Streams carry usage in `choices[0].usage` of the finishing chunk (Moonshot).
    #[serde(default)]
    pub usage_in_choice: bool,
}

/// Script-wide timing defaults, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Delay before the response headers.
    #[serde(default)]
    pub latency_ms: u64,
    /// Random extra delay, uniform in `0..=jitter_ms`, added to `latency_ms`.
    #[serde(default)]
    pub jitter_ms: u64,
    /// Streams: delay before the first content frame.
    #[serde(default)]
    pub ttft_ms: u64,
    /// Streams: delay between content frames.
    #[serde(default)]
    pub inter_token_ms: u64,
}

/// One scripted answer; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// How many calls this step serves before the next one (default 1; the last step repeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// HTTP status (default 200); non-2xx answers with the provider's error body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Provider error code/type/status overriding the per-status default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Error message overriding the per-status default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Raw `Retry-After` value (seconds or HTTP-date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// Send `Retry-After` as an HTTP-date this many seconds from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs_date: Option<u64>,
    /// Send `retry-after-ms` with this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// Extra response headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Delay before headers (overrides the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Random extra delay before headers (overrides the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    /// Streams: delay before the first content frame (overrides the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<u64>,
    /// Streams: delay between content frames (overrides the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inter_token_ms: Option<u64>,
    /// Reply text (default `"Hello from {model}"`, or none when `tool_calls` are set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Explicit stream text deltas; their concatenation is the reply text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Vec<String>>,
    /// Tool calls the assistant makes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Why generation stopped (default `stop`, or `tool_calls` when tool calls are set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Token usage to report (defaults estimated from the request and the chunks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Reply with the received JSON body serialised as the text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub echo: bool,
    /// Transport-level misbehaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// With `fault: cut` or `stall`: content chunks sent before the body stops (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_after: Option<usize>,
    /// Bedrock streams: end with this exception event (e.g. `throttlingException`) after
    /// `cut_after` content events (default 1), instead of `messageStop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_exception: Option<String>,
    /// Embedding vector length (default 8, or the request's own dimension field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<usize>,
}

/// A tool call the mock assistant makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    /// Provider tool-call id (generated when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Function name.
    pub name: String,
    /// Arguments: a JSON value, or a string sent verbatim.
    #[serde(default)]
    pub arguments: serde_json::Value,
}

impl ToolCall {
    /// The arguments as the JSON text OpenAI puts on the wire.
    pub(crate) fn arguments_text(&self) -> String {
        match &self.arguments {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "{}".to_owned(),
            v => v.to_string(),
        }
    }

    /// The arguments as a JSON object, as Anthropic and Gemini carry them.
    pub(crate) fn arguments_value(&self) -> serde_json::Value {
        match &self.arguments {
            serde_json::Value::String(s) => {
                serde_json::from_str(s).unwrap_or_else(|_| serde_json::json!({}))
            }
            serde_json::Value::Null => serde_json::json!({}),
            v => v.clone(),
        }
    }
}

/// Provider-neutral stop reason, mapped to each provider's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end (OpenAI `stop`, Anthropic `end_turn`, Gemini `STOP`).
    Stop,
    /// Token limit (`length`, `max_tokens`, `MAX_TOKENS`).
    Length,
    /// Tool use (`tool_calls`, `tool_use`, `STOP`).
    ToolCalls,
    /// Safety block (`content_filter`, `refusal`, `SAFETY`).
    ContentFilter,
}

/// Token usage reported by the mock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// Input tokens (default: ceil(message characters / 4)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    /// Output tokens (default: number of chunks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u64>,
    /// Cached input tokens (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
}

/// Transport faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Drop the connection with an RST and no HTTP response.
    Reset,
    /// Never answer.
    Hang,
    /// 200 with a body (or one stream frame) that is not valid JSON.
    Malformed,
    /// Close the connection part-way through the body.
    Cut,
    /// Send part of the body (as `cut` does), then nothing more, with the connection left
    /// open: an upstream that stalls mid-answer, which only the client's own timeout ends.
    Stall,
}

impl Script {
    /// Parse and validate a YAML (or JSON, a subset of YAML) script.
    pub fn from_yaml(s: &str) -> Result<Script, ScriptError> {
        let script: Script = if s.trim().is_empty() {
            Script::default()
        } else {
            serde_norway::from_str(s)?
        };
        script.validate()?;
        Ok(script)
    }

    /// Parse and validate a script given as JSON.
    pub fn from_json_value(v: serde_json::Value) -> Result<Script, ScriptError> {
        let script: Script = if v.is_null() {
            Script::default()
        } else {
            serde_json::from_value(v)?
        };
        script.validate()?;
        Ok(script)
    }

    /// Parse an HTTP body: JSON when it looks like JSON, YAML otherwise.
    pub(crate) fn from_body(body: &[u8]) -> Result<Script, ScriptError> {
        let text = std::str::from_utf8(body)
            .map_err(|e| ScriptError::Invalid(format!("script is not UTF-8: {e}")))?;
        if text.trim_start().starts_with('{') {
            Script::from_json_value(serde_json::from_str(text)?)
        } else {
            Script::from_yaml(text)
        }
    }

    /// Reject values that would make the mock misbehave in confusing ways.
    fn validate(&self) -> Result<(), ScriptError> {
        for (model, steps) in &self.models {
            for (i, step) in steps.iter().enumerate() {
                step.validate()
                    .map_err(|e| ScriptError::Invalid(format!("models.{model}[{i}]: {e}")))?;
            }
        }
        Ok(())
    }
}

impl Step {
    /// Parse and validate the `x-mock-step` header value.
    pub(crate) fn from_header(text: &str) -> Result<Step, ScriptError> {
        let step: Step = serde_json::from_str(text)?;
        step.validate().map_err(ScriptError::Invalid)?;
        Ok(step)
    }

    fn validate(&self) -> Result<(), String> {
        if self.times == Some(0) {
            return Err("times must be at least 1".into());
        }
        if let Some(status) = self.status {
            if !(200..=599).contains(&status) {
                return Err(format!("status {status} is not in 200..=599"));
            }
        }
        for (name, value) in &self.headers {
            http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name {name:?}"))?;
            http::HeaderValue::from_str(value)
                .map_err(|_| format!("invalid header value for {name:?}"))?;
        }
        if let Some(v) = &self.retry_after {
            http::HeaderValue::from_str(v).map_err(|_| "invalid retry_after value".to_owned())?;
        }
        if self.dimensions == Some(0) {
            return Err("dimensions must be at least 1".into());
        }
        Ok(())
    }

    /// The status to answer with.
    pub(crate) fn status(&self) -> u16 {
        self.status.unwrap_or(200)
    }
}

/// A script ready for the request path: steps shared behind `Arc`s, wildcard split out.
#[derive(Debug, Default)]
pub(crate) struct CompiledScript {
    pub(crate) source: Script,
    models: HashMap<String, Vec<Arc<Step>>>,
    wildcard: Option<(String, Vec<Arc<Step>>)>,
}

impl CompiledScript {
    pub(crate) fn new(source: Script) -> CompiledScript {
        let mut models = HashMap::new();
        let mut wildcard = None;
        for (name, steps) in &source.models {
            if steps.is_empty() {
                continue;
            }
            let steps: Vec<Arc<Step>> = steps.iter().cloned().map(Arc::new).collect();
            if name == "*" {
                wildcard = Some((name.clone(), steps));
            } else {
                models.insert(name.clone(), steps);
            }
        }
        CompiledScript {
            source,
            models,
            wildcard,
        }
    }

    /// The steps serving `model`, if the script mentions it (or has `"*"`).
    pub(crate) fn steps_for(&self, model: &str) -> Option<&[Arc<Step>]> {
        self.models
            .get(model)
            .or(self.wildcard.as_ref().map(|(_, s)| s))
            .map(Vec::as_slice)
    }

    pub(crate) fn compat(&self) -> &Compat {
        &self.source.compat
    }

    pub(crate) fn require_api_key(&self) -> Option<&str> {
        self.source.require_api_key.as_deref()
    }

    pub(crate) fn defaults(&self) -> Defaults {
        self.source.defaults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let s = Script::from_yaml(
            r#"
require_api_key: sk-test
defaults: { latency_ms: 0, jitter_ms: 0, ttft_ms: 0, inter_token_ms: 0 }
models:
  gpt-4o-mini:
    - times: 2
      status: 429
      retry_after: "1"
    - content: "Hello there"
      usage: { prompt_tokens: 12, completion_tokens: 3, cached_tokens: 0 }
"#,
        )
        .unwrap();
        assert_eq!(s.models["gpt-4o-mini"].len(), 2);
        assert_eq!(s.models["gpt-4o-mini"][0].status, Some(429));
    }

    #[test]
    fn rejects_typos_and_bad_values() {
        assert!(Script::from_yaml("models: { m: [ { statuss: 500 } ] }").is_err());
        assert!(Script::from_yaml("models: { m: [ { times: 0 } ] }").is_err());
        assert!(Script::from_yaml("models: { m: [ { status: 99 } ] }").is_err());
        assert!(Script::from_yaml("models: { m: [ { fault: explode } ] }").is_err());
    }
}

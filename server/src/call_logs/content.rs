//! A logged call's content as the server reads it: the contract's JSON (`docs/call-logs.md`)
//! taken from each event's raw JSON with the server's own struct, never through core's Rust
//! type, so the SDK may change how it builds content without breaking the server.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// What a call asked and was answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoggedContent {
    /// The OpenAI chat request: `messages` and the parameters that were set.
    #[schema(value_type = Object)]
    pub request: Value,
    /// `{"content", "tool_calls"?, "finish_reason"}`; null when the call failed.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub response: Option<Value>,
    /// The error's message, when the call failed.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub redacted: bool,
    #[serde(default)]
    pub truncated: bool,
    #[serde(default)]
    pub original_bytes: u64,
}

impl LoggedContent {
    /// The content of the last message of the request that has text, cut to `chars`: what
    /// a list shows of a call.
    pub fn preview(&self, chars: usize) -> Option<String> {
        let messages = self.request.get("messages")?.as_array()?;
        let text = messages
            .iter()
            .rev()
            .find_map(|m| match m.get("content")? {
                Value::String(s) => Some(s.clone()),
                Value::Array(parts) => Some(
                    parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            })?;
        Some(text.chars().take(chars).collect())
    }
}

/// One event as far as content goes.
#[derive(Deserialize)]
struct EventContent<'a> {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct BatchContent<'a> {
    #[serde(borrow)]
    events: Vec<EventContent<'a>>,
}

/// The raw JSON of each event's `content` in a usage batch's body, by event id (lower
/// case, as usage stores it). A body without the word is not read a second time.
pub fn from_batch(body: &[u8]) -> HashMap<String, String> {
    if memchr::memmem::find(body, b"\"content\"").is_none() {
        return HashMap::new();
    }
    match serde_json::from_slice::<BatchContent>(body) {
        Ok(batch) => batch
            .events
            .into_iter()
            .filter_map(|e| {
                let content = e.content.filter(|c| c.get() != "null")?;
                Some((e.id?.to_ascii_lowercase(), content.get().to_owned()))
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "usage batch: call-log content not readable; none kept");
            HashMap::new()
        }
    }
}

/// The raw JSON of one event's `content` as serialized (the gateway's own calls, whose
/// events are in memory): read from the event's JSON like an SDK's.
pub fn from_event(event: &impl Serialize) -> Option<String> {
    let value = serde_json::to_value(event).ok()?;
    let content = value.get("content").filter(|c| !c.is_null())?;
    serde_json::to_string(content).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_content_by_id_and_ignores_the_rest() {
        let body = br#"{"dropped":0,"events":[
            {"id":"ABC","model":"m","content":{"request":{"messages":[{"role":"user","content":"hi"}]},"response":null,"error":"x","redacted":true,"truncated":false,"original_bytes":10}},
            {"id":"def","model":"m"},
            {"id":"ghi","content":null}]}"#;
        let got = from_batch(body);
        assert_eq!(got.len(), 1);
        let c: LoggedContent = serde_json::from_str(&got["abc"]).unwrap();
        assert_eq!(c.preview(10).as_deref(), Some("hi"));
        assert_eq!(c.error.as_deref(), Some("x"));
        assert!(from_batch(br#"{"events":[{"id":"a"}]}"#).is_empty());
    }
}

//! The usage event every call produces, and the sink it goes to.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::call_log::Captured;

/// How a call ended: `ok`, or the error's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Ok,
    Error { code: String },
}

/// One record per call, for billing, reports and the server's usage ingestion
/// (`POST /sdk/v1/usage`, see [`crate::sdk_protocol`]). The server takes the tenant and the
/// app from the key that sent it, never from these fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// A UUID v7 (time-ordered): the server stores each id once, so a replay never counts
    /// twice.
    pub id: String,
    /// Unix milliseconds at the start of the call.
    pub time_ms: u64,
    pub tenant: Option<String>,
    pub app: Option<String>,
    pub user: Option<String>,
    /// The logical model the caller named.
    pub model: String,
    /// The deployment that answered (for a cache hit: the one that answered originally).
    pub deployment: Option<String>,
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub cost_usd: f64,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub status: CallStatus,
    pub cache_hit: bool,
    pub attempts: u32,
    /// The model a fallback moved the call to, when one did.
    pub fallback: Option<String>,
    /// How many times the call moved to a fallback model.
    #[serde(default)]
    pub fallbacks: u32,
    /// The rollout arm (version label) the call was assigned to: the first deployment with
    /// one it was sent to, also when that attempt failed. None without a rollout.
    #[serde(default)]
    pub arm: Option<String>,
    /// Answered by the in-process model.
    pub local: bool,
    pub stream: bool,
    pub tags: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    /// The server lease the call was admitted under, when its budgets and limits are
    /// leased (`docs/budgets.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
    /// The call's request and answer, when its app logs content (`docs/call-logs.md`):
    /// redacted and cut to size whenever it is serialized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<EventContent>,
    /// The guardrail a `policy_violation` names (`docs/guardrails.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// How many values of each PII kind (`email`, `card`, ...) guardrails masked in the
    /// request; never the values. Kinds by name, so a server reads kinds it does not know.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub masked: BTreeMap<String, u32>,
}

/// An event's content: as the call path captured it, or as shipped (read back from JSON).
/// Either serializes as a [`CallContent`]; a capture is redacted and cut to size on the way,
/// so the raw form never reaches JSON, the spool or the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum EventContent {
    /// Shared: the event is cloned into the shipping queue without copying the content.
    Captured(Arc<Captured>),
    Shipped(CallContent),
}

impl EventContent {
    /// The content as shipped (for a capture: redacted and cut now).
    pub fn shipped(&self) -> Option<Cow<'_, CallContent>> {
        match self {
            EventContent::Captured(captured) => captured.content().map(Cow::Owned),
            EventContent::Shipped(content) => Some(Cow::Borrowed(content)),
        }
    }
}

impl Serialize for EventContent {
    /// `null` for a capture whose skeleton does not fit its `max_bytes`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.shipped().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EventContent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CallContent::deserialize(deserializer).map(EventContent::Shipped)
    }
}

/// What a logged call asked and was answered, as shipped beside its usage event. Whether it
/// came from the cache or the local model is on the event (`cache_hit`, `local`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallContent {
    /// The request as the caller made it, in the OpenAI chat shape (`messages` and the
    /// parameters that were set).
    pub request: serde_json::Value,
    /// The answer (a stream's assembled): `{"content", "tool_calls", "finish_reason"}`;
    /// None when the call failed.
    #[serde(default)]
    pub response: Option<serde_json::Value>,
    /// The error's message, when the call failed.
    #[serde(default)]
    pub error: Option<String>,
    /// The PII redactor ran over it.
    pub redacted: bool,
    /// It was cut to the size limit.
    pub truncated: bool,
    /// Its size before any cut, in bytes of JSON.
    pub original_bytes: u64,
}

/// Receives every usage event. Called on the request path: implementations must not block
/// (buffer and ship in the background; see [`crate::usage::ShippingSink`]).
#[async_trait::async_trait]
pub trait UsageSink: Send + Sync {
    fn record(&self, event: &UsageEvent);
    /// Ship what is buffered, and wait for it to be delivered (within the sink's own time
    /// limit); called by `Client::flush` and `Client::shutdown`.
    async fn flush(&self) {}
}

/// Keeps events in memory: for tests and for reading recent usage in-process.
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Mutex<Vec<UsageEvent>>,
}

impl MemorySink {
    pub fn events(&self) -> Vec<UsageEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl UsageSink for MemorySink {
    fn record(&self, event: &UsageEvent) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event.clone());
        }
    }
}

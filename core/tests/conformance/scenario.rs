//! The scenario file format (see `tests/conformance/README.md`), as serde types. Unknown
//! fields are rejected so that a typo in a scenario fails instead of asserting nothing.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub description: String,
    /// The client config; `{{mock}}` in any string is the mock session's base URL.
    pub config: Value,
    /// The mock provider's script for this scenario's session.
    #[serde(default)]
    pub mock: Value,
    pub steps: Vec<Step>,
    /// Checked after every step has run.
    #[serde(default)]
    pub expect: Option<FinalExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub op: Op,
    #[serde(default)]
    pub request: Value,
    #[serde(default)]
    pub options: CallOptionsSpec,
    /// `reload`: the new config.
    #[serde(default)]
    pub config: Option<Value>,
    /// `sleep`: how long.
    #[serde(default)]
    pub ms: Option<u64>,
    /// Wait this long before running the step (to order the steps of a `parallel`).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// `parallel`: steps run at the same time.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Run this many copies of the call at once.
    #[serde(default = "one")]
    pub concurrent: usize,
    /// Run it this many times, one after the other.
    #[serde(default = "one")]
    pub repeat: usize,
    /// For concurrent or repeated calls: how many ended `ok` and how many with each error kind.
    #[serde(default)]
    pub outcomes: Option<BTreeMap<String, usize>>,
    /// For concurrent or repeated calls: the most the successful calls may cost together.
    #[serde(default)]
    pub total_cost_max_usd: Option<f64>,
    /// For concurrent or repeated calls: per deployment, `[min, max]` successful calls it
    /// answered (inclusive). Deployments not listed are not checked.
    #[serde(default)]
    pub deployment_counts: BTreeMap<String, [usize; 2]>,
    /// For concurrent or repeated calls: every user (see `user_template`) was answered by
    /// one deployment each time.
    #[serde(default)]
    pub sticky_by_user: bool,
    #[serde(default)]
    pub expect: Option<Expect>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Chat,
    Stream,
    Embed,
    Models,
    Reload,
    Sleep,
    Parallel,
    /// The client's flush: its usage events reach the server (the mock) before it returns.
    Flush,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallOptionsSpec {
    pub timeout_ms: Option<u64>,
    pub user: Option<String>,
    /// A distinct user per call: `{i}` is the call's index in the step (0-based, counting
    /// across repeats), `{c}` its index within its concurrent batch (so `{c}` repeats the
    /// same users in every repeat). Overrides `user`.
    pub user_template: Option<String>,
    pub session: Option<String>,
    pub tenant: Option<String>,
    pub app: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// `default | bypass | refresh | enable`
    pub cache: Option<String>,
    pub deployment: Option<String>,
    /// Streams: stop reading after this many chunks (drops the stream).
    pub abandon_after_chunks: Option<usize>,
}

/// What one call must have produced. Every field is optional; each one given is checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub error: Option<ErrorExpect>,
    pub content: Option<String>,
    pub content_contains: Option<String>,
    pub finish_reason: Option<String>,
    pub tool_calls: Option<Vec<ToolCallExpect>>,
    pub deployment: Option<String>,
    pub model: Option<String>,
    pub attempts: Option<u32>,
    pub cache_hit: Option<bool>,
    /// The fallback model taken; `null` would mean "none" but YAML null is "unchecked", so
    /// use `fallback_taken: false` for that.
    pub fallback: Option<String>,
    pub fallback_taken: Option<bool>,
    pub usage: Option<UsageExpect>,
    pub cost_usd: Option<f64>,
    pub chunks_min: Option<usize>,
    pub restarted: Option<bool>,
    pub elapsed_ms_min: Option<u64>,
    pub elapsed_ms_max: Option<u64>,
    pub embeddings: Option<EmbeddingsExpect>,
    pub models: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorExpect {
    pub kind: String,
    pub field: Option<String>,
    pub status: Option<u16>,
    pub retryable: Option<bool>,
    pub deployment: Option<String>,
    pub message_contains: Option<String>,
    /// The guardrail a `policy_violation` names.
    pub rule: Option<String>,
    /// Streams: chunks that reached the caller before the error.
    pub after_chunks_min: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCallExpect {
    pub name: String,
    /// Compared as JSON, so key order and spacing do not matter.
    pub arguments: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageExpect {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub cached_tokens: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsExpect {
    pub count: usize,
    pub dimensions: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalExpect {
    /// Calls the mock received in all.
    pub upstream_calls: Option<u64>,
    /// Calls the mock received per upstream model.
    #[serde(default)]
    pub upstream_calls_by_model: BTreeMap<String, u64>,
    /// Checks on recorded upstream requests (what the adapters sent).
    #[serde(default)]
    pub requests: Vec<RequestExpect>,
    /// Checks on the usage events the client shipped to the mock, in the order received.
    #[serde(default)]
    pub usage_events: Vec<UsageEventExpect>,
    /// Texts no usage batch may hold, in its raw (gzip-decoded) body.
    #[serde(default)]
    pub usage_text_absent: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageEventExpect {
    /// Which shipped event: 0 is the first, -1 the last.
    #[serde(default)]
    pub index: i64,
    pub model: Option<String>,
    /// `ok`, or the error's code.
    pub status: Option<String>,
    pub cache_hit: Option<bool>,
    pub local: Option<bool>,
    /// A JSON value the event's `content` must contain (subset match, as `body`).
    pub content: Option<Value>,
    /// The event carries no `content`.
    #[serde(default)]
    pub content_absent: bool,
    /// The event's `content`, as compact JSON, is at most this many bytes.
    pub content_max_bytes: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestExpect {
    /// Which recorded request: 0 is the first, -1 the last.
    #[serde(default)]
    pub index: i64,
    pub path: Option<String>,
    /// Header values that must be present (names lowercase).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers that must be absent.
    #[serde(default)]
    pub headers_absent: Vec<String>,
    /// A JSON value the body must contain: objects match by subset, arrays and scalars exactly.
    pub body: Option<Value>,
    /// Top-level body fields that must be absent.
    #[serde(default)]
    pub body_absent: Vec<String>,
}

//! The `call_logs` section: whether a call's request and answer are shipped to the server
//! beside its usage event, how much of it, and redacted how (`docs/call-logs.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The default cap on one logged call's content, in bytes of JSON.
pub const DEFAULT_CALL_LOG_MAX_BYTES: u64 = 32 * 1024;

/// Off unless a team opts in: content is the most sensitive thing the platform touches. A
/// client that takes its config from the server gets its app's setting in the served config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallLogConfig {
    /// Which calls are logged (default `off`).
    #[serde(default)]
    pub content: CallLogMode,
    /// The most bytes of content kept per call; longer content is cut and marked truncated.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Run the PII redactor over the content before it leaves the process (default on).
    #[serde(default = "redact_by_default")]
    pub redact: bool,
    /// Per logical model, a mode that replaces `content` for that model's calls.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, CallLogMode>,
}

impl Default for CallLogConfig {
    fn default() -> CallLogConfig {
        CallLogConfig {
            content: CallLogMode::Off,
            max_bytes: DEFAULT_CALL_LOG_MAX_BYTES,
            redact: true,
            models: BTreeMap::new(),
        }
    }
}

/// Which calls have their content logged: `off`, `errors`, `all`, or `{sample: 0.1}` (that
/// share of calls, chosen at random).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallLogMode {
    #[default]
    Off,
    Errors,
    All,
    Sample(f64),
}

fn default_max_bytes() -> u64 {
    DEFAULT_CALL_LOG_MAX_BYTES
}

fn redact_by_default() -> bool {
    true
}

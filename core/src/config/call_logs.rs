//! The `call_logs` section: whether a call's request and answer are shipped to the server
//! beside its usage event, how much of it, and redacted how (`docs/call-logs.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

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
// Serialized by hand: YAML's serde writes a newtype variant as a tag (`!sample 0.1`), and
// the documented form is the map, in YAML as in JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallLogMode {
    #[default]
    Off,
    Errors,
    All,
    Sample(f64),
}

/// The two written forms of a mode: a name, or `{sample: RATE}`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ModeForm {
    Named(ModeName),
    Sample { sample: f64 },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModeName {
    Off,
    Errors,
    All,
}

impl Serialize for CallLogMode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            CallLogMode::Off => ModeForm::Named(ModeName::Off),
            CallLogMode::Errors => ModeForm::Named(ModeName::Errors),
            CallLogMode::All => ModeForm::Named(ModeName::All),
            CallLogMode::Sample(sample) => ModeForm::Sample { sample },
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CallLogMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match ModeForm::deserialize(deserializer)? {
            ModeForm::Named(ModeName::Off) => CallLogMode::Off,
            ModeForm::Named(ModeName::Errors) => CallLogMode::Errors,
            ModeForm::Named(ModeName::All) => CallLogMode::All,
            ModeForm::Sample { sample } => CallLogMode::Sample(sample),
        })
    }
}

impl CallLogConfig {
    pub(crate) fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        let modes = std::iter::once(("call_logs.content".to_owned(), self.content)).chain(
            self.models
                .iter()
                .map(|(model, mode)| (format!("call_logs.models.{model}"), *mode)),
        );
        for (path, mode) in modes {
            if let CallLogMode::Sample(rate) = mode
                && !(0.0..=1.0).contains(&rate)
            {
                issues.push(ConfigIssue::new(path, "sample must be between 0 and 1"));
            }
        }
    }
}

fn default_max_bytes() -> u64 {
    DEFAULT_CALL_LOG_MAX_BYTES
}

fn redact_by_default() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_and_write_as_documented() {
        let yaml = "content: { sample: 0.25 }\nmodels: { gpt-4o: all, small: errors }\n";
        let config: CallLogConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(config.content, CallLogMode::Sample(0.25));
        assert_eq!(config.models["gpt-4o"], CallLogMode::All);
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["content"], serde_json::json!({"sample": 0.25}));
        assert_eq!(json["models"]["small"], "errors");
        let back: CallLogConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, config);
        let again: CallLogConfig =
            serde_norway::from_str(&serde_norway::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn a_rate_outside_zero_to_one_is_refused() {
        let config: CallLogConfig = serde_norway::from_str("content: { sample: 1.5 }").unwrap();
        let mut issues = Vec::new();
        config.validate(&mut issues);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "call_logs.content");
    }
}

//! An app's call-log policy: the config's `call_logs` section (served to the app's SDKs and
//! used by its gateway client) plus how long the server keeps what is logged. Checked here,
//! with typed errors, before it is stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchyard::config::{CallLogConfig, CallLogMode, DEFAULT_CALL_LOG_MAX_BYTES};

/// The most bytes of content per call a policy may allow: the server's cap.
pub const MAX_POLICY_BYTES: u64 = 1024 * 1024;
/// How long logged calls are kept unless the policy says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 7;
/// The longest retention a policy may set.
pub const MAX_RETENTION_DAYS: u32 = 365;
/// The most per-model overrides.
pub const MAX_MODEL_OVERRIDES: usize = 200;
/// What the server accepts over `max_bytes`: the SDK cuts the request and the answer to
/// `max_bytes`, and the envelope around them (flags, sizes, the error) adds a little.
pub const ENVELOPE_ALLOWANCE: u64 = 1024;

/// Why a policy is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("the sample rate must be between 0 and 1, got {0}")]
    Rate(f64),
    #[error("max_bytes must be between 1 and {MAX_POLICY_BYTES}, got {0}")]
    MaxBytes(u64),
    #[error("retention_days must be between 1 and {MAX_RETENTION_DAYS}, got {0}")]
    Retention(u32),
    #[error("a model override needs a model name of 1 to 200 characters")]
    ModelName,
    #[error("at most {MAX_MODEL_OVERRIDES} model overrides")]
    TooManyModels,
}

impl PolicyError {
    /// The body field at fault, for the 422.
    pub fn field(&self) -> &'static str {
        match self {
            PolicyError::Rate(_) => "content",
            PolicyError::MaxBytes(_) => "max_bytes",
            PolicyError::Retention(_) => "retention_days",
            PolicyError::ModelName | PolicyError::TooManyModels => "models",
        }
    }
}

/// The policy as `GET`/`PUT /api/v1/apps/{id}/call-logs` carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallLogPolicy {
    /// `off` | `errors` | `all` | `{"sample": RATE}`.
    #[serde(default)]
    #[schema(schema_with = crate::schema_rules::call_log_mode)]
    pub content: CallLogMode,
    #[serde(default = "default_max_bytes")]
    #[schema(minimum = 1, maximum = 1048576)]
    pub max_bytes: u64,
    #[serde(default = "yes")]
    pub redact: bool,
    /// Per model alias, a mode that replaces `content` for that model's calls.
    #[serde(default)]
    #[schema(schema_with = crate::schema_rules::call_log_modes)]
    pub models: BTreeMap<String, CallLogMode>,
    #[serde(default = "default_retention")]
    #[schema(minimum = 1, maximum = 365)]
    pub retention_days: u32,
}

fn default_max_bytes() -> u64 {
    DEFAULT_CALL_LOG_MAX_BYTES
}

fn yes() -> bool {
    true
}

fn default_retention() -> u32 {
    DEFAULT_RETENTION_DAYS
}

impl Default for CallLogPolicy {
    /// Off: what an app without a stored policy has.
    fn default() -> CallLogPolicy {
        CallLogPolicy {
            content: CallLogMode::Off,
            max_bytes: DEFAULT_CALL_LOG_MAX_BYTES,
            redact: true,
            models: BTreeMap::new(),
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }
}

fn check_mode(mode: CallLogMode) -> Result<(), PolicyError> {
    match mode {
        CallLogMode::Sample(rate) if !(0.0..=1.0).contains(&rate) => Err(PolicyError::Rate(rate)),
        _ => Ok(()),
    }
}

impl CallLogPolicy {
    pub fn check(&self) -> Result<(), PolicyError> {
        check_mode(self.content)?;
        if !(1..=MAX_POLICY_BYTES).contains(&self.max_bytes) {
            return Err(PolicyError::MaxBytes(self.max_bytes));
        }
        if !(1..=MAX_RETENTION_DAYS).contains(&self.retention_days) {
            return Err(PolicyError::Retention(self.retention_days));
        }
        if self.models.len() > MAX_MODEL_OVERRIDES {
            return Err(PolicyError::TooManyModels);
        }
        for (model, mode) in &self.models {
            if model.trim().is_empty() || model.chars().count() > 200 {
                return Err(PolicyError::ModelName);
            }
            check_mode(*mode)?;
        }
        Ok(())
    }

    /// The mode for calls of `model`: its override, else `content`.
    pub fn mode_for(&self, model: &str) -> CallLogMode {
        self.models.get(model).copied().unwrap_or(self.content)
    }

    /// True when some model's calls may be logged.
    pub fn logs_anything(&self) -> bool {
        std::iter::once(&self.content)
            .chain(self.models.values())
            .any(|m| !matches!(m, CallLogMode::Off | CallLogMode::Sample(0.0)))
    }

    /// Whether content for a call of `model` that failed or not may be kept.
    pub fn admits(&self, model: &str, failed: bool) -> bool {
        match self.mode_for(model) {
            CallLogMode::Off => false,
            CallLogMode::Errors => failed,
            CallLogMode::All => true,
            CallLogMode::Sample(rate) => rate > 0.0,
        }
    }

    /// The most bytes of content accepted per call.
    pub fn accepted_bytes(&self) -> u64 {
        self.max_bytes.saturating_add(ENVELOPE_ALLOWANCE)
    }

    /// The config section an app's SDKs and gateway client run with; `None` when nothing
    /// is logged, so an app that never opted in is served the config it always was.
    pub fn section(&self) -> Option<CallLogConfig> {
        self.logs_anything().then(|| CallLogConfig {
            content: self.content,
            max_bytes: self.max_bytes,
            redact: self.redact,
            models: self.models.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_rates_sizes_and_retention() {
        let ok = CallLogPolicy {
            content: CallLogMode::Sample(0.5),
            ..CallLogPolicy::default()
        };
        assert_eq!(ok.check(), Ok(()));
        let bad = |p: CallLogPolicy| p.check().unwrap_err().field();
        assert_eq!(
            bad(CallLogPolicy {
                content: CallLogMode::Sample(1.5),
                ..CallLogPolicy::default()
            }),
            "content"
        );
        assert_eq!(
            bad(CallLogPolicy {
                max_bytes: MAX_POLICY_BYTES + 1,
                ..CallLogPolicy::default()
            }),
            "max_bytes"
        );
        assert_eq!(
            bad(CallLogPolicy {
                retention_days: 0,
                ..CallLogPolicy::default()
            }),
            "retention_days"
        );
        let mut models = BTreeMap::new();
        models.insert("chat".to_owned(), CallLogMode::Sample(-0.1));
        assert_eq!(
            bad(CallLogPolicy {
                models,
                ..CallLogPolicy::default()
            }),
            "content"
        );
    }

    #[test]
    fn per_model_modes_win() {
        let mut models = BTreeMap::new();
        models.insert("gpt-4o".to_owned(), CallLogMode::All);
        let p = CallLogPolicy {
            content: CallLogMode::Errors,
            models,
            ..CallLogPolicy::default()
        };
        assert!(p.admits("gpt-4o", false));
        assert!(!p.admits("chat", false));
        assert!(p.admits("chat", true));
        assert!(p.section().is_some());
        assert!(CallLogPolicy::default().section().is_none());
    }
}

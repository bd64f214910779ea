//! Per-model policies: retries, fallbacks, cache, rollout, health, stream errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConfigIssue, DeploymentConfig, ModelConfig};

/// Exponential backoff with full jitter between attempts; Retry-After wins when longer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry), across this model's deployments.
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// The longest Retry-After we wait for; a longer one moves on to a fallback instead.
    pub max_retry_after_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff_ms: 200,
            max_backoff_ms: 10_000,
            max_retry_after_ms: 30_000,
        }
    }
}

impl RetryPolicy {
    pub(super) fn validate(&self, path: &str, issues: &mut Vec<ConfigIssue>) {
        if self.max_attempts == 0 {
            issues.push(ConfigIssue::new(
                format!("{path}.max_attempts"),
                "must be >= 1",
            ));
        }
        if self.max_backoff_ms < self.initial_backoff_ms {
            issues.push(ConfigIssue::new(
                format!("{path}.max_backoff_ms"),
                "must be >= initial_backoff_ms",
            ));
        }
    }
}

/// Other models to try when this one fails, by error kind; `default` covers the rest.
/// `local` is the in-process model's route when one is configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FallbackPolicy {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limited: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_window_exceeded: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_policy: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeout: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default: Vec<String>,
}

impl FallbackPolicy {
    /// The models to try for an error of this kind, in order.
    pub fn for_kind(&self, code: &str) -> &[String] {
        let specific = match code {
            "rate_limited" => &self.rate_limited,
            "context_window_exceeded" => &self.context_window_exceeded,
            "content_policy" => &self.content_policy,
            "timeout" => &self.timeout,
            _ => &self.default,
        };
        if specific.is_empty() {
            &self.default
        } else {
            specific
        }
    }

    pub(super) fn validate(
        &self,
        path: &str,
        models: &BTreeMap<String, ModelConfig>,
        issues: &mut Vec<ConfigIssue>,
    ) {
        let lists = [
            ("rate_limited", &self.rate_limited),
            ("context_window_exceeded", &self.context_window_exceeded),
            ("content_policy", &self.content_policy),
            ("timeout", &self.timeout),
            ("default", &self.default),
        ];
        for (kind, list) in lists {
            for (i, target) in list.iter().enumerate() {
                if !models.contains_key(target) {
                    issues.push(ConfigIssue::new(
                        format!("{path}.{kind}[{i}]"),
                        format!("unknown model '{target}'"),
                    ));
                }
            }
        }
    }
}

/// Which requests the response cache may answer.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CacheMode {
    /// Only requests that ask for determinism (temperature 0, or a seed), or opt in per call.
    #[default]
    Deterministic,
    /// Every request (callers opt out per call).
    Always,
    /// None.
    Off,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CachePolicy {
    #[serde(default)]
    pub mode: CacheMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
}

impl CachePolicy {
    pub(super) fn validate(&self, path: &str, issues: &mut Vec<ConfigIssue>) {
        if self.ttl_secs == Some(0) {
            issues.push(ConfigIssue::new(format!("{path}.ttl_secs"), "must be > 0"));
        }
    }
}

/// What a rollout is sticky by: one key always gets the same version.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StickyKey {
    #[default]
    User,
    Session,
    Tenant,
}

/// A percentage split between version labels of this model's deployments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    #[serde(default)]
    pub sticky_by: StickyKey,
    /// Version label → percent; the percents add up to 100.
    pub split: BTreeMap<String, f64>,
}

impl Rollout {
    pub(super) fn validate(
        &self,
        path: &str,
        deployments: &[DeploymentConfig],
        issues: &mut Vec<ConfigIssue>,
    ) {
        let total: f64 = self.split.values().sum();
        if (total - 100.0).abs() > 1e-6 {
            issues.push(ConfigIssue::new(
                format!("{path}.split"),
                format!("percents add up to {total}, not 100"),
            ));
        }
        for (version, percent) in &self.split {
            if !(percent.is_finite() && *percent >= 0.0) {
                issues.push(ConfigIssue::new(
                    format!("{path}.split.{version}"),
                    "must be >= 0",
                ));
            }
            if !deployments
                .iter()
                .any(|d| d.version.as_deref() == Some(version.as_str()))
            {
                issues.push(ConfigIssue::new(
                    format!("{path}.split.{version}"),
                    format!("no deployment has version '{version}'"),
                ));
            }
        }
    }
}

/// When a deployment is taken out of rotation, and how it comes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HealthPolicy {
    /// Consecutive failures that open the circuit. 10 by default: at 5, a steady 30% error
    /// rate (which retries hide from callers) opened the circuit again and again and moved
    /// most traffic to the fallback, or failed it where there is none.
    pub consecutive_failures: u32,
    /// Error ratio over the window that opens the circuit (with at least `min_calls`).
    pub error_ratio: f64,
    pub window_secs: u64,
    pub min_calls: u32,
    /// How long an open circuit stays open before one probe call is let through.
    pub open_secs: u64,
    /// Cooldown after a 429 when the provider gave no Retry-After.
    pub cooldown_ms: u64,
    /// Seconds between active health probes while the circuit is open; none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_interval_secs: Option<u64>,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            consecutive_failures: 10,
            error_ratio: 0.5,
            window_secs: 30,
            min_calls: 20,
            open_secs: 30,
            cooldown_ms: 1_000,
            probe_interval_secs: None,
        }
    }
}

impl HealthPolicy {
    pub(super) fn validate(&self, path: &str, issues: &mut Vec<ConfigIssue>) {
        if self.consecutive_failures == 0 {
            issues.push(ConfigIssue::new(
                format!("{path}.consecutive_failures"),
                "must be >= 1",
            ));
        }
        if !(self.error_ratio > 0.0 && self.error_ratio <= 1.0) {
            issues.push(ConfigIssue::new(
                format!("{path}.error_ratio"),
                "must be in (0, 1]",
            ));
        }
        if self.window_secs == 0 {
            issues.push(ConfigIssue::new(
                format!("{path}.window_secs"),
                "must be > 0",
            ));
        }
    }
}

/// What happens when a stream breaks after chunks have reached the caller.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StreamErrorPolicy {
    /// Report the error to the caller.
    #[default]
    Error,
    /// Start again on a fallback, and tell the caller by a restart marker chunk.
    Restart,
    /// Send the partial answer to a fallback as an assistant prefix and stitch the rest on.
    Continue,
}

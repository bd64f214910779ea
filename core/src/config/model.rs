use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::policy::{
    CachePolicy, FallbackPolicy, HealthPolicy, RetryPolicy, Rollout, StreamErrorPolicy,
};
use super::{ConfigIssue, ProviderConfig};

/// What a logical model does.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ModelType {
    #[default]
    Chat,
    Embedding,
    Completion,
}

impl ModelType {
    /// The `gen_ai.operation.name` of OpenTelemetry's GenAI conventions for its calls.
    pub fn operation_name(self) -> &'static str {
        match self {
            ModelType::Chat => "chat",
            ModelType::Embedding => "embeddings",
            ModelType::Completion => "text_completion",
        }
    }
}

/// How a route picks among its healthy deployments.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Random, in proportion to `weight`.
    #[default]
    Weighted,
    /// Lowest moving-average latency, with a little exploration.
    LowestLatency,
    /// Fewest calls in flight.
    LeastInflight,
    /// Cheapest by price per token.
    LowestCost,
    /// In the order listed (or by `priority`): the first healthy one.
    Priority,
}

/// A logical model: the alias callers use, the deployments that can serve it, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    #[serde(rename = "type", default)]
    pub kind: ModelType,
    pub deployments: Vec<DeploymentConfig>,
    #[serde(default)]
    pub strategy: Strategy,
    /// Time limit of one attempt, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Time limit of the whole call, all attempts and fallbacks included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub fallbacks: FallbackPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CachePolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    #[serde(default)]
    pub health: HealthPolicy,
    #[serde(default)]
    pub on_stream_error: StreamErrorPolicy,
}

/// One concrete place a model runs: a provider and its upstream model name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    /// Unique within the model; defaults to `provider/model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub provider: String,
    /// The model name the provider knows (an Azure deployment name for Azure).
    pub model: String,
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// Lower goes first under the `priority` strategy; ties keep the listed order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Version label, for rollouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// What this deployment can take; the client keeps under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Overrides the shipped price table for this deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
}

/// Requests and tokens per minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
}

/// USD per one million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cached prompt tokens; defaults to `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
}

fn default_weight() -> f64 {
    1.0
}

impl DeploymentConfig {
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        DeploymentConfig {
            name: None,
            provider: provider.into(),
            model: model.into(),
            weight: default_weight(),
            priority: None,
            version: None,
            tags: Vec::new(),
            capacity: None,
            price: None,
        }
    }

    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}/{}", self.provider, self.model))
    }
}

impl ModelConfig {
    pub fn new(deployments: Vec<DeploymentConfig>) -> Self {
        ModelConfig {
            kind: ModelType::Chat,
            deployments,
            strategy: Strategy::default(),
            timeout_ms: None,
            deadline_ms: None,
            retry: RetryPolicy::default(),
            fallbacks: FallbackPolicy::default(),
            cache: None,
            rollout: None,
            health: HealthPolicy::default(),
            on_stream_error: StreamErrorPolicy::default(),
        }
    }

    pub(super) fn validate(
        &self,
        path: &str,
        providers: &BTreeMap<String, ProviderConfig>,
        models: &BTreeMap<String, ModelConfig>,
        issues: &mut Vec<ConfigIssue>,
    ) {
        if self.deployments.is_empty() {
            issues.push(ConfigIssue::new(
                format!("{path}.deployments"),
                "must list at least one deployment",
            ));
        }
        for (field, value) in [
            ("timeout_ms", self.timeout_ms),
            ("deadline_ms", self.deadline_ms),
        ] {
            if value == Some(0) {
                issues.push(ConfigIssue::new(format!("{path}.{field}"), "must be > 0"));
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, deployment) in self.deployments.iter().enumerate() {
            let at = format!("{path}.deployments[{i}]");
            if !providers.contains_key(&deployment.provider) {
                issues.push(ConfigIssue::new(
                    format!("{at}.provider"),
                    format!("unknown provider '{}'", deployment.provider),
                ));
            }
            if deployment.model.trim().is_empty() {
                issues.push(ConfigIssue::new(format!("{at}.model"), "must not be empty"));
            }
            if !(deployment.weight.is_finite() && deployment.weight > 0.0) {
                issues.push(ConfigIssue::new(format!("{at}.weight"), "must be > 0"));
            }
            if let Some(price) = &deployment.price {
                let prices = [Some(price.input), Some(price.output), price.cached_input];
                if prices
                    .into_iter()
                    .flatten()
                    .any(|p| !(p.is_finite() && p >= 0.0))
                {
                    issues.push(ConfigIssue::new(
                        format!("{at}.price"),
                        "prices must be >= 0",
                    ));
                }
            }
            if !names.insert(deployment.display_name()) {
                issues.push(ConfigIssue::new(
                    format!("{at}.name"),
                    format!("duplicate deployment name '{}'", deployment.display_name()),
                ));
            }
        }
        self.retry.validate(&format!("{path}.retry"), issues);
        self.health.validate(&format!("{path}.health"), issues);
        self.fallbacks
            .validate(&format!("{path}.fallbacks"), models, issues);
        if let Some(cache) = &self.cache {
            cache.validate(&format!("{path}.cache"), issues);
        }
        if let Some(rollout) = &self.rollout {
            rollout.validate(&format!("{path}.rollout"), &self.deployments, issues);
        }
    }
}

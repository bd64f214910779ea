use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConfigIssue, ProviderConfig};

/// What a logical model does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelType {
    #[default]
    Chat,
    Embedding,
    Completion,
}

/// A logical model: the alias callers use and the deployments that can serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    #[serde(rename = "type", default)]
    pub kind: ModelType,
    pub deployments: Vec<DeploymentConfig>,
    /// Time limit of one attempt, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// One concrete place a model runs: a provider and its upstream model name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Version label, for rollouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

fn default_weight() -> f64 {
    1.0
}

impl DeploymentConfig {
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}/{}", self.provider, self.model))
    }
}

impl ModelConfig {
    pub(super) fn validate(
        &self,
        path: &str,
        providers: &BTreeMap<String, ProviderConfig>,
        issues: &mut Vec<ConfigIssue>,
    ) {
        if self.deployments.is_empty() {
            issues.push(ConfigIssue::new(
                format!("{path}.deployments"),
                "must list at least one deployment",
            ));
        }
        if self.timeout_ms == Some(0) {
            issues.push(ConfigIssue::new(
                format!("{path}.timeout_ms"),
                "must be > 0",
            ));
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
            if !names.insert(deployment.display_name()) {
                issues.push(ConfigIssue::new(
                    format!("{at}.name"),
                    format!("duplicate deployment name '{}'", deployment.display_name()),
                ));
            }
        }
    }
}

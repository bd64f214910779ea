//! The client configuration: a versioned YAML/JSON document. The server stores and serves
//! exactly this schema, so it lives here, with its validator.

mod error;
mod model;
mod provider;
mod secret;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use error::{ConfigError, ConfigIssue};
pub use model::{DeploymentConfig, ModelConfig, ModelType};
pub use provider::{ProviderConfig, ProviderKind};
pub use secret::Secret;

/// The only schema version this build reads.
pub const CONFIG_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: u32,
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Logical models by the alias callers use.
    #[serde(default)]
    pub models: BTreeMap<String, ModelConfig>,
}

impl Config {
    /// Parses YAML (JSON is YAML too) and validates it.
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        let deserializer = serde_norway::Deserializer::from_str(text);
        let config: Config =
            serde_path_to_error::deserialize(deserializer).map_err(ConfigError::from_parse)?;
        config.validated()
    }

    pub fn from_json_value(value: serde_json::Value) -> Result<Config, ConfigError> {
        let config: Config =
            serde_path_to_error::deserialize(value).map_err(ConfigError::from_parse)?;
        config.validated()
    }

    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::single("", format!("cannot read {}: {e}", path.display())))?;
        Self::from_yaml(&text)
    }

    fn validated(self) -> Result<Config, ConfigError> {
        let issues = self.validate();
        if issues.is_empty() {
            Ok(self)
        } else {
            Err(ConfigError::new(issues))
        }
    }

    /// Every problem in the document, each naming its path.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if self.version != CONFIG_VERSION {
            issues.push(ConfigIssue::new(
                "version",
                format!(
                    "unsupported version {} (this build reads {CONFIG_VERSION})",
                    self.version
                ),
            ));
        }
        for (name, provider) in &self.providers {
            if provider.kind == ProviderKind::Azure && provider.base_url.is_none() {
                issues.push(ConfigIssue::new(
                    format!("providers.{name}.base_url"),
                    "required for azure (https://RESOURCE.openai.azure.com)",
                ));
            }
        }
        for (alias, model) in &self.models {
            model.validate(&format!("models.{alias}"), &self.providers, &mut issues);
        }
        issues
    }
}

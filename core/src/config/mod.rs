//! The client configuration: a versioned YAML/JSON document. The server stores and serves
//! exactly this schema, so it lives here, with its validator.

mod call_logs;
mod env;
mod error;
mod guardrails;
mod limits;
mod litellm;
mod model;
mod policy;
mod preset;
mod provider;
mod redis;
mod schema;
mod secret;
mod usage;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use call_logs::{CallLogConfig, CallLogMode, DEFAULT_CALL_LOG_MAX_BYTES};
pub use error::{ConfigError, ConfigIssue};
pub use guardrails::{DenyRule, GuardrailRules, GuardrailsConfig, PiiMasking, TopicRule};
pub use limits::{
    BudgetAction, BudgetConfig, BudgetMode, LimitAction, Period, RateLimitConfig, ScopeKind,
};
pub use litellm::{ImportKind, ImportNote, LiteLlmImport, import_litellm};
pub use model::{Capacity, DeploymentConfig, ModelConfig, ModelType, Price, Strategy};
pub use policy::{
    CacheMode, CachePolicy, FallbackPolicy, HealthPolicy, RetryPolicy, Rollout, StickyKey,
    StreamErrorPolicy,
};
pub use preset::Preset;
pub use provider::{ProviderConfig, ProviderKind, Wire};
pub(crate) use redis::url_problem as redis_url_problem;
pub use redis::{RedisConfig, SharedCacheConfig};
pub use schema::{SCHEMA_ID, json_schema};
pub use secret::Secret;
pub use usage::{DEFAULT_SPOOL_MAX_BYTES, UsageConfig};

/// The only schema version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// The whole document. Unknown fields are rejected, so a typo is an error, not a no-op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The schema version; this build reads only 1.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// Upstream accounts by the name deployments refer to them with.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Logical models by the alias callers use.
    #[serde(default)]
    pub models: BTreeMap<String, ModelConfig>,
    /// Who this client calls as: the tenant and app its budgets, limits and usage count against.
    #[serde(default)]
    pub identity: Identity,
    /// The in-process response cache shared by every model.
    #[serde(default)]
    pub cache: CacheSettings,
    /// USD spend limits per scope and period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetConfig>,
    /// Request and token rate limits per scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RateLimitConfig>,
    /// Where usage events are shipped; read when the client is built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageConfig>,
    /// Whether calls' requests and answers are logged to the server (`docs/call-logs.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_logs: Option<CallLogConfig>,
    /// The Redis server this service's processes share (`docs/redis.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisConfig>,
    /// Deny patterns, topic rules, PII masking and the model allow-list applied before a
    /// call leaves (`docs/guardrails.md`).
    #[serde(default, skip_serializing_if = "GuardrailsConfig::is_empty_section")]
    pub guardrails: GuardrailsConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The tenant that tenant-scoped budgets and limits count against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The application name app-scoped budgets and limits count against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

/// The in-process response cache, shared by every model that enables caching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Upper bound on the bytes the cached answers take.
    pub max_bytes: u64,
    /// How long an answer stays cached when its model's policy sets no `ttl_secs`.
    pub default_ttl_secs: u64,
    /// Applies to models without a `cache` policy of their own.
    pub mode: CacheMode,
    /// A second tier in Redis that every process of the service reads (`docs/redis.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<SharedCacheConfig>,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            max_bytes: 64 * 1024 * 1024,
            default_ttl_secs: 300,
            mode: CacheMode::Deterministic,
            shared: None,
        }
    }
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
            provider.validate(&format!("providers.{name}"), &mut issues);
        }
        for (alias, model) in &self.models {
            model.validate(
                &format!("models.{alias}"),
                &self.providers,
                &self.models,
                &mut issues,
            );
        }
        if self.cache.max_bytes == 0 {
            issues.push(ConfigIssue::new("cache.max_bytes", "must be > 0"));
        }
        let mut budget_names = std::collections::HashSet::new();
        for (i, budget) in self.budgets.iter().enumerate() {
            budget.validate(&format!("budgets[{i}]"), &self.models, &mut issues);
            if !budget_names.insert(&budget.name) {
                issues.push(ConfigIssue::new(
                    format!("budgets[{i}].name"),
                    "duplicate budget name",
                ));
            }
        }
        let mut shared_limit_names = std::collections::HashSet::new();
        for (i, limit) in self.rate_limits.iter().enumerate() {
            limit.validate(&format!("rate_limits[{i}]"), &mut issues);
            if limit.shared && self.redis.is_none() {
                issues.push(ConfigIssue::new(
                    format!("rate_limits[{i}].shared"),
                    "needs a `redis` section to share the limit through",
                ));
            }
            // A shared limit's Redis keys are named after it.
            if limit.shared && !shared_limit_names.insert(&limit.name) {
                issues.push(ConfigIssue::new(
                    format!("rate_limits[{i}].name"),
                    "duplicate name among shared rate limits",
                ));
            }
        }
        if let Some(redis) = &self.redis {
            redis.validate(&mut issues);
        }
        if let Some(shared) = &self.cache.shared {
            shared.validate(self.redis.is_some(), &mut issues);
        }
        if let Some(usage) = &self.usage {
            usage.validate(&mut issues);
        }
        if let Some(call_logs) = &self.call_logs {
            call_logs.validate(&mut issues);
        }
        self.guardrails.validate(&mut issues);
        issues
    }
}

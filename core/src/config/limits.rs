//! Spend and throughput limits: budgets (USD per period) and rate limits (RPM/TPM).

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

/// Who a budget or limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Tenant,
    App,
    User,
    Model,
    Tag,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Minute,
    Hour,
    #[default]
    Day,
    Week,
    Month,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BudgetMode {
    /// Refuse (or reroute) calls that would overspend.
    #[default]
    Hard,
    /// Let calls through, and emit a warning event once the limit is passed.
    Soft,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BudgetAction {
    #[default]
    Reject,
    /// Send the call to `reroute_to` (a cheaper or local model) instead.
    Reroute,
}

/// USD a scope may spend per period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    pub name: String,
    pub scope: ScopeKind,
    /// One value of the scope (a user id, a tag); absent = every value gets its own budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default)]
    pub period: Period,
    /// Periods start at calendar boundaries (UTC midnight, Monday, the 1st) rather than
    /// when the first call is made.
    #[serde(default = "default_true")]
    pub calendar_aligned: bool,
    pub limit_usd: f64,
    #[serde(default)]
    pub mode: BudgetMode,
    #[serde(default)]
    pub action: BudgetAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reroute_to: Option<String>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LimitAction {
    /// Wait for capacity, up to `max_wait_ms` and the call's deadline.
    #[default]
    Wait,
    Reject,
}

/// Requests and tokens per minute for a scope (GCRA: smooth, no bursts past `burst`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub name: String,
    pub scope: ScopeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Calls allowed at once above the steady rate; defaults to a tenth of a minute's worth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    #[serde(default)]
    pub action: LimitAction,
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
    /// Counted in Redis across every process of the service (needs the `redis` section),
    /// rather than per process; in process again while Redis is unreachable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
}

fn default_true() -> bool {
    true
}

fn default_max_wait_ms() -> u64 {
    5_000
}

impl BudgetConfig {
    pub(super) fn validate(
        &self,
        path: &str,
        models: &std::collections::BTreeMap<String, super::ModelConfig>,
        issues: &mut Vec<ConfigIssue>,
    ) {
        if !(self.limit_usd.is_finite() && self.limit_usd >= 0.0) {
            issues.push(ConfigIssue::new(
                format!("{path}.limit_usd"),
                "must be >= 0",
            ));
        }
        match (&self.action, &self.reroute_to) {
            (BudgetAction::Reroute, None) => issues.push(ConfigIssue::new(
                format!("{path}.reroute_to"),
                "required when action is reroute",
            )),
            (_, Some(target)) if !models.contains_key(target) => issues.push(ConfigIssue::new(
                format!("{path}.reroute_to"),
                format!("unknown model '{target}'"),
            )),
            _ => {}
        }
    }
}

impl RateLimitConfig {
    pub(super) fn validate(&self, path: &str, issues: &mut Vec<ConfigIssue>) {
        if self.rpm.is_none() && self.tpm.is_none() {
            issues.push(ConfigIssue::new(path.to_owned(), "set rpm, tpm or both"));
        }
        if self.rpm == Some(0) {
            issues.push(ConfigIssue::new(format!("{path}.rpm"), "must be > 0"));
        }
        if self.tpm == Some(0) {
            issues.push(ConfigIssue::new(format!("{path}.tpm"), "must be > 0"));
        }
    }
}

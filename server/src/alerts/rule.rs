//! The kinds of alert rule, their parameters, who may manage them, and what each
//! observes: a list of subjects with a value and whether the condition holds.

use serde::{Deserialize, Serialize};

use super::actions::Action;
use crate::store::{AlertRule, DeploymentWindow, Result, StoreError, TenantStore};
use crate::usage::histogram::quantile;
use crate::util::{new_id, now_ms};

/// A rule's kind with its parameters, as `{"kind": "...", "params": {...}}` in the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    content = "params",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum RuleKind {
    /// A budget's spend this period at or above `percent` of its amount.
    BudgetPercent { percent: f64 },
    /// Spend over the last `window_minutes` above `factor` times the mean of the same
    /// window over the trailing `baseline_hours`.
    SpendAnomaly {
        window_minutes: i64,
        baseline_hours: i64,
        factor: f64,
    },
    /// A deployment's error rate over the window at or above `threshold` (0..=1).
    ErrorRate {
        window_minutes: i64,
        threshold: f64,
        #[serde(default = "one")]
        min_calls: i64,
    },
    /// A deployment's p95 latency over the window at or above `threshold_ms`.
    P95Latency {
        window_minutes: i64,
        threshold_ms: f64,
        #[serde(default = "one")]
        min_calls: i64,
    },
    /// A deployment failing: at least `min_errors` errors and no success over the window,
    /// which is what opens an SDK's circuit (the server sees outcomes, not circuits).
    DeploymentFailing {
        window_minutes: i64,
        min_errors: i64,
    },
    /// A rollout rolled back (a `rollout.rolled_back` server event) in the last `window_ms`.
    RolloutRolledBack { window_ms: i64 },
    /// At least `count` failed authentications in the last `window_ms`.
    AuthFailures { window_ms: i64, count: i64 },
    /// At least `count` calls refused by a guardrail (`policy.violation` security events)
    /// in the last `window_ms`.
    PolicyViolations { window_ms: i64, count: i64 },
}

fn one() -> i64 {
    1
}

/// Which roles' alerts a kind is (the split of the six roles): each has its own
/// write permission and routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Health,
    Cost,
    Security,
}

/// A condition's reading for one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// A deployment, budget or rollout id; empty for the tenant as a whole.
    pub subject: String,
    pub value: f64,
    pub holds: bool,
}

const MAX_WINDOW_MINUTES: i64 = 7 * 24 * 60;

impl RuleKind {
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::BudgetPercent { .. } => "budget_percent",
            RuleKind::SpendAnomaly { .. } => "spend_anomaly",
            RuleKind::ErrorRate { .. } => "error_rate",
            RuleKind::P95Latency { .. } => "p95_latency",
            RuleKind::DeploymentFailing { .. } => "deployment_failing",
            RuleKind::RolloutRolledBack { .. } => "rollout_rolled_back",
            RuleKind::AuthFailures { .. } => "auth_failures",
            RuleKind::PolicyViolations { .. } => "policy_violations",
        }
    }

    pub fn category(&self) -> Category {
        match self {
            RuleKind::BudgetPercent { .. } | RuleKind::SpendAnomaly { .. } => Category::Cost,
            RuleKind::AuthFailures { .. } | RuleKind::PolicyViolations { .. } => Category::Security,
            _ => Category::Health,
        }
    }

    /// The parameters in range, or the field that is not.
    pub fn check(&self) -> Result<()> {
        let minutes = |field: &str, m: i64| {
            if (1..=MAX_WINDOW_MINUTES).contains(&m) {
                Ok(())
            } else {
                Err(StoreError::invalid(
                    field,
                    format!("must be between 1 and {MAX_WINDOW_MINUTES}"),
                ))
            }
        };
        let millis = |field: &str, ms: i64| {
            if (1_000..=MAX_WINDOW_MINUTES * 60_000).contains(&ms) {
                Ok(())
            } else {
                Err(StoreError::invalid(
                    field,
                    format!("must be between 1000 and {}", MAX_WINDOW_MINUTES * 60_000),
                ))
            }
        };
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(StoreError::invalid(field, "must be a positive number"))
            }
        };
        match *self {
            RuleKind::BudgetPercent { percent } => positive("percent", percent),
            RuleKind::SpendAnomaly {
                window_minutes,
                baseline_hours,
                factor,
            } => {
                minutes("window_minutes", window_minutes)?;
                minutes("baseline_hours", baseline_hours * 60)?;
                positive("factor", factor)
            }
            RuleKind::ErrorRate {
                window_minutes,
                threshold,
                ..
            } => {
                minutes("window_minutes", window_minutes)?;
                if (0.0..=1.0).contains(&threshold) && threshold > 0.0 {
                    Ok(())
                } else {
                    Err(StoreError::invalid("threshold", "must be in (0, 1]"))
                }
            }
            RuleKind::P95Latency {
                window_minutes,
                threshold_ms,
                ..
            } => {
                minutes("window_minutes", window_minutes)?;
                positive("threshold_ms", threshold_ms)
            }
            RuleKind::DeploymentFailing {
                window_minutes,
                min_errors,
            } => {
                minutes("window_minutes", window_minutes)?;
                positive("min_errors", min_errors as f64)
            }
            RuleKind::RolloutRolledBack { window_ms } => millis("window_ms", window_ms),
            RuleKind::AuthFailures { window_ms, count }
            | RuleKind::PolicyViolations { window_ms, count } => {
                millis("window_ms", window_ms)?;
                positive("count", count as f64)
            }
        }
    }

    /// Reads the condition for every subject it concerns at `now_ms`. Subjects absent
    /// from the answer do not hold.
    pub async fn observe(
        &self,
        tenant: &TenantStore<'_>,
        now_ms: i64,
        grace_ms: i64,
    ) -> Result<Vec<Observation>> {
        let window_start = |minutes: i64| {
            let minute = now_ms - now_ms.rem_euclid(60_000);
            minute - (minutes - 1) * 60_000
        };
        match *self {
            RuleKind::BudgetPercent { percent } => {
                let mut out = Vec::new();
                for b in tenant.list_budgets(crate::store::Page::default()).await? {
                    let b = tenant.get_budget(&b.id, grace_ms).await?;
                    let spent = b.state.as_ref().map_or(0.0, |s| s.spent_usd);
                    let value = if b.amount_usd > 0.0 {
                        100.0 * spent / b.amount_usd
                    } else {
                        0.0
                    };
                    out.push(Observation {
                        subject: b.id,
                        value,
                        holds: value >= percent,
                    });
                }
                Ok(out)
            }
            RuleKind::SpendAnomaly {
                window_minutes,
                baseline_hours,
                factor,
            } => {
                let from = window_start(window_minutes);
                let now_spend = tenant.spend_between(from, now_ms + 60_000).await?;
                let baseline_from = from - baseline_hours * 3_600_000;
                let baseline = tenant.spend_between(baseline_from, from).await?;
                let windows = (baseline_hours * 60) as f64 / window_minutes as f64;
                let mean = baseline as f64 / windows;
                let value = now_spend as f64 / 1e6;
                Ok(vec![Observation {
                    subject: String::new(),
                    value,
                    holds: now_spend > 0 && now_spend as f64 > factor * mean,
                }])
            }
            RuleKind::ErrorRate {
                window_minutes,
                threshold,
                min_calls,
            } => {
                per_deployment(tenant, window_start(window_minutes), |w| {
                    let rate = if w.calls > 0 {
                        w.errors as f64 / w.calls as f64
                    } else {
                        0.0
                    };
                    Some((rate, w.calls >= min_calls && rate >= threshold))
                })
                .await
            }
            RuleKind::P95Latency {
                window_minutes,
                threshold_ms,
                min_calls,
            } => {
                per_deployment(tenant, window_start(window_minutes), |w| {
                    let p95 = quantile(&w.latency, 0.95)?;
                    Some((p95, w.calls >= min_calls && p95 >= threshold_ms))
                })
                .await
            }
            RuleKind::DeploymentFailing {
                window_minutes,
                min_errors,
            } => {
                per_deployment(tenant, window_start(window_minutes), |w| {
                    Some((
                        w.errors as f64,
                        w.errors >= min_errors && w.errors == w.calls,
                    ))
                })
                .await
            }
            RuleKind::RolloutRolledBack { window_ms } => Ok(tenant
                .server_events_since("rollout.rolled_back", now_ms - window_ms)
                .await?
                .into_iter()
                .map(|(subject, _)| Observation {
                    subject,
                    value: 1.0,
                    holds: true,
                })
                .collect()),
            RuleKind::AuthFailures { window_ms, count }
            | RuleKind::PolicyViolations { window_ms, count } => {
                let since = now_ms - window_ms;
                let n = if matches!(self, RuleKind::AuthFailures { .. }) {
                    tenant.auth_failures_since(since).await?
                } else {
                    tenant.policy_violations_since(since).await?
                };
                Ok(vec![Observation {
                    subject: String::new(),
                    value: n as f64,
                    holds: n >= count,
                }])
            }
        }
    }
}

/// One observation per deployment with calls in the window, as `f` reads its sums.
async fn per_deployment(
    tenant: &TenantStore<'_>,
    from_minute_ms: i64,
    f: impl Fn(&DeploymentWindow) -> Option<(f64, bool)>,
) -> Result<Vec<Observation>> {
    Ok(tenant
        .deployment_windows(from_minute_ms)
        .await?
        .iter()
        .filter_map(|w| {
            f(w).map(|(value, holds)| Observation {
                subject: w.deployment.clone(),
                value,
                holds,
            })
        })
        .collect())
}

/// The longest `for_ms` / `renotify_ms` accepted: a day.
const MAX_DELAY_MS: i64 = 86_400_000;

/// A new rule from its parts as the API takes them: the kind, its parameters and the
/// action checked,
/// `for_ms` defaulting to 0 and `renotify_ms` to an hour.
pub fn new_rule(
    name: &str,
    kind: &str,
    params: serde_json::Value,
    channel_ids: Vec<String>,
    action: Option<serde_json::Value>,
    for_ms: Option<i64>,
    renotify_ms: Option<i64>,
) -> Result<AlertRule> {
    let parsed: RuleKind =
        serde_json::from_value(serde_json::json!({"kind": kind, "params": params}))
            .map_err(|e| StoreError::invalid("params", e.to_string()))?;
    parsed.check()?;
    if let Some(action) = &action {
        let action: Action = serde_json::from_value(action.clone())
            .map_err(|e| StoreError::invalid("action", e.to_string()))?;
        action.check(&parsed)?;
    }
    let delay = |field: &str, v: Option<i64>, default: i64| {
        let v = v.unwrap_or(default);
        if (0..=MAX_DELAY_MS).contains(&v) {
            Ok(v)
        } else {
            Err(StoreError::invalid(
                field,
                format!("must be between 0 and {MAX_DELAY_MS}"),
            ))
        }
    };
    Ok(AlertRule {
        id: new_id("alr"),
        name: name.to_owned(),
        kind: parsed.name().to_owned(),
        params,
        channel_ids,
        action,
        for_ms: delay("for_ms", for_ms, 0)?,
        renotify_ms: delay("renotify_ms", renotify_ms, 3_600_000)?,
        created_at: now_ms(),
    })
}

/// A stored rule's kind and parameters, read back.
pub fn kind_of(rule: &AlertRule) -> Result<RuleKind> {
    serde_json::from_value(serde_json::json!({"kind": rule.kind, "params": rule.params}))
        .map_err(|e| StoreError::Internal(format!("rule {}: {e}", rule.id)))
}

//! Cost advice computed from the stored usage and the active config, each item with a
//! dollar figure and the basis it rests on. Nothing is invented: where the data cannot
//! say (events carry no request hash), the item says it is an estimate and how it was
//! made.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use switchyard::config::{BudgetConfig, Config, DeploymentConfig};
use switchyard::pricing::{cost_usd, price_for};
use switchyard::types::Usage;

use crate::store::UsageSums;

/// One piece of advice.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AdviceItem {
    /// `cache`, `cheaper_deployment`, `unused_deployment`, `local_share`, `budget_pace`.
    pub kind: String,
    /// What it is about: an app and model, a deployment, a model, a budget.
    pub subject: String,
    pub message: String,
    /// Dollars: what could be saved (cache, cheaper deployment), what the local model saved
    /// (local share), the projected overspend (budget pace), or 0 (unused deployment).
    pub usd: f64,
    /// True when the figure rests on an assumption named in `basis`.
    pub estimate: bool,
    pub basis: String,
}

/// A deployment's usage in the period.
#[derive(Debug, Clone)]
pub struct DeploymentUsage {
    pub model: String,
    pub deployment: String,
    pub sums: UsageSums,
}

/// Calls that look like repeats, per app and model (see
/// [`crate::store::TenantStore::repeated_requests`]).
#[derive(Debug, Clone)]
pub struct Repeats {
    pub app: String,
    pub model: String,
    /// Calls in groups of alike calls.
    pub calls: i64,
    pub cost_micros: i64,
    /// How many groups: in a group of n alike calls, n - 1 could have been cache hits.
    pub groups: i64,
}

fn rate(n: i64, of: i64) -> f64 {
    if of > 0 { n as f64 / of as f64 } else { 0.0 }
}

fn usd(micros: i64) -> f64 {
    micros as f64 / 1e6
}

/// What `sums`' tokens would have cost at `deployment`'s price, in micro-dollars.
fn cost_at(config: &Config, deployment: &DeploymentConfig, sums: &UsageSums) -> Option<i64> {
    let kind = config.providers.get(&deployment.provider)?.kind;
    let price = price_for(deployment, kind)?;
    let usage = Usage::new(
        u64::try_from(sums.prompt_tokens).ok()?,
        u64::try_from(sums.completion_tokens).ok()?,
    )
    .with_cached_tokens(u64::try_from(sums.cached_tokens).ok()?);
    Some((cost_usd(&price, &usage) * 1e6).round() as i64)
}

/// Every deployment of the config: (model, deployment).
fn deployments(config: &Config) -> impl Iterator<Item = (&String, &DeploymentConfig)> {
    config
        .models
        .iter()
        .flat_map(|(m, model)| model.deployments.iter().map(move |d| (m, d)))
}

/// Repeated requests a response cache would have answered.
pub fn cache_items(repeats: &[Repeats], app_names: &HashMap<String, String>) -> Vec<AdviceItem> {
    repeats
        .iter()
        .filter(|r| r.calls > r.groups && r.calls > 0)
        .map(|r| {
            let avoidable = r.calls - r.groups;
            let saved = (r.cost_micros as f64 * avoidable as f64 / r.calls as f64).round() as i64;
            let name = app_names.get(&r.app).unwrap_or(&r.app);
            AdviceItem {
                kind: "cache".into(),
                subject: format!("{name} / {}", r.model),
                message: format!(
                    "{avoidable} of {} calls repeated an earlier call of the same minute; a \
                     response cache would have answered them",
                    r.calls
                ),
                usd: usd(saved),
                estimate: true,
                basis: "usage events carry no request hash: calls of one app, model and user \
                        with the same prompt token count in the same minute, not served from \
                        the cache, are counted as repeats (raw events, within retention)"
                    .into(),
            }
        })
        .collect()
}

/// Deployments a cheaper one of the config could have taken: another deployment used in
/// the period at an error rate no higher, whose price applied to the same tokens costs
/// less. A deployment that took no calls has no observed error rate and is not proposed.
pub fn cheaper_items(config: &Config, used: &[DeploymentUsage]) -> Vec<AdviceItem> {
    let mut items = Vec::new();
    for u in used.iter().filter(|u| u.sums.cost_micros > 0) {
        let error_rate = rate(u.sums.errors, u.sums.calls);
        let mut best: Option<(i64, String)> = None;
        for (model, d) in deployments(config) {
            let name = d.display_name();
            if name == u.deployment {
                continue;
            }
            let Some(theirs) = used
                .iter()
                .find(|o| o.deployment == name && &o.model == model && o.sums.calls > 0)
            else {
                continue;
            };
            if rate(theirs.sums.errors, theirs.sums.calls) > error_rate {
                continue;
            }
            let Some(cost) = cost_at(config, d, &u.sums) else {
                continue;
            };
            if cost < u.sums.cost_micros && best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, name));
            }
        }
        if let Some((cost, name)) = best {
            items.push(AdviceItem {
                kind: "cheaper_deployment".into(),
                subject: format!("{} / {}", u.model, u.deployment),
                message: format!(
                    "{name} had an error rate no higher ({:.2}% here) and would have cost \
                     ${:.2} instead of ${:.2} for the same tokens",
                    error_rate * 100.0,
                    usd(cost),
                    usd(u.sums.cost_micros)
                ),
                usd: usd(u.sums.cost_micros - cost),
                estimate: true,
                basis: "the active config's prices (the deployment's override, else the shipped \
                        table) applied to this deployment's tokens; error rates observed in the \
                        period"
                    .into(),
            });
        }
    }
    items
}

/// Deployments of the active config that took no call in the period.
pub fn unused_items(config: &Config, used: &[DeploymentUsage]) -> Vec<AdviceItem> {
    let seen: HashSet<(&str, &str)> = used
        .iter()
        .filter(|u| u.sums.calls > 0)
        .map(|u| (u.model.as_str(), u.deployment.as_str()))
        .collect();
    deployments(config)
        .filter(|(m, d)| !seen.contains(&(m.as_str(), d.display_name().as_str())))
        .map(|(m, d)| AdviceItem {
            kind: "unused_deployment".into(),
            subject: format!("{m} / {}", d.display_name()),
            message: "in the active config, never called in the period".into(),
            usd: 0.0,
            estimate: false,
            basis: "rollups of the period".into(),
        })
        .collect()
}

/// The local model's share of calls per model, and what it saved: its calls priced at the
/// model's average cost of a call answered upstream.
pub fn local_items(used: &[DeploymentUsage]) -> Vec<AdviceItem> {
    let mut by_model: BTreeMap<&str, UsageSums> = BTreeMap::new();
    for u in used {
        by_model.entry(&u.model).or_default().add(&u.sums);
    }
    by_model
        .into_iter()
        .filter(|(_, s)| s.local_calls > 0)
        .map(|(model, s)| {
            let upstream = s.calls - s.local_calls;
            let avg = if upstream > 0 {
                s.cost_micros as f64 / upstream as f64
            } else {
                0.0
            };
            AdviceItem {
                kind: "local_share".into(),
                subject: model.to_owned(),
                message: format!(
                    "{:.1}% of {} calls were answered by the in-process model",
                    rate(s.local_calls, s.calls) * 100.0,
                    s.calls
                ),
                usd: usd((avg * s.local_calls as f64).round() as i64),
                estimate: true,
                basis: "local calls priced at the model's average cost of an upstream call in \
                        the period (local calls are free)"
                    .into(),
            }
        })
        .collect()
}

/// A budget whose spend so far, at the pace of its period so far, ends above its limit:
/// `spent_micros` in `[start, now)` of a period `[start, end)` (Unix ms).
pub fn budget_item(
    budget: &BudgetConfig,
    subject: &str,
    spent_micros: i64,
    (start, end): (i64, i64),
    now: i64,
) -> Option<AdviceItem> {
    let elapsed = ((now - start).max(1) as f64 / (end - start).max(1) as f64).min(1.0);
    let projected = usd(spent_micros) / elapsed;
    if projected <= budget.limit_usd {
        return None;
    }
    Some(AdviceItem {
        kind: "budget_pace".into(),
        subject: subject.to_owned(),
        message: format!(
            "${:.2} spent in {:.0}% of the current {} period: at this pace ${projected:.2} \
             against a limit of ${:.2}",
            usd(spent_micros),
            elapsed * 100.0,
            format!("{:?}", budget.period).to_lowercase(),
            budget.limit_usd
        ),
        usd: projected - budget.limit_usd,
        estimate: true,
        basis: "linear projection of the current period's spend so far (a rolling budget is \
                read as calendar-aligned: its anchor lives in each SDK)"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_pace_projects_linearly() {
        let b: BudgetConfig = serde_json::from_value(serde_json::json!({
            "name": "b", "scope": "tenant", "period": "day", "limit_usd": 10.0
        }))
        .unwrap();
        // $6 in the first half of the day: $12 projected, $2 over.
        let item = budget_item(&b, "b", 6_000_000, (0, 1000), 500).unwrap();
        assert!((item.usd - 2.0).abs() < 1e-9, "{item:?}");
        assert!(budget_item(&b, "b", 4_000_000, (0, 1000), 500).is_none());
    }
}

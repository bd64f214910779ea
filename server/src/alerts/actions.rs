//! What a firing alert may do by itself, once when it starts firing, each act audited
//! under the rule's name: disable the firing deployment (a new config version without it,
//! activated: SDKs pick it up on their next long-poll answer), drain a canary (a new
//! version whose rollout gives the baseline 100%), or tighten a rate limit.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::rule::{Category, RuleKind};
use crate::state::AppState;
use crate::store::{AlertRule, AuditCtx, RateLimitInput, Result, StoreError, TenantStore};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Removes the firing deployment from every model that has another one.
    DisableDeployment,
    /// Sets `model`'s rollout split to 100% for version label `baseline`.
    DrainCanary { model: String, baseline: String },
    /// Multiplies a rate limit's rpm and tpm by `factor` (in (0, 1)).
    TightenLimit { limit_id: String, factor: f64 },
}

impl Action {
    /// The category of rule that may carry this action (and so the role that may set it).
    pub fn category(&self) -> Category {
        match self {
            Action::DisableDeployment | Action::DrainCanary { .. } => Category::Health,
            Action::TightenLimit { .. } => Category::Cost,
        }
    }

    /// Whether the action fits rules of `kind`.
    pub fn check(&self, kind: &RuleKind) -> Result<()> {
        if self.category() != kind.category() {
            return Err(StoreError::invalid(
                "action",
                "does not fit this category of rules",
            ));
        }
        match self {
            Action::DisableDeployment
                if !matches!(
                    kind,
                    RuleKind::ErrorRate { .. }
                        | RuleKind::P95Latency { .. }
                        | RuleKind::DeploymentFailing { .. }
                ) =>
            {
                Err(StoreError::invalid(
                    "action",
                    "disable_deployment needs a rule whose subjects are deployments",
                ))
            }
            Action::TightenLimit { factor, .. } if !(*factor > 0.0 && *factor < 1.0) => Err(
                StoreError::invalid("action", "factor must be between 0 and 1"),
            ),
            _ => Ok(()),
        }
    }

    /// Acts for `subject` of `rule`: what was done, for the notification and the log.
    pub async fn run(
        &self,
        state: &AppState,
        tenant_id: &str,
        rule: &AlertRule,
        subject: &str,
    ) -> Result<String> {
        let tenant = state.store.tenant(tenant_id);
        let ctx = AuditCtx {
            actor: format!("alert {}", rule.name),
            role: "alert".into(),
            source: format!("rule:{}", rule.id),
        };
        match self {
            Action::DisableDeployment => {
                let label = format!("alert {}: disable {subject}", rule.name);
                let done = edit_active(&tenant, &ctx, &label, |doc| {
                    disable_deployment(doc, subject)
                })
                .await?;
                if done {
                    state.config_changed(tenant_id);
                    Ok(format!("disabled deployment {subject}"))
                } else {
                    Ok(format!(
                        "{subject} is not a deployment that can be disabled"
                    ))
                }
            }
            Action::DrainCanary { model, baseline } => {
                let label = format!("alert {}: drain {model} to {baseline}", rule.name);
                let done = edit_active(&tenant, &ctx, &label, |doc| {
                    let Some(m) = doc.pointer_mut(&format!("/models/{model}")) else {
                        return false;
                    };
                    let split = serde_json::json!({ baseline.as_str(): 100.0 });
                    let changed = m.pointer("/rollout/split") != Some(&split);
                    if changed {
                        m["rollout"]["split"] = split;
                    }
                    changed
                })
                .await?;
                if done {
                    state.config_changed(tenant_id);
                }
                Ok(format!("drained {model} to {baseline}"))
            }
            Action::TightenLimit { limit_id, factor } => {
                let l = tenant.rate_limit_definition(limit_id).await?;
                let scale = |v: Option<i64>| v.map(|v| ((v as f64 * factor) as i64).max(1));
                let input = RateLimitInput {
                    name: l.name,
                    scope: l.scope,
                    scope_ref: l.scope_ref,
                    rpm: scale(l.rpm),
                    tpm: scale(l.tpm),
                    on_server_down: Some(l.on_server_down),
                };
                let after = tenant.update_rate_limit(&ctx, limit_id, input).await?;
                Ok(format!(
                    "tightened limit {limit_id} to rpm {:?}, tpm {:?}",
                    after.rpm, after.tpm
                ))
            }
        }
    }
}

/// Applies `edit` to the active config's document; when it changes something, stores the
/// result as a new version labelled `label` and activates it. True when it did.
async fn edit_active(
    tenant: &TenantStore<'_>,
    ctx: &AuditCtx,
    label: &str,
    edit: impl FnOnce(&mut Value) -> bool,
) -> Result<bool> {
    let Some(active) = tenant.active().await? else {
        return Ok(false);
    };
    let mut doc = tenant.get_version(&active.version_id).await?.document;
    if !edit(&mut doc) {
        return Ok(false);
    }
    let version = tenant.create_version(ctx, &doc, Some(label)).await?;
    tenant.activate(ctx, &version.id).await?;
    Ok(true)
}

/// Removes deployment `name` (its `name`, or `provider/model`) from every model that
/// keeps another deployment. True when one was removed.
fn disable_deployment(doc: &mut Value, name: &str) -> bool {
    let mut changed = false;
    let Some(models) = doc.get_mut("models").and_then(Value::as_object_mut) else {
        return false;
    };
    for model in models.values_mut() {
        let Some(deployments) = model.get_mut("deployments").and_then(Value::as_array_mut) else {
            continue;
        };
        let is_it = |d: &Value| {
            let own = d.get("name").and_then(Value::as_str).map(str::to_owned);
            let default = format!(
                "{}/{}",
                d.get("provider")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                d.get("model").and_then(Value::as_str).unwrap_or_default()
            );
            own.unwrap_or(default) == name
        };
        let keep = deployments.iter().filter(|d| !is_it(d)).count();
        if keep > 0 && keep < deployments.len() {
            deployments.retain(|d| !is_it(d));
            let labels: Vec<Value> = deployments
                .iter()
                .filter_map(|d| d.get("version").cloned())
                .collect();
            drop_missing_labels(model, &labels);
            changed = true;
        }
    }
    changed
}

/// A rollout may name only labels some deployment still has: the others' shares go to
/// the rest in proportion (all of it to one left), and a split left empty goes.
fn drop_missing_labels(model: &mut Value, labels: &[Value]) {
    let Some(split) = model
        .pointer_mut("/rollout/split")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    split.retain(|label, _| labels.contains(&Value::String(label.clone())));
    let total: f64 = split.values().filter_map(Value::as_f64).sum();
    if split.is_empty() || total <= 0.0 {
        if let Some(m) = model.as_object_mut() {
            m.remove("rollout");
        }
        return;
    }
    for share in split.values_mut() {
        *share = Value::from(share.as_f64().unwrap_or(0.0) * 100.0 / total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_is_removed_where_another_remains() {
        let mut doc = serde_json::json!({"models": {
            "chat": {"deployments": [
                {"provider": "openai", "model": "gpt-4o-mini"},
                {"provider": "anthropic", "model": "claude", "name": "backup"}
            ]},
            "solo": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini"}]}
        }});
        assert!(disable_deployment(&mut doc, "openai/gpt-4o-mini"));
        assert_eq!(
            doc["models"]["chat"]["deployments"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(doc["models"]["chat"]["deployments"][0]["name"], "backup");
        // The last deployment of a model stays: disabling it would break every call.
        assert_eq!(
            doc["models"]["solo"]["deployments"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(!disable_deployment(&mut doc, "backup"));
    }

    #[test]
    fn a_rollout_loses_the_label_of_a_disabled_canary() {
        let mut doc = serde_json::json!({"models": {"chat": {
            "deployments": [
                {"provider": "openai", "model": "a", "version": "v1"},
                {"provider": "openai", "model": "b", "version": "v2"},
                {"provider": "openai", "model": "c", "version": "v3"}
            ],
            "rollout": {"split": {"v1": 60.0, "v2": 20.0, "v3": 20.0}}
        }}});
        assert!(disable_deployment(&mut doc, "openai/c"));
        assert_eq!(
            doc["models"]["chat"]["rollout"]["split"],
            serde_json::json!({"v1": 75.0, "v2": 25.0})
        );
        assert!(disable_deployment(&mut doc, "openai/b"));
        assert_eq!(
            doc["models"]["chat"]["rollout"]["split"],
            serde_json::json!({"v1": 100.0})
        );
    }
}

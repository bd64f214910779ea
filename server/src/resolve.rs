//! The config one app runs with, cut from its tenant's active version: only the models the
//! app may use (and what they fall back or reroute to) and the providers those need, its
//! identity filled in, and provider keys either sealed away or opened. The SDK endpoint
//! and the gateway share it, so an app's SDK and its gateway client run the same config,
//! call-log policy included (`docs/call-logs.md`).

use std::collections::HashSet;

use switchyard::config::{Config, GuardrailsConfig, Price, Secret};

use crate::error::ApiError;
use crate::sdk_cache::Snapshot;
use crate::state::AppState;
use crate::store::App;

/// What becomes of the provider keys in the resolved config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Opened from the sealed store (the SDK of a `direct` app; the gateway, always).
    Opened,
    /// Removed, except `${VAR}` references, which name a variable on the SDK's own host.
    Withheld,
}

/// The config `app` runs with under `snapshot`.
pub async fn app_config(
    state: &AppState,
    snapshot: &Snapshot,
    tenant_id: &str,
    app: &App,
    keys: Keys,
) -> Result<Config, ApiError> {
    let mut config = snapshot.config.clone();
    if let Some(allowed) = &app.allowed_models {
        let visible = reachable(&config, allowed);
        config.models.retain(|alias, _| visible.contains(alias));
    }
    let used: HashSet<String> = config
        .models
        .values()
        .flat_map(|m| m.deployments.iter().map(|d| d.provider.clone()))
        .collect();
    config.providers.retain(|name, _| used.contains(name));
    // The tenant's price overrides win over the version's own prices: prices are the
    // resource manager's, deployments model_ops'.
    let prices = state.store.tenant(tenant_id).list_prices().await?;
    for d in config
        .models
        .values_mut()
        .flat_map(|m| m.deployments.iter_mut())
    {
        if let Some(p) = prices.iter().find(|p| p.model == d.model) {
            d.price = Some(Price {
                input: p.input,
                output: p.output,
                cached_input: p.cached_input,
            });
        }
    }
    // The server's policy is the app's call-log setting, whatever the version says.
    config.call_logs = state
        .store
        .tenant(tenant_id)
        .call_log_policy(&app.id)
        .await?
        .section();
    config.guardrails = guardrails(state, tenant_id, app, &config.guardrails).await?;
    config.identity.tenant = Some(tenant_id.to_owned());
    config.identity.app = Some(app.name.clone());
    match keys {
        Keys::Withheld => config
            .providers
            .values_mut()
            .filter(|p| p.api_key.as_ref().is_some_and(|k| k.env_var().is_none()))
            .for_each(|p| p.api_key = None),
        Keys::Opened => {
            if let Some(key) = state.master_key.as_deref() {
                let tenant = state.store.tenant(tenant_id);
                for (name, secret) in tenant.open_credentials(key).await? {
                    if let Some(p) = config.providers.get_mut(&name) {
                        p.api_key = Some(Secret::new(secret));
                    }
                }
            }
        }
    }
    let issues = config.validate();
    if !issues.is_empty() {
        tracing::warn!(app = %app.id, issues = ?issues, "config resolved for an app does not validate");
    }
    Ok(config)
}

/// The guardrails `app` obeys: the version's tenant-wide rules, those of every department
/// above it and its own, cut into one flat section (`docs/guardrails.md`).
async fn guardrails(
    state: &AppState,
    tenant_id: &str,
    app: &App,
    section: &GuardrailsConfig,
) -> Result<GuardrailsConfig, ApiError> {
    if section.is_empty_section() {
        return Ok(GuardrailsConfig::default());
    }
    let tenant = state.store.tenant(tenant_id);
    let mut departments = Vec::new();
    if !section.departments.is_empty() {
        for id in tenant.department_lineage(&app.department_id).await? {
            departments.push(tenant.get_department(&id).await?.name);
        }
        departments.reverse();
    }
    Ok(section.resolve(&departments, Some(&app.name)))
}

/// The allowed models plus every model they fall back or reroute to, transitively: the
/// app needs those to follow its routes, and the result still passes core's validator.
fn reachable(config: &Config, allowed: &[String]) -> HashSet<String> {
    let mut visible: HashSet<String> = HashSet::new();
    let mut queue: Vec<String> = allowed
        .iter()
        .filter(|m| config.models.contains_key(*m))
        .cloned()
        .collect();
    while let Some(alias) = queue.pop() {
        if !visible.insert(alias.clone()) {
            continue;
        }
        let mut next: Vec<&String> = Vec::new();
        if let Some(model) = config.models.get(&alias) {
            let f = &model.fallbacks;
            next.extend(
                f.rate_limited
                    .iter()
                    .chain(&f.context_window_exceeded)
                    .chain(&f.content_policy)
                    .chain(&f.timeout)
                    .chain(&f.default),
            );
        }
        next.extend(config.budgets.iter().filter_map(|b| b.reroute_to.as_ref()));
        queue.extend(
            next.into_iter()
                .filter(|m| config.models.contains_key(*m) && !visible.contains(*m))
                .cloned(),
        );
    }
    visible
}

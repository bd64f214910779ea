//! `GET /api/v1/costs/advice?period=YYYY-MM`: optimisation advice from the month's usage
//! and the active config, each item with a dollar figure ([`crate::usage::advice`]).
//! Budget pace is about each budget's current period, whatever month is asked for, and
//! only in a tenant-wide view (budgets count the whole tenant's calls).

use std::collections::HashMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchyard::config::{BudgetConfig, ScopeKind};

use super::costs::month;
use super::extract::Query;
use super::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Dimension, TenantStore, UsageFilter};
use crate::usage::advice::{
    AdviceItem, DeploymentUsage, Repeats, budget_item, cache_items, cheaper_items, local_items,
    unused_items,
};
use crate::usage::time::budget_period;
use crate::util::now_ms;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AdviceQuery {
    /// A calendar month in UTC: `2026-11`.
    pub period: String,
    /// Only this department and those below it.
    pub department: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Advice {
    pub period: String,
    /// The active config version the advice used; none when no version is active.
    pub config_version: Option<i64>,
    pub items: Vec<AdviceItem>,
}

/// Spend of `budget` in its current period, per value of its scope: (subject, micros).
async fn budget_spend(
    tenant: &TenantStore<'_>,
    budget: &BudgetConfig,
    (start, now): (i64, i64),
    apps: &HashMap<String, String>,
) -> Result<Vec<(String, i64)>, ApiError> {
    let mut f = UsageFilter {
        from_ms: start,
        to_ms: now + 1,
        ..UsageFilter::default()
    };
    let value = budget.value.clone();
    let group = match (budget.scope, &value) {
        (ScopeKind::Tenant, _) => None,
        (ScopeKind::App, Some(name)) => {
            // Budgets name apps as the SDK knows them: by name.
            let id = apps
                .iter()
                .find(|(_, n)| *n == name)
                .map(|(id, _)| id.clone());
            let Some(id) = id else { return Ok(Vec::new()) };
            f.app = Some(id);
            None
        }
        (ScopeKind::App, None) => Some(Dimension::App),
        (ScopeKind::Model, Some(m)) => {
            f.model = Some(m.clone());
            None
        }
        (ScopeKind::Model, None) => Some(Dimension::Model),
        (ScopeKind::Tag, Some(t)) => {
            f.tag = Some(t.clone());
            None
        }
        (ScopeKind::Tag, None) => Some(Dimension::Tag),
        (ScopeKind::User, Some(u)) => {
            f.user = Some(u.clone());
            None
        }
        // Per-user budgets without a value: rollups have no user; not assessed.
        (ScopeKind::User, None) => return Ok(Vec::new()),
    };
    let rows = tenant
        .usage_rows(&f, (now + 1 - start).max(1), group)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| group.is_none() || !r.group.is_empty())
        .map(|r| {
            let who = match group {
                None => value.clone().unwrap_or_else(|| "tenant".into()),
                Some(Dimension::App) => apps.get(&r.group).cloned().unwrap_or(r.group),
                Some(_) => r.group,
            };
            (format!("{} ({who})", budget.name), r.sums.cost_micros)
        })
        .collect())
}

#[utoipa::path(get, path = "/api/v1/costs/advice", tag = "usage", params(AdviceQuery), responses((status = 200, body = Advice), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn advice(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<AdviceQuery>,
) -> Result<axum::Json<Advice>, ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    let (filter, _) = month(&p, &tenant, &q.period, q.department.as_deref()).await?;
    let used: Vec<DeploymentUsage> = tenant
        .usage_grouped(&filter, &[Dimension::Model, Dimension::Deployment])
        .await?
        .into_iter()
        .map(|(mut key, sums)| DeploymentUsage {
            deployment: key.pop().unwrap_or_default(),
            model: key.pop().unwrap_or_default(),
            sums,
        })
        .collect();
    let apps: HashMap<String, String> = tenant
        .app_directory()
        .await?
        .into_iter()
        .map(|(id, (name, _))| (id, name))
        .collect();
    let repeats: Vec<Repeats> = tenant
        .repeated_requests(&filter)
        .await?
        .into_iter()
        .map(|(app, model, calls, cost_micros, groups)| Repeats {
            app,
            model,
            calls,
            cost_micros,
            groups,
        })
        .collect();
    let mut items = cache_items(&repeats, &apps);
    let snapshot = state.configs.get(&state.store, &p.tenant_id).await?;
    if let Some(s) = &snapshot {
        items.extend(cheaper_items(&s.config, &used));
        items.extend(unused_items(&s.config, &used));
    }
    items.extend(local_items(&used));
    if let (Some(s), None) = (&snapshot, &filter.departments) {
        let now = now_ms();
        for budget in &s.config.budgets {
            let bounds = budget_period(budget.period, now);
            for (subject, spent) in budget_spend(&tenant, budget, (bounds.0, now), &apps).await? {
                items.extend(budget_item(budget, &subject, spent, bounds, now));
            }
        }
    }
    Ok(axum::Json(Advice {
        period: q.period,
        config_version: snapshot.map(|s| s.number),
        items,
    }))
}

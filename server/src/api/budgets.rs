//! `/api/v1/budgets`: server-side budgets, leased to SDK instances (`docs/budgets.md`).
//! A read of one budget answers its state in the current period too; its live leases
//! are listed on their own.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{Id, Json, Query, nullable, present};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{Budget, BudgetInput, BudgetLease};

/// Only the fields present change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBudget {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::schema_rules::name)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    scope_ref: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    period: Option<String>,
    #[serde(default, deserialize_with = "present")]
    amount_usd: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    mode: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    reroute_to: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    on_server_down: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/budgets", tag = "budgets", params(super::PageQuery), responses((status = 200, body = super::List<Budget>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<Budget>>, ApiError> {
    p.authorize(Permission::BudgetRead)?;
    let page = q.page()?;
    Ok(List::new(
        state.store.tenant(&p.tenant_id).list_budgets(page).await?,
        page,
    ))
}

#[utoipa::path(post, path = "/api/v1/budgets", tag = "budgets", request_body = BudgetInput, responses((status = 201, body = Budget), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<BudgetInput>,
) -> Result<(StatusCode, axum::Json<Budget>), ApiError> {
    let role = p.authorize(Permission::BudgetWrite)?;
    let budget = state
        .store
        .tenant(&p.tenant_id)
        .create_budget(&p.audit(role), req)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(budget)))
}

#[utoipa::path(get, path = "/api/v1/budgets/{id}", tag = "budgets", params(("id" = String, Path, description = "id")), responses((status = 200, body = Budget, description = "the budget and its `state` this period"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<Budget>, ApiError> {
    p.authorize(Permission::BudgetRead)?;
    Ok(axum::Json(
        state
            .store
            .tenant(&p.tenant_id)
            .get_budget(&id, state.leases.grace_ms)
            .await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/budgets/{id}", tag = "budgets", params(("id" = String, Path, description = "id")), request_body = PatchBudget, responses((status = 200, body = Budget), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
    Json(req): Json<PatchBudget>,
) -> Result<axum::Json<Budget>, ApiError> {
    let role = p.authorize(Permission::BudgetWrite)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let now = tenant.budget_definition(&id).await?;
    let merged = BudgetInput {
        name: req.name.unwrap_or(now.name),
        scope: req.scope.unwrap_or(now.scope),
        scope_ref: req.scope_ref.unwrap_or(now.scope_ref),
        period: req.period.unwrap_or_else(|| now.period.as_str().to_owned()),
        amount_usd: req.amount_usd.unwrap_or(now.amount_usd),
        mode: req.mode.unwrap_or(now.mode),
        reroute_to: req.reroute_to.unwrap_or(now.reroute_to),
        on_server_down: Some(req.on_server_down.unwrap_or(now.on_server_down)),
    };
    Ok(axum::Json(
        tenant.update_budget(&p.audit(role), &id, merged).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/budgets/{id}", tag = "budgets", params(("id" = String, Path, description = "id")), responses((status = 204, description = "deleted"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let role = p.authorize(Permission::BudgetWrite)?;
    state
        .store
        .tenant(&p.tenant_id)
        .delete_budget(&p.audit(role), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A budget's live leases (all of them: a budget has as many as SDK instances use it).
#[derive(Serialize, utoipa::ToSchema)]
pub struct BudgetLeases {
    pub items: Vec<BudgetLease>,
}

#[utoipa::path(get, path = "/api/v1/budgets/{id}/leases", tag = "budgets", params(("id" = String, Path, description = "id")), responses((status = 200, body = BudgetLeases, description = "the live leases holding a slice of the budget this period"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn leases(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<BudgetLeases>, ApiError> {
    p.authorize(Permission::BudgetRead)?;
    let items = state.store.tenant(&p.tenant_id).budget_leases(&id).await?;
    Ok(axum::Json(BudgetLeases { items }))
}

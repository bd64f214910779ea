//! `/api/v1/prices`: the tenant's price overrides per upstream model, carried to SDKs in
//! every deployment of that model (`crate::resolve`); a change wakes long-polling SDKs.

use axum::extract::State;
use axum::http::StatusCode;

use super::extract::{Id, Json};
use super::principal::Principal;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{PriceInput, PriceOverride};

#[utoipa::path(get, path = "/api/v1/prices", tag = "budgets", responses((status = 200, body = Vec<PriceOverride>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<Vec<PriceOverride>>, ApiError> {
    p.authorize(Permission::BudgetRead)?;
    Ok(axum::Json(
        state.store.tenant(&p.tenant_id).list_prices().await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/prices/{id}", tag = "budgets", params(("id" = String, Path, description = "the upstream model")), request_body = PriceInput, responses((status = 200, body = PriceOverride), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn set(
    State(state): State<AppState>,
    p: Principal,
    Id(model): Id,
    Json(req): Json<PriceInput>,
) -> Result<axum::Json<PriceOverride>, ApiError> {
    let role = p.authorize(Permission::BudgetWrite)?;
    let price = state
        .store
        .tenant(&p.tenant_id)
        .set_price(&p.audit(role), &model, req)
        .await?;
    state.config_changed(&p.tenant_id);
    Ok(axum::Json(price))
}

#[utoipa::path(delete, path = "/api/v1/prices/{id}", tag = "budgets", params(("id" = String, Path, description = "the upstream model")), responses((status = 204, description = "deleted"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Id(model): Id,
) -> Result<StatusCode, ApiError> {
    let role = p.authorize(Permission::BudgetWrite)?;
    state
        .store
        .tenant(&p.tenant_id)
        .delete_price(&p.audit(role), &model)
        .await?;
    state.config_changed(&p.tenant_id);
    Ok(StatusCode::NO_CONTENT)
}

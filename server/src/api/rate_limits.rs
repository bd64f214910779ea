//! `/api/v1/rate-limits`: requests and tokens a minute across every SDK instance in scope,
//! shared out by leases (`docs/budgets.md`). A read of one limit answers the live shares.

use axum::extract::State;
use axum::http::StatusCode;

use super::extract::{Id, Json, Query};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{RateLimit, RateLimitInput};

#[utoipa::path(get, path = "/api/v1/rate-limits", tag = "budgets", params(("limit" = Option<i64>, Query, description = "1..=500, default 50"), ("offset" = Option<i64>, Query, description = "default 0")), responses((status = 200, body = super::List<RateLimit>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<RateLimit>>, ApiError> {
    p.authorize(Permission::BudgetRead)?;
    let page = q.page()?;
    Ok(List::new(
        state
            .store
            .tenant(&p.tenant_id)
            .list_rate_limits(page)
            .await?,
        page,
    ))
}

#[utoipa::path(post, path = "/api/v1/rate-limits", tag = "budgets", request_body = RateLimitInput, responses((status = 201, body = RateLimit), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<RateLimitInput>,
) -> Result<(StatusCode, axum::Json<RateLimit>), ApiError> {
    let role = p.authorize(Permission::BudgetWrite)?;
    let limit = state
        .store
        .tenant(&p.tenant_id)
        .create_rate_limit(&p.audit(role), req)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(limit)))
}

#[utoipa::path(get, path = "/api/v1/rate-limits/{id}", tag = "budgets", params(("id" = String, Path, description = "id")), responses((status = 200, body = RateLimit, description = "the limit and its live shares"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<RateLimit>, ApiError> {
    p.authorize(Permission::BudgetRead)?;
    Ok(axum::Json(
        state
            .store
            .tenant(&p.tenant_id)
            .get_rate_limit(&id, state.leases.window_ms)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/rate-limits/{id}", tag = "budgets", params(("id" = String, Path, description = "id")), responses((status = 204, description = "deleted"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let role = p.authorize(Permission::BudgetWrite)?;
    state
        .store
        .tenant(&p.tenant_id)
        .delete_rate_limit(&p.audit(role), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

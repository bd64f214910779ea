//! `/api/v1/rate-limits`: requests and tokens a minute across every SDK instance in scope,
//! shared out by leases (`docs/budgets.md`). A read of one limit answers the live shares.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{Id, Json, Query, nullable, present};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{RateLimit, RateLimitInput};

/// Only the fields present change; `rpm` or `tpm` `null` drops that limit.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRateLimit {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::schema_rules::name)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    scope_ref: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    rpm: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    tpm: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    on_server_down: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/rate-limits", tag = "budgets", params(super::PageQuery), responses((status = 200, body = super::List<RateLimit>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(patch, path = "/api/v1/rate-limits/{id}", tag = "budgets", params(("id" = String, Path, description = "id")), request_body = PatchRateLimit, responses((status = 200, body = RateLimit), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
    Json(req): Json<PatchRateLimit>,
) -> Result<axum::Json<RateLimit>, ApiError> {
    let role = p.authorize(Permission::BudgetWrite)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let now = tenant.rate_limit_definition(&id).await?;
    let merged = RateLimitInput {
        name: req.name.unwrap_or(now.name),
        scope: req.scope.unwrap_or(now.scope),
        scope_ref: req.scope_ref.unwrap_or(now.scope_ref),
        rpm: req.rpm.unwrap_or(now.rpm),
        tpm: req.tpm.unwrap_or(now.tpm),
        on_server_down: Some(req.on_server_down.unwrap_or(now.on_server_down)),
    };
    Ok(axum::Json(
        tenant
            .update_rate_limit(&p.audit(role), &id, merged)
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

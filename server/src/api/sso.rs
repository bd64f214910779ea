//! `/api/v1/sso`: the tenant's OpenID provider (`docs/identity.md`), set by infra_admin,
//! and its rules from provider groups to roles. The client secret goes in, only a masked
//! hint comes out.

use axum::extract::State;
use axum::http::StatusCode;

use super::extract::{Id, Json};
use super::principal::Principal;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{GroupRule, GroupRuleInput, SsoInput, SsoSettings};

#[utoipa::path(get, path = "/api/v1/sso", tag = "sso", responses((status = 200, body = SsoSettings), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_settings(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<SsoSettings>, ApiError> {
    p.authorize(Permission::SsoRead)?;
    Ok(axum::Json(
        state.store.tenant(&p.tenant_id).get_sso().await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/sso", tag = "sso", request_body = SsoInput, responses((status = 200, body = SsoSettings), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<SsoInput>,
) -> Result<axum::Json<SsoSettings>, ApiError> {
    let role = p.authorize(Permission::SsoWrite)?;
    let settings = state
        .store
        .tenant(&p.tenant_id)
        .put_sso(&p.audit(role), state.master_key.as_deref(), req)
        .await?;
    Ok(axum::Json(settings))
}

#[utoipa::path(delete, path = "/api/v1/sso", tag = "sso", responses((status = 204), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete_settings(
    State(state): State<AppState>,
    p: Principal,
) -> Result<StatusCode, ApiError> {
    let role = p.authorize(Permission::SsoWrite)?;
    state
        .store
        .tenant(&p.tenant_id)
        .delete_sso(&p.audit(role))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/sso/rules", tag = "sso", responses((status = 200, body = Vec<GroupRule>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list_rules(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<Vec<GroupRule>>, ApiError> {
    p.authorize(Permission::SsoRead)?;
    Ok(axum::Json(
        state.store.tenant(&p.tenant_id).list_group_rules().await?,
    ))
}

/// A rule from a provider group to a role; applies from each user's next sign-in.
#[utoipa::path(post, path = "/api/v1/sso/rules", tag = "sso", request_body = GroupRuleInput, responses((status = 201, body = GroupRule), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create_rule(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<GroupRuleInput>,
) -> Result<(StatusCode, axum::Json<GroupRule>), ApiError> {
    let role = p.authorize(Permission::SsoWrite)?;
    let rule = state
        .store
        .tenant(&p.tenant_id)
        .create_group_rule(&p.audit(role), req)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(rule)))
}

#[utoipa::path(delete, path = "/api/v1/sso/rules/{id}", tag = "sso", params(("id" = String, Path, description = "id")), responses((status = 204), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete_rule(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let role = p.authorize(Permission::SsoWrite)?;
    state
        .store
        .tenant(&p.tenant_id)
        .delete_group_rule(&p.audit(role), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

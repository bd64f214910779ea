//! `/api/v1/sso`: the tenant's OpenID provider (`docs/identity.md`), set by infra_admin.
//! The client secret goes in, only a masked hint comes out.

use axum::extract::State;
use axum::http::StatusCode;

use super::extract::Json;
use super::principal::Principal;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{SsoInput, SsoSettings};

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

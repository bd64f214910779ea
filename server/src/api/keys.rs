//! App API keys: `/api/v1/apps/{id}/keys` and `/api/v1/keys/{id}/revoke`. The secret is in
//! the creation response only.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::apps::app_within_reach;
use super::extract::{Id, Json};
use super::principal::Principal;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{AppKey, NewKey};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    #[schema(schema_with = crate::schema_rules::name)]
    name: String,
    /// Unix milliseconds; none: no expiry.
    #[serde(default)]
    #[schema(schema_with = crate::schema_rules::expiry_ms)]
    expires_at: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    key: AppKey,
    /// The only time the key is shown.
    secret: String,
}

#[utoipa::path(get, path = "/api/v1/apps/{id}/keys", tag = "keys", params(("id" = String, Path, description = "id")), responses((status = 200, body = Vec<AppKey>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Id(app_id): Id,
) -> Result<axum::Json<Vec<AppKey>>, ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    app_within_reach(&p, &tenant, &app_id, Permission::KeyRead).await?;
    Ok(axum::Json(tenant.list_keys(&app_id).await?))
}

#[utoipa::path(post, path = "/api/v1/apps/{id}/keys", tag = "keys", params(("id" = String, Path, description = "id")), request_body = CreateKey, responses((status = 201, body = CreatedKey), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Id(app_id): Id,
    Json(req): Json<CreateKey>,
) -> Result<(StatusCode, axum::Json<CreatedKey>), ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    let (_, role) = app_within_reach(&p, &tenant, &app_id, Permission::KeyWrite).await?;
    let (key, secret) = tenant
        .create_key(
            &p.audit(role),
            NewKey {
                app_id,
                name: req.name,
                expires_at: req.expires_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedKey { key, secret })))
}

#[utoipa::path(post, path = "/api/v1/keys/{id}/revoke", tag = "keys", params(("id" = String, Path, description = "id")), responses((status = 200, body = AppKey), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    p: Principal,
    Id(key_id): Id,
) -> Result<axum::Json<AppKey>, ApiError> {
    p.may_somewhere(Permission::KeyWrite)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let key = tenant.get_key(&key_id).await?;
    let (_, role) = app_within_reach(&p, &tenant, &key.app_id, Permission::KeyWrite).await?;
    let revoked = tenant.revoke_key(&p.audit(role), &key_id).await?;
    state.keys.forget_key(&key_id);
    Ok(axum::Json(revoked))
}

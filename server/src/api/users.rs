//! `/api/v1/users`: people of the tenant and their role bindings.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{Id, Json, Query, nullable, present};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::auth::password::{hash_password, hash_password_cheap};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::{AppState, PasswordCost};
use crate::store::{Binding, NewBinding, User, UserPatch};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(schema_with = crate::schema_rules::name)]
    username: String,
    #[schema(schema_with = crate::schema_rules::password)]
    password: String,
    #[serde(default)]
    #[schema(schema_with = crate::schema_rules::name)]
    display_name: Option<String>,
}

/// Only the fields present change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    /// A disabled user's sessions and tokens stop working at once.
    #[serde(default, deserialize_with = "present")]
    disabled: Option<bool>,
    /// The user's whole new set of role bindings (bindings already held keep their ids).
    #[serde(default, deserialize_with = "present")]
    bindings: Option<Vec<NewBinding>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    user: User,
    bindings: Vec<Binding>,
}

/// Checks a new password (at least 12 characters, else 422 naming `password`) and hashes
/// it off the async threads at the state's cost.
pub(super) async fn new_password_hash(
    state: &AppState,
    password: String,
) -> Result<String, ApiError> {
    if password.chars().count() < 12 {
        return Err(ApiError::Invalid {
            field: Some("password".into()),
            message: "must be at least 12 characters".into(),
        });
    }
    let cost = state.password_cost;
    tokio::task::spawn_blocking(move || match cost {
        PasswordCost::Default => hash_password(&password),
        PasswordCost::Test => hash_password_cheap(&password),
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(super::PageQuery), responses((status = 200, body = super::List<User>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<User>>, ApiError> {
    p.authorize(Permission::UserRead)?;
    let page = q.page()?;
    Ok(List::new(
        state.store.tenant(&p.tenant_id).list_users(page).await?,
        page,
    ))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser, responses((status = 201, body = User), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<CreateUser>,
) -> Result<(StatusCode, axum::Json<User>), ApiError> {
    let role = p.authorize(Permission::UserWrite)?;
    let hash = new_password_hash(&state, req.password).await?;
    let user = state
        .store
        .tenant(&p.tenant_id)
        .create_user(
            &p.audit(role),
            &req.username,
            &hash,
            req.display_name.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "id")), responses((status = 200, body = UserDetail), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<UserDetail>, ApiError> {
    p.authorize(Permission::UserRead)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let user = tenant.get_user(&id).await?;
    let bindings = tenant.list_bindings(&id).await?;
    Ok(axum::Json(UserDetail { user, bindings }))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/bindings", tag = "users", params(("id" = String, Path, description = "id")), request_body = NewBinding, responses((status = 201, body = Binding), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn bind(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
    Json(req): Json<NewBinding>,
) -> Result<(StatusCode, axum::Json<Binding>), ApiError> {
    let role = p.authorize(Permission::UserWrite)?;
    let binding = state
        .store
        .tenant(&p.tenant_id)
        .add_binding(&p.audit(role), &id, req.role, req.department_id.as_deref())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(binding)))
}

/// Changes a user's display name, disables or re-enables them, and/or replaces their role
/// bindings, in one transaction. Refused (409) when no enabled tenant-wide infra_admin
/// would remain.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "id")), request_body = PatchUser, responses((status = 200, body = UserDetail), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
    Json(req): Json<PatchUser>,
) -> Result<axum::Json<UserDetail>, ApiError> {
    let role = p.authorize(Permission::UserWrite)?;
    let (user, bindings) = state
        .store
        .tenant(&p.tenant_id)
        .update_user(
            &p.audit(role),
            &id,
            UserPatch {
                display_name: req.display_name,
                disabled: req.disabled,
                bindings: req.bindings,
            },
        )
        .await?;
    Ok(axum::Json(UserDetail { user, bindings }))
}

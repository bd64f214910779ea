//! `/api/v1/users`: people of the tenant and their role bindings.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{Json, Query};
use super::{List, PageQuery};
use crate::auth::password::{hash_password, hash_password_cheap};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::rbac::{Permission, Role};
use crate::state::{AppState, PasswordCost};
use crate::store::{Binding, User};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBinding {
    role: Role,
    /// None: the whole tenant.
    #[serde(default)]
    department_id: Option<String>,
}

#[derive(Serialize)]
pub struct UserDetail {
    #[serde(flatten)]
    user: User,
    bindings: Vec<Binding>,
}

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

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<CreateUser>,
) -> Result<(StatusCode, axum::Json<User>), ApiError> {
    let role = p.authorize(Permission::UserWrite)?;
    if req.password.chars().count() < 12 {
        return Err(ApiError::Invalid {
            field: Some("password".into()),
            message: "must be at least 12 characters".into(),
        });
    }
    let cost = state.password_cost;
    let password = req.password;
    let hash = tokio::task::spawn_blocking(move || match cost {
        PasswordCost::Default => hash_password(&password),
        PasswordCost::Test => hash_password_cheap(&password),
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let user = state
        .store
        .tenant(&p.tenant_id)
        .create_user(&p.audit(role), &req.username, &hash)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<UserDetail>, ApiError> {
    p.authorize(Permission::UserRead)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let user = tenant.get_user(&id).await?;
    let bindings = tenant.list_bindings(&id).await?;
    Ok(axum::Json(UserDetail { user, bindings }))
}

pub async fn bind(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(req): Json<CreateBinding>,
) -> Result<(StatusCode, axum::Json<Binding>), ApiError> {
    let role = p.authorize(Permission::UserWrite)?;
    let binding = state
        .store
        .tenant(&p.tenant_id)
        .add_binding(&p.audit(role), &id, req.role, req.department_id.as_deref())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(binding)))
}

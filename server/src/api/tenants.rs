//! `/api/v1/tenants`: server operators only (the operator flag, never a role). A tenant is
//! created whole: root department, first infra_admin, a token shown once. The list shows
//! tenants' names and ids, nothing inside them.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{Json, Query};
use super::principal::Principal;
use super::users::new_password_hash;
use super::{List, PageQuery};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{NewTenant, Tenant, User};
use crate::util::random_hex;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The new tenant's name (unique).
    #[schema(schema_with = crate::schema_rules::name)]
    tenant: String,
    /// Its first infra_admin.
    #[schema(schema_with = crate::schema_rules::name)]
    username: String,
    /// At least 12 characters; generated (and returned once) when absent.
    #[serde(default)]
    #[schema(schema_with = crate::schema_rules::password)]
    password: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedTenant {
    tenant: Tenant,
    admin: User,
    /// The admin's personal API token: the only time it is shown.
    token: String,
    /// The generated password, when none was given: the only time it is shown.
    password: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(super::PageQuery), responses((status = 200, body = super::List<Tenant>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<Tenant>>, ApiError> {
    p.authorize_operator(Permission::TenantRead)?;
    let page = q.page()?;
    Ok(List::new(state.store.list_tenants(page).await?, page))
}

/// Audited as `tenant.create` in the new tenant's log, by the operator.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenant, responses((status = 201, body = CreatedTenant), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<CreateTenant>,
) -> Result<(StatusCode, axum::Json<CreatedTenant>), ApiError> {
    let ctx = p.authorize_operator(Permission::TenantCreate)?;
    let generated = req.password.is_none().then(|| random_hex(12));
    let password = req
        .password
        .or_else(|| generated.clone())
        .unwrap_or_default();
    let hash = new_password_hash(&state, password).await?;
    let done = state
        .store
        .create_tenant(
            &ctx,
            NewTenant {
                name: &req.tenant,
                admin: &req.username,
                password_hash: &hash,
                operator: false,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedTenant {
            tenant: done.tenant,
            admin: done.user,
            token: done.token,
            password: generated,
        }),
    ))
}
